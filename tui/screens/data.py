"""Data: a persona's metrics, a chart of one over a chosen range (and, for ECGs, the strip of
the latest recording in it), and imports with progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from tui.screens.importer import ImportModal, ImportRequest
from tui.widgets.chart import Chart
from tui.widgets.ecg import EcgStrip
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
from vault.core.i18n import N_, _, localise, localise_name, ngettext, number
from vault.core.importing import ImportSummary
from vault.core.progress import ProgressCallback
from vault.core.untrusted import printable
from vault.core.vault import Vault
from vault.data import health_records, metrics, query
from vault.data.model import UNKNOWN_PREFIX
from vault.imports import get_format

DAY_MS = query.DAY_MS
WINDOW_DAYS = 28  # "the latest 4 weeks" and the default range
LATEST, ALL, CUSTOM = "latest", "all", "custom"
# Ranges counted back from today, ranges placed on the data itself (an export that ended
# years ago is chartable), and one the person types.
RANGES: tuple[tuple[str, str], ...] = (
    (N_("Latest 4 weeks"), LATEST),
    (N_("Last 7 days"), "7"),
    (N_("Last 4 weeks"), str(WINDOW_DAYS)),
    (N_("Last 3 months"), "91"),
    (N_("Last year"), "365"),
    (N_("All the data"), ALL),
    (N_("From… to…"), CUSTOM),
)
BUCKETS: tuple[tuple[str, str], ...] = (
    (N_("Hourly"), "hour"),
    (N_("Daily"), "day"),
    (N_("Weekly"), "week"),
)
HOURLY_LIMIT_DAYS = 92  # longer ranges are drawn daily: hours would be averaged away anyway
EVERY_WORD = {"hour": "hourly", "day": "daily", "week": "weekly"}
# What a bar is, by period and whether the metric is a rate (means) or a count (totals).
KIND_WORDS = {
    ("hour", True): N_("hourly means"),
    ("hour", False): N_("hourly totals"),
    ("day", True): N_("daily means"),
    ("day", False): N_("daily totals"),
    ("week", True): N_("weekly means"),
    ("week", False): N_("weekly totals"),
}


@dataclass(frozen=True)
class Window:
    """The [start, end) a chart covers, in UTC milliseconds (whole days)."""

    start: int
    end: int

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY_MS


def _day_start(ms: int) -> int:
    return ms - ms % DAY_MS


def window(
    choice: str,
    now: datetime,
    info: query.MetricInfo,
    custom: tuple[date, date] | None = None,
) -> Window | None:
    """The range `choice` names for one metric: days back from today, the four weeks that
    end with its latest sample, all of its data, or the person's own dates (both
    included). None when the metric has no sample to place the range on."""
    if choice.isdigit():
        end = fmt.day_end_ms(now)
        return Window(end - int(choice) * DAY_MS, end)
    if choice == CUSTOM:
        if custom is None:
            return None
        first, last = custom
        start = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
        to = int(datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp() * 1000)
        return Window(start, to + DAY_MS)
    if info.first is None or info.last is None:
        return None
    end = _day_start(info.last) + DAY_MS
    if choice == LATEST:
        return Window(end - WINDOW_DAYS * DAY_MS, end)
    return Window(_day_start(info.first), end)


def default_range(found: list[query.MetricInfo], now: datetime) -> str:
    """The last four weeks when the data reaches into them; else the four weeks that end
    with the latest sample (a vault of an export that ended long ago shows its data)."""
    latest = max((m.last for m in found if m.last is not None), default=None)
    if latest is None or latest >= fmt.day_end_ms(now) - WINDOW_DAYS * DAY_MS:
        return str(WINDOW_DAYS)
    return LATEST


def parse_dates(first: str, last: str) -> tuple[date, date]:
    """The custom range as typed (YYYY-MM-DD, both included); ValueError says what is
    wrong, in words for the person."""
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError:
        raise ValueError("Dates are YYYY-MM-DD, as in 2024-03-01.") from None
    if start > end:
        raise ValueError(f"The range starts after it ends ({start} is after {end}).")
    return start, end


@dataclass(frozen=True)
class Series:
    """A chart's worth of one metric: one value per bucket (what the bars plot) and the
    figures of the header, computed from those same values."""

    metric: str
    values: tuple[float, ...]
    first: str
    last: str
    low: float  # the lowest bar
    mean: float
    high: float  # the highest bar
    unit: str
    every: str  # the buckets actually drawn (hourly turns daily over long ranges)
    rate: bool  # values are means of the samples (else totals)
    sample_low: float = 0.0  # single samples' extremes, for a rate
    sample_high: float = 0.0

    @property
    def kind(self) -> str:
        """What each bar is: "daily means", "weekly totals"..."""
        return _(
            KIND_WORDS.get(
                (self.every, self.rate), "{every} " + ("means" if self.rate else "totals")
            )
        ).format(every=self.every)

    @property
    def title(self) -> str:
        """The metric and its unit, and what a bar is."""
        unit = self.unit.strip("{}")
        named = f"{self.metric} ({unit})" if unit and unit != self.metric else self.metric
        return f"{named}: {self.kind}"

    def stats(self, drawn: Sequence[float] = (), per_column: int = 1) -> str:
        """The header's figures: the extremes of the bars as `drawn` (the values, or their
        averages when a column holds several: said so), so they agree with the chart; a
        rate's single-sample extremes follow, named as such."""
        low, high = (min(drawn), max(drawn)) if drawn else (self.low, self.high)
        merged = (
            _(", each column averaging up to {n}").format(n=per_column) if per_column > 1 else ""
        )
        text = _("lowest {low} · mean {mean} · highest {high} (of the {kind}{merged})").format(
            low=fmt.number(low),
            mean=fmt.number(self.mean),
            high=fmt.number(high),
            kind=self.kind,
            merged=merged,
        )
        if self.rate:
            text += _("; single samples {low} to {high}").format(
                low=fmt.number(self.sample_low), high=fmt.number(self.sample_high)
            )
        return text


