"""Google Takeout: Google Fit (`Fit/All Data`, `All Sessions`, `Daily activity metrics`) and
Fitbit (`Fitbit/Global Export Data`), from the Takeout zip or its extracted folder.

JSON is streamed with ijson, so a year of per-second heart rate stays in bounded memory.
Google Fit times are UTC nanoseconds. The Fitbit part is read by `vault.data.importers.fitbit`
(which says how each of its file kinds keeps time): its wall-clock times are read in the time
zone given, else the one of Fitbit's profile, else this machine's, and the summary says which.

Each All Data file is one data stream, identified by the id inside it (`Data Source`), not
by its file name, which Takeout cuts and numbers differently from one export to the next.
Where Google's merged stream of a type is present, it alone counts for the metric (so day
totals are the Fit app's); the other streams of the type are kept as `x:<type>`. Every file
is all or nothing: one that cannot be read is skipped whole and named, the others imported.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.i18n import N_, N_plural, Text
from vault.core.progress import Progress
from vault.data import metrics
from vault.data.importers import common
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.importers.tracks import iso_ms
from vault.data.model import MAX_MS, MIN_MS, SLEEP_STAGES, Sample, Workout, WorkoutEvent

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

# Google Fit data types whose unit the registry's canonical unit does not already match
# (developers.google.com/fit/datatypes: the unit of each type's first field).
FIT_UNITS: dict[str, str] = {
    "com.google.step_count.delta": "count",
    "com.google.distance.delta": "m",
    "com.google.calories.expended": "kcal",
    "com.google.heart_rate.bpm": "/min",
    "com.google.weight": "kg",
    "com.google.height": "m",
    "com.google.body.fat.percentage": "%",
    "com.google.oxygen_saturation": "%",
    "com.google.respiratory_rate": "/min",
    "com.google.blood_glucose": "mmol/L",
    "com.google.body.temperature": "Cel",
    "com.google.hydration": "L",
    "com.google.active_minutes": "min",
    "com.google.speed": "m/s",
    "com.google.calories.bmr": "kcal/d",
    "com.google.blood_pressure": "mmHg",
}
# Known ids that must not go to their registry metric: cumulative counters, and activity
# segments (whole-day still/walking/vehicle periods, not workouts). calories.bmr is a rate
# (kcal per day), read apart: see _bmr.
FIT_KEEP_AS_UNKNOWN = {
    "com.google.step_count.cumulative",
    "com.google.activity.segment",
}
# The fields of the multi-field types, named as Google Fit's data types name them: all are
# kept (in the sample's metadata), the first one is the sample's value.
FIT_FIELDS: dict[str, tuple[str, ...]] = {
    "com.google.location.sample": ("latitude", "longitude", "accuracy", "altitude"),
    "com.google.location.bounding_box": (
        "low_latitude",
        "low_longitude",
        "high_latitude",
        "high_longitude",
    ),
    "com.google.heart_rate.summary": ("average", "max", "min"),
    "com.google.speed.summary": ("average", "max", "min"),
    "com.google.power.summary": ("average", "max", "min"),
    "com.google.weight.summary": ("average", "max", "min"),
    "com.google.height.summary": ("average", "max", "min"),
    "com.google.body.fat.percentage.summary": ("average", "max", "min"),
    "com.google.activity.summary": ("activity", "duration", "num_segments"),
    "com.google.blood_pressure": (
        "blood_pressure_systolic",
        "blood_pressure_diastolic",
        "body_position",
        "blood_pressure_measurement_location",
    ),
    "com.google.blood_glucose": (
        "blood_glucose_level",
        "temporal_relation_to_meal",
        "meal_type",
        "temporal_relation_to_sleep",
        "blood_glucose_specimen_source",
    ),
    "com.google.oxygen_saturation": (
        "oxygen_saturation",
        "supplemental_oxygen_flow_rate",
        "oxygen_therapy_administration_mode",
        "oxygen_saturation_system",
        "oxygen_saturation_measurement_method",
    ),
    "com.google.body.temperature": ("body_temperature", "measurement_location"),
    "com.google.nutrition": ("nutrients", "meal_type", "food_item"),
}
# Types whose first field is a map (nutrition's nutrients): kept under x:<type>, value 0,
# every field in the metadata.
FIT_MAP_FIRST = {"com.google.nutrition"}
# Types whose fields are several registry metrics: blood pressure is two readings.
FIT_SPLIT: dict[str, tuple[tuple[int, str], ...]] = {
    "com.google.blood_pressure": ((0, "blood_pressure_systolic"), (1, "blood_pressure_diastolic")),
}
BUFFER_BYTES = 16 << 20  # a file up to this size is held parsed; a larger one is read twice
FIT_SLEEP = {1: "awake", 2: "asleep", 3: "awake", 4: "core", 5: "deep", 6: "rem"}
_MINUTE_MS = 60_000
_DAY_MS = 86_400_000


def local_zone_name() -> str:
    """This machine's IANA time zone name (from TZ or /etc/localtime), else "UTC"."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            ZoneInfo(tz)
            return tz
    with contextlib.suppress(OSError):
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                ZoneInfo(name)
                return name
    return "UTC"


