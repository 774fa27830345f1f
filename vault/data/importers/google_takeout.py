"""Google Takeout: Google Fit (`Fit/All Data`, `All Sessions`, `Daily activity metrics`) and
Fitbit (`Fitbit/Global Export Data`), from the Takeout zip or its extracted folder.

JSON is streamed with ijson, so a year of per-second heart rate stays in bounded memory.
Google Fit times are UTC nanoseconds. Fitbit writes local times with two-digit years and no
offset (`01/02/21 08:00:00`): they are read in the time zone given (default: this machine's),
and the summary says which zone was used.
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

from vault.core.errors import InvalidParameter, MalformedInput
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

# Google Fit data types whose unit the registry's canonical unit does not already match.
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
}
# Known ids that must not go to their registry metric: cumulative counters, rates stored as
# totals, and activity segments (whole-day still/walking/vehicle periods, not workouts).
FIT_KEEP_AS_UNKNOWN = {
    "com.google.step_count.cumulative",
    "com.google.calories.bmr",
    "com.google.activity.segment",
}
FIT_SLEEP = {1: "awake", 2: "asleep", 3: "awake", 4: "core", 5: "deep", 6: "rem"}
FITBIT_SLEEP = {
    "wake": "awake",
    "awake": "awake",
    "restless": "awake",
    "light": "core",
    "deep": "deep",
    "rem": "rem",
    "asleep": "asleep",
}
# Fitbit file types: (unit, span) with span "minute", "day" or "instant".
FITBIT_SERIES: dict[str, tuple[str, str]] = {
    "steps": ("count", "minute"),
    "calories": ("kcal", "minute"),
    "distance": ("cm", "minute"),  # Fitbit writes minute distances in centimetres
    "altitude": ("{flights}", "minute"),  # in feet; ten feet make one floor
    "heart_rate": ("/min", "instant"),
    "resting_heart_rate": ("/min", "day"),
    "very_active_minutes": ("min", "day"),
    "moderately_active_minutes": ("min", "day"),
    "lightly_active_minutes": ("min", "day"),
    "sedentary_minutes": ("min", "day"),
}
_FITBIT_FILE = re.compile(r"^(?P<type>[a-z0-9_]+)-(?P<date>\d{4}-\d{2}-\d{2})\.json$")
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
        raise InvalidParameter(f"unknown time zone {name!r} (use an IANA name)") from None


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

    def __enter__(self) -> _Tree:
        p = self.path
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    self.files[f.relative_to(p).as_posix()] = _opener(f)
        elif p.is_file() and zipfile.is_zipfile(p):
            self.zip = common.open_zip(p)
            zf = self.zip
            for info in zf.infolist():
                if not info.is_dir():
                    self.files[info.filename] = _zip_opener(zf, info)
        elif p.exists():
            raise MalformedInput(f"{p.name}: not a Google Takeout zip or folder")
        else:
            raise InvalidParameter(f"{p.name}: no such file or folder")
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


def _fit_value(point: dict[str, Any]) -> list[float | str]:
    out: list[float | str] = []
    for entry in point.get("fitValue") or point.get("value") or []:
        v = entry.get("value", entry)
        for key in ("fpVal", "intVal"):
            if key in v:
                out.append(float(v[key]))
                break
        else:
            if "stringVal" in v:
                out.append(str(v["stringVal"]))
    return out


def _fit_source(file_name: str, type_name: str) -> str:
    """The stream a Google Fit file holds, from its name (`derived_<type>_<app>_<stream>`)."""
    stem = PurePosixPath(file_name).stem
    for prefix in ("derived_", "raw_"):
        if stem.startswith(prefix + type_name + "_"):
            return "Google Fit " + stem[len(prefix + type_name) + 1 :]
    return "Google Fit " + stem


def _google_fit_data(
    name: str, stream: IO[bytes], report: ReportIssue, local: LocalTimes
) -> Iterator[Item]:
    import ijson  # type: ignore[import-untyped]

    try:
        for n, point in enumerate(ijson.items(stream, "Data Points.item", use_float=True), 1):
            where = f"{name} point {n}"
            try:
                type_name = point["dataTypeName"]
                start = int(point["startTimeNanos"]) // 1_000_000
                end = int(point["endTimeNanos"]) // 1_000_000
            except (KeyError, TypeError, ValueError):
                report(where, "data point without a type or valid times: skipped")
                continue
            if end < start:
                report(where, "ends before it starts: skipped")
                continue
            if not MIN_MS <= start <= MAX_MS or end > MAX_MS:
                report(where, "impossible time: skipped")
                continue
            try:
                values = _fit_value(point)
            except (TypeError, ValueError, AttributeError):
                report(where, "non-numeric value: skipped")
                continue
            numbers = [v for v in values if isinstance(v, float)]
            if not numbers:
                report(where, "data point without a numeric value: skipped")
                continue
            off = _offset_at(local, start)
            source = _fit_source(name, type_name)
            if type_name == "com.google.sleep.segment":
                stage = FIT_SLEEP.get(int(numbers[0]))
                if stage is None:
                    report(where, "unknown sleep stage: skipped")
                    continue
                yield Sample("sleep", start, end, SLEEP_STAGES[stage], "", source, "", off)
                continue
            m = (
                None
                if type_name in FIT_KEEP_AS_UNKNOWN
                else metrics.lookup("google_fit", type_name)
            )
            metric = m.id if m is not None else common.unknown_metric(type_name)
            metadata: tuple[tuple[str, str], ...] = ()
            if len(values) > 1:
                metadata = (("values", json.dumps(values)),)
            unit = FIT_UNITS.get(type_name, "")
            yield Sample(metric, start, end, numbers[0], unit, source, "", off, metadata)
    except ijson.JSONError:
        # ijson's message quotes the text around the error: it is not repeated here.
        raise MalformedInput(f"{name}: malformed JSON") from None


def _offset_at(local: LocalTimes, utc_ms: int) -> int:
    dt = datetime.fromtimestamp(utc_ms // 1000, UTC).astimezone(local.tz)
    off = dt.utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def _session(name: str, stream: IO[bytes], report: ReportIssue) -> Iterator[Item]:
    try:
        data = json.load(stream)
        start, off = iso_ms(data["startTime"])
        end, _ = iso_ms(data["endTime"])
    except (ValueError, KeyError, TypeError):
        report(name, "session without valid JSON, start or end time: skipped")
        return
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
    yield Workout(
        activity=common.activity_name(str(data.get("fitnessActivity", "other"))),
        start=start,
        end=end,
        offset_min=off,
        duration_s=seconds,
        distance_m=totals.get("com.google.distance.delta"),
        energy_kcal=totals.get("com.google.calories.expended"),
        source="Google Fit",
        events=tuple(events),
    )


# Columns of the per-day "Daily activity metrics" CSV files.
_CSV_COLUMNS: dict[str, tuple[str, str]] = {
    "Step count": ("steps", "count"),
    "Distance (m)": ("distance", "m"),
    "Calories (kcal)": ("active_energy", "kcal"),
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
        report(name, "file name is not a date: skipped")
        return
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    for line, row in enumerate(reader, 2):
        try:
            start, off = iso_ms(f"{day}T{row['Start time']}")
            end, _ = iso_ms(f"{day}T{row['End time']}")
        except (KeyError, ValueError, TypeError):
            report(f"{name} line {line}", "bad Start time or End time: skipped")
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
                report(f"{name} line {line} column {column}", "non-numeric value: skipped")
                continue
            yield Sample(metric, start, end, value, unit, "Google Fit daily metrics", "", off)


class _Unsupported(Exception):
    """An entry of a shape this importer does not read (zones, summaries...)."""


def _fitbit_file(
    kind: str, name: str, stream: IO[bytes], ctx: tuple[ReportIssue, Note, LocalTimes]
) -> Iterator[Item]:
    import ijson

    report, note, local = ctx
    unsupported = 0
    try:
        for n, entry in enumerate(ijson.items(stream, "item", use_float=True), 1):
            where = f"{name} entry {n}"
            try:
                if kind == "sleep":
                    yield from _fitbit_sleep(entry, local)
                elif kind == "exercise":
                    yield _fitbit_exercise(entry, local)
                elif kind == "weight":
                    yield from _fitbit_weight(entry, local)
                else:
                    yield _fitbit_point(kind, entry, local)
            except _Unsupported:
                unsupported += 1
            except (KeyError, TypeError, ValueError, AttributeError):
                report(where, "missing or impossible date, or non-numeric value: skipped")
    except ijson.JSONError:
        # ijson's message quotes the text around the error: it is not repeated here.
        raise MalformedInput(f"{name}: malformed JSON") from None
    if unsupported:
        note(f"{name}: {unsupported} entries without a single value were not imported")


def _fitbit_point(kind: str, entry: dict[str, Any], local: LocalTimes) -> Sample:
    t, off = local.fitbit(entry["dateTime"])
    raw = entry["value"]
    if isinstance(raw, dict):
        raw = raw.get("bpm", raw.get("value"))
        if raw is None or isinstance(raw, dict | list):
            raise _Unsupported
    value = float(raw)
    unit, span = FITBIT_SERIES.get(kind, ("", "instant"))
    if kind == "altitude":
        value /= 10.0
    m = metrics.lookup("fitbit", kind)
    metric = m.id if m is not None else common.unknown_metric(kind)
    end = t + (_MINUTE_MS if span == "minute" else _DAY_MS if span == "day" else 0)
    return Sample(metric, t, end, value, unit, "Fitbit", "", off)


def _fitbit_weight(entry: dict[str, Any], local: LocalTimes) -> Iterator[Sample]:
    t, off = local.fitbit(f"{entry['date']} {entry.get('time', '00:00:00')}")
    source = f"Fitbit {entry.get('source', '')}".strip()
    for field, metric, unit in (
        ("weight", "body_mass", "kg"),
        ("bmi", "body_mass_index", ""),
        ("fat", "body_fat", "%"),
    ):
        if entry.get(field) is not None:
            yield Sample(metric, t, t, float(entry[field]), unit, source, "", off)


def _fitbit_sleep(entry: dict[str, Any], local: LocalTimes) -> Iterator[Sample]:
    levels = entry.get("levels", {}).get("data", [])
    if not levels:  # no stages: the whole log as "asleep"
        start, off = local.iso_local(entry["startTime"])
        end, _ = local.iso_local(entry["endTime"])
        yield Sample("sleep", start, end, SLEEP_STAGES["asleep"], "", "Fitbit", "", off)
        return
    for seg in levels:
        stage = FITBIT_SLEEP.get(seg["level"])
        if stage is None:
            raise ValueError("unknown sleep level")
        start, off = local.iso_local(seg["dateTime"])
        end = start + round(float(seg["seconds"]) * 1000)
        yield Sample("sleep", start, end, SLEEP_STAGES[stage], "", "Fitbit", "", off)


_FITBIT_DISTANCE = {"Kilometer": 1000.0, "Mile": 1609.344, "Meter": 1.0}


def _fitbit_exercise(entry: dict[str, Any], local: LocalTimes) -> Workout:
    start, off = local.fitbit(entry["startTime"])
    duration_ms = float(entry.get("duration") or entry.get("activeDuration") or 0)
    distance = entry.get("distance")
    scale = _FITBIT_DISTANCE.get(entry.get("distanceUnit", "Kilometer"))
    if distance is not None and scale is None:
        raise ValueError("unknown distance unit")
    return Workout(
        activity=common.activity_name(str(entry.get("activityName", "other"))),
        start=start,
        end=start + round(duration_ms),
        offset_min=off,
        duration_s=duration_ms / 1000,
        distance_m=float(distance) * (scale or 1.0) if distance is not None else None,
        energy_kcal=float(entry["calories"]) if entry.get("calories") is not None else None,
        source="Fitbit",
    )


def parse_google_takeout(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    time_zone: str | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Item]:
    """Yield the samples and workouts of a Google Takeout (Google Fit and Fitbit parts)."""
    _, tz = zone(time_zone)
    local = LocalTimes(tz)
    read_errors = common.zip_read_errors()
    with _Tree(Path(path)) as tree:
        all_data = [k for k in tree.under("Fit", "All Data") if k.endswith(".json")]
        sessions = [k for k in tree.under("Fit", "All Sessions") if k.endswith(".json")]
        daily = [
            k
            for k in tree.under("Fit", "Daily activity metrics")
            if k.endswith(".csv") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", PurePosixPath(k).stem)
        ]
        fitbit_files = tree.under("Fitbit", "Global Export Data")
        fitbit = [
            (m["type"], k) for k in fitbit_files if (m := _FITBIT_FILE.match(PurePosixPath(k).name))
        ]
        if len(fitbit) < len(fitbit_files):
            note(
                f"{len(fitbit_files) - len(fitbit)} files in Fitbit/Global Export Data are "
                "not in the <type>-YYYY-MM-DD.json form and were not imported"
            )
        if not (all_data or sessions or daily or fitbit):
            raise MalformedInput(
                f"{Path(path).name}: no Google Fit or Fitbit data found "
                "(expected Takeout/Fit/All Data or Takeout/Fitbit/Global Export Data)"
            )
        if all_data and daily:
            note(
                f"{len(daily)} daily activity metrics files were not imported: they "
                "summarise the Google Fit data points imported from All Data"
            )
            daily = []
        bar = Progress("Reading Google Takeout", progress)
        bar.start(len(all_data) + len(sessions) + len(daily) + len(fitbit))
        jobs: list[tuple[str, Callable[[str, IO[bytes]], Iterator[Item]]]] = []
        jobs += [(k, lambda n, s: _google_fit_data(n, s, report_issue, local)) for k in all_data]
        jobs += [(k, lambda n, s: _session(n, s, report_issue)) for k in sessions]
        jobs += [(k, lambda n, s: _daily_csv(n, s, report_issue, local)) for k in daily]
        for kind, k in fitbit:
            jobs.append((k, _fitbit_job(kind, (report_issue, note, local))))
        for key, job in jobs:
            name = key.split("Takeout/", 1)[-1]
            try:
                with tree.files[key]() as stream:
                    yield from job(name, stream)
            except read_errors as exc:
                raise common.truncated(name, exc) from None
            except UnicodeDecodeError:
                raise MalformedInput(f"{name}: not UTF-8 text") from None
            bar.advance()
        bar.finish()
    if fitbit:
        note("Fitbit weights are read as kilograms and minute distances as centimetres")


def _fitbit_job(
    kind: str, ctx: tuple[ReportIssue, Note, LocalTimes]
) -> Callable[[str, IO[bytes]], Iterator[Item]]:
    return lambda n, s: _fitbit_file(kind, n, s, ctx)


def import_google_takeout(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
    *,
    time_zone: str | None = None,
) -> ImportSummary:
    """Import a Google Takeout's Google Fit and Fitbit data, all or nothing; the summary's
    `time_zone` names the zone used for Fitbit's offset-less times."""
    name, _ = zone(time_zone)
    parse = partial(parse_google_takeout, path, time_zone=name, progress=progress)
    return common.feed(vault, persona_id, parse, fmt="google-takeout", time_zone=name)
