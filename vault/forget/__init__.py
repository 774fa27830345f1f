"""The right to be forgotten: preview what a forget removes (`plan`), carry it out
(`apply`), and retention rules (`rules`)."""

from vault.forget.apply import ForgetResult, forget
from vault.forget.plan import Plan, Rewrite, Target, TargetKind, count_label, preview

__all__ = [
    "ForgetResult",
    "Plan",
    "Rewrite",
    "Target",
    "TargetKind",
    "count_label",
    "forget",
    "preview",
]