def zone(name: str | None) -> tuple[str, ZoneInfo]:
    """The zone of that name (default: this machine's); InvalidParameter if unknown."""
    name = name or local_zone_name()
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter(
            N_("unknown time zone {name!r} (use an IANA name)"), name=name
        ) from None


class LocalTimes:
    """Local wall-clock times of one zone to (UTC ms, offset minutes), cached per hour."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._hours: dict[tuple[int, int, int, int], tuple[int, int]] = {}

    def __call__(self, when: tuple[int, int, int, int, int, float]) -> tuple[int, int]:
        """(year, month, day, hour, minute, second) in this zone -> (UTC ms, offset min)."""
        y, mo, d, h, mi, s = when
        key = (y, mo, d, h)
        hit = self._hours.get(key)
        if hit is None:
            local = datetime(y, mo, d, h, tzinfo=self.tz)
            delta = local.utcoffset() or timedelta(0)
            hit = (round(local.timestamp() * 1000), int(delta.total_seconds() // 60))
            if len(self._hours) > 100_000:
                self._hours.clear()
            self._hours[key] = hit
        base, off = hit
        if not (0 <= mi <= 59 and 0 <= s < 61):
            raise ValueError("impossible time of day")
        return base + mi * 60_000 + round(s * 1000), off

    def fitbit(self, text: str) -> tuple[int, int]:
        """`01/02/21 08:00:00` (month/day/two-digit year, local)."""
        if len(text) != 17 or text[2] != "/" or text[5] != "/" or text[8] != " ":
            raise ValueError("not a Fitbit date")
        return self(
            (
                2000 + int(text[6:8]),
                int(text[:2]),
                int(text[3:5]),
                int(text[9:11]),
                int(text[12:14]),
                int(text[15:17]),
            )
        )

    def iso_local(self, text: str) -> tuple[int, int]:
        """`2021-01-01T23:30:00.000` (no offset: local)."""
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is not None:
            return iso_ms(text)
        return self(
            (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second + dt.microsecond / 1e6)
        )


class _Tree:
    """The files of a Takeout, zipped or extracted, by their path inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.files: dict[str, Callable[[], IO[bytes]]] = {}
        self.sizes: dict[str, int] = {}

    def __enter__(self) -> _Tree:
        p = self.path
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    key = f.relative_to(p).as_posix()
                    self.files[key] = _opener(f)
                    self.sizes[key] = f.stat().st_size
        elif p.is_file() and zipfile.is_zipfile(p):
            self.zip = common.open_zip(p)
            zf = self.zip
            for info in zf.infolist():
                if not info.is_dir():
                    self.files[info.filename] = _zip_opener(zf, info)
                    self.sizes[info.filename] = info.file_size
        elif p.exists():
            raise MalformedInput(N_("{name}: not a Google Takeout zip or folder"), name=p.name)
        else:
            raise InvalidParameter(N_("{name}: no such file or folder"), name=p.name)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.zip is not None:
            self.zip.close()

    def under(self, *parts: str) -> list[str]:
        """Paths whose folders include `parts` in sequence (`Fit`, `All Data`), sorted."""
        want = "/" + "/".join(parts) + "/"
        return sorted(k for k in self.files if want in "/" + k)


