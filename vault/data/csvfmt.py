"""The documented long CSV format for quantified-self data (docs/formats.md), both ways.

One sample per row, header first::

    start,end,metric,value,unit,source
    2024-03-01T10:00:00+01:00,2024-03-01T10:10:00+01:00,steps,812,{steps},iPhone

`start` and `end` are ISO 8601 date-times with a UTC offset (`end` may be empty for an
instant); `metric` is a registry id (`steps`, `heart_rate`...), an Apple Health, Google Fit,
Fitbit or Garmin identifier the registry knows, or anything else, kept as `x:<name>`;
`value` is a number (for `sleep`, a stage name or code); `unit` is a UCUM unit the metric
knows (empty means the canonical unit); `source` names the app or device. An optional
`device` column may follow. A bad row stops the import with its line and column, and the
vault is left as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Protocol

from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.i18n import N_, Text, sentence
from vault.core.progress import Progress, ProgressCallback
from vault.data import metrics, query, render
from vault.data.model import MAX_MS, MIN_MS, SLEEP_STAGE_NAMES, SLEEP_STAGES, UNKNOWN_PREFIX, Sample

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.vault import Vault
    from vault.data import chunks

COLUMNS: Final = ("start", "end", "metric", "value", "unit", "source")
OPTIONAL: Final = ("device",)
AGGREGATE_COLUMNS: Final = ("start", "end", "metric", "count", "sum", "min", "avg", "max", "unit")


class TextSink(Protocol):
    """Anything text can be written to (an open file, sys.stdout, io.StringIO)."""

    def write(self, s: str, /) -> Any: ...


# --- import ----------------------------------------------------------------------------------


def resolve_metric(name: str) -> str:
    """The registry id for a CSV metric name, or `x:<name>` when the registry lacks it."""
    if name in metrics.METRICS or name.startswith(UNKNOWN_PREFIX):
        return name
    for system in metrics.SYSTEMS:
        found = metrics.lookup(system, name)
        if found is not None:
            return found.id
    return UNKNOWN_PREFIX + name


def _instant(text: str) -> tuple[int, int]:
    """UTC ms and offset in minutes of an ISO 8601 date-time that carries an offset."""
    parsed = dt.datetime.fromisoformat(text)
    offset = parsed.utcoffset()
    if offset is None:
        raise ValueError("no UTC offset")
    return round(parsed.timestamp() * 1000), int(offset.total_seconds() // 60)


class _RowError(Exception):
    def __init__(self, column: str, problem: str) -> None:
        self.column, self.problem = column, problem


def parse_rows(lines: Iterable[str], name: str = "CSV") -> Iterator[tuple[int, Sample]]:
    """Parse the long format; yield (line number, sample). Raises MalformedInput naming the
    line and column of the first bad row."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise MalformedInput(
            N_("{name}: the file is empty (expected a header line)"), name=name
        ) from None
    except csv.Error as exc:
        raise MalformedInput(N_("{name}: line 1: {problem}"), name=name, problem=str(exc)) from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise MalformedInput(
            N_("{name}: line 1: missing column(s) {columns}"), name=name, columns=", ".join(missing)
        )
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL]
    if unknown:
        raise MalformedInput(
            N_("{name}: line 1: unknown column(s) {columns}"), name=name, columns=", ".join(unknown)
        )
    pos = {c: header.index(c) for c in header}
    dev_pos = pos.get("device")
    metric_cache: dict[str, str] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedInput(
                N_("{name}: line {line}: {problem}"),
                name=name,
                line=reader.line_num,
                problem=str(exc),
            ) from None
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise MalformedInput(
                N_("{name}: line {line}: {count} fields, the header has {expected}"),
                name=name,
                line=line,
                count=len(row),
                expected=len(header),
            )
        try:
            yield line, _sample(row, pos, dev_pos, metric_cache)
        except _RowError as exc:
            col = pos[exc.column] + 1
            raise MalformedInput(
                N_("{name}: line {line}, column {col} ({column}): {problem}"),
                name=name,
                line=line,
                col=col,
                column=exc.column,
                problem=sentence(exc.problem),
            ) from None


