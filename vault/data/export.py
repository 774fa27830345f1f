"""Standard exports of quantified-self data: FHIR R4 Observations and IEEE 1752.1 / Open mHealth.

Both stream: observations and data points are written one at a time to a text sink, never
held all in memory. `granularity` is "raw" (one per sample) or hour, day, week, month (one
per period, totals under the source priority, see vault/qs/query.py).

FHIR: a Bundle of type `collection` of Observations with LOINC codes (plus a Coffre coding
for every metric), UCUM units, `effectivePeriod` for intervals and `effectiveDateTime` for
instants. Open mHealth: a JSON array of data points (header + body); steps use the IEEE
1752.1 physical-activity schema (Open mHealth step-count 3.0 is deprecated in its favour).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, Final

from vault.core.clock import SYSTEM_CLOCK
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_
from vault.data import chunks, metrics, query, render
from vault.data.csvfmt import RawCsv, TextSink, csv_header, export_csv, write_rows
from vault.data.model import SLEEP_STAGE_NAMES, SLEEP_STAGES, UNKNOWN_PREFIX

if TYPE_CHECKING:
    from vault.core.vault import Vault

GRANULARITIES: Final = ("raw", "hour", "day", "week", "month")
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
COFFRE_METRICS: Final = "urn:coffre:qs-metric"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
_VITAL_SIGNS: Final = frozenset(
    {
        "heart_rate",
        "heart_rate_beat",
        "resting_heart_rate",
        "respiratory_rate",
        "blood_oxygen",
        "body_mass",
        "height",
        "body_mass_index",
        "body_temperature",
        "blood_pressure_systolic",
        "blood_pressure_diastolic",
    }
)
_ASLEEP: Final = frozenset(SLEEP_STAGES[s] for s in query.ASLEEP_STAGES)


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise InvalidParameter(
            N_("granularity must be one of {choices}"), choices=", ".join(GRANULARITIES)
        )


def _stamp(moment: dt.datetime) -> str:
    """FHIR and Open mHealth creation times: UTC to the second, with `+00:00`."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _fhir_prefix(moment: dt.datetime) -> str:
    """The opening of a FHIR collection Bundle made at `moment`, up to its first entry."""
    return (
        '{"resourceType": "Bundle", "id": "' + _new_id() + '", "type": "collection", '
        '"timestamp": "' + _stamp(moment) + '", "entry": ['
    )


def _new_id() -> str:
    """A random UUID for an exported item: ids derived from the data would let two
    recipients of the same samples match them up beyond what the data itself shows."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class _Point:
    """One exported value: a sample, or a period's aggregate."""

    start: int
    end: int
    offset_min: int
    value: float
    unit: str
    source: str
    count: int = 1
    stages: dict[str, float] | None = None
    statistic: str | None = None  # None for a raw sample; "sum" or "average" for a period


@dataclass(frozen=True)
class _Selection:
    """What an export covers: one persona's metric over a time range, at a granularity (for
    aggregates, periods in the time zone `tz`). Checked when made, before anything is
    written."""

    vault: Vault
    persona_id: str
    metric: str
    start: int | None
    end: int | None
    granularity: str
    tz: str

    def __post_init__(self) -> None:
        _check_granularity(self.granularity)
        query.check_metric(self.metric)

    def columns(self) -> Iterator[chunks.Columns]:
        """The raw samples, a chunk of columns at a time."""
        return query.iter_columns(self.vault, self.persona_id, self.metric, self.start, self.end)

    def aggregates(self) -> Iterator[_Point]:
        """One point per period: the average of a rate, the sum of anything else."""
        metric = self.metric
        kind = "rate" if metric.startswith(UNKNOWN_PREFIX) else metrics.get(metric).aggregation
        stat = "average" if kind == "rate" else "sum"
        every, tz = self.granularity, self.tz
        buckets = query.aggregate(
            self.vault, self.persona_id, metric, every, start=self.start, end=self.end, tz=tz
        )
        for b in buckets:
            value = b.avg if kind == "rate" else b.sum
            yield _Point(b.start, b.end, b.offset_min, value, b.unit, "", b.count, b.stages, stat)


