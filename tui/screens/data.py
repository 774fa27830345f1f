"""Data: a persona's metrics, a chart of one over a chosen range, and imports with progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Select

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from tui.screens.importer import ImportModal, ImportRequest
from tui.widgets.chart import Chart
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
from vault.core.importing import ImportSummary
from vault.core.progress import ProgressCallback
from vault.core.untrusted import printable
from vault.core.vault import Vault
from vault.data import metrics, query
from vault.data.model import UNKNOWN_PREFIX
from vault.imports import get_format

RANGES: tuple[tuple[str, int], ...] = (
    ("7 days", 7),
    ("4 weeks", 28),
    ("3 months", 91),
    ("1 year", 365),
)
BUCKETS: tuple[tuple[str, str], ...] = (("Hourly", "hour"), ("Daily", "day"), ("Weekly", "week"))


@dataclass(frozen=True)
class Series:
    """A chart's worth of one metric: one value per bucket, and the range's statistics."""

    metric: str
    values: tuple[float, ...]
    first: str
    last: str
    low: float
    mean: float
    high: float
    unit: str
    per: str


@dataclass(frozen=True)
class ChartQuery:
    """What the chart shows: a persona's metric over the last `days`, per `every`."""

    persona_id: str
    metric: str
    days: int
    every: str


def series(vault: Vault, q: ChartQuery, now: datetime) -> Series:
    """Aggregate with the library; choose which figure of each bucket to plot."""
    persona_id, metric, days, every = q.persona_id, q.metric, q.days, q.every
    end = fmt.day_end_ms(now)
    start = end - days * 86_400_000
    buckets = query.aggregate(vault, persona_id, metric, every, start=start, end=end)
    rate = not metric.startswith(UNKNOWN_PREFIX) and metrics.get(metric).aggregation == "rate"
    if not buckets:
        return Series(metric, (), "", "", 0.0, 0.0, 0.0, "", every)
    unit = buckets[0].unit
    if rate:
        values = tuple(b.avg for b in buckets)
        total = sum(b.count for b in buckets)
        low = min(b.min for b in buckets)
        high = max(b.max for b in buckets)
        mean = sum(b.avg * b.count for b in buckets) / total if total else 0.0
        per = "sample"
    else:
        values = tuple(b.sum for b in buckets)
        low, high, mean = min(values), max(values), sum(values) / len(values)
        per = every
    return Series(
        metric,
        values,
        fmt.day(buckets[0].start),
        fmt.day(buckets[-1].start),
        low,
        mean,
        high,
        unit,
        per,
    )


def run_import(
    vault: Vault, persona_id: str, request: ImportRequest, progress: ProgressCallback
) -> ImportSummary:
    """Hand the path to its format's importer (into the persona, for formats that take one)."""
    fmt = get_format(request.fmt)
    persona = persona_id if fmt.needs_persona else None
    return fmt.run(vault, request.path, persona=persona, progress=progress)


def summary_markdown(name: str, s: ImportSummary) -> str:
    """An import summary for people; counts that stayed at zero are left out."""
    records = get_format(s.format).records
    unknown = sum(s.unknown_types.values())
    optional = [
        (len(s.updated), f"- updated: {len(s.updated):,} {records}"),
        (len(s.unchanged), f"- unchanged: {len(s.unchanged):,} {records}"),
        (s.attachments, f"- attachments: {s.attachments:,}"),
        (s.workouts, f"- workouts: {s.workouts:,}"),
        (s.summaries, f"- daily summaries: {s.summaries:,}"),
        (s.ignored, f"- ignored: {s.ignored:,}"),
        (unknown, f"- kept: {unknown:,} samples of {len(s.unknown_types)} unknown types"),
    ]
    lines = [
        f"**{printable(name)}**",
        "",
        f"- added: **{s.added:,}** {records}",
        f"- skipped: {s.duplicates:,} duplicates already in the vault",
    ]
    lines += [line for count, line in optional if count]
    lines.append(f"- problems: {len(s.errors):,}")
    lines += [f"  - {printable(e.location)}: {printable(e.problem)}" for e in s.errors[:10]]
    lines += [f"- {printable(reason)}" for reason in s.skipped]
    lines += [f"- {printable(note)}" for note in s.notes]
    return "\n".join(lines)


