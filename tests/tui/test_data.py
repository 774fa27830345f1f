"""The Data screen: an import with its progress and summary, a failed import that changes
nothing, the chart's range and style. Checked in the vault."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label, Select

from tests.tui.conftest import (
    ARCHIVE_END,
    FROZEN,
    LONG_METRICS,
    go_to,
    import_file,
    open_vault,
    run_async,
    run_unlocked,
    settle,
)
from tui import format as fmt
from tui.screens.data import (
    ALL,
    CUSTOM,
    LATEST,
    WINDOW_DAYS,
    DataScreen,
    Window,
    default_range,
    parse_dates,
    summary_markdown,
    window,
)
from tui.screens.modals import ErrorModal, ReportModal
from tui.widgets.chart import Chart
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
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
        screen.query_one("#data-range", Select).value = "365"
        screen.query_one("#data-every", Select).value = "week"
        await settle(pilot)
        assert 52 <= len(chart._values) <= 54
        screen.query_one("#data-metrics", DataTable).focus()
        await pilot.press("l")
        assert chart.style == "line"


DAY = 86_400_000


def _ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def _info(first: date, last: date) -> query.MetricInfo:
    return query.MetricInfo("heart_rate", "count/min", 10, _ms(first) + 3_600_000, _ms(last) + 7)


def test_windows_count_back_from_today_or_sit_on_the_data() -> None:
    info = _info(date(2023, 3, 2), date(2024, 2, 29))
    today_end = _ms(FROZEN.date()) + DAY
    assert window("7", FROZEN, info) == Window(today_end - 7 * DAY, today_end)
    latest = window(LATEST, FROZEN, info)
    assert latest == Window(_ms(date(2024, 3, 1)) - WINDOW_DAYS * DAY, _ms(date(2024, 3, 1)))
    assert window(ALL, FROZEN, info) == Window(_ms(date(2023, 3, 2)), _ms(date(2024, 3, 1)))
    custom = window(CUSTOM, FROZEN, info, (date(2024, 1, 1), date(2024, 1, 31)))
    assert custom is not None and custom.days == 31  # both dates included
    empty = query.MetricInfo("steps", "", 0, None, None)
    assert window(LATEST, FROZEN, empty) is None


def test_the_default_range_shows_data_that_ended_long_ago() -> None:
    recent = _info(date(2025, 6, 15), FROZEN.date() - timedelta(days=1))
    old = _info(date(2023, 3, 2), date(2024, 2, 29))
    assert default_range([recent], FROZEN) == str(WINDOW_DAYS)
    assert default_range([old], FROZEN) == LATEST
    assert default_range([old, recent], FROZEN) == str(WINDOW_DAYS)


def test_custom_dates_are_checked() -> None:
    assert parse_dates("2024-01-01", " 2024-01-31") == (date(2024, 1, 1), date(2024, 1, 31))
    for first, last in (("2024-02-01", "2024-01-01"), ("yesterday", "2024-01-01")):
        try:
            parse_dates(first, last)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{first}..{last} was taken")


def _pick(screen: DataScreen, metric: str) -> None:
    """Move the metric list's cursor to `metric` (its chart loads)."""
    table = screen.query_one("#data-metrics", DataTable)
    table.move_cursor(row=[m.metric for m in screen.metrics].index(metric))