class _JsonArrayWriter:
    """Writes a JSON array item by item."""

    def __init__(self, out: TextSink | IO[str], prefix: str, suffix: str) -> None:
        self.out, self.suffix, self.n = out, suffix, 0
        out.write(prefix)

    def add(self, item: dict[str, Any]) -> None:
        self.out.write(("\n" if not self.n else ",\n") + json.dumps(item, ensure_ascii=False))
        self.n += 1

    def add_text(self, text: str, count: int) -> None:
        """Add `count` items already rendered as JSON text, joined by `,\\n` (one write)."""
        if count:
            self.out.write(("\n" if not self.n else ",\n") + text)
            self.n += count

    def close(self) -> int:
        self.out.write(("\n" if self.n else "") + self.suffix)
        return self.n


@dataclass(frozen=True)
class _JsonFormat:
    """How FHIR or Open mHealth writes one export: the JSON array's opening and closing, the
    bulk renderer of raw samples, and the item of a period's aggregate."""

    prefix: str
    suffix: str
    raw: _RawFormat
    item: Callable[[_Point], dict[str, Any]]


def _fhir(metric: str, subject: str | None, now: dt.datetime | None) -> _JsonFormat:
    """A FHIR collection Bundle made `now` (None: by the system clock)."""
    prefix = _fhir_prefix(now or SYSTEM_CLOCK.now())
    raw = _RawFormat(metric, "fhir", subject=subject)
    return _JsonFormat(prefix, "]}\n", raw, lambda p: fhir_entry(metric, p, subject))


def _omh(metric: str, now: dt.datetime | None) -> _JsonFormat:
    """An array of Open mHealth data points created `now` (None: by the system clock)."""
    created = _stamp(now or SYSTEM_CLOCK.now())
    raw = _RawFormat(metric, "omh", created=created)
    return _JsonFormat("[", "]\n", raw, lambda p: data_point(metric, p, created))


def _write_json(
    fmt: _JsonFormat, selection: _Selection, out: TextSink | IO[str], include_sources: bool
) -> int:
    """Stream an export in `fmt` to `out`: raw samples a chunk at a time, or aggregates one
    per period; return how many items were written."""
    writer = _JsonArrayWriter(out, fmt.prefix, fmt.suffix)
    if selection.granularity == "raw":
        for cols in selection.columns():
            writer.add_text(fmt.raw.text(cols, include_sources), len(cols))
    else:
        for p in selection.aggregates():
            writer.add(fmt.item(p))
    return writer.close()


# --- FHIR R4 ---------------------------------------------------------------------------------


def _quantity(value: float, unit: str) -> dict[str, Any]:
    q: dict[str, Any] = {"value": round(value, 6), "unit": unit}
    if unit:
        q.update(system=UCUM, code=unit)
    return q


def _code(metric: str) -> dict[str, Any]:
    m = metrics.METRICS.get(metric)
    coding = []
    if m is not None and m.loinc:
        coding.append({"system": LOINC, "code": m.loinc, "display": m.name})
    coding.append({"system": COFFRE_METRICS, "code": metric})
    return {"coding": coding, "text": m.name if m else metric}


