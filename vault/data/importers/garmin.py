"""Garmin files: FIT (activity, monitoring, weight scale), GPX and TCX, one file, a folder of
them, or a zip.

FIT decoding is done by `fitdecode` (CRC checked). A FIT file is decoded whole before any of
it is yielded, so a truncated or damaged file is never half-imported: given alone, the import
fails with MalformedInput naming it; inside a folder or zip it is skipped whole and reported.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.progress import Progress
from vault.data import metrics
from vault.data.importers import common
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.importers.tracks import parse_gpx, parse_tcx
from vault.data.model import RoutePoint, Sample, Workout, WorkoutEvent

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

SUFFIXES = (".fit", ".gpx", ".tcx")
MAX_FILE_BYTES = 512 << 20  # one FIT/GPX/TCX file; real ones are far smaller
_SEMICIRCLE = 180.0 / 2**31
_FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z, FIT's time zero
# FIT unit spellings -> UCUM
_UNITS = {"bpm": "/min", "kg/m^2": "kg/m2", "percent": "%", "breaths/min": "/min"}
# weight_scale fields stored as samples (others in the message are device details)
_SCALE_FIELDS = (
    "weight",
    "percent_fat",
    "percent_hydration",
    "visceral_fat_mass",
    "bone_mass",
    "muscle_mass",
    "basal_met",
    "active_met",
    "metabolic_age",
    "visceral_fat_rating",
    "physique_rating",
    "bmi",
)


# FIT messages read here, and those that describe devices and settings rather than the person.
_READ = frozenset(
    {
        "file_id",
        "session",
        "record",
        "lap",
        "event",
        "hrv",
        "activity",
        "monitoring",
        "monitoring_info",
        "weight_scale",
    }
)
_NOT_DATA = frozenset(
    {
        "file_creator",
        "device_info",
        "device_settings",
        "user_profile",
        "sport",
        "zones_target",
        "training_settings",
        "time_in_zone",
        "developer_data_id",
        "field_description",
        "software",
        "capabilities",
        "file_capabilities",
        "mesg_capabilities",
        "field_capabilities",
    }
)


class _Context(NamedTuple):
    """The file being decoded and where its problems and notes go."""

    name: str
    source: str
    device: str
    report: ReportIssue
    note: Note


class FitDamaged(MalformedInput):
    """The FIT file is truncated or damaged; nothing was imported from it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.problem = problem


