"""The Data screen: an import with its progress and summary, a failed import that changes
nothing, the chart's range and style. Checked in the vault."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Select

from tests.tui.conftest import go_to, import_file, open_vault, run_async, run_unlocked, settle
from tui.screens.data import DataScreen
from tui.screens.modals import ErrorModal, ReportModal
from tui.widgets.chart import Chart
from tui.widgets.progress import ProgressPanel
from vault.core.progress import ProgressEvent
from vault.data import query


@run_async
async def test_import_shows_progress_and_a_summary(
    demo_dir: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[ProgressEvent] = []
    original = ProgressPanel._apply

    def spy(self: ProgressPanel, event: ProgressEvent) -> None:
        seen.append(event)
        original(self, event)

    monkeypatch.setattr(ProgressPanel, "_apply", spy)
    export = samples / "apple-health" / "alxdrcirilo" / "export.zip"
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        camille = screen.persona_id
        before = {m.metric: m.samples for m in query.list_metrics(app.open_vault, camille or "")}
        await import_file(pilot, export)
        assert isinstance(app.screen, ReportModal)
        assert screen.summary is not None and screen.summary.added > 0
        assert seen and seen[-1].finished
    with open_vault(demo_dir) as v:
        after = {m.metric: m.samples for m in query.list_metrics(v, camille or "")}
    assert sum(after.values()) == sum(before.values()) + screen.summary.added


@run_async
async def test_a_failed_import_shows_the_library_message_and_changes_nothing(
    demo_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text("<HealthData><Record type='HKQuantityTypeIdentifierStepCount'")
    with open_vault(demo_dir) as v:
        writes = v.store.state().writes
    async with run_unlocked(demo_dir) as (app, pilot):
        await go_to(pilot, "3", DataScreen)
        await import_file(pilot, bad)
        assert isinstance(app.screen, ErrorModal)
        message = app.screen._message
        assert "export.xml" in message and "Unexpected" not in message
    with open_vault(demo_dir) as v:
        assert v.store.state().writes == writes


@run_async
async def test_chart_range_and_style(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (_app, pilot):
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