def _opener(f: Path) -> Callable[[], IO[bytes]]:
    return lambda: f.open("rb")


def _zip_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: zf.open(info)


def _fit_value(point: dict[str, Any]) -> list[float | str | None]:
    """Every field of a data point, in order: a number, a string, or None (an unset field,
    or a map such as nutrition's nutrients, which is kept as JSON text)."""
    out: list[float | str | None] = []
    for entry in point.get("fitValue") or point.get("value") or []:
        v = entry.get("value", entry)
        if "fpVal" in v:
            out.append(float(v["fpVal"]))
        elif "intVal" in v:
            out.append(float(v["intVal"]))
        elif "stringVal" in v:
            out.append(str(v["stringVal"]))
        elif v.get("mapVal"):
            out.append(json.dumps(v["mapVal"], sort_keys=True, default=str))
        else:
            out.append(None)
    return out


class FitStream:
    """One Google Fit data stream of All Data: its id (the file's own `Data Source`, such as
    `derived:com.google.step_count.delta:com.google.android.gms:estimated_steps`), the data
    type it holds, and whether it is the stream that counts for that type's metric."""

    def __init__(self, stream_id: str, type_name: str) -> None:
        self.id = stream_id
        self.type = type_name
        self.counted = True

    @property
    def source(self) -> str:
        return "Google Fit " + self.id

    @property
    def name(self) -> str:
        """The last part of the id: `estimated_steps`, `merge_step_deltas`, a device..."""
        return self.id.rsplit(":", 1)[-1]

    @property
    def merged(self) -> bool:
        """Google's own reconciliation of every stream of the type (what the Fit app and
        Takeout's daily metrics show)."""
        parts = self.id.split(":")
        return (
            parts[0] == "derived"
            and "com.google.android.gms" in parts
            and (self.name.startswith("merge") or self.name == "estimated_steps")
        )


def fit_stream_of(head: IO[bytes], file_name: str) -> FitStream:
    """The stream an All Data file holds, from its `Data Source` (read from the start of the
    file), else from the file's name (`derived_<type>_<app>_<stream>.json`)."""
    import ijson  # type: ignore[import-untyped]

    stream_id = ""
    with contextlib.suppress(ijson.JSONError, UnicodeDecodeError):
        for prefix, event, value in ijson.parse(head):
            if prefix == "Data Source" and event == "string":
                stream_id = str(value)
                break
            if prefix == "Data Points" and event == "start_array":
                break  # the id comes first in every Takeout seen: do not read the points
    parts = stream_id.split(":")
    if len(parts) >= 3 and parts[0] in ("raw", "derived") and parts[1]:
        return FitStream(stream_id, parts[1])
    stem = PurePosixPath(file_name).stem
    kind, _, rest = stem.partition("_")
    type_name = next((t for t in _KNOWN_FIT_TYPES if rest.startswith(t + "_") or rest == t), rest)
    return FitStream(f"{kind}:{type_name}:{rest[len(type_name) + 1 :]}", type_name)


def choose_counted(streams: list[FitStream]) -> None:
    """Mark, per data type, the one stream whose samples go to the registry metric: Google's
    merged stream (for steps, `estimated_steps`, the one the Fit app and Takeout's daily
    metrics show), which already reconciles the raw streams of every device and app. Without
    a merged stream, every stream counts."""
    by_type: dict[str, list[FitStream]] = {}
    for s in streams:
        by_type.setdefault(s.type, []).append(s)
    for group in by_type.values():
        merged = [s for s in group if s.merged]
        if not merged:
            continue
        best = min(merged, key=lambda s: (s.name != "estimated_steps", s.id))
        for s in group:
            s.counted = s is best