def _ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def _fit_messages(data: bytes, name: str) -> list[Any]:
    """Every data message of a FIT file, CRC checked; FitDamaged if it is cut or corrupt."""
    import fitdecode  # type: ignore[import-untyped]

    try:
        with fitdecode.FitReader(
            io.BytesIO(data),
            check_crc=fitdecode.CrcCheck.RAISE,
            error_handling=fitdecode.ErrorHandling.RAISE,
        ) as reader:
            return [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    except fitdecode.FitEOFError:
        raise FitDamaged(name, "truncated (the data ends early)") from None
    except fitdecode.FitCRCError:
        raise FitDamaged(name, "checksum mismatch (damaged)") from None
    except fitdecode.FitHeaderError:
        raise FitDamaged(name, "not a FIT file (bad header)") from None
    except (fitdecode.FitError, ValueError, KeyError, IndexError) as exc:
        raise FitDamaged(name, f"cannot be decoded ({type(exc).__name__})") from None


def _values(msg: Any) -> dict[str, Any]:
    return {f.name: f.value for f in msg.fields if f.value is not None}


def _unit(msg: Any, field: str) -> str:
    try:
        u = msg.get_field(field).units or ""
    except KeyError:
        return ""
    return _UNITS.get(u, u)


def _device(file_id: dict[str, Any]) -> str:
    maker = file_id.get("manufacturer", "")
    product = file_id.get("garmin_product") or file_id.get("product") or ""
    return " ".join(str(p) for p in (maker, product) if p != "").strip()


def _metric(field: str) -> str:
    m = metrics.lookup("garmin", field)
    return m.id if m is not None else common.unknown_metric(field)


def parse_fit(
    data: bytes, name: str, report: ReportIssue, note: Note = common.ignore_note
) -> list[Item]:
    """The samples and workouts of one FIT file (decoded whole: FitDamaged if it is not)."""
    msgs = _fit_messages(data, name)
    file_id: dict[str, Any] = {}
    for m in msgs:
        if m.name == "file_id":
            file_id = _values(m)
            break
    device = _device(file_id)
    source = f"Garmin {file_id.get('garmin_product') or file_id.get('product') or ''}".strip()
    kinds = {m.name for m in msgs}
    out: list[Item] = []
    ctx = _Context(name, source, device, report, note)
    if "session" in kinds or "record" in kinds:
        out.extend(_activity(msgs, ctx))
    if "monitoring" in kinds:
        out.extend(_monitoring(msgs, ctx))
    if "weight_scale" in kinds:
        out.extend(_weight(msgs, ctx))
    if not out:
        note(f"{name}: a FIT file of type {file_id.get('type', 'unknown')} holds nothing to import")
    left = Counter(
        "undocumented" if m.name.startswith("unknown_") else m.name
        for m in msgs
        if m.name not in _READ and m.name not in _NOT_DATA
    )
    if left:
        kinds_left = ", ".join(f"{k} ({n})" for k, n in sorted(left.items()))
        note(f"{name}: messages not imported: {kinds_left}")
    return out


def _offset(msgs: list[Any]) -> int:
    """Minutes between local and UTC time, from the activity or monitoring_info message."""
    for m in msgs:
        if m.name in ("activity", "monitoring_info"):
            v = _values(m)
            if "local_timestamp" in v and "timestamp" in v:
                local: datetime = v["local_timestamp"].replace(tzinfo=None)
                utc: datetime = v["timestamp"].replace(tzinfo=None)
                return round((local - utc).total_seconds() / 60)
    return 0


def _activity(msgs: list[Any], ctx: _Context) -> Iterator[Item]:
    name, source, device, report, note = ctx
    offset = _offset(msgs)
    records: list[dict[str, Any]] = []
    events: list[WorkoutEvent] = []
    laps: list[WorkoutEvent] = []
    sessions: list[dict[str, Any]] = []
    hrv = 0
    for m in msgs:
        kind = m.name
        if kind == "record":
            records.append(_values(m))
        elif kind == "session":
            sessions.append(_values(m))
        elif kind == "lap":
            v = _values(m)
            if "start_time" in v and "timestamp" in v:
                laps.append(WorkoutEvent("lap", _ms(v["start_time"]), _ms(v["timestamp"])))
        elif kind == "event":
            v = _values(m)
            if v.get("event") == "timer" and "timestamp" in v:
                t = _ms(v["timestamp"])
                et = v.get("event_type")
                if et in ("stop", "stop_all", "stop_disable", "stop_disable_all"):
                    events.append(WorkoutEvent("pause", t, t))
                elif et == "start":
                    events.append(WorkoutEvent("resume", t, t))
        elif kind == "hrv":
            hrv += 1
    if hrv:
        note(f"{name}: {hrv} beat-to-beat (R-R) interval messages were not imported")
    timed = [r for r in records if "timestamp" in r]
    if not sessions and timed:
        # An activity without its session summary: derive one from the records.
        sessions = [
            {
                "start_time": timed[0]["timestamp"],
                "timestamp": timed[-1]["timestamp"],
                "sport": "generic",
            }
        ]
        report(name, "activity without a session summary: totals derived from its records")
    for n, s in enumerate(sessions, 1):
        if "start_time" not in s:
            report(f"{name} session {n}", "session without a start time: skipped")
            continue
        start = _ms(s["start_time"])
        elapsed = s.get("total_elapsed_time")
        moving = s.get("total_timer_time", elapsed)
        if "timestamp" in s:
            end = _ms(s["timestamp"])
        elif elapsed is not None:
            end = start + round(elapsed * 1000)
        else:
            report(f"{name} session {n}", "session without an end time: skipped")
            continue
        route: list[RoutePoint] = []
        hr: list[tuple[int, float]] = []
        for r in timed:
            t = _ms(r["timestamp"])
            if not start <= t <= end:
                continue
            lat, lon = r.get("position_lat"), r.get("position_long")
            if lat is not None and lon is not None:
                alt = r.get("enhanced_altitude", r.get("altitude"))
                route.append(RoutePoint(t, lat * _SEMICIRCLE, lon * _SEMICIRCLE, alt))
            if r.get("heart_rate") is not None:
                hr.append((t, float(r["heart_rate"])))
        sport = str(s.get("sport", "generic"))
        sub = s.get("sub_sport")
        metadata: tuple[tuple[str, str], ...] = (("sub_sport", str(sub)),) if sub else ()
        yield Workout(
            activity=common.activity_name(sport),
            start=start,
            end=end,
            offset_min=offset,
            duration_s=float(moving) if moving is not None else (end - start) / 1000,
            distance_m=s.get("total_distance"),
            energy_kcal=float(s["total_calories"]) if s.get("total_calories") else None,
            source=source,
            device=device,
            events=tuple(sorted([*laps, *events], key=lambda e: e.start)),
            route=tuple(route),
            metadata=metadata,
        )
        for t, bpm in hr:
            yield Sample("heart_rate", t, t, bpm, "/min", source, device, offset)


def _monitoring(msgs: list[Any], ctx: _Context) -> Iterator[Item]:
    """Monitoring (all-day) data: cumulative counters per activity type become deltas."""
    name, source, device, report, note = ctx
    offset = _offset(msgs)
    last_full: int | None = None  # FIT seconds of the last full timestamp
    prev_t: int | None = None  # previous message time (UTC ms)
    cumulative: dict[tuple[str, str], float] = {}
    summaries = 0
    for n, m in enumerate(msgs, 1):
        if m.name == "monitoring_info":
            v = _values(m)
            if "timestamp" in v:
                last_full = int(v["timestamp"].timestamp()) - _FIT_EPOCH_S
            continue
        if m.name != "monitoring":
            continue
        v = _values(m)
        if "duration_min" in v:
            summaries += 1  # a daily total repeating the interval data
            continue
        if "timestamp" in v:
            last_full = int(v["timestamp"].timestamp()) - _FIT_EPOCH_S
            fit_s = last_full
        elif "timestamp_16" in v and last_full is not None:
            ts16 = int(v["timestamp_16"])
            fit_s = last_full + ((ts16 - (last_full & 0xFFFF)) & 0xFFFF)
            last_full = fit_s
        else:
            report(f"{name} message {n}", "monitoring data without a time: skipped")
            continue
        t = (fit_s + _FIT_EPOCH_S) * 1000
        start = prev_t if prev_t is not None and prev_t <= t else t
        prev_t = t
        activity = str(v.get("activity_type", ""))
        for field, metric, unit, scale in (
            ("cycles", "steps", "{steps}", 2.0),
            ("steps", "steps", "{steps}", 1.0),
            ("active_calories", "active_energy", "kcal", 1.0),
            ("distance", "distance", "m", 1.0),
        ):
            if field not in v:
                continue
            if field == "cycles" and activity not in ("walking", "running"):
                continue  # cycles count strokes or revolutions for other activities
            total = float(v[field]) * scale
            key = (activity, metric)
            before = cumulative.get(key, 0.0)
            delta = total - before if total >= before else total  # counters reset daily
            cumulative[key] = total
            if delta > 0:
                yield Sample(metric, start, t, delta, unit, source, device, offset)
        if v.get("heart_rate"):
            yield Sample("heart_rate", t, t, float(v["heart_rate"]), "/min", source, device, offset)
    if summaries:
        note(f"{name}: {summaries} daily totals skipped (the interval data holds them)")


def _weight(msgs: list[Any], ctx: _Context) -> Iterator[Item]:
    name, source, device, report, _ = ctx
    for n, m in enumerate(msgs, 1):
        if m.name != "weight_scale":
            continue
        v = _values(m)
        if "timestamp" not in v:
            report(f"{name} message {n}", "weight without a time: skipped")
            continue
        t = _ms(v["timestamp"])
        for field in _SCALE_FIELDS:
            value = v.get(field)
            if value is None or isinstance(value, str):
                continue
            yield Sample(_metric(field), t, t, float(value), _unit(m, field), source, device)


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with zf.open(info) as f:
        return f.read(MAX_FILE_BYTES + 1)


def _one(data: bytes, name: str, report: ReportIssue, note: Note) -> list[Item] | Iterator[Item]:
    if len(data) > MAX_FILE_BYTES:
        raise MalformedInput(f"{name}: larger than any real Garmin file; refused")
    lower = name.lower()
    if lower.endswith(".fit"):
        return parse_fit(data, name, report, note)
    if lower.endswith(".gpx"):
        return list(parse_gpx(io.BytesIO(data), name, report))
    return list(parse_tcx(io.BytesIO(data), name, report))


def _skipped(exc: MalformedInput) -> str:
    problem = exc.problem if isinstance(exc, FitDamaged) else (exc.detail or exc.message)
    return f"{problem}: skipped whole, nothing imported from this file"


def parse_garmin(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    progress: ProgressCallback | None = None,
) -> Iterator[Item]:
    """Yield the workouts and samples of a Garmin file, folder or zip.

    Alone, a damaged file raises FitDamaged/MalformedInput; among several, it is reported
    (`report_issue`) and skipped whole, while the others are imported.
    """
    p = Path(path)
    bar = Progress("Reading Garmin files", progress)
    if p.is_file() and p.suffix.lower() in SUFFIXES:
        bar.start(1)
        with p.open("rb") as f:
            yield from _one(f.read(MAX_FILE_BYTES + 1), p.name, report_issue, note)
        bar.advance()
        bar.finish()
        return
    if p.is_dir():
        files = sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in SUFFIXES)
        if not files:
            raise MalformedInput(f"{p.name}: no .fit, .gpx or .tcx files in this folder")
        bar.start(len(files))
        for file in files:
            rel = file.relative_to(p).as_posix()
            try:
                with file.open("rb") as fh:
                    items = _one(fh.read(MAX_FILE_BYTES + 1), rel, report_issue, note)
            except MalformedInput as exc:
                report_issue(rel, _skipped(exc))
            else:
                yield from items
            bar.advance()
        bar.finish()
        return
    if p.is_file() and zipfile.is_zipfile(p):
        zf = common.open_zip(p)
        with zf:
            infos = [
                i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(SUFFIXES)
            ]
            nested = sum(1 for i in zf.infolist() if i.filename.lower().endswith(".zip"))
            if nested:
                note(f"{nested} zip files inside {p.name} were not opened; extract them first")
            if not infos:
                raise MalformedInput(f"{p.name}: no .fit, .gpx or .tcx files in this archive")
            bar.start(len(infos))
            for info in infos:
                try:
                    data = _open_member(zf, info)
                except common.zip_read_errors() as exc:
                    raise common.truncated(f"{p.name}:{info.filename}", exc) from None
                try:
                    items = _one(data, info.filename, report_issue, note)
                except MalformedInput as exc:
                    report_issue(info.filename, _skipped(exc))
                else:
                    yield from items
                bar.advance()
        bar.finish()
        return
    if not p.exists():
        raise InvalidParameter(f"{p.name}: no such file or folder")
    raise MalformedInput(f"{p.name}: not a .fit, .gpx or .tcx file, a folder or a zip of them")


def import_garmin(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import Garmin FIT/GPX/TCX files into the persona's data, all or nothing."""
    parse = partial(parse_garmin, path, progress=progress)
    return common.feed(vault, persona_id, parse, fmt="garmin")
