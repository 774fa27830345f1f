"""The right to be forgotten: plan and apply forgets, and retention rules (`rules`)."""

from vault.forget.forgetting import (
    ForgetResult,
    Holding,
    NoticeHook,
    Plan,
    PlanHook,
    Target,
    TargetKind,
    forget,
    preview,
    register_notice_hook,
    register_plan_hook,
)

__all__ = [
    "ForgetResult",
    "Holding",
    "NoticeHook",
    "Plan",
    "PlanHook",
    "Target",
    "TargetKind",
    "forget",
    "preview",
    "register_notice_hook",
    "register_plan_hook",
]