def _google_fit_data(
    name: str, stream: IO[bytes], report: ReportIssue, local: LocalTimes, fit: FitStream
) -> Iterator[Item]:
    import ijson

    source = fit.source
    try:
        for n, point in enumerate(ijson.items(stream, "Data Points.item", use_float=True), 1):
            try:
                type_name = point["dataTypeName"]
                start = int(point["startTimeNanos"]) // 1_000_000
                end = int(point["endTimeNanos"]) // 1_000_000
            except (KeyError, TypeError, ValueError):
                report(_point(name, n), N_("data point without a type or valid times: skipped"))
                continue
            if end < start:
                report(_point(name, n), N_("data point ends before it starts: skipped"))
                continue
            if not MIN_MS <= start <= MAX_MS or end > MAX_MS:
                report(_point(name, n), N_("data point at an impossible time: skipped"))
                continue
            try:
                values = _fit_value(point)
            except (TypeError, ValueError, AttributeError):
                report(_point(name, n), N_("data point with a non-numeric value: skipped"))
                continue
            first = values[0] if values else None
            if type_name in FIT_MAP_FIRST and first is not None:
                first = 0.0  # the value is the map itself, kept whole in the metadata
            if not isinstance(first, float):
                report(_point(name, n), N_("data point without a numeric value: skipped"))
                continue
            off = _offset_at(local, start)
            metadata = _fields(type_name, values)
            if not fit.counted:  # kept under its own type, out of the metric's totals
                unknown = common.unknown_metric(type_name)
                unit = FIT_UNITS.get(type_name, "")
                yield Sample(unknown, start, end, first, unit, source, "", off, metadata)
                continue
            if type_name == "com.google.sleep.segment":
                stage = FIT_SLEEP.get(int(first))
                if stage is None:
                    report(_point(name, n), N_("unknown sleep stage: skipped"))
                    continue
                yield Sample("sleep", start, end, SLEEP_STAGES[stage], "", source, "", off)
                continue
            if type_name in FIT_SPLIT:
                for index, split_metric in FIT_SPLIT[type_name]:
                    v = values[index] if index < len(values) else None
                    if isinstance(v, float):
                        unit = FIT_UNITS[type_name]
                        yield Sample(split_metric, start, end, v, unit, source, "", off, metadata)
                continue
            elif type_name == "com.google.calories.bmr":
                if end > start:  # kcal per day over an interval: the energy burned in it
                    energy = first * (end - start) / _DAY_MS
                    yield Sample("basal_energy", start, end, energy, "kcal", source, "", off)
                    continue
                metric = common.unknown_metric(type_name)  # a rate at an instant
            elif type_name in FIT_KEEP_AS_UNKNOWN:
                metric = common.unknown_metric(type_name)
            else:
                m = metrics.lookup("google_fit", type_name)
                metric = m.id if m is not None else common.unknown_metric(type_name)
            unit = FIT_UNITS.get(type_name, "")
            yield Sample(metric, start, end, first, unit, source, "", off, metadata)
    except ijson.JSONError:
        # ijson's message quotes the text around the error: it is not repeated here.
        raise MalformedInput(N_("{name}: malformed JSON"), name=name) from None


def _fields(type_name: str, values: list[float | str | None]) -> tuple[tuple[str, str], ...]:
    """A multi-field point's fields, every one of them, by name (`field3` when unnamed)."""
    if len(values) < 2:
        return ()
    names = FIT_FIELDS.get(type_name, ())
    return tuple(
        (names[i] if i < len(names) else f"field{i + 1}", _text(v) if isinstance(v, float) else v)
        for i, v in enumerate(values)
        if v is not None
    )