def observation(metric: str, p: _Point, subject: str | None = None) -> dict[str, Any]:
    """One FHIR R4 Observation for a sample or a period."""
    category = "vital-signs" if metric in _VITAL_SIGNS else "activity"
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _new_id(),
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": _code(metric),
    }
    if subject:
        obs["subject"] = {"reference": subject}
    if p.start == p.end:
        obs["effectiveDateTime"] = query.iso(p.start, p.offset_min)
    else:
        obs["effectivePeriod"] = {
            "start": query.iso(p.start, p.offset_min),
            "end": query.iso(p.end, p.offset_min),
        }
    if metric == "sleep" and p.statistic is None:
        obs["valueCodeableConcept"] = {"text": SLEEP_STAGE_NAMES.get(int(p.value), "unknown")}
        minutes = (p.end - p.start) / 60_000
        obs["component"] = [
            {"code": {"text": "duration"}, "valueQuantity": _quantity(minutes, "min")}
        ]
    else:
        obs["valueQuantity"] = _quantity(p.value, p.unit)
    if p.stages:
        obs["component"] = [
            {"code": {"text": f"sleep stage: {stage}"}, "valueQuantity": _quantity(v, "min")}
            for stage, v in p.stages.items()
        ]
    if p.source:
        obs["device"] = {"display": p.source}
    if p.statistic is not None:
        obs["note"] = [{"text": f"{p.statistic} of {p.count} samples"}]
    return obs


