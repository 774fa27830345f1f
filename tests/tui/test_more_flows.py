"""Pilot tests of the smaller flows: vCard export, retention rules, content filters and
versions, chart ranges."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from tests.tui.conftest import (
    FROZEN,
    go_to,
    make_app,
    open_vault,
    press_button,
    run_async,
    settle,
)
from tui.screens.content import ContentScreen
from tui.screens.data import DataScreen
from tui.screens.forget import ForgetScreen
from tui.screens.modals import ConfirmModal, PromptModal, ReportModal
from tui.screens.personas import PersonasScreen
from tui.widgets.chart import Chart
from vault.data import query
from vault.forget import rules


@run_async
async def test_vcard_export_leaves_sensitive_attributes_out(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "camille.vcf"
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, PersonasScreen)
        await pilot.press("v")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptModal)
        prompt.query_one(Input).value = str(out)
        await pilot.press("enter")
        await settle(pilot)
    text = out.read_text()
    assert "N:Martin;Camille" in text and "camille@example.org" in text
    assert "1990" not in text and "Lilas" not in text  # birth date and address are sensitive
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with open_vault(demo_dir) as v:
        assert v.audit_log()[-1].action == "persona.export"


@run_async
async def test_add_and_apply_a_retention_rule(demo_dir: Path) -> None:
    now_ms = int(FROZEN.timestamp() * 1000)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_go("forget")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ForgetScreen)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PromptModal)
        app.screen.query_one(Input).value = "metric steps 30d"
        await pilot.press("enter")
        await settle(pilot)
        assert [r.value for r in screen.rules] == ["heart_rate", "steps"]
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await press_button(pilot, "#confirm")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
    with open_vault(demo_dir) as v:
        assert rules.due(v, now_ms) is None
        camille = next(m for m in query.list_metrics(v, screen.choices.persona[0][1]))
        assert camille is not None
        for m in query.list_metrics(v, screen.choices.persona[0][1]):
            if m.metric == "steps":
                assert m.first is not None and m.first >= now_ms - 31 * 86_400_000


@run_async
async def test_content_filter_and_versions(pristine_demo: Path) -> None:
    app = make_app(pristine_demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await go_to(pilot, "4", ContentScreen)
        assert len(screen.items) == 4
        screen.query_one("#filter-tag", Input).value = "running"
        screen.query_one("#filter-tag", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert [i.title for i in screen.items] == ["Half-marathon training plan"]
        screen.query_one("#filter-tag", Input).value = ""
        await pilot.press("enter")
        await settle(pilot)
        table = screen.query_one("#content-items", DataTable)
        table.focus()
        row = next(n for n, i in enumerate(screen.items) if i.title == "Morning routine")
        table.move_cursor(row=row)
        await settle(pilot)
        assert screen.current is not None and screen.current.item.title == "Morning routine"
        assert [v.number for v in screen.current.versions] == [1, 2]
        assert "✓" in screen.current.proof
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, ReportModal)


@run_async
async def test_chart_range_and_style(pristine_demo: Path) -> None:
    app = make_app(pristine_demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await go_to(pilot, "3", DataScreen)
        chart = screen.query_one(Chart)
        # Four weeks, daily, ending with the frozen day; the demo's data stops the day before.
        assert len(chart._values) == 27
        screen.query_one("#data-range", Select).value = 365
        screen.query_one("#data-every", Select).value = "week"
        await settle(pilot)
        assert 52 <= len(chart._values) <= 54
        screen.query_one("#data-metrics", DataTable).focus()
        await pilot.press("l")
        assert chart.style == "line"


@run_async
async def test_forget_a_metric_over_a_date_range(demo_dir: Path) -> None:
    jan, feb = query.parse_instant("2026-01-01"), query.parse_instant("2026-02-01")
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_go("forget")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ForgetScreen)
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
async def test_write_the_proof_of_authorship(pristine_demo: Path, tmp_path: Path) -> None:
    from vault import content

    folder = tmp_path / "proof"
    app = make_app(pristine_demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContentScreen) and screen.current is not None
        screen.query_one("#content-items", DataTable).focus()
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one(Input).value = str(folder)
        await pilot.press("enter")
        await settle(pilot)
        item = screen.current.item
    statement = next(folder.glob("*.json"))
    signature = folder / (statement.name + ".minisig")
    public = next(folder.glob("*.pub"))
    fields = content.verify_statement(
        statement.read_bytes(), signature.read_text(), public.read_text()
    )
    assert fields["item"] == item.id