class DataScreen(SectionScreen):
    """What was measured, per persona; how it went over time."""

    MODE = "data"
    TITLE_TEXT = "Data"
    BINDINGS: ClassVar = bindings(
        "data",
        ("i", "import", "Import", "Import a file or folder in any format Coffre reads"),
        ("l", "toggle_style", "Bars/line", "Draw the chart as bars or a line"),
        ("r", "refresh", "Refresh", "Read the vault again"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.personas: list[identities.Persona] = []
        self.metrics: list[query.MetricInfo] = []
        self.summary: ImportSummary | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data"):
            with Vertical(classes="panel", id="data-side"):
                yield Select([], prompt="Persona", id="data-persona", allow_blank=True)
                yield data_table("data-metrics", "Metric", "Samples", zebra_stripes=False)
            with Vertical(classes="panel", id="data-main"):
                with Horizontal(id="data-controls"):
                    yield Select(RANGES, value=28, allow_blank=False, id="data-range")
                    yield Select(BUCKETS, value="day", allow_blank=False, id="data-every")
                yield Label("", id="data-stats")
                yield Chart(id="data-chart")
                yield ProgressPanel(id="data-progress")

    # --- loading ---

    @property
    def persona_id(self) -> str | None:
        value = self.query_one("#data-persona", Select).value
        return value if isinstance(value, str) else None

    @property
    def metric(self) -> str | None:
        selected = self.cursor_item("#data-metrics", self.metrics)
        return selected.metric if selected is not None else None

    def load(self) -> None:
        self._load_personas(self.vault)

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_personas(self, vault: Vault) -> None:
        personas = identities.list_personas(vault)
        self.app.call_from_thread(self._show_personas, personas)

    def _show_personas(self, personas: list[identities.Persona]) -> None:
        self.personas = personas
        select = self.query_one("#data-persona", Select)
        keep = self.persona_id
        select.set_options([(p.name, p.id) for p in personas])
        ids = [p.id for p in personas]
        if keep in ids:
            select.value = keep
            self._load_metrics()
        elif ids:
            select.value = ids[0]
        else:
            self.query_one("#data-chart", Chart).clear("No persona yet: create one first.")

    @on(Select.Changed, "#data-persona")
    def _persona_changed(self) -> None:
        self._load_metrics()

    def _load_metrics(self) -> None:
        if self.persona_id:
            self._metrics_worker(self.vault, self.persona_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="metrics")
    def _metrics_worker(self, vault: Vault, persona_id: str) -> None:
        found = query.list_metrics(vault, persona_id)
        self.app.call_from_thread(self._show_metrics, found)

    def _show_metrics(self, found: list[query.MetricInfo]) -> None:
        keep = self.metric
        self.metrics = found
        table = self.query_one("#data-metrics", DataTable)
        table.clear()
        for m in found:
            table.add_row(*fmt.cells(m.metric, fmt.count(m.samples)), key=m.metric)
        names = [m.metric for m in found]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        if not found:
            self.query_one("#data-stats", Label).update("")
            self.query_one("#data-chart", Chart).clear(
                "No measurements for this persona yet: press i to import a file."
            )
        self._load_chart()

    @on(DataTable.RowHighlighted, "#data-metrics")
    @on(Select.Changed, "#data-range")
    @on(Select.Changed, "#data-every")
    def _load_chart(self) -> None:
        metric, persona_id = self.metric, self.persona_id
        if metric is None or persona_id is None:
            return
        days = self.query_one("#data-range", Select).value
        every = self.query_one("#data-every", Select).value
        q = ChartQuery(persona_id, metric, int(str(days)), str(every))
        self._chart_worker(self.vault, q, self.coffre.clock.now())

    @work(thread=True, exclusive=True, exit_on_error=False, group="chart")
    def _chart_worker(self, vault: Vault, q: ChartQuery, now: datetime) -> None:
        found = series(vault, q, now)
        self.app.call_from_thread(self._show_chart, found)

    def _show_chart(self, s: Series) -> None:
        chart = self.query_one("#data-chart", Chart)
        if not s.values:
            chart.clear(f"No {s.metric} in this range.")
            self.query_one("#data-stats", Label).update("")
            return
        self.query_one("#data-stats", Label).update(
            f"min {fmt.number(s.low, s.unit)}   avg {fmt.number(s.mean, s.unit)}"
            f"   max {fmt.number(s.high, s.unit)}   per {s.per}"
        )
        chart.show(s.values, s.first, s.last)

    def action_toggle_style(self) -> None:
        chart = self.query_one("#data-chart", Chart)
        chart.style = "line" if chart.style == "bars" else "bars"

    # --- import ---

    def action_import(self) -> None:
        if self.busy_writing():
            return
        persona_id = self.persona_id
        if persona_id is None:
            self.notify("Create a persona first.", severity="warning")
            return
        name = next(p.name for p in self.personas if p.id == persona_id)

        def chosen(request: ImportRequest) -> None:
            panel = self.query_one("#data-progress", ProgressPanel)
            panel.begin(f"Importing {request.path.name}…")
            self._import(self.vault, persona_id, request, panel)

        self.ask(ImportModal(name), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _import(
        self, vault: Vault, persona_id: str, request: ImportRequest, panel: ProgressPanel
    ) -> None:
        try:
            summary = run_import(vault, persona_id, request, panel.report)
        finally:
            self.app.call_from_thread(panel.end)
        self.app.call_from_thread(self._imported, request, summary)

    def _imported(self, request: ImportRequest, summary: ImportSummary) -> None:
        self.summary = summary
        self.changed("import")
        self.report(
            "Import finished", summary_markdown(request.path.name, summary), self._load_metrics
        )