def fhir_entry(metric: str, p: _Point, subject: str | None = None) -> dict[str, Any]:
    """A Bundle entry holding the Observation of one sample or period."""
    obs = observation(metric, p, subject)
    return {"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs}


def export_fhir(  # noqa: PLR0917  (the positional signature bundles call)
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None,
    end: int | None,
    granularity: str,
    out: TextSink | IO[str],
    *,
    tz: str = "UTC",
    subject: str | None = None,
    include_sources: bool = True,
) -> int:
    """Write a FHIR R4 Bundle (type collection) of Observations; return how many.

    `subject` becomes each Observation's subject reference; `include_sources=False` leaves
    out source names (which often carry a person's name, as in "Ana's iPhone").
    """
    selection = _Selection(vault, persona_id, metric, start, end, granularity, tz)
    fhir = _fhir(metric, subject, vault.clock.now())
    return _write_json(fhir, selection, out, include_sources)


# --- IEEE 1752.1 / Open mHealth --------------------------------------------------------------

# metric -> (namespace, schema name, version, body property, unit as the schema spells it)
OMH_SCHEMAS: Final[dict[str, tuple[str, str, str, str, str]]] = {
    "steps": ("ieee", "physical-activity", "1.0", "base_movement_quantity", "steps"),
    "heart_rate": ("omh", "heart-rate", "2.0", "heart_rate", "beats/min"),
    "heart_rate_beat": ("omh", "heart-rate", "2.0", "heart_rate", "beats/min"),  # one a beat
    "body_mass": ("omh", "body-weight", "3.0", "body_weight", "kg"),
    "sleep": ("omh", "sleep-episode", "1.1", "total_sleep_time", "min"),
    "active_energy": ("omh", "calories-burned", "2.0", "kcal_burned", "kcal"),
    "height": ("omh", "body-height", "1.0", "body_height", "cm"),
    "body_fat": ("omh", "body-fat-percentage", "1.0", "body_fat_percentage", "%"),
    "blood_oxygen": ("omh", "oxygen-saturation", "2.0", "oxygen_saturation", "%"),
    "respiratory_rate": ("omh", "respiratory-rate", "2.0", "respiratory_rate", "breaths/min"),
    "body_mass_index": ("omh", "body-mass-index", "1.0", "body_mass_index", "kg/m^2"),
    "body_temperature": ("omh", "body-temperature", "3.0", "body_temperature", "C"),
    "blood_glucose": ("omh", "blood-glucose", "3.0", "blood_glucose", "mg/dL"),
}


def _time_interval(p: _Point) -> dict[str, Any]:
    return {
        "time_interval": {
            "start_date_time": query.iso(p.start, p.offset_min),
            "end_date_time": query.iso(p.end, p.offset_min),
        }
    }


def _time_frame(p: _Point) -> dict[str, Any]:
    if p.start == p.end:
        return {"date_time": query.iso(p.start, p.offset_min)}
    return _time_interval(p)


def omh_body(metric: str, p: _Point) -> dict[str, Any]:
    """The body of an Open mHealth / IEEE 1752.1 data point for one sample or period."""
    _, name, _, prop, unit = OMH_SCHEMAS[metric]
    body: dict[str, Any] = {}
    if name == "physical-activity":
        body["activity_name"] = "walking"
        body[prop] = {"value": round(p.value, 6), "unit": unit}
        # steps need an interval; an instant becomes a 0-length one
        body["effective_time_frame"] = _time_interval(p)
    elif name == "sleep-episode":
        body["effective_time_frame"] = _time_interval(p)
        if p.statistic is None:
            minutes = (p.end - p.start) / 60_000
            if int(p.value) in _ASLEEP:
                body["total_sleep_time"] = {"value": round(minutes, 3), "unit": "min"}
            elif int(p.value) == SLEEP_STAGES["awake"]:
                body["wake_after_sleep_onset"] = {"value": round(minutes, 3), "unit": "min"}
        else:
            body["total_sleep_time"] = {"value": round(p.value, 3), "unit": "min"}
            awake = (p.stages or {}).get("awake")
            if awake:
                body["wake_after_sleep_onset"] = {"value": round(awake, 3), "unit": "min"}
    else:
        body[prop] = {"value": round(p.value, 6), "unit": unit}
        body["effective_time_frame"] = _time_frame(p)
        if p.statistic is not None:
            body["descriptive_statistic"] = p.statistic
    return body


def data_point(metric: str, p: _Point, created: str) -> dict[str, Any]:
    """A complete Open mHealth data point (header and body)."""
    ns, name, version, _, _ = OMH_SCHEMAS[metric]
    header: dict[str, Any] = {
        "id": _new_id(),
        "creation_date_time": created,
        "schema_id": {"namespace": ns, "name": name, "version": version},
    }
    if p.source:
        header["acquisition_provenance"] = {"source_name": p.source}
    return {"header": header, "body": omh_body(metric, p)}


def export_omh(  # noqa: PLR0917  (the positional signature bundles call)
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None,
    end: int | None,
    granularity: str,
    out: TextSink | IO[str],
    *,
    tz: str = "UTC",
    include_sources: bool = True,
) -> int:
    """Write a JSON array of Open mHealth / IEEE 1752.1 data points; return how many.

    InvalidParameter for a metric no Open mHealth or IEEE schema describes;
    `include_sources=False` leaves out source names.
    """
    if metric not in OMH_SCHEMAS:
        raise InvalidParameter(
            N_("no Open mHealth schema for {metric}; these have one: {choices}"),
            metric=metric,
            choices=", ".join(OMH_SCHEMAS),
        )
    selection = _Selection(vault, persona_id, metric, start, end, granularity, tz)
    return _write_json(_omh(metric, vault.clock.now()), selection, out, include_sources)


# --- raw samples in bulk ----------------------------------------------------------------------

# A prototype sample whose fields are easy to find again in the JSON the per-sample code
# writes for it: that JSON, with those fields turned into slots, is the template of every
# sample of the same shape (instant or interval, with or without a source, sleep stage).
_PROTO_START: Final = 946_782_245_000  # 2000-01-02T03:04:05Z
_PROTO_SPAN: Final = 430_500  # 7.175 minutes
_PROTO_VALUE: Final = 1234.56789
_PROTO_SOURCE: Final = "\x02source"
_MARKS: Final = "\x01\x03\x04\x05\x06\x07\x0e\x0f"  # control characters for slot marks
_UNKNOWN_STAGE: Final = -1
ID_LENGTH: Final = 36
# slots: 0 id, 1 start, 2 end, 3 the number (JSON text), 4 the source (JSON string)


def _slotted(doc: Any, mark: str, proto: tuple[str, str, str, float]) -> Any:
    """`doc` with the prototype's id, instants, number and source replaced by slot marks."""
    ident, start, end, number = proto
    if isinstance(doc, dict):
        return {k: _slotted(v, mark, proto) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_slotted(v, mark, proto) for v in doc]
    if isinstance(doc, str):
        if doc == start:
            return mark + "1"
        if doc == end:
            return mark + "2"
        if doc == _PROTO_SOURCE:
            return mark + "4"
        return doc.replace(ident, mark + "0")
    if isinstance(doc, float) and doc == number:
        return mark + "3"
    return doc


@dataclass(frozen=True)
class _Template:
    """One item's JSON as UTF-8 literal pieces and slots (an `int` names the slot)."""

    parts: tuple[bytes | int, ...]

    @property
    def order(self) -> tuple[int, ...]:
        """The slots, in the order they appear."""
        return tuple(p for p in self.parts if isinstance(p, int))

    @property
    def fixed(self) -> int:
        """The UTF-8 size of everything but the slots."""
        return sum(len(p) for p in self.parts if isinstance(p, bytes))

    def uses(self, slot: int) -> int:
        return self.order.count(slot)

    def fill(self, values: Sequence[str]) -> str:
        """The item's text with `values[k]` in slot k."""
        return "".join(values[p] if isinstance(p, int) else p.decode("utf-8") for p in self.parts)


def _template(doc: Any, ident: str, start: str, end: str, number: float) -> _Template:
    """The template of `doc`, the JSON of a prototype sample; checked to give back exactly
    that JSON when filled with the prototype's own values."""
    plain = json.dumps(doc, ensure_ascii=False)
    # a mark no text of the item (a unit, a metric name) already holds
    mark = next(m for m in _MARKS if json.dumps(m)[1:-1] not in plain)
    escaped = re.escape(json.dumps(mark)[1:-1])
    slots = re.compile(f'"{escaped}([34])"|{escaped}([012])')
    text = json.dumps(_slotted(doc, mark, (ident, start, end, number)), ensure_ascii=False)
    parts: list[bytes | int] = []
    at = 0
    for m in slots.finditer(text):
        parts += [text[at : m.start()].encode("utf-8"), int(m.group(1) or m.group(2))]
        at = m.end()
    parts.append(text[at:].encode("utf-8"))
    template = _Template(tuple(p for p in parts if p != b""))
    values = (ident, start, end, json.dumps(number), json.dumps(_PROTO_SOURCE, ensure_ascii=False))
    if template.fill(values) != plain:
        raise AssertionError("the raw export template does not reproduce its prototype")
    return template


class _RawFormat:
    """Renders raw samples, a whole chunk of columns at a time, exactly as `observation`
    (FHIR) or `data_point` (Open mHealth) and json.dumps would, at a fraction of the cost;
    and tells the UTF-8 size of that text without rendering it."""

    def __init__(
        self, metric: str, fmt: str, *, subject: str | None = None, created: str = ""
    ) -> None:
        self.metric, self.fmt, self.subject, self.created = metric, fmt, subject, created
        self.sleep = metric == "sleep"
        # the number a sample shows: its value, or for sleep the minutes it lasted
        self.digits = 3 if fmt == "omh" and self.sleep else 6
        self.number = render.json_rounded(self.digits)
        self._templates: dict[tuple[str, int], _Template] = {}

    def template(self, unit: str, key: int) -> _Template:
        """The template of samples of one shape: key = instant + 2 * has source + 4 * (stage
        index + 1) for sleep."""
        found = self._templates.get((unit, key))
        if found is not None:
            return found
        instant, has_source, stage = key & 1, key & 2, (key >> 2) - 1
        end = _PROTO_START if instant else _PROTO_START + _PROTO_SPAN
        value = float(stage if stage != _UNKNOWN_STAGE else 99) if self.sleep else _PROTO_VALUE
        source = _PROTO_SOURCE if has_source else ""
        p = _Point(_PROTO_START, end, 0, value, unit, source)
        doc: dict[str, Any]
        if self.fmt == "fhir":
            doc = fhir_entry(self.metric, p, self.subject)
            ident = doc["resource"]["id"]
        else:
            doc = data_point(self.metric, p, self.created)
            ident = doc["header"]["id"]
        shown = (end - _PROTO_START) / 60_000 if self.sleep else _PROTO_VALUE
        number = round(shown, self.digits)
        found = _template(doc, ident, query.iso(_PROTO_START), query.iso(end), number)
        self._templates[(unit, key)] = found
        return found

    def rows(self, cols: chunks.Columns, include_sources: bool) -> _Rows:
        """What every row needs, computed once for all of `cols`: its template, the text of
        its number and of its source (each distinct value formatted once)."""
        import numpy as np

        key = (cols.start == cols.end).astype(np.int64)
        if include_sources:
            key += 2 * (cols.source != 0)
        if self.sleep:
            codes = cols.value.astype(np.int64)
            known = np.isin(codes, np.array(sorted(SLEEP_STAGE_NAMES), dtype=np.int64))
            key += 4 * (np.where(known, codes, _UNKNOWN_STAGE) + 1)
        distinct, which = np.unique(key, return_inverse=True)
        templates = [self.template(cols.unit, int(k)) for k in distinct.tolist()]
        shown = (cols.end - cols.start) / 60_000 if self.sleep else cols.value
        numbers, number_of = render.distinct_values(shown, self.number)
        sources = [render.json_string(s) for s in cols.strings] if include_sources else None
        return _Rows(cols, templates, which.reshape(-1), numbers, number_of, sources)

    def text(self, cols: chunks.Columns, include_sources: bool) -> str:
        """The JSON text of every sample of `cols`, in order, joined by `,\\n`."""
        data = b"".join(self.rows(cols, include_sources).encode(0, len(cols), b",\n"))
        return data[:-2].decode()

    def size(self, cols: chunks.Columns, include_sources: bool) -> int:
        """The UTF-8 size of `render(cols, include_sources)`, items summed (no separators)."""
        return self.rows(cols, include_sources).size()


@dataclass(frozen=True)
class _Rows:
    """Columns ready to render as JSON items, in slices, or to measure without rendering."""

    cols: chunks.Columns
    templates: list[_Template]
    which: Any  # per row, the index of its template
    numbers: list[str]  # the JSON text of each distinct number
    number_of: Any  # per row, the index of its number's text
    sources: list[str] | None  # the JSON text of each string-table entry; None: no sources

    @cached_property
    def _assembler(self) -> render.Assembler:
        return render.Assembler()

    @cached_property
    def _number_table(self) -> render.Table:
        return render.Table.of(self.numbers)

    @cached_property
    def _source_table(self) -> render.Table | None:
        return None if self.sources is None else render.Table.of(self.sources)

    def encode(self, a: int, b: int, sep: bytes = b"") -> list[bytes]:
        """The UTF-8 JSON text of rows a to b (exclusive), each followed by `sep`, in
        pieces (`render.PIECE`)."""
        import numpy as np

        cols = self.cols
        b = min(b, len(cols))
        n = b - a
        if n <= 0:
            return []
        start, end, offset = cols.start[a:b], cols.end[a:b], cols.offset[a:b]
        starts = render.iso_parts(start, offset)
        sources = self._source_table
        fields: list[list[render.Part]] = [
            [render.uuid_column(n)],
            starts,
            starts if bool((start == end).all()) else render.iso_parts(end, offset),
            [self._number_table.column(self.number_of[a:b])],
            [sources.column(cols.source[a:b])] if sources is not None else [],
        ]
        which = self.which[a:b]
        if len(self.templates) == 1 or bool((which == which[0]).all()):
            t = self.templates[int(which[0])]
            return self._assembler.join(self._parts(t, fields, sep), n)
        # Rows of several shapes (instants and intervals, sleep stages): each shape's rows
        # are rendered together, then put back in order.
        out: list[bytes] = [b""] * n
        for i, t in enumerate(self.templates):
            rows = np.flatnonzero(which == i)
            if rows.shape[0]:
                parts = render.take(self._parts(t, fields, sep), rows)
                texts = self._assembler.rows(parts, int(rows.shape[0]))
                for row, text in zip(rows.tolist(), texts, strict=True):
                    out[row] = text
        return [b"".join(out)]

    @staticmethod
    def _parts(t: _Template, fields: list[list[render.Part]], sep: bytes) -> list[render.Part]:
        parts: list[render.Part] = []
        for p in t.parts:
            if isinstance(p, int):
                parts += fields[p]
            else:
                parts.append(p)
        parts.append(sep)
        return parts

    def size(self) -> int:
        """The UTF-8 size of every row's text, computed from the columns alone."""
        import numpy as np

        cols = self.cols
        if not len(cols):
            return 0
        slot_sizes = [
            np.full(len(cols), ID_LENGTH, dtype=np.int64),
            render.iso_lengths(cols.start),
            render.iso_lengths(cols.end),
            self._number_table.lengths[self.number_of],
            self._source_table.lengths[cols.source]
            if self._source_table is not None
            else np.zeros(len(cols), dtype=np.int64),
        ]
        per_template = np.bincount(self.which, minlength=len(self.templates))
        total = 0
        for i, t in enumerate(self.templates):
            rows = self.which == i
            total += t.fixed * int(per_template[i])
            for k in set(t.order):
                total += t.uses(k) * int(slot_sizes[k][rows].sum())
        return total


SLICE_ROWS: Final = 4096  # rows rendered at a time when a document streams


@dataclass(frozen=True)
class Document:
    """An exported file of raw samples whose exact size is known before its bytes are made:
    a tar member can announce its size and then stream, a slice of samples at a time."""

    size: int
    count: int
    chunks: Callable[[], Iterator[bytes]]


def _json_array_document(cols: chunks.Columns, fmt: _JsonFormat, include_sources: bool) -> Document:
    n = len(cols)
    prefix, suffix = fmt.prefix, fmt.suffix
    rows = fmt.raw.rows(cols, include_sources)
    size = rows.size() + len(prefix.encode()) + len(suffix.encode()) + (2 * n if n else 0)

    def produce() -> Iterator[bytes]:
        # Items are rendered each followed by ",\n", the last one's taken back.
        yield (prefix + ("\n" if n else "")).encode("utf-8")
        for a in range(0, n, SLICE_ROWS):
            pieces = rows.encode(a, a + SLICE_ROWS, b",\n")
            if a + SLICE_ROWS >= n:
                pieces[-1] = pieces[-1][:-2]  # the last piece ends with the last separator
            yield from pieces
        yield (("\n" if n else "") + suffix).encode("utf-8")

    return Document(size, n, produce)


def fhir_document(
    cols: chunks.Columns,
    metric: str,
    *,
    subject: str | None = None,
    include_sources: bool = True,
    now: dt.datetime | None = None,
) -> Document:
    """What `export_fhir` writes at raw granularity for the samples in `cols` (as
    `query.load` returns them), as a Document stamped `now` (the system clock's by default:
    pass the vault clock's)."""
    return _json_array_document(cols, _fhir(metric, subject, now), include_sources)


def omh_document(
    cols: chunks.Columns,
    metric: str,
    *,
    include_sources: bool = True,
    now: dt.datetime | None = None,
) -> Document:
    """What `export_omh` writes at raw granularity for the samples in `cols`, as a Document
    stamped `now` (the system clock's by default: pass the vault clock's)."""
    if metric not in OMH_SCHEMAS:
        raise InvalidParameter(N_("no Open mHealth schema for {metric}"), metric=metric)
    return _json_array_document(cols, _omh(metric, now), include_sources)


def csv_document(cols: chunks.Columns, metric: str, *, include_sources: bool = True) -> Document:
    """What `export_csv` writes at raw granularity for the samples in `cols`, as a Document."""
    header = csv_header()
    lines = RawCsv.of(metric, cols, include_sources=include_sources)
    n = len(cols)

    def produce() -> Iterator[bytes]:
        yield header.encode("utf-8")
        for a in range(0, n, SLICE_ROWS):
            yield from lines.encode(a, a + SLICE_ROWS)

    return Document(len(header) + lines.size(), n, produce)


# --- ECG recordings and clinical records -------------------------------------------------------

ECG_CSV_COLUMNS: Final = (
    "start",
    "end",
    "offset",
    "classification",
    "classification_text",
    "symptoms",
    "lead",
    "sample_rate_hz",
    "samples",
    "duration_s",
    "average_heart_rate",
    "unit",
    "device",
    "source",
)
CLINICAL_CSV_COLUMNS: Final = (
    "date",
    "start",
    "resource_type",
    "id",
    "label",
    "value",
    "unit",
    "status",
    "provider",
    "fhir_version",
)
# A spreadsheet runs a cell that starts with one of these as a formula: text from a file
# (a symptom, a provider's label) is given a leading quote instead (OWASP's advice).
_OFFSET: Final = re.compile(r"[+-]\d{2}:\d{2}")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    if _OFFSET.fullmatch(text):  # a UTC offset (`-05:00`) is no formula
        return text
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_records(  # noqa: PLR0917  (the positional order of the other exports)
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None,
    end: int | None,
    fmt: str,
    out: TextSink | IO[str],
) -> int:
    """Write a persona's ECG recordings or clinical records in [start, end) (undated
    clinical records too when the range is all time) as the bundles carry them; return how
    many. `fhir`: a Bundle of the recordings as Observations with their voltages, or of the
    resources as the providers wrote them (with provider and FHIR release per entry); `csv`:
    a row per recording (its header, no voltages) or per record (date, type, label, value,
    unit, status, provider). This is the person's own copy: device names stay in."""
    from vault.data import display, health_records

    if metric not in health_records.RECORD_KINDS:
        raise InvalidParameter(
            N_("{metric} is not a metric of recordings or records"), metric=metric
        )
    if fmt not in ("fhir", "csv"):
        raise InvalidParameter(
            N_("{metric} is exported as fhir or csv, not {fmt}"), metric=metric, fmt=fmt
        )
    if metric == health_records.ECG_METRIC:
        ecgs = health_records.list_ecgs(vault, persona_id, start, end)
        if fmt == "fhir":
            entries = health_records.ecg_entries(vault, ecgs, None, include_device=True)
        else:
            rows = [[_csv_cell(display.ecg_json(e)[c]) for c in ECG_CSV_COLUMNS] for e in ecgs]
            return write_rows([list(ECG_CSV_COLUMNS), *rows], out)
    else:
        records = health_records.list_clinical(vault, persona_id, start, end)
        if fmt == "fhir":
            entries = health_records.clinical_entries(records)
        else:
            rows = [
                [_csv_cell(display.clinical_json(c)[k]) for k in CLINICAL_CSV_COLUMNS]
                for c in records
            ]
            return write_rows([list(CLINICAL_CSV_COLUMNS), *rows], out)
    bundle = health_records.records_bundle(entries, vault.clock.now())
    out.write(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n")
    return len(entries)


def export_metric(  # noqa: PLR0917
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None,
    end: int | None,
    granularity: str,
    fmt: str,
    out: TextSink | IO[str],
    *,
    tz: str = "UTC",
) -> int:
    """`data export`: a metric in `fmt` (fhir, omh, csv); return how many items. ECG
    recordings and clinical records at raw granularity are the recordings and records
    themselves (`export_records`); at a period, as for every metric, how many per period."""
    from vault.data.health_records import RECORD_KINDS

    _check_granularity(granularity)
    if metric in RECORD_KINDS and granularity == "raw":
        return export_records(vault, persona_id, metric, start, end, fmt, out)
    writer = {"fhir": export_fhir, "omh": export_omh, "csv": export_csv}[fmt]
    return writer(vault, persona_id, metric, start, end, granularity, out, tz=tz)


__all__ = [
    "GRANULARITIES",
    "OMH_SCHEMAS",
    "Document",
    "csv_document",
    "export_csv",
    "export_fhir",
    "export_metric",
    "export_omh",
    "export_records",
    "fhir_document",
    "omh_document",
]