@run_async
async def test_an_old_export_is_charted_by_default_on_an_axis_scaled_to_it(
    pristine_archive: Path,
) -> None:
    async with run_unlocked(pristine_archive) as (_app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        assert screen.query_one("#data-range", Select).value == LATEST
        _pick(screen, "heart_rate")
        await settle(pilot)
        chart, shown = screen.query_one(Chart), screen.shown
        assert shown is not None and shown.rate
        last_day = (ARCHIVE_END - timedelta(days=1)).isoformat()
        assert shown.last == last_day and len(chart._values) == WINDOW_DAYS
        # The header's extremes are the bars' own, and say so; the title names metric and unit.
        assert (shown.low, shown.high) == (min(chart._values), max(chart._values))
        assert "of the daily means" in shown.stats()
        # A year of days on a narrow chart: the header's extremes are the columns' own.
        screen.query_one("#data-range", Select).value = ALL
        await settle(pilot)
        drawn, per = chart.drawn(), chart.per_column()
        assert per > 1 and len(drawn) < len(chart._values)
        stats = str(screen.query_one("#data-stats", Label).content)
        assert f"highest {fmt.number(max(drawn))} " in stats
        assert f"lowest {fmt.number(min(drawn))} " in stats
        assert f"averaging up to {per}" in stats
        screen.query_one("#data-range", Select).value = LATEST
        await settle(pilot)
        title = str(screen.query_one("#data-title", Label).content)
        assert title.startswith("heart_rate (") and "daily means" in title
        low, top = chart.axis(chart._values)
        assert 0 < low < min(chart._values) and top > max(chart._values)
        # Totals keep their zero.
        _pick(screen, "steps")
        await settle(pilot)
        assert chart.axis(chart._values)[0] == 0


@run_async
async def test_all_the_data_and_a_custom_range(pristine_archive: Path) -> None:
    async with run_unlocked(pristine_archive) as (_app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        _pick(screen, "resting_heart_rate")  # one sample a day
        info = next(m for m in screen.metrics if m.metric == "resting_heart_rate")
        assert info.first is not None and info.last is not None
        days = (info.last // DAY) - (info.first // DAY) + 1
        screen.query_one("#data-range", Select).value = ALL
        await settle(pilot)
        chart = screen.query_one(Chart)
        assert len(chart._values) == days
        screen.query_one("#data-range", Select).value = CUSTOM
        await settle(pilot)
        start, end = screen.query_one("#data-from", Input), screen.query_one("#data-to", Input)
        assert screen.focused is start
        start.value, end.value = "2024-02-10", "2024-01-10"  # backwards
        await pilot.press("enter")
        await settle(pilot)
        problem = screen.query_one("#data-range-problem", Label)
        assert problem.display and "after" in str(problem.content)
        assert (start.value, end.value) == ("2024-02-10", "2024-01-10")  # kept as typed
        assert screen.shown is None and not chart._values  # no chart of another range
        end.value = "2024-02-16"
        await pilot.press("enter")
        await settle(pilot)
        assert not problem.display
        assert len(chart._values) == 7 and screen.shown is not None
        assert (screen.shown.first, screen.shown.last) == ("2024-02-10", "2024-02-16")
        assert screen.focused is screen.query_one("#data-metrics", DataTable)
        start.focus()
        await pilot.press("escape")  # leaves the field: the number keys work again
        assert screen.focused is screen.query_one("#data-metrics", DataTable)


@run_async
async def test_metric_list_full_counts_and_focus(pristine_archive: Path) -> None:
    async with run_unlocked(pristine_archive, size=(80, 24)) as (_app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        table = screen.query_one("#data-metrics", DataTable)
        assert screen.focused is table  # not the persona selector
        with open_vault(pristine_archive) as v:
            camille = identities.get_persona(v, "Camille")
            expected = {m.metric: m.samples for m in query.list_metrics(v, camille.id)}
        for metric, n in LONG_METRICS:
            assert expected[metric] == n
        widths = [c.width for c in table.columns.values()]
        for row, m in enumerate(screen.metrics):
            name, count = table.get_row_at(row)
            assert count.plain == f"{expected[m.metric]:,}"  # in full, never cut
            assert len(name.plain) <= widths[0] and len(count.plain) <= widths[1]
        padding = 2 * table.cell_padding * len(widths)
        assert sum(widths) + padding <= table.size.width
        first = screen.metric
        await pilot.press("down")
        await settle(pilot)
        assert screen.metric == screen.metrics[1].metric != first


def test_an_import_summary_tells_its_problems_and_notes_in_french(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The summary's notes and problems are the library's sentences, said in French; a
    location that is a file's name is shown as it is."""
    import gettext

    from vault.core import i18n
    from vault.core.importing import ImportIssue, ImportSummary

    french = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["fr"])
    skipped = ("{n:,} post skipped: {why}", "{n:,} posts skipped: {why}")
    more = (
        "{n} more problem was counted but not listed",
        "{n} more problems were counted but not listed",
    )
    summary = ImportSummary(
        "mastodon",
        errors=(ImportIssue("Data", i18n.Text(skipped, n=2, why=i18n.Text(i18n.N_("no id")))),),
        notes=(i18n.Text(more, n=1),),
    )
    monkeypatch.setenv("LANGUAGE", "fr")
    shown = summary_markdown("outbox.zip", summary)
    problem = french.ngettext(*skipped, 2).format(n=2, why=french.gettext("no id"))
    assert french.gettext("{location}: {problem}").format(location="Data", problem=problem) in shown
    assert french.ngettext(*more, 1).format(n=1) in shown
    assert "skipped" not in shown and "counted" not in shown


def test_the_import_summary_lists_what_came_in_metric_by_metric() -> None:
    from vault.core.importing import ImportSummary

    counts = {f"metric_{i:02d}": 100 - i for i in range(14)}
    shown = summary_markdown("export.zip", ImportSummary("apple-health", by_metric=counts))
    listed = [line for line in shown.splitlines() if line.startswith("  - metric_")]
    assert listed == [f"  - metric_{i:02d}: {100 - i}" for i in range(12)]  # most first
    assert "  - 2 more metrics" in shown


def test_the_import_summary_counts_clinical_records_in_their_own_words() -> None:
    from vault.core.importing import ImportSummary, RecordCounts

    counts = RecordCounts(added=3, updated=1, unchanged=2, older=1, undated=1)
    shown = summary_markdown("export.zip", ImportSummary("apple-health", clinical_records=counts))
    assert (
        f"- clinical records: {counts.added} added, {counts.updated} updated, "
        f"{counts.unchanged} already stored"
    ) in shown
    assert f"older than the stored version (not stored): {counts.older}" in shown
    assert f"without a date (listed, under no day): {counts.undated}" in shown
    plain = summary_markdown("export.zip", ImportSummary("apple-health", added=5))
    assert "clinical" not in plain