def _sample(
    row: list[str], pos: dict[str, int], dev_pos: int | None, cache: dict[str, str]
) -> Sample:
    raw_metric = row[pos["metric"]].strip()
    if not raw_metric:
        raise _RowError("metric", N_("empty"))
    metric = cache.get(raw_metric)
    if metric is None:
        metric = cache[raw_metric] = resolve_metric(raw_metric)
    try:
        start, offset = _instant(row[pos["start"]].strip())
    except ValueError:
        raise _RowError("start", N_("not an ISO 8601 date-time with a UTC offset")) from None
    if not MIN_MS <= start < MAX_MS:
        raise _RowError("start", N_("outside the years 1900 to 2199"))
    end_text = row[pos["end"]].strip()
    if end_text:
        try:
            end, _ = _instant(end_text)
        except ValueError:
            raise _RowError("end", N_("not an ISO 8601 date-time with a UTC offset")) from None
        if end < start:
            raise _RowError("end", N_("before start"))
        if end >= MAX_MS:
            raise _RowError("end", N_("outside the years 1900 to 2199"))
    else:
        end = start
    unit = row[pos["unit"]].strip()
    text = row[pos["value"]].strip()
    if metric == "sleep" and text in SLEEP_STAGES:
        value = float(SLEEP_STAGES[text])
    else:
        try:
            value = float(text)
        except ValueError:
            raise _RowError("value", N_("not a number")) from None
        if not math.isfinite(value):
            raise _RowError("value", N_("not a finite number"))
        if metric == "sleep" and int(value) not in SLEEP_STAGE_NAMES:
            raise _RowError("value", N_("not a sleep stage"))
    if not metric.startswith(UNKNOWN_PREFIX):
        m = metrics.get(metric)
        if metric == "sleep" or m.aggregation == "category":
            unit = ""
        elif unit and unit != m.unit and unit not in m.conversions:
            raise _RowError(
                "unit", Text(N_("{unit!r} is not a unit of {metric}"), unit=unit, metric=metric)
            )
    device = row[dev_pos].strip() if dev_pos is not None else ""
    return Sample(metric, start, end, value, unit, row[pos["source"]].strip(), device, offset)