@dataclass(frozen=True)
class ChartQuery:
    """What the chart shows: a persona's metric over a window, per `every`."""

    persona_id: str
    metric: str
    window: Window
    every: str


def series(vault: Vault, q: ChartQuery) -> Series:
    """Aggregate with the library; choose which figure of each bucket to plot."""
    persona_id, metric, every = q.persona_id, q.metric, q.every
    if every == "hour" and q.window.days > HOURLY_LIMIT_DAYS:
        every = "day"
    rate = not metric.startswith(UNKNOWN_PREFIX) and metrics.get(metric).aggregation == "rate"
    buckets = query.aggregate(
        vault, persona_id, metric, every, start=q.window.start, end=q.window.end
    )
    if not buckets:
        return Series(metric, (), "", "", 0.0, 0.0, 0.0, "", every, rate)
    if rate:
        values = tuple(b.avg for b in buckets)
        total = sum(b.count for b in buckets)
        mean = sum(b.avg * b.count for b in buckets) / total if total else 0.0
        extremes = min(b.min for b in buckets), max(b.max for b in buckets)
    else:
        values = tuple(b.sum for b in buckets)
        mean = sum(values) / len(values)
        extremes = 0.0, 0.0
    return Series(
        metric,
        values,
        fmt.day(buckets[0].start),
        fmt.day(buckets[-1].start),
        min(values),
        mean,
        max(values),
        buckets[0].unit,
        every,
        rate,
        *extremes,
    )


def latest_ecg(vault: Vault, persona_id: str, span: Window) -> tuple[str, list[float]] | None:
    """The strip's title and voltages for the latest ECG recording in `span`, or None."""
    found = health_records.list_ecgs(vault, persona_id, span.start, span.end)
    if not found:
        return None
    ecg = found[-1]
    h = ecg.header
    volts = health_records.ecg_voltages(vault, ecg).tolist()
    # The classification and symptoms come from the export's file: shown made safe.
    said = printable(str(h.get("classification_text") or h["classification"]))
    seconds = len(volts) / float(h["sample_rate_hz"])
    parts = [
        f"Latest ECG {fmt.instant(query.iso(int(h['start']), int(h.get('offset_min', 0))))}",
        said,
        f"{seconds:.0f} s at {float(h['sample_rate_hz']):g} Hz",
    ]
    if h.get("lead"):
        parts.append(printable(str(h["lead"])))
    if h.get("symptoms"):
        parts.append(f"symptoms: {printable(str(h['symptoms']))}")
    return " · ".join(parts), volts


