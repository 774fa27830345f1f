"""Quantified-self data as people read it and as scripts get it: numbers with thousands
separators and never an exponent, durations as durations, periods as local dates, the
aggregate that fits a metric's kind, and the JSON views of the `data` commands.

The registry says how a metric aggregates (`Metric.aggregation`): a **sum** (steps,
energy) is shown by its total, a **rate** (heart rate, weight) by its mean, lowest and
highest sample, a **category** (sleep, workouts) by time spent, as a duration. A metric of
whole things (`Metric.whole`) keeps integer totals. Front ends lay these cells out; nothing
here prints.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vault.core.i18n import N_, Text
from vault.core.untrusted import printable
from vault.data import health_records, metrics
from vault.data.metrics import Aggregation
from vault.data.model import SLEEP_STAGE_NAMES, UNKNOWN_PREFIX
from vault.data.query import utc_iso
from vault.data.render import offset_suffix

if TYPE_CHECKING:
    from vault.data.health_records import StoredClinical, StoredEcg
    from vault.data.query import Bucket, MetricInfo, SourceStats

# The order sleep stages are shown in, the time asleep first.
STAGE_ORDER: Final = ("in_bed", "asleep", "core", "deep", "rem", "awake")
MEAN_DIGITS: Final = 1  # a mean is shown with one decimal: 72.4 beats per minute, 70.3 kg
PERIOD_WORDS: Final = {"hour": "hour", "day": "day", "week": "week of", "month": "month"}


def kind_of(metric: str) -> Aggregation:
    """How METRIC aggregates: `sum`, `rate` or `category` (metrics the registry does not
    know, `x:...`, are taken as rates: their samples are shown, never added up)."""
    return "rate" if metric.startswith(UNKNOWN_PREFIX) else metrics.get(metric).aggregation


def is_whole(metric: str) -> bool:
    """Whether METRIC counts whole things, so its totals are integers."""
    return not metric.startswith(UNKNOWN_PREFIX) and metrics.get(metric).whole


def number(value: float, *, whole: bool = False, digits: int | None = None) -> str:
    """VALUE with thousands separators and no exponent: an integer when WHOLE (or when it
    is one), else with the decimals its size calls for (72.4, 0.97, 1,204); with DIGITS,
    always that many (so a column of means lines up)."""
    if not math.isfinite(value):
        return str(value)
    if digits is not None:
        return f"{value:,.{digits}f}"
    if whole or value == int(value):
        return f"{round(value):,}"
    size = abs(value)
    digits = 0 if size >= 1000 else 1 if size >= 10 else 2
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def duration(minutes: float) -> str:
    """A duration in minutes as people say it: `45 min`, `7 h 05 min`, `2 d 3 h`."""
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days:,} d {hours} h"


def count(n: int, word: str) -> str:
    """`1 sample`, `2 samples`, `51,000 samples`."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def local(ms: int, offset_min: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(minutes=offset_min)))


def period_label(b: Bucket, every: str) -> str:
    """The period a bucket covers, in the zone it was cut in: `2024-03-01 10:00` for an
    hour, `2024-03-01` for a day or a week (its Monday), `2024-03` for a month."""
    start = local(b.start, b.offset_min)
    if every == "hour":
        return start.strftime("%Y-%m-%d %H:%M")
    if every == "month":
        return start.strftime("%Y-%m")
    return start.strftime("%Y-%m-%d")


def headline(b: Bucket, metric: str) -> float:
    """The one number that stands for a period: the total of a sum, the mean of a rate,
    the time of a category (asleep, for sleep), in minutes."""
    return b.avg if kind_of(metric) == "rate" else b.sum


def headline_name(metric: str, every: str) -> str:
    """What `headline` is, in words: `total per day`, `mean per day`, `time asleep per
    night`."""
    per = "night" if metric == "sleep" and every == "day" else every
    kind = kind_of(metric)
    what = {"sum": "total", "rate": "mean", "category": "time"}[kind]
    if metric == "sleep":
        what = "time asleep"
    return f"{what} per {per}"


# The words of UCUM's braced units (`{steps}`) that a person reads: the front ends say them
# in the person's language (`i18n.localise`); the JSON keeps the unit as stored.
_UNIT_WORDS: Final = {
    "steps": N_("steps"),
    "count": N_("count"),
    "flights": N_("flights"),
    "recordings": N_("recordings"),
    "records": N_("records"),
    "score": N_("score"),
}


