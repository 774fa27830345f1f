"""The Forget screen: a persona after typing its name, a cancelled forget, a metric over a
date range, retention rules added and applied, a preview that would forget nothing, and the
erasure requests a forget produces. Checked in the vault."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input, Select

from tests.tui.conftest import (
    FROZEN,
    answer,
    confirm,
    go_to,
    open_vault,
    run_async,
    run_unlocked,
    settle,
)
from tui.screens.forget import ForgetScreen, plan_markdown
from tui.screens.modals import ReportModal, TypeToConfirmModal
from vault import personas as identities
from vault.data import query
from vault.forget import rules


@run_async
async def test_forget_a_persona_after_typing_its_name(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "6", ForgetScreen)
        which = screen.query_one("#forget-which", Select)
        nightjar = next(ref for name, ref in screen.choices.persona if name == "Nightjar")
        which.value = nightjar
        await pilot.press("p")
        await settle(pilot)
        assert screen.plan is not None and screen.plan.counts.get("personas") == 1
        modal = await go_to(pilot, "f", TypeToConfirmModal)
        await pilot.press(*"nightjar")  # wrong case: not the name
        assert modal.query_one("#confirm", Button).disabled
        modal.query_one("#typed", Input).value = ""
        await pilot.press(*"Nightjar")
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
        assert screen.result is not None and screen.result.epoch == 2
    with open_vault(demo_dir) as v:
        names = [p.name for p in identities.list_personas(v)]
        assert names == ["Camille"]
        assert query.list_metrics(v, nightjar) == []


@run_async
async def test_cancelling_the_forget_keeps_everything(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        await go_to(pilot, "6", ForgetScreen)
        await go_to(pilot, "f", TypeToConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ForgetScreen)
    with open_vault(demo_dir) as v:
        assert len(identities.list_personas(v)) == 2


@run_async
async def test_forget_a_metric_over_a_date_range(demo_dir: Path) -> None:
    jan, feb = query.parse_instant("2026-01-01"), query.parse_instant("2026-02-01")
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "6", ForgetScreen)
        screen.query_one("#forget-kind", Select).value = "metric"
        await settle(pilot)
        screen.query_one("#forget-which", Select).value = "heart_rate"
        camille = next(ref for name, ref in screen.choices.persona if name == "Camille")
        screen.query_one("#forget-persona", Select).value = camille
        screen.query_one("#forget-from", Input).value = "2026-01-01"
        screen.query_one("#forget-before", Input).value = "2026-02-01"
        await pilot.press("p")
        await settle(pilot)
        assert screen.plan is not None and screen.plan.counts.get("samples") == 31 * 12
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"heart_rate", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
    with open_vault(demo_dir) as v:
        assert not list(query.samples(v, camille, "heart_rate", jan, feb))
        assert list(query.samples(v, camille, "heart_rate", feb, feb + 86_400_000))


@run_async
async def test_add_and_apply_a_retention_rule(demo_dir: Path) -> None:
    now_ms = int(FROZEN.timestamp() * 1000)
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "6", ForgetScreen)
        await pilot.press("a")
        await answer(pilot, "metric steps 30d")
        assert [r.value for r in screen.rules] == ["heart_rate", "steps"]
        await confirm(pilot, "A")
        assert isinstance(app.screen, ReportModal)
    with open_vault(demo_dir) as v:
        assert rules.due(v, now_ms) is None
        camille = next(m for m in query.list_metrics(v, screen.choices.persona[0][1]))
        assert camille is not None
        for m in query.list_metrics(v, screen.choices.persona[0][1]):
            if m.metric == "steps":
                assert m.first is not None and m.first >= now_ms - 31 * 86_400_000


@run_async
async def test_a_preview_gives_the_forgets_verdict_and_the_report_its_requests(
    demo_dir: Path,
) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "6", ForgetScreen)
        screen.query_one("#forget-kind", Select).value = "metric"
        await settle(pilot)
        screen.query_one("#forget-which", Select).value = "steps"
        screen.query_one("#forget-from", Input).value = "2030-01-01"
        await pilot.press("p")
        await settle(pilot)
        assert screen.plan is not None and screen.plan.empty
        assert plan_markdown(screen.plan).startswith("**Nothing to forget**")
        screen.query_one("#forget-from", Input).value = ""
        await pilot.press("p")
        await settle(pilot)
        assert screen.plan is not None
        assert [h.name for h in screen.plan.holders] == ["Lyon Running Club"]
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"steps", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
        assert "Request for erasure of personal data" in app.screen._markdown