def run_import(
    vault: Vault, persona_id: str, request: ImportRequest, progress: ProgressCallback
) -> ImportSummary:
    """Hand the path and settings to its format's importer (into the persona, for formats
    that take one); a bad setting is refused by the registry, named, before the input is read."""
    fmt = get_format(request.fmt)
    persona = persona_id if fmt.needs_persona else None
    options = dict(request.options)
    return fmt.run(vault, request.path, persona=persona, progress=progress, options=options)


_METRICS_LISTED = 12  # metrics named in an import's summary, the others counted


def summary_markdown(name: str, s: ImportSummary) -> str:
    """An import summary for people; counts that stayed at zero are left out."""
    records = get_format(s.format).records
    unknown = sum(s.unknown_types.values())
    records = _(records)
    optional = [
        (
            len(s.updated),
            _("- updated: {n} {records}").format(n=number(len(s.updated)), records=records),
        ),
        (
            len(s.unchanged),
            _("- unchanged: {n} {records}").format(n=number(len(s.unchanged)), records=records),
        ),
        (s.attachments, _("- attachments: {n}").format(n=number(s.attachments))),
        (s.workouts, _("- workouts: {n}").format(n=number(s.workouts))),
        (s.summaries, _("- daily summaries: {n}").format(n=number(s.summaries))),
        (s.ignored, _("- ignored: {n}").format(n=number(s.ignored))),
        (
            unknown,
            _("- kept: {n} samples of {types} unknown types").format(
                n=number(unknown), types=len(s.unknown_types)
            ),
        ),
    ]
    lines = [
        f"**{printable(name)}**",
        "",
        _("- added: **{n}** {records}").format(n=number(s.added), records=records),
    ]
    # What came in, metric by metric: the first few, most first.
    by_metric = sorted(s.by_metric.items(), key=lambda kv: (-kv[1], kv[0]))
    lines += [f"  - {printable(metric)}: {number(n)}" for metric, n in by_metric[:_METRICS_LISTED]]
    if len(by_metric) > _METRICS_LISTED:
        rest = len(by_metric) - _METRICS_LISTED
        lines.append("  - " + ngettext("{n} more metric", "{n} more metrics", rest).format(n=rest))
    lines.append(_("- skipped: {n} duplicates already in the vault").format(n=number(s.duplicates)))
    lines += [line for count, line in optional if count]
    c = s.clinical_records
    if c:
        lines.append(
            _(
                "- clinical records: {added} added, {updated} updated, {unchanged} already stored"
            ).format(
                added=number(c.added), updated=number(c.updated), unchanged=number(c.unchanged)
            )
        )
        if c.older:
            lines.append(
                _("- clinical records older than the stored version (not stored): {n}").format(
                    n=number(c.older)
                )
            )
        if c.undated:
            lines.append(
                _("- clinical records without a date (listed, under no day): {n}").format(
                    n=number(c.undated)
                )
            )
    lines.append(_("- problems: {n}").format(n=number(len(s.errors))))
    lines += [
        "  - "
        + _("{location}: {problem}").format(
            location=printable(localise_name(e.location)), problem=printable(localise(e.problem))
        )
        for e in s.errors[:10]
    ]
    lines += [f"- {printable(localise(reason))}" for reason in s.skipped]
    lines += [f"- {printable(localise(note))}" for note in s.notes]
    return "\n".join(lines)