def import_csv(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import a long-format CSV file in one transaction; raises MalformedInput on a bad row
    (the vault is then unchanged)."""
    from vault.data.ingest import QSWriter

    path = Path(path)
    try:
        total = path.stat().st_size
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidParameter(
            N_("{name}: {reason}"),
            name=path.name,
            reason=exc.strerror or Text(N_("cannot be read")),
        ) from None
    report = Progress(N_("read"), progress, unit="bytes")
    report.start(total)
    handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    with handle, QSWriter(vault, persona_id, fmt="csv") as writer:
        try:
            done = 0
            for i, (_, sample) in enumerate(parse_rows(handle, path.name)):
                writer.add(sample)
                if i % 2048 == 2047:
                    now = raw.tell()
                    report.advance(now - done)
                    done = now
        except UnicodeDecodeError:
            raise MalformedInput(N_("{name}: not UTF-8 text"), name=path.name) from None
        report.advance(total - done)
    report.finish()
    return writer.summary


def import_csv_text(vault: Vault, persona_id: str, text: str) -> ImportSummary:
    """Import long-format CSV given as a string (one transaction)."""
    from vault.data.ingest import QSWriter

    with QSWriter(vault, persona_id, fmt="csv") as writer:
        for _, sample in parse_rows(io.StringIO(text)):
            writer.add(sample)
    return writer.summary


# --- export ----------------------------------------------------------------------------------


def number(v: float) -> str:
    """A value as CSV text: shortest exact form, no trailing `.0` on whole numbers."""
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def csv_rows(
    vault: Vault,
    persona_id: str,
    metric: str,
    start: int | None = None,
    end: int | None = None,
    *,
    include_sources: bool = True,
) -> Iterator[list[str]]:
    """Raw samples as long-format rows (header first), streamed day by day."""
    yield [*COLUMNS, "device"]
    for s in query.samples(vault, persona_id, metric, start, end):
        if metric == "sleep":
            value, unit = SLEEP_STAGE_NAMES.get(int(s.value), number(s.value)), ""
        else:
            value, unit = number(s.value), s.unit
        yield [
            query.iso(s.start, s.offset_min),
            query.iso(s.end, s.offset_min),
            metric,
            value,
            unit,
            s.source if include_sources else "",
            s.device if include_sources else "",
        ]


def _csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    return buf.getvalue()


def csv_field(text: str) -> str:
    """One field as csv.writer writes it in a row of several (quoted only when needed)."""
    return _csv_line([text, ""])[:-2]


def _sleep_values(values: list[float]) -> list[str]:
    return [SLEEP_STAGE_NAMES.get(int(v), number(v)) for v in values]


def csv_header() -> str:
    """The header line of raw long-format output (with the optional device column)."""
    return _csv_line([*COLUMNS, "device"])


def _raw_line(metric: str, cols: chunks.Columns, include_sources: bool) -> tuple[str, ...]:
    """The literal texts of one line, around its fields: start, end, value, and source and
    device when kept."""
    unit = "" if metric == "sleep" else csv_field(cols.unit)
    middle = "," + csv_field(metric) + ","
    if include_sources:
        return ("", ",", middle, "," + unit + ",", ",", "\n")
    return ("", ",", middle, "," + unit + ",,\n")


@dataclass(frozen=True)
class RawCsv:
    """Raw samples ready to render as long-format lines, in slices, or to measure without
    rendering: each distinct value and string is formatted once for all the rows."""

    cols: chunks.Columns
    line: tuple[str, ...]  # the literal texts around the fields of a line
    values: list[str]  # the text of each distinct value
    value_of: Any  # per row, the index of its value's text
    strings: list[str] | None  # each string-table entry as a CSV field; None: no sources

    @classmethod
    def of(cls, metric: str, cols: chunks.Columns, *, include_sources: bool = True) -> RawCsv:
        fmt = _sleep_values if metric == "sleep" else render.shortest
        values, value_of = render.distinct_values(cols.value, fmt)
        strings = [csv_field(s) for s in cols.strings] if include_sources else None
        return cls(cols, _raw_line(metric, cols, include_sources), values, value_of, strings)

    @cached_property
    def _assembler(self) -> render.Assembler:
        return render.Assembler()

    @cached_property
    def _tables(self) -> tuple[render.Table, render.Table | None]:
        strings = None if self.strings is None else render.Table.of(self.strings)
        return render.Table.of(self.values), strings

    def encode(self, a: int, b: int) -> list[bytes]:
        """The UTF-8 lines of rows a to b (exclusive), in pieces (`render.PIECE`)."""
        cols = self.cols
        b = min(b, len(cols))
        if b <= a:
            return []
        start, end, offset = cols.start[a:b], cols.end[a:b], cols.offset[a:b]
        values, strings = self._tables
        fields: list[list[render.Part]] = [
            render.iso_parts(start, offset),
            render.iso_parts(end, offset),
            [values.column(self.value_of[a:b])],
        ]
        if strings is not None:
            fields.append([strings.column(cols.source[a:b])])
            fields.append([strings.column(cols.device[a:b])])
        parts: list[render.Part] = [self.line[0].encode("utf-8")]
        for field, literal in zip(fields, self.line[1:], strict=True):
            parts += field
            parts.append(literal.encode("utf-8"))
        return self._assembler.join(parts, b - a)

    def size(self) -> int:
        """The UTF-8 size of all the lines, computed from the columns alone."""
        cols = self.cols
        if not len(cols):
            return 0
        total = len("".join(self.line).encode("utf-8")) * len(cols)
        total += int(render.iso_lengths(cols.start).sum() + render.iso_lengths(cols.end).sum())
        values, strings = self._tables
        total += int(values.lengths[self.value_of].sum())
        if strings is not None:
            total += int(strings.lengths[cols.source].sum() + strings.lengths[cols.device].sum())
        return total


def raw_text(metric: str, cols: chunks.Columns, *, include_sources: bool = True) -> str:
    """The long-format lines of raw samples, exactly as `csv_rows` and `write_rows` write
    them, rendered a whole column at a time."""
    lines = RawCsv.of(metric, cols, include_sources=include_sources)
    return b"".join(lines.encode(0, len(cols))).decode("utf-8")


def raw_size(metric: str, cols: chunks.Columns, *, include_sources: bool = True) -> int:
    """The UTF-8 size of `raw_text(...)`, without rendering the lines."""
    return RawCsv.of(metric, cols, include_sources=include_sources).size()


def aggregate_rows(
    buckets: Sequence[query.Bucket], metric: str, *, header: bool = True
) -> Iterator[list[str]]:
    """Aggregates as rows of start,end,metric,count,sum,min,avg,max,unit."""
    if header:
        yield list(AGGREGATE_COLUMNS)
    for b in buckets:
        yield [
            query.iso(b.start, b.offset_min),
            query.iso(b.end, b.offset_min),
            metric,
            str(b.count),
            number(b.sum),
            number(b.min),
            number(b.avg),
            number(b.max),
            b.unit,
        ]


def write_rows(rows: Iterable[list[str]], out: TextSink | IO[str]) -> int:
    """Write rows as CSV to a text sink; return the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    n = -1
    for row in rows:
        writer.writerow(row)
        n += 1
    return max(n, 0)


def export_csv(  # noqa: PLR0917  (the positional signature bundles call)
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
    """Write a metric as CSV: raw samples in the long format (granularity "raw") or
    per-period aggregates (hour, day, week, month). Returns the number of rows.
    `include_sources=False` leaves the source and device columns empty."""
    if granularity == "raw":
        query.check_metric(metric)
        out.write(csv_header())
        n = 0
        for cols in query.iter_columns(vault, persona_id, metric, start, end):
            out.write(raw_text(metric, cols, include_sources=include_sources))
            n += len(cols)
        return n
    buckets = query.aggregate(vault, persona_id, metric, granularity, start=start, end=end, tz=tz)
    return write_rows(aggregate_rows(buckets, metric), out)