def unit_label(metric: str, unit: str) -> str:
    """The unit as shown: a category's durations read `h`, `min`; counts drop UCUM's
    braces (`steps`). Words are `Text`, for the front ends to translate."""
    if kind_of(metric) == "category":
        return Text(N_("duration"))
    if unit.startswith("{") and unit.endswith("}"):
        word = unit[1:-1]
        return Text(_UNIT_WORDS[word]) if word in _UNIT_WORDS else word
    return unit


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Rows of text cells under a header; `right` names the columns aligned right
    (numbers)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()

    def lines(self) -> list[str]:
        """The table as aligned lines, the header first."""
        widths = [
            max(len(cell) for cell in column)
            for column in zip(self.header, *self.rows, strict=True)
        ]
        out = []
        for row in (self.header, *self.rows):
            cells = [
                cell.rjust(w) if i in self.right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
        return out


def metrics_table(found: Sequence[MetricInfo]) -> Table:
    """`data metrics`: one row per metric, its unit beside its name and the sample count
    under a header, so a count is never read as a value."""
    rows = tuple(
        (
            m.metric,
            unit_label(m.metric, m.unit) if not m.metric.startswith(UNKNOWN_PREFIX) else m.unit,
            f"{m.samples:,}",
            _day(m.first),
            _day(m.last),
            f"{len(m.sources):,}",
        )
        for m in found
    )
    return Table(("metric", "unit", "samples", "first", "last", "sources"), rows, frozenset({2, 5}))


def _day(ms: int | None) -> str:
    return "-" if ms is None else local(ms, 0).strftime("%Y-%m-%d")


def buckets_table(buckets: Sequence[Bucket], metric: str, every: str) -> Table:
    """`data show --every`: the aggregates that fit the metric's kind. Sums: the total;
    rates: mean, lowest, highest; sleep: time asleep and per stage, as durations; other
    categories (workouts, mindful minutes): total time and sessions."""
    kind, whole = kind_of(metric), is_whole(metric)
    period = PERIOD_WORDS[every]
    if metric == "sleep":
        period = "woke up" if every == "day" else period  # a night counts for the morning after
        seen = {s for b in buckets for s in (b.stages or {})}
        stages = [s for s in STAGE_ORDER if s in seen] + sorted(seen - set(STAGE_ORDER))
        header = (period, "asleep", *(s.replace("_", " ") for s in stages))
        rows = tuple(
            (
                period_label(b, every),
                duration(b.sum),
                *(duration((b.stages or {}).get(s, 0.0)) for s in stages),
            )
            for b in buckets
        )
        return Table(header, rows, frozenset(range(1, len(header))))
    if kind == "category":
        rows = tuple((period_label(b, every), duration(b.sum), f"{b.count:,}") for b in buckets)
        return Table((period, "time", "sessions"), rows, frozenset({1, 2}))
    if kind == "sum":
        rows = tuple(
            (period_label(b, every), number(b.sum, whole=whole), f"{b.count:,}") for b in buckets
        )
        return Table((period, "total", "samples"), rows, frozenset({1, 2}))
    rows = tuple(
        (
            period_label(b, every),
            number(b.avg, digits=MEAN_DIGITS),
            number(b.min, whole=whole),
            number(b.max, whole=whole),
            f"{b.count:,}",
        )
        for b in buckets
    )
    return Table((period, "mean", "lowest", "highest", "samples"), rows, frozenset({1, 2, 3, 4}))


def sources_table(stats: Sequence[SourceStats], metric: str) -> Table:
    """`data sources`: per source, highest priority first; a sum's total and the part of
    it that counts under the priority, a rate's mean and extremes."""
    kind, whole = kind_of(metric), is_whole(metric)
    rows: tuple[tuple[str, ...], ...]
    if kind == "rate":
        rows = tuple(
            (
                f"{s.rank + 1}",
                s.source,
                f"{s.count:,}",
                number(s.avg, digits=MEAN_DIGITS),
                number(s.min, whole=whole),
                number(s.max, whole=whole),
            )
            for s in stats
        )
        header = ("rank", "source", "samples", "mean", "lowest", "highest")
        return Table(header, rows, frozenset({0, 2, 3, 4, 5}))
    show = duration if kind == "category" else (lambda v: number(v, whole=whole))
    rows = tuple(
        (f"{s.rank + 1}", s.source, f"{s.count:,}", show(s.sum), show(s.counted)) for s in stats
    )
    return Table(("rank", "source", "samples", "total", "counted"), rows, frozenset({0, 2, 3, 4}))


# --- JSON views ---------------------------------------------------------------------------------


def _json_number(value: float, whole: bool) -> float | int:
    return round(value) if whole else value


def bucket_json(b: Bucket, metric: str) -> dict[str, Any]:
    """One period of `data show --every --json`: instants in UTC (`Z`) with the zone's
    `offset` at the period's start; a metric of whole things keeps integer totals."""
    whole = is_whole(metric)
    out: dict[str, Any] = {
        "start": utc_iso(b.start),
        "end": utc_iso(b.end),
        "offset": offset_suffix(b.offset_min),
        "kind": kind_of(metric),
        "count": b.count,
        "sum": _json_number(b.sum, whole),
        "min": _json_number(b.min, whole),
        "avg": b.avg,
        "max": _json_number(b.max, whole),
        "unit": b.unit,
    }
    if b.stages is not None:
        out["stages"] = b.stages
    return out


def source_json(s: SourceStats, metric: str) -> dict[str, Any]:
    """One source of `data sources --json`; a metric of whole things keeps integer totals."""
    whole = is_whole(metric)
    return {
        "source": s.source,
        "rank": s.rank,
        "samples": s.count,
        "sum": _json_number(s.sum, whole),
        "min": _json_number(s.min, whole),
        "avg": s.avg,
        "max": _json_number(s.max, whole),
        "counted": _json_number(s.counted, whole),
    }


def sample_json(s: Any, metric: str) -> dict[str, Any]:
    """One sample of `data show --json`: instants in UTC (`Z`) and the `offset` it was
    recorded at; sleep samples name their stage, ECG recordings their classification and
    clinical records their FHIR resource type."""
    out: dict[str, Any] = {
        "start": utc_iso(s.start),
        "end": utc_iso(s.end),
        "offset": offset_suffix(s.offset_min),
        "value": _json_number(s.value, is_whole(metric)),
        "unit": s.unit,
        "source": s.source,
    }
    if metric == "sleep":
        out["stage"] = SLEEP_STAGE_NAMES.get(int(s.value), "unknown")
    elif metric in ("ecg", "clinical_record"):
        # What each recording or record is, kept in the sample's metadata.
        details = dict(s.metadata)
        key = "classification" if metric == "ecg" else "resource_type"
        if key in details:
            out[key] = details[key]
    return out


# --- charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """What a chart of a metric plots: one point per period that has data, the aggregate
    that fits the metric's kind (`headline`; a category's time in hours), and its title."""

    title: str
    labels: tuple[str, ...]
    values: list[float]


def chart_series(buckets: Sequence[Bucket], metric: str, every: str) -> Series:
    """The points of `data show METRIC --chart`: the metric's name and unit as the title,
    and the aggregate per period (`headline`)."""
    kind = kind_of(metric)
    name = metric if metric.startswith(UNKNOWN_PREFIX) else metrics.get(metric).name
    unit = "h" if kind == "category" else unit_label(metric, buckets[0].unit if buckets else "")
    scale = 1 / 60 if kind == "category" else 1.0
    return Series(
        title=f"{name} ({unit}), {headline_name(metric, every)}",
        labels=tuple(period_label(b, every) for b in buckets),
        values=[headline(b, metric) * scale for b in buckets],
    )


# --- ECG recordings and clinical records ----------------------------------------------------


def ecg_json(e: StoredEcg) -> dict[str, Any]:
    """One recording of `data show ecg --json`: its header, instants in UTC (`Z`) with the
    `offset` it was recorded at; `average_heart_rate` is null when the file did not state it."""
    h = e.header
    rate = float(h["sample_rate_hz"])
    return {
        "start": utc_iso(int(h["start"])),
        "end": utc_iso(int(h["end"])),
        "offset": offset_suffix(int(h["offset_min"])),
        "classification": h.get("classification") or "",
        "classification_text": h.get("classification_text") or "",
        "symptoms": h.get("symptoms") or "",
        "lead": h.get("lead") or "",
        "sample_rate_hz": rate,
        "samples": int(h["samples"]),
        "duration_s": round(int(h["samples"]) / rate, 3) if rate else None,
        "average_heart_rate": h.get("average_heart_rate"),
        "unit": h.get("unit") or "",
        "device": h.get("device") or "",
        "source": h.get("source") or "",
    }


def ecg_table(ecgs: Sequence[StoredEcg]) -> Table:
    """`data show ecg`: a recording a row, at its local time, with what the watch read in it
    (its classification as the export wrote it), the symptoms noted, and how it was taken."""
    rows = []
    for e in ecgs:
        j = ecg_json(e)
        start = local(int(e.header["start"]), int(e.header["offset_min"]))
        heart = j["average_heart_rate"]
        rows.append(
            tuple(
                printable(cell)
                for cell in (
                    start.strftime("%Y-%m-%d %H:%M") + " " + j["offset"],
                    j["classification_text"] or j["classification"],
                    "-" if heart is None else f"{number(float(heart), whole=True)} /min",
                    "-" if j["duration_s"] is None else f"{number(j['duration_s'])} s",
                    f"{number(j['sample_rate_hz'])} Hz",
                    j["lead"] or "-",
                    j["symptoms"] or "-",
                    j["device"] or j["source"] or "-",
                )
            )
        )
    header = (
        "start",
        "classification",
        "heart rate",
        "duration",
        "sample rate",
        "lead",
        "symptoms",
        "device",
    )
    return Table(header, tuple(rows), frozenset({2, 3, 4}))


# Where a resource names what it is about (as the import's summary reads them).
_LABEL_FIELDS: Final = ("code", "medicationCodeableConcept", "vaccineCode", "substance", "type")


def _label(c: StoredClinical) -> str:
    """What a record is about: the import's summary (code, medication, vaccine, substance),
    else a referenced medication's or the resource's own description."""
    if c.summary:
        return c.summary
    r = c.resource
    for name in ("medicationReference", "medication"):
        ref = r.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("display"), str):
            return str(ref["display"]).strip()[:200]
    for name in (*_LABEL_FIELDS, "description", "class", "category"):
        text = health_records.concept_text(r.get(name))
        if text:
            return text[:200]
    return ""


_PLAIN_VALUES: Final = (
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueDateTime",
    "valueTime",
)


def _quantity(q: object) -> tuple[float | None, str]:
    """A Quantity's number as the provider wrote it (95 stays 95, not 95.0) and its unit."""
    value = q.get("value") if isinstance(q, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(q, dict):
        return None, ""
    unit = q.get("unit") if isinstance(q.get("unit"), str) else q.get("code")
    return value, unit if isinstance(unit, str) else ""


def clinical_value(resource: dict[str, Any]) -> tuple[float | str | bool | None, str]:
    """An Observation's value and unit (valueQuantity, a coded or plain value; a blood
    pressure's components as `120 / 80`); (None, "") for a resource without one."""
    value, unit = _quantity(resource.get("valueQuantity"))
    if value is not None:
        return value, unit
    for name in _PLAIN_VALUES:
        plain = resource.get(name)
        if isinstance(plain, str | bool | int | float):
            return plain, ""
    coded = health_records.concept_text(resource.get("valueCodeableConcept"))
    if coded:
        return coded, ""
    parts = [_quantity(c.get("valueQuantity")) for c in resource.get("component") or ()
             if isinstance(c, dict)]  # fmt: skip
    parts = [p for p in parts if p[0] is not None]
    if parts:
        units = {u for _v, u in parts}
        text = " / ".join(number(float(v)) for v, _u in parts if v is not None)
        return text, units.pop() if len(units) == 1 else ""
    return None, ""


def _status(resource: dict[str, Any]) -> str:
    """`status`, else a condition's or allergy's clinical status (a code in DSTU2, a
    CodeableConcept in R4)."""
    for name in ("status", "clinicalStatus", "verificationStatus"):
        text = health_records.concept_text(resource.get(name))
        if text:
            return text
    return ""


def clinical_json(c: StoredClinical) -> dict[str, Any]:
    """One record of `data show clinical_record --json`: its date as the provider wrote it
    (`date`, null when it has none) and as an instant in UTC (`start`), what it is, its
    value and unit when it has one, its status and its provider."""
    value, unit = clinical_value(c.resource)
    rid = c.resource.get("id")
    return {
        "date": health_records.resource_date_text(c.resource),
        "start": None if c.date is None else utc_iso(c.date),
        "resource_type": c.resource_type,
        "id": rid if isinstance(rid, str) else None,
        "label": _label(c),
        "value": value,
        "unit": unit or None,
        "status": _status(c.resource) or None,
        "provider": c.source or None,
        "fhir_version": c.fhir_version or None,
    }


def clinical_date(text: str | None) -> str:
    """A record's date as shown: a date stays the date written (`2021-05-01`, `2018-02`); a
    date-time is shown to the minute in the zone it was written in (the provider's local
    time), with that zone; `-` when the record has none."""
    if not text:
        return "-"
    if "T" not in text:
        return text
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text[:25]
    zone = moment.strftime("%z")
    shown = moment.strftime("%Y-%m-%d %H:%M")
    if not zone:
        return shown
    return shown + (" UTC" if zone == "+0000" else f" {zone[:3]}:{zone[3:]}")


def clinical_table(records: Sequence[StoredClinical]) -> Table:
    """`data show clinical_record`: a record a row, dated ones first: date, type, what it
    is, its value, status and provider. Text from the records is made safe to show."""
    rows = []
    for c in records:
        j = clinical_json(c)
        value = j["value"]
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = number(float(value))
        shown = "-" if value is None else f"{value} {j['unit'] or ''}".strip()
        rows.append(
            tuple(
                printable(cell)[:80]
                for cell in (
                    clinical_date(j["date"]),
                    c.resource_type,
                    j["label"] or "-",
                    shown,
                    j["status"] or "-",
                    j["provider"] or "-",
                )
            )
        )
    header = ("date", "type", "record", "value", "status", "provider")
    return Table(header, tuple(rows))