class DataScreen(SectionScreen):
    """What was measured, per persona; how it went over time."""

    MODE = "data"
    TITLE_TEXT = N_("Data")
    AUTO_FOCUS = "#data-metrics"  # Up/Down move through the metrics from the start
    HOME = "#data-metrics"
    BINDINGS: ClassVar = bindings(
        "data",
        ("i", "import", N_("Import"), N_("Import a file or folder in any format Coffre reads")),
        ("l", "toggle_style", N_("Bars/line"), N_("Draw the chart as bars or a line")),
        ("r", "refresh", N_("Refresh"), N_("Read the vault again")),
    )

    def __init__(self) -> None:
        super().__init__()
        self.personas: list[identities.Persona] = []
        self.metrics: list[query.MetricInfo] = []
        self.summary: ImportSummary | None = None
        self.shown: Series | None = None
        self.shown_window: Window | None = None  # the range of the chart last asked for
        self._range_picked = False  # once the person picks a range, loads keep it
        self._range_offered = str(WINDOW_DAYS)  # the range the screen chose itself

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="data"):
            with Vertical(classes="panel", id="data-side"):
                yield Select([], prompt=_("Persona"), id="data-persona", allow_blank=True)
                yield data_table("data-metrics", zebra_stripes=False)
            with Vertical(classes="panel", id="data-main"):
                with Horizontal(id="data-controls"):
                    yield Select(
                        [(_(label), value) for label, value in RANGES],
                        value=str(WINDOW_DAYS),
                        allow_blank=False,
                        id="data-range",
                    )
                    yield Select(
                        [(_(label), value) for label, value in BUCKETS],
                        value="day",
                        allow_blank=False,
                        id="data-every",
                    )
                with Horizontal(id="data-custom"):
                    yield Input(placeholder=_("From YYYY-MM-DD"), id="data-from")
                    yield Input(placeholder=_("To YYYY-MM-DD"), id="data-to")
                yield Label("", id="data-range-problem", classes="field-error", markup=False)
                yield Label("", id="data-title", classes="panel-title", markup=False)
                yield Label("", id="data-stats", markup=False)
                yield Chart(id="data-chart")
                yield EcgStrip(id="data-ecg")
                yield ProgressPanel(id="data-progress")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#data-custom").display = False
        self.query_one("#data-range-problem").display = False
        self.query_one("#data-ecg").display = False

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
        self._fill_metrics()
        names = [m.metric for m in found]
        if keep in names:
            self.query_one("#data-metrics", DataTable).move_cursor(row=names.index(keep))
        if not self._range_picked and found:
            self._range_offered = default_range(found, self.coffre.clock.now())
            with self.prevent(Select.Changed):
                self.query_one("#data-range", Select).value = self._range_offered
        if not found:
            self._show_nothing(_("No measurements for this persona yet: press i to import a file."))
        self._load_chart()

    def _fill_metrics(self) -> None:
        """The metric list: every count in full (thousands separated), the names cut in the
        middle with an ellipsis to what the panel leaves them."""
        table = self.query_one("#data-metrics", DataTable)
        counts = [number(m.samples) for m in self.metrics]
        count_width = max([len("Samples"), *map(len, counts)])
        inner = table.size.width or self.query_one("#data-side").size.width - 4
        # Two cells padded one each side, and room for the scrollbar (one cell, app.tcss).
        name_width = max(8, inner - count_width - 2 * 2 * table.cell_padding - 1)
        table.clear(columns=True)
        table.add_column(_("Metric"), width=name_width)
        table.add_column(Text(_("Samples"), justify="right"), width=count_width)
        for m, n in zip(self.metrics, counts, strict=True):
            name = Text(printable(fmt.squeeze(m.metric, name_width)))
            table.add_row(name, Text(n, justify="right"), key=m.metric)

    def on_resize(self, _event: events.Resize) -> None:
        self.call_after_refresh(self._show_stats)
        if self.metrics:
            row = self.query_one("#data-metrics", DataTable).cursor_row
            self._fill_metrics()
            self.query_one("#data-metrics", DataTable).move_cursor(row=row)

    def _show_nothing(self, message: str) -> None:
        self.shown = None
        self.query_one("#data-ecg").display = False
        for label in ("#data-title", "#data-stats"):
            self.query_one(label, Label).update("")
        self.query_one("#data-chart", Chart).clear(message)

    def _custom_dates(self) -> tuple[date, date] | None:
        """The typed range, or None with the problem shown under the fields (which keep
        what was typed)."""
        problem = self.query_one("#data-range-problem", Label)
        try:
            dates = parse_dates(
                self.query_one("#data-from", Input).value,
                self.query_one("#data-to", Input).value,
            )
        except ValueError as exc:
            problem.update(str(exc))
            problem.display = True
            return None
        problem.display = False
        return dates

    @on(Select.Changed, "#data-range")
    def _range_changed(self, event: Select.Changed) -> None:
        if event.value == self._range_offered and not self._range_picked:
            return  # the screen's own choice (Select tells of it too), already drawn
        self._range_picked = True
        custom = event.value == CUSTOM
        self.query_one("#data-custom").display = custom
        if not custom:
            self.query_one("#data-range-problem").display = False
            self._load_chart()
            return
        info = self._metric_info()
        fields = self.query_one("#data-from", Input), self.query_one("#data-to", Input)
        if info is not None and not any(f.value for f in fields):
            fields[0].value, fields[1].value = fmt.day(info.first), fmt.day(info.last)
        fields[0].focus()
        self._load_chart()

    @on(Input.Submitted, "#data-from")
    @on(Input.Submitted, "#data-to")
    def _dates_submitted(self) -> None:
        self._load_chart()  # draws the typed range, or shows what is wrong with it
        if self._custom_dates() is not None:
            self.query_one("#data-metrics", DataTable).focus()

    def _metric_info(self) -> query.MetricInfo | None:
        return self.cursor_item("#data-metrics", self.metrics)

    @on(DataTable.RowHighlighted, "#data-metrics")
    @on(Select.Changed, "#data-every")
    def _load_chart(self) -> None:
        info, persona_id = self._metric_info(), self.persona_id
        if info is None or persona_id is None:
            return
        choice = str(self.query_one("#data-range", Select).value)
        custom = self._custom_dates() if choice == CUSTOM else None
        if choice == CUSTOM and custom is None:
            self._show_nothing(_("Correct the dates above to draw the chart."))
            return
        span = window(choice, self.coffre.clock.now(), info, custom)
        if span is None:
            self._show_nothing(_("No {metric} yet.").format(metric=info.metric))
            return
        every = str(self.query_one("#data-every", Select).value)
        self.shown_window = span
        self._chart_worker(self.vault, ChartQuery(persona_id, info.metric, span, every), info)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ecg")
    def _ecg_worker(self, vault: Vault, persona_id: str, span: Window) -> None:
        found = latest_ecg(vault, persona_id, span)
        self.app.call_from_thread(self._show_ecg, found)

    def _show_ecg(self, found: tuple[str, list[float]] | None) -> None:
        strip = self.query_one("#data-ecg", EcgStrip)
        if found is None:
            strip.clear("No ECG recording in this range.")
        else:
            strip.show(found[1], found[0])

    @work(thread=True, exclusive=True, exit_on_error=False, group="chart")
    def _chart_worker(self, vault: Vault, q: ChartQuery, info: query.MetricInfo) -> None:
        found = series(vault, q)
        self.app.call_from_thread(self._show_chart, found, info)

    def _show_chart(self, s: Series, info: query.MetricInfo) -> None:
        if not s.values:
            where = _("{first} to {last}").format(
                first=fmt.day(info.first), last=fmt.day(info.last)
            )
            self._show_nothing(
                _(
                    "No {metric} in this range: its data runs from {where}. "
                    "Choose 'Latest 4 weeks' or 'All the data'."
                ).format(metric=s.metric, where=where)
            )
            return
        self.shown = s
        self.query_one("#data-title", Label).update(s.title)
        strip = self.query_one("#data-ecg", EcgStrip)
        strip.display = s.metric == health_records.ECG_METRIC
        if strip.display and self.persona_id is not None and self.shown_window is not None:
            self._ecg_worker(self.vault, self.persona_id, self.shown_window)
        # Totals start from zero; a rate's axis is scaled to its values (a heart rate
        # between 50 and 120 would be squashed into the top rows of an axis from 0).
        self.query_one("#data-chart", Chart).show(s.values, s.first, s.last, zero=not s.rate)
        self.call_after_refresh(self._show_stats)

    def _show_stats(self) -> None:
        """The header of the chart as drawn now (its width decides how many values a
        column averages)."""
        if self.shown is not None:
            chart = self.query_one("#data-chart", Chart)
            text = self.shown.stats(chart.drawn(), chart.per_column())
            self.query_one("#data-stats", Label).update(text)

    def action_toggle_style(self) -> None:
        chart = self.query_one("#data-chart", Chart)
        chart.style = "line" if chart.style == "bars" else "bars"

    # --- import ---

    def action_import(self) -> None:
        if self.busy_writing():
            return
        persona_id = self.persona_id
        if persona_id is None:
            self.notify(_("Create a persona first."), severity="warning")
            return
        name = next(p.name for p in self.personas if p.id == persona_id)

        def chosen(request: ImportRequest) -> None:
            panel = self.query_one("#data-progress", ProgressPanel)
            panel.begin(_("Importing {name}…").format(name=request.path.name))
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
            _("Import finished"), summary_markdown(request.path.name, summary), self._load_metrics
        )