def _text(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


_KNOWN_FIT_TYPES = sorted(
    {*FIT_UNITS, *FIT_FIELDS, "com.google.sleep.segment", "com.google.step_count.cumulative"},
    key=len,
    reverse=True,
)


def _offset_at(local: LocalTimes, utc_ms: int) -> int:
    dt = datetime.fromtimestamp(utc_ms // 1000, UTC).astimezone(local.tz)
    off = dt.utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def _session(name: str, stream: IO[bytes], local: LocalTimes) -> Iterator[Item]:
    """One `All Sessions` file: a workout, shown in the zone given (its times are UTC)."""
    try:
        data = json.load(stream)
        start, _ = iso_ms(data["startTime"])
        end, _ = iso_ms(data["endTime"])
    except (ValueError, KeyError, TypeError):
        raise MalformedInput(
            N_("{name}: a session without valid JSON, start or end time"), name=name
        ) from None
    totals: dict[str, float] = {}
    for agg in data.get("aggregate", []):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            v = agg.get("floatValue", agg.get("intValue"))
            totals[agg["metricName"]] = float(v)
    events: list[WorkoutEvent] = []
    for seg in data.get("segment", []):
        with contextlib.suppress(KeyError, ValueError, TypeError):
            events.append(
                WorkoutEvent("segment", iso_ms(seg["startTime"])[0], iso_ms(seg["endTime"])[0])
            )
    duration = data.get("duration", "")
    try:
        seconds = float(duration.rstrip("s")) if duration else (end - start) / 1000
    except (AttributeError, ValueError):
        seconds = (end - start) / 1000
    energy = totals.get("com.google.calories.expended")
    yield Workout(
        activity=common.activity_name(str(data.get("fitnessActivity", "other"))),
        start=start,
        end=end,
        offset_min=_offset_at(local, start),
        duration_s=seconds,
        distance_m=totals.get("com.google.distance.delta"),
        energy_kcal=energy,
        source="Google Fit",
        events=tuple(events),
        # calories.expended counts resting energy too, unlike Apple's workout energy
        metadata=(("energy", "total, resting included"),) if energy is not None else (),
    )


# Columns of the per-day "Daily activity metrics" CSV files.
_CSV_COLUMNS: dict[str, tuple[str, str]] = {
    "Step count": ("steps", "count"),
    "Distance (m)": ("distance", "m"),
    "Calories (kcal)": ("total_energy", "kcal"),  # Google Fit's calories: resting included
    "Move Minutes count": ("exercise_time", "min"),
    "Average heart rate (bpm)": ("heart_rate", "/min"),
    "Average weight (kg)": ("body_mass", "kg"),
}


def _daily_csv(
    name: str, stream: IO[bytes], report: ReportIssue, local: LocalTimes
) -> Iterator[Item]:
    """One `YYYY-MM-DD.csv` of 15-minute rows (`Start time` like `08:00:00.000+01:00`)."""
    day = PurePosixPath(name).stem
    try:
        y, mo, d = (int(x) for x in day.split("-"))
        datetime(y, mo, d)
    except ValueError:
        raise MalformedInput(N_("{name}: the file name is not a date"), name=name) from None
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    for line, row in enumerate(reader, 2):
        try:
            start, off = iso_ms(f"{day}T{row['Start time']}")
            end, _ = iso_ms(f"{day}T{row['End time']}")
        except (KeyError, ValueError, TypeError):
            report(
                Text(N_("{name} line {line}"), name=name, line=line),
                N_("bad Start time or End time: skipped"),
            )
            continue
        if end < start:
            end += _DAY_MS  # the last row ends at midnight of the next day
        for column, raw in row.items():
            if column in ("Start time", "End time") or not raw or column is None:
                continue
            metric, unit = _CSV_COLUMNS.get(column, (common.unknown_metric(column), ""))
            try:
                value = float(raw)
            except ValueError:
                report(
                    Text(
                        N_("{name} line {line} column {column}"),
                        name=name,
                        line=line,
                        column=column,
                    ),
                    N_("non-numeric value: skipped"),
                )
                continue
            yield Sample(metric, start, end, value, unit, "Google Fit daily metrics", "", off)


Job = Callable[[str, IO[bytes], ReportIssue], Iterator[Item]]


def parse_google_takeout(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    time_zone: str | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Item]:
    """Yield the samples and workouts of a Google Takeout (Google Fit and Fitbit parts).

    Each file is all or nothing: one that cannot be read is skipped whole and named in an
    issue, and the other files are imported. Problems with single records of a good file
    are reported once per file and kind, with a count. An unsafe archive is refused whole.
    """
    _, tz = zone(time_zone)
    local = LocalTimes(tz)
    with _Tree(Path(path)) as tree:
        all_data = [k for k in tree.under("Fit", "All Data") if k.endswith(".json")]
        sessions = [k for k in tree.under("Fit", "All Sessions") if k.endswith(".json")]
        daily = [
            k
            for k in tree.under("Fit", "Daily activity metrics")
            if k.endswith(".csv") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", PurePosixPath(k).stem)
        ]
        # The Fitbit part is read as `coffre import fitbit` reads it, so either command
        # imports the same samples and re-importing with the other adds nothing.
        from vault.data.importers import fitbit as fitbit_part

        fitbit, _ = fitbit_part.plan(tree, note, time_zone=time_zone)
        if not (all_data or sessions or daily or fitbit):
            raise MalformedInput(
                N_(
                    "{name}: no Google Fit or Fitbit data found (expected Takeout/Fit/All "
                    "Data or Takeout/Fitbit/Global Export Data)"
                ),
                name=Path(path).name,
            )
        if all_data and daily:
            note(
                Text(
                    N_plural(
                        "{n} daily activity metrics file was not imported: it summarises the "
                        "Google Fit data points imported from All Data",
                        "{n} daily activity metrics files were not imported: they summarise the "
                        "Google Fit data points imported from All Data",
                    ),
                    n=len(daily),
                )
            )
            daily = []
        streams = _streams(tree, all_data, note)
        bar = Progress(N_("Reading Google Takeout"), progress)
        bar.start(len(all_data) + len(sessions) + len(daily) + len(fitbit))
        jobs: list[tuple[str, Job]] = []
        jobs += [(k, _fit_job(local, streams[k])) for k in all_data]
        jobs += [(k, lambda n, s, _r: _session(n, s, local)) for k in sessions]
        jobs += [(k, lambda n, s, r: _daily_csv(n, s, r, local)) for k in daily]
        jobs += fitbit
        for key, job in jobs:
            yield from _one_file(tree, key, job, report_issue)
            bar.advance()
        bar.finish()


def _streams(tree: _Tree, all_data: list[str], note: Note) -> dict[str, FitStream]:
    """The stream of each All Data file, and which of them count (see choose_counted)."""
    streams: dict[str, FitStream] = {}
    for key in all_data:
        try:
            with tree.files[key]() as head:
                streams[key] = fit_stream_of(head, key)
        except Exception:  # the file is read again, and judged, on its own turn
            streams[key] = fit_stream_of(io.BytesIO(b""), key)
    choose_counted(list(streams.values()))
    kept = sorted({s.type for s in streams.values() if not s.counted})
    if kept:
        n = sum(1 for s in streams.values() if not s.counted)
        note(
            Text(
                N_plural(
                    "{n} Google Fit stream of {kinds} was kept under x:<type>, not counted: "
                    "Google Fit's merged stream of the same type already counts its data",
                    "{n} Google Fit streams of {kinds} were kept under x:<type>, not "
                    "counted: Google Fit's merged stream of the same type already counts "
                    "their data",
                ),
                n=n,
                kinds=", ".join(kept),
            )
        )
    return streams


def _one_file(tree: _Tree, key: str, job: Job, report_issue: ReportIssue) -> Iterator[Item]:
    """One file's items, all or none: parsed whole before any is handed on (held in memory,
    or for a large file checked in a first pass and read again), else skipped and named."""
    tally = common.IssueTally(report_issue)
    items: list[Item] | None = None
    try:
        with tree.files[key]() as stream:
            if tree.sizes.get(key, 0) <= BUFFER_BYTES:
                items = list(_in_range(job(key, stream, tally), key, tally))
            else:
                for _ in job(key, stream, common.IssueTally(common.ignore_issue)):
                    pass
    except UnsafeArchive:
        raise  # a hostile archive, not a bad file
    except Exception as exc:  # any failure of one file skips that file, whatever it is
        tally.seen.clear()
        report_issue(
            key,
            Text(
                N_("{reason}: {skipped}"),
                reason=common.skip_reason(exc),
                skipped=common.SKIPPED_WHOLE,
            ),
        )
        return
    if items is None:
        with tree.files[key]() as stream:
            yield from _in_range(job(key, stream, tally), key, tally)
    else:
        yield from items
    tally.flush()


def _in_range(items: Iterator[Item], name: str, report: ReportIssue) -> Iterator[Item]:
    """The items of one file without the samples whose value, in the metric's canonical
    unit, is outside its valid range; those are reported once per metric with a count and
    the first value (a unit mix-up or a sensor fault, never stored)."""
    conversions: dict[tuple[str, str], tuple[float, float, metrics.Metric] | None] = {}
    out: dict[str, tuple[int, str, float]] = {}
    for item in items:
        if type(item) is Sample:
            key = (item.metric, item.unit)
            if key in conversions:
                conv = conversions[key]
            else:
                m = metrics.METRICS.get(item.metric)
                units = {"": (1.0, 0.0), m.unit: (1.0, 0.0), **m.conversions} if m else {}
                found = units.get(item.unit)
                # an unknown unit is the writer's to report: no range to check it against
                conv = (*found, m) if m is not None and m.valid and found else None
                conversions[key] = conv
            if conv is not None:
                canonical = item.value * conv[0] + conv[1]
                if not conv[2].in_range(canonical):
                    seen = out.get(item.metric)
                    example = f"{_text(item.value)} {item.unit}".strip()
                    out[item.metric] = (
                        (1, example, canonical) if seen is None else (seen[0] + 1, *seen[1:])
                    )
                    continue
        yield item
    for metric_id, (count, example, canonical) in out.items():
        m = metrics.METRICS[metric_id]
        low, high = m.valid or (0.0, 0.0)
        report(
            name,
            Text(
                N_plural(
                    "{n} {metric} value outside {low:g}–{high:g} {unit} skipped "
                    "(the first: {example}, {canonical:g} {unit})",
                    "{n} {metric} values outside {low:g}–{high:g} {unit} skipped "
                    "(the first: {example}, {canonical:g} {unit})",
                ),
                n=count,
                metric=metric_id,
                low=low,
                high=high,
                unit=m.unit,
                example=example,
                canonical=canonical,
            ),
        )


def _point(name: str, n: int) -> Text:
    """Where a data point of an All Data file is (made only for a point reported)."""
    return Text(N_("{name} point {number}"), name=name, number=n)


def _fit_job(local: LocalTimes, fit: FitStream) -> Job:
    return lambda n, s, r: _google_fit_data(n, s, r, local, fit)


def import_google_takeout(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
    *,
    time_zone: str | None = None,
) -> ImportSummary:
    """Import a Google Takeout's Google Fit and Fitbit data in one transaction, each file
    whole or not at all (a bad file is skipped and listed in the summary's errors); the
    summary's `time_zone` names the zone used for offset-less times and shown offsets."""
    from vault.data.importers.fitbit import fitbit_zone

    # Fitbit's profile names the person's zone: without --time-zone, the whole import is
    # read and shown in it (this machine's zone when the Takeout holds no profile).
    name = fitbit_zone(path, time_zone)
    parse = partial(parse_google_takeout, path, time_zone=name, progress=progress)
    return common.feed(vault, persona_id, parse, fmt="google-takeout", time_zone=name)
