"""Garmin files: FIT (activity, monitoring, weight scale, wellness), GPX and TCX, one file, a
folder of them, or a zip; Garmin's account export is read by `garmin_export`.

FIT decoding is done by `fitdecode` (CRC checked; damaged definitions read as fitdecode's
default mode reads them, and noted). A file is decoded whole before any of it is yielded, so
a damaged file is never half-imported: given alone, the import fails naming it; inside a
folder or zip it is skipped whole and reported, whatever went wrong, and the others go in.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import itertools
import os
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vault.core.errors import BadInput, InvalidParameter, MalformedInput, VaultError
from vault.core.i18n import N_, N_plural, Text
from vault.core.progress import Progress
from vault.data import metrics
from vault.data.importers import common
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.importers.tracks import parse_gpx, parse_tcx
from vault.data.model import SLEEP_STAGES, RoutePoint, Sample, Workout, WorkoutEvent

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

SUFFIXES = (".fit", ".gpx", ".tcx")
MAX_FILE_BYTES = 512 << 20  # one FIT/GPX/TCX file; real ones are far smaller
_SEMICIRCLE = 180.0 / 2**31
_FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z, FIT's time zero
# date_time values below this are "system time": seconds since the device was switched on
_SYSTEM_TIME_MAX = 0x10000000
# UTC offsets in use run from -12:00 to +14:00; anything else is an unset or broken clock
_MIN_OFFSET_MIN, _MAX_OFFSET_MIN = -12 * 60, 14 * 60
_MAX_USER = 254  # user_profile message indexes are uint16, 0xFFFF invalid; scales hold a few
# FIT unit spellings -> UCUM
_UNITS = {"bpm": "/min", "kg/m^2": "kg/m2", "percent": "%", "breaths/min": "/min"}
# fitdecode's manufacturer names whose plain title case would misspell the brand
_MAKERS = {
    "dynastream_oem": "Dynastream OEM",
    "coros": "COROS",
    "srm": "SRM",
    "bsx": "BSX",
    "lezyne": "Lezyne",
    "development": "Development",
}
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
        "timestamp_correlation",
        "stress_level",
        "respiration_rate",
        "spo2_data",
        "sleep_level",
        "hrv_value",
        "beat_intervals",
        "hrv_status_summary",
        "sleep_assessment",
        "hr",
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


class FitDamaged(MalformedInput):
    """The FIT file is truncated or damaged; nothing was imported from it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(N_("{name}: {problem}"), name=name, problem=problem)
        self.problem = problem


class ScaleUsers(BadInput):
    """The weight scale file holds the weighings of several people; say whose to import."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(N_("{name}: {problem}"), name=name, problem=problem)
        self.problem = problem


class _Msg(NamedTuple):
    """One FIT data message: its name and its fields that have a value."""

    name: str
    values: dict[str, Any]
    frame: Any  # the fitdecode message, for field units (weight_scale only, else None)


Clock = Callable[[Any], "int | None"]


class _Context(NamedTuple):
    """The file being decoded, how its times read, and where its problems and notes go."""

    name: str
    source: str
    device: str
    clock: Clock  # a FIT time value -> UTC ms, None when it cannot be placed
    offset: int  # minutes from UTC of the device's clock
    report: ReportIssue
    note: Note


def parse_scale_user(value: str) -> int:
    """The `--scale-user` option: a user number of a weight scale file (InvalidParameter)."""
    try:
        user = int(value.strip())
    except ValueError:
        raise InvalidParameter(
            N_("--scale-user takes a user number, not {value}"), value=repr(value)
        ) from None
    if not 0 <= user <= _MAX_USER:
        raise InvalidParameter(
            N_("--scale-user takes a user number from 0 to {highest}"), highest=_MAX_USER
        )
    return user


def _fit_messages(data: bytes, name: str, note: Note) -> list[_Msg]:
    """Every data message of a FIT file, CRC checked; FitDamaged if it is cut or corrupt.

    Definitions fitdecode can only read leniently (a developer field of the wrong size, as
    some non-Garmin watches write) are read as its default mode reads them, and noted.
    """
    import fitdecode  # type: ignore[import-untyped]

    data_message = fitdecode.FitDataMessage
    out: list[_Msg] = []
    append = out.append
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _reader_class()(
                io.BytesIO(data),
                check_crc=fitdecode.CrcCheck.RAISE,
                error_handling=fitdecode.ErrorHandling.WARN,
            ) as reader:
                for frame in reader:
                    if type(frame) is data_message:
                        values = {f.name: f.value for f in frame.fields if f.value is not None}
                        # only weighings need their frame again (for units): keep no other
                        kept = frame if frame.name == "weight_scale" else None
                        append(_Msg(frame.name, values, kept))
    except fitdecode.FitEOFError:
        raise FitDamaged(name, Text(N_("truncated (the data ends early)"))) from None
    except fitdecode.FitCRCError:
        raise FitDamaged(name, Text(N_("checksum mismatch (damaged)"))) from None
    except fitdecode.FitHeaderError:
        raise FitDamaged(name, Text(N_("not a FIT file (bad header)"))) from None
    except (fitdecode.FitError, ValueError, KeyError, IndexError) as exc:
        problem = Text(N_("cannot be decoded ({error})"), error=type(exc).__name__)
        raise FitDamaged(name, problem) from None
    damaged = sum(1 for w in caught if "fitdecode" in (w.filename or "").replace("\\", "/"))
    if damaged:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} damaged message definition (fields of the wrong size) read "
                    "leniently; values in those fields may be missing",
                    "{name}: {n:,} damaged message definitions (fields of the wrong size) read "
                    "leniently; values in those fields may be missing",
                ),
                name=name,
                n=damaged,
            )
        )
    return out


_HR_MESSAGE, _HR_PACKED_TIMES = 132, 10  # the FIT profile's hr message, event_timestamp_12


@cache
def _reader_class() -> Any:
    """fitdecode's reader, except that it leaves the packed times of `hr` messages
    (`event_timestamp_12`) as the bytes they are, read by `_unpacked`.

    fitdecode's own expansion of them fails on an hr message before any timed one (an
    assertion) or on a blank one (a TypeError): one such message would lose the whole file.
    Its definitions are read as fitdecode reads them; only that field's components go.
    """
    import fitdecode

    profile_field = fitdecode.profile.MESSAGE_TYPES[_HR_MESSAGE].fields[_HR_PACKED_TIMES]
    packed = fitdecode.types.Field(
        name=profile_field.name, type=profile_field.type, def_num=profile_field.def_num
    )

    class Reader(fitdecode.FitReader):  # type: ignore[misc]
        def _read_definition_message(self, header_chunk: Any, record_header: Any) -> Any:
            definition = super()._read_definition_message(header_chunk, record_header)
            if definition.global_mesg_num == _HR_MESSAGE:
                for field_def in definition.field_defs:
                    if field_def.def_num == _HR_PACKED_TIMES and field_def.field is not None:
                        field_def.field = packed
            return definition

    return Reader


def _unit(msg: _Msg, field: str) -> str:
    try:
        u = msg.frame.get_field(field).units or ""
    except KeyError:
        return ""
    return _UNITS.get(u, u)


def _maker(file_id: dict[str, Any]) -> str:
    """The manufacturer's name from fitdecode's profile ('wahoo_fitness' -> Wahoo Fitness)."""
    maker = file_id.get("manufacturer")
    if isinstance(maker, str) and maker:
        return _MAKERS.get(maker, maker.replace("_", " ").title())
    return "FIT device" if maker is None else f"FIT manufacturer {maker}"


def _device(file_id: dict[str, Any]) -> str:
    maker = file_id.get("manufacturer", "")
    product = file_id.get("garmin_product") or file_id.get("product") or ""
    return " ".join(str(p) for p in (maker, product) if p != "").strip()


def _source(file_id: dict[str, Any]) -> str:
    """`Garmin fenix5`, `Wahoo Fitness 31`: the maker's real name, then the product's name
    (fitdecode names Garmin's products) or number."""
    product = file_id.get("garmin_product")
    if product is None:
        product = file_id.get("product")
    return f"{_maker(file_id)} {product}" if product is not None else _maker(file_id)


def _metric(field: str) -> str:
    m = metrics.lookup("garmin", field)
    return m.id if m is not None else common.unknown_metric(field)


def _utc_ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def _system_anchor(msgs: list[_Msg]) -> tuple[int | None, str]:
    """Milliseconds to add to a system time (seconds since power-on) to place it, and how
    they were found: a timestamp_correlation gives UTC; an activity (or monitoring_info)
    message pairs a system time with the device's local clock, the FIT SDK's way to convert."""
    for m in msgs:
        if m.name == "timestamp_correlation":
            utc, system = m.values.get("timestamp"), m.values.get("system_timestamp")
            if isinstance(utc, datetime) and isinstance(system, int):
                return _utc_ms(utc) - system * 1000, "utc"
    for m in msgs:
        if m.name in ("activity", "monitoring_info"):
            local, system = m.values.get("local_timestamp"), m.values.get("timestamp")
            if isinstance(local, datetime) and isinstance(system, int):
                return _utc_ms(local) - system * 1000, "local"  # fitdecode reads it as UTC
    return None, ""


def _clock(msgs: list[_Msg], name: str, note: Note) -> Clock:
    """How this file's times become UTC ms.

    fitdecode turns date_time values into datetimes, but leaves system times (older watches
    that write compressed timestamps before their clock is set) as seconds since power-on.
    Those are placed through the file's own anchor, or the file cannot be placed in time.
    """
    system = any(isinstance(m.values.get("timestamp"), int) for m in msgs)
    anchor, how = _system_anchor(msgs) if system else (None, "")
    if system and anchor is None:
        raise FitDamaged(
            name,
            Text(N_("its times count from the watch's power-on and no clock time places them")),
        )
    if how == "local":
        note(
            Text(
                N_(
                    "{name}: its times count from the watch's power-on; they were placed by the "
                    "watch's local clock (the activity message), read as UTC since the file "
                    "gives no time zone"
                ),
                name=name,
            )
        )

    def ms(value: Any) -> int | None:
        if isinstance(value, datetime):
            return _utc_ms(value)
        if anchor is not None and isinstance(value, int) and 0 <= value < _SYSTEM_TIME_MAX:
            return value * 1000 + anchor
        return None

    return ms


def _offset(msgs: list[_Msg], name: str, note: Note) -> int:
    """Minutes between the device's local clock and UTC, from the activity or monitoring_info
    message; 0, noted, when that clock was unset (1989-12-31) or is not a real zone's."""
    for m in msgs:
        if m.name in ("activity", "monitoring_info"):
            local, utc = m.values.get("local_timestamp"), m.values.get("timestamp")
            if isinstance(local, datetime) and isinstance(utc, datetime):
                minutes = round((_utc_ms(local) - _utc_ms(utc)) / 60_000)
                if _MIN_OFFSET_MIN <= minutes <= _MAX_OFFSET_MIN:
                    return minutes
                note(
                    Text(
                        N_(
                            "{name}: the device's local clock was not set (or is no time "
                            "zone's): its times are kept in UTC, without a time zone"
                        ),
                        name=name,
                    )
                )
                return 0
    return 0


def parse_fit(
    data: bytes,
    name: str,
    report: ReportIssue,
    note: Note = common.ignore_note,
    *,
    scale_user: int | None = None,
) -> list[Item]:
    """The samples and workouts of one FIT file (decoded whole: FitDamaged if it is not).

    `scale_user`: in a weight scale file shared by several people, whose weighings to keep;
    without it such a file raises ScaleUsers (never two people on one persona).
    """
    msgs = _fit_messages(data, name, note)
    file_id: dict[str, Any] = {}
    for m in msgs:
        if m.name == "file_id":
            file_id = m.values
            break
    kinds = {m.name for m in msgs}
    clock = _clock(msgs, name, note)
    offset = _offset(msgs, name, note)
    ctx = _Context(name, _source(file_id), _device(file_id), clock, offset, report, note)
    out: list[Item] = []
    if "session" in kinds or "record" in kinds:
        out.extend(_activity(msgs, ctx))
    if "monitoring" in kinds:
        out.extend(_monitoring(msgs, ctx))
    if "weight_scale" in kinds:
        out.extend(_weight(msgs, ctx, scale_user))
    if "hrv" in kinds:
        out.extend(_beats(msgs, ctx))
    if "beat_intervals" in kinds:
        out.extend(_beat_intervals(msgs, ctx))
    if "hr" in kinds:
        out.extend(_stored_heart_rate(msgs, ctx))
    if kinds & _NIGHTLY:
        out.extend(_nightly(msgs, ctx, file_id))
    if kinds & _PHYSIOLOGY:
        out.extend(_physiology(msgs, ctx))
    if not out:
        kind = file_id.get("type", "unknown")
        note(
            Text(
                N_("{name}: a FIT file of type {kind} holds nothing to import"),
                name=name,
                kind=kind,
            )
        )
    left = Counter(
        "undocumented" if m.name.startswith("unknown_") else m.name
        for m in msgs
        if m.name not in _READ and m.name not in _NOT_DATA
    )
    if left:
        # FIT message names, as the profile spells them: no sentence to translate
        kinds_left = ", ".join(f"{k} ({n})" for k, n in sorted(left.items()))
        note(Text(N_("{name}: messages not imported: {kinds}"), name=name, kinds=kinds_left))
    return out


class _Session:
    """A session being turned into a workout: its window, and what is assigned to it."""

    def __init__(self, values: dict[str, Any], start: int, end: int) -> None:
        self.values = values
        self.start, self.end = start, end
        self.laps: list[WorkoutEvent] = []
        self.events: list[WorkoutEvent] = []
        self.route: list[RoutePoint] = []
        self.first: int | None = None  # first and last record time assigned to it
        self.last: int | None = None


def _session(name: str, number: int) -> Text:
    """Where a session's problem is: `ride.fit session 2`."""
    return Text(N_("{name} session {number}"), name=name, number=number)


def _session_index(starts: list[int], t: int) -> int:
    """The session a time belongs to: the last one starting at or before it (the first
    session for times before any), so each record, lap or event goes to exactly one."""
    return max(bisect.bisect_right(starts, t) - 1, 0)


def _laps_by_index(sessions: list[_Session], laps: list[WorkoutEvent]) -> list[WorkoutEvent] | None:
    """Give each session its laps by first_lap_index and num_laps, as the FIT SDK links them,
    and return the laps no session names; None (nothing assigned) unless every session
    names a valid range and no lap is named twice."""
    ranges: list[range] = []
    named: set[int] = set()
    for s in sessions:
        first, count = s.values.get("first_lap_index"), s.values.get("num_laps")
        if not isinstance(first, int) or not isinstance(count, int) or first + count > len(laps):
            return None
        own = range(first, first + count)
        if named.intersection(own):
            return None
        named.update(own)
        ranges.append(own)
    for s, own in zip(sessions, ranges, strict=True):
        s.laps = [laps[i] for i in own]
    return [lap for i, lap in enumerate(laps) if i not in named]


def _activity(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """One workout per session, each with its own laps, pauses and route; every timed
    heart-rate reading once, as a sample, whichever session (if any) it falls in."""
    name, source, device, clock, offset, report, _ = ctx
    records: list[dict[str, Any]] = []
    events: list[WorkoutEvent] = []
    laps: list[WorkoutEvent] = []
    found: list[dict[str, Any]] = []
    untimed = 0
    for m in msgs:
        kind, v = m.name, m.values
        if kind == "record":
            records.append(v)
        elif kind == "session":
            found.append(v)
        elif kind == "lap":
            start, end = clock(v.get("start_time")), clock(v.get("timestamp"))
            if start is not None and end is not None:
                laps.append(WorkoutEvent("lap", start, max(start, end)))
        elif kind == "event":
            t = clock(v.get("timestamp"))
            if v.get("event") == "timer" and t is not None:
                et = v.get("event_type")
                if et in ("stop", "stop_all", "stop_disable", "stop_disable_all"):
                    events.append(WorkoutEvent("pause", t, t))
                elif et == "start":
                    events.append(WorkoutEvent("resume", t, t))
    timed: list[tuple[int, dict[str, Any]]] = []
    for r in records:
        t = clock(r.get("timestamp"))
        if t is None:
            untimed += 1
        else:
            timed.append((t, r))
    if untimed:
        report(
            name,
            Text(
                N_plural(
                    "{n:,} record without a time skipped", "{n:,} records without a time skipped"
                ),
                n=untimed,
            ),
        )
    sessions: list[_Session] = []
    for n, s in enumerate(found, 1):
        start = clock(s.get("start_time"))
        if start is None:
            report(_session(name, n), N_("session without a start time: skipped"))
            continue
        elapsed = s.get("total_elapsed_time")
        end = clock(s.get("timestamp"))
        if end is None and isinstance(elapsed, int | float):
            end = start + round(elapsed * 1000)
        if end is None:
            report(_session(name, n), N_("session without an end time: skipped"))
            continue
        sessions.append(_Session(s, start, max(start, end)))
    if not sessions and timed:
        # An activity without its session summary: one workout over its records.
        first, last = min(t for t, _ in timed), max(t for t, _ in timed)
        sessions = [_Session({"sport": "generic"}, first, last)]
        report(name, N_("activity without a session summary: totals derived from its records"))
    if sessions:
        yield from _workouts(sessions, timed, laps, events, ctx)
    for t, r in timed:
        bpm = r.get("heart_rate")
        if isinstance(bpm, int | float):
            yield Sample("heart_rate", t, t, float(bpm), "/min", source, device, offset)
        breaths = r.get("enhanced_respiration_rate", r.get("respiration_rate"))
        # the record's respiration fields are unsigned: 0 is "no reading", never a rate
        if isinstance(breaths, int | float) and breaths > 0:
            yield Sample("respiratory_rate", t, t, float(breaths), "/min", source, device, offset)


def _workouts(
    sessions: list[_Session],
    timed: list[tuple[int, dict[str, Any]]],
    laps: list[WorkoutEvent],
    events: list[WorkoutEvent],
    ctx: _Context,
) -> Iterator[Workout]:
    name, source, device, _, offset, _, note = ctx
    sessions.sort(key=lambda s: s.start)
    unnamed = _laps_by_index(sessions, laps)
    starts = [s.start for s in sessions]
    for lap in laps if unnamed is None else unnamed:
        sessions[_session_index(starts, lap.start)].laps.append(lap)
    for n, s in enumerate(sessions, 1):
        # A session whose own laps began earlier (a multisport file's first leg) starts there.
        first_lap = min([s.start, *(lap.start for lap in s.laps)])
        if first_lap < s.start:
            early = round((s.start - first_lap) / 60_000)
            note(
                Text(
                    N_(
                        "{name}: session {number}'s laps begin {minutes} min before its start "
                        "time: its workout starts with them"
                    ),
                    name=name,
                    number=n,
                    minutes=early,
                )
            )
            s.start = first_lap
        s.end = max([s.end, *(lap.end for lap in s.laps)])
    starts = [s.start for s in sessions]
    for e in events:
        sessions[_session_index(starts, e.start)].events.append(e)
    outside = 0
    for t, r in timed:
        s = sessions[_session_index(starts, t)]
        if not s.start <= t <= s.end:
            outside += 1
        s.first = t if s.first is None or t < s.first else s.first
        s.last = t if s.last is None or t > s.last else s.last
        lat, lon = r.get("position_lat"), r.get("position_long")
        if isinstance(lat, int) and isinstance(lon, int):
            alt = r.get("enhanced_altitude", r.get("altitude"))
            s.route.append(RoutePoint(t, lat * _SEMICIRCLE, lon * _SEMICIRCLE, alt))
    if outside:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} record outside its sessions' times kept with the workout of "
                    "the session before it (the first, for earlier ones)",
                    "{name}: {n:,} records outside its sessions' times kept with the workout of "
                    "the session before them (the first, for earlier ones)",
                ),
                name=name,
                n=outside,
            )
        )
    for s in sessions:
        v = s.values
        start = s.start if s.first is None else min(s.start, s.first)
        end = s.end if s.last is None else max(s.end, s.last)
        elapsed = v.get("total_elapsed_time")
        moving = v.get("total_timer_time", elapsed)
        sub = v.get("sub_sport")
        calories = v.get("total_calories")
        yield Workout(
            activity=common.activity_name(str(v.get("sport", "generic"))),
            start=start,
            end=end,
            offset_min=offset,
            duration_s=float(moving) if moving is not None else (end - start) / 1000,
            distance_m=v.get("total_distance"),
            energy_kcal=float(calories) if calories else None,
            source=source,
            device=device,
            events=tuple(sorted([*s.laps, *s.events], key=lambda e: e.start)),
            route=tuple(sorted(s.route, key=lambda p: p.time)),
            metadata=(("sub_sport", str(sub)),) if sub else (),
        )


def _monitoring(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """Monitoring (all-day) data: cumulative counters per activity type become deltas."""
    name, source, device, clock, offset, report, note = ctx
    last_full: int | None = None  # UTC seconds of the last full timestamp
    prev_t: int | None = None  # previous message time (UTC ms)
    cumulative: dict[tuple[str, str], float] = {}
    summaries = untimed = 0
    for m in msgs:
        if m.name == "monitoring_info":
            t_info = clock(m.values.get("timestamp"))
            if t_info is not None:
                last_full = t_info // 1000
            continue
        if m.name != "monitoring":
            continue
        v = m.values
        if "duration_min" in v:
            summaries += 1  # a daily total repeating the interval data
            continue
        full = clock(v.get("timestamp"))
        if full is not None:
            last_full = full // 1000
            utc_s = last_full
        elif "timestamp_16" in v and last_full is not None:
            # the low 16 bits of the FIT time, rolled forward from the last full timestamp
            fit_s = last_full - _FIT_EPOCH_S
            fit_s += (int(v["timestamp_16"]) - (fit_s & 0xFFFF)) & 0xFFFF
            utc_s = last_full = fit_s + _FIT_EPOCH_S
        else:
            untimed += 1
            continue
        t = utc_s * 1000
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
    if untimed:
        report(
            name,
            Text(
                N_plural(
                    "{n:,} monitoring message without a time skipped",
                    "{n:,} monitoring messages without a time skipped",
                ),
                n=untimed,
            ),
        )
    if summaries:
        note(
            Text(
                N_plural(
                    "{name}: {n} daily total skipped (the interval data holds it)",
                    "{name}: {n} daily totals skipped (the interval data holds them)",
                ),
                name=name,
                n=summaries,
            )
        )


_TIMER_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})


def _beat_anchor(msgs: list[_Msg], clock: Clock) -> int | None:
    """Where an activity's beat-to-beat series starts (UTC ms): its first timer start, else
    its session's start, else its first record; None when the file places none of them."""
    for m in msgs:
        v = m.values
        if m.name == "event" and v.get("event") == "timer" and v.get("event_type") == "start":
            t = clock(v.get("timestamp"))
            if t is not None:
                return t
    for kind, field in (("session", "start_time"), ("record", "timestamp")):
        for m in msgs:
            if m.name == kind:
                t = clock(m.values.get(field))
                if t is not None:
                    return t
    return None


def _beats(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """The `hrv` messages' R-R intervals, one `rr_interval` sample (ms) per beat.

    The messages carry no time, only the intervals (several per message, 0xFFFF in the
    unused slots): each beat is placed at the activity's start plus the intervals before it,
    as the FIT SDK's HRV examples place them. A watch logs no beats while its timer is
    stopped, so on each resume the running time moves forward to the resume's time rather
    than letting the pause shift every later beat early.
    """
    name, source, device, clock, offset, _, note = ctx
    anchor = _beat_anchor(msgs, clock)
    messages = sum(1 for m in msgs if m.name == "hrv")
    if anchor is None:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} beat-to-beat (R-R) message not imported: the file gives no "
                    "start time to place the beats",
                    "{name}: {n:,} beat-to-beat (R-R) messages not imported: the file gives no "
                    "start time to place the beats",
                ),
                name=name,
                n=messages,
            )
        )
        return
    cursor = float(anchor)
    stopped = False
    beats = 0
    for m in msgs:
        if m.name == "event" and m.values.get("event") == "timer":
            kind = m.values.get("event_type")
            t = clock(m.values.get("timestamp"))
            if kind in _TIMER_STOPS:
                stopped = True
            elif kind == "start" and stopped and t is not None:
                cursor, stopped = max(cursor, float(t)), False
            continue
        if m.name != "hrv":
            continue
        times = m.values.get("time")
        for interval in times if isinstance(times, tuple | list) else (times,):
            # None: an unused slot (0xFFFF); 0 cannot be an interval between two beats
            if not isinstance(interval, int | float) or interval <= 0:
                continue
            ms = interval * 1000.0
            cursor += ms
            t = round(cursor)
            yield Sample("rr_interval", t, t, ms, "ms", source, device, offset)
            beats += 1
    if beats:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} beat-to-beat (R-R) interval kept, each beat timed by adding "
                    "the intervals to the activity's start (the file gives them no time)",
                    "{name}: {n:,} beat-to-beat (R-R) intervals kept, each beat timed by adding "
                    "the intervals to the activity's start (the file gives them no time)",
                ),
                name=name,
                n=beats,
            )
        )


def _beat_intervals(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """The `beat_intervals` messages of all-day files (Garmin watches that log beat-to-beat
    intervals all day): one `rr_interval` sample (ms) per beat. Unlike `hrv`, each message
    is timed (`timestamp` plus `timestamp_ms`); its intervals (0xFFFF: an unused slot) are
    placed from that time on, each beat at the sum of the intervals up to it."""
    name, source, device, clock, offset, _, note = ctx
    untimed = 0
    for m in msgs:
        if m.name != "beat_intervals":
            continue
        t0 = clock(m.values.get("timestamp"))
        if t0 is None:
            untimed += 1
            continue
        extra = m.values.get("timestamp_ms")
        cursor = float(t0 + (extra if isinstance(extra, int) and 0 <= extra < 1000 else 0))
        times = m.values.get("time")
        for interval in times if isinstance(times, tuple | list) else (times,):
            if not isinstance(interval, int | float) or interval <= 0:
                continue
            cursor += interval
            t = round(cursor)
            yield Sample("rr_interval", t, t, float(interval), "ms", source, device, offset)
    if untimed:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} beat interval message without a time not imported",
                    "{name}: {n:,} beat interval messages without a time not imported",
                ),
                name=name,
                n=untimed,
            )
        )


_TICKS_PER_S = 1024  # hr event times count 1/1024 s
_TICK_RING = 1 << 32  # they are uint32, and roll over
_PACKED_BITS, _PACKED_MASK = 12, 0xFFF  # event_timestamp_12: the low 12 bits of each time


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """A FIT field's values: an array field as it is, a single value as one, none as none."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _ticks(value: Any) -> list[int] | None:
    """`event_timestamp` values (seconds, 1/1024 s steps) as whole ticks; None unless each is
    a number. fitdecode gives them as dates (seconds after the FIT epoch) in a message that
    also has packed times: those are turned back (a microsecond is far below a tick)."""
    values = [
        v.timestamp() - _FIT_EPOCH_S if isinstance(v, datetime) else v for v in _as_tuple(value)
    ]
    if not values or not all(isinstance(v, int | float) for v in values):
        return None
    return [round(v * _TICKS_PER_S) % _TICK_RING for v in values]


def _unpacked(packed: tuple[Any, ...], count: int, last: int) -> list[int] | None:
    """COUNT event times from `event_timestamp_12`, each the low 12 bits of a time (two
    times in three bytes, least significant first), rolled forward from the time before
    it (LAST), as the FIT profile's accumulated components are; None when the bytes hold
    fewer than COUNT of them."""
    if count * _PACKED_BITS > len(packed) * 8 or not all(isinstance(b, int) for b in packed):
        return None
    bits = int.from_bytes(bytes(b & 0xFF for b in packed), "little")
    out = []
    for i in range(count):
        low = (bits >> (i * _PACKED_BITS)) & _PACKED_MASK
        step = (low - last) & _PACKED_MASK  # 0 to 4095 ticks after the previous time
        last = (last + step) % _TICK_RING
        out.append(last)
    return out


class _Readings(NamedTuple):
    """The heart-rate readings of a file's `hr` messages, placed in time, and those left."""

    placed: list[tuple[int, float]]  # (UTC ms, bpm), in the file's order
    unplaced: int  # no anchor before them, or strap times that cannot be read
    empty: int  # slots without a value (0xFF) or with 0


def _hr_readings(msgs: list[_Msg], clock: Clock) -> _Readings:
    """Each `filtered_bpm` reading of the hr messages at its own time, as the FIT SDK's
    HR-to-record logic places them: a timed hr message is an anchor (its `timestamp` plus
    `fractional_timestamp` is the UTC time of its one `event_timestamp`, the strap's own
    clock in 1/1024 s); the untimed ones after it give their readings' strap times
    (`event_timestamp`, or packed in `event_timestamp_12`), each placed at the anchor's
    time plus the strap time since the anchor's."""
    placed: list[tuple[int, float]] = []
    anchor_ms: int | None = None
    anchor = last = 0  # the anchor's strap time, and the latest strap time (ticks)
    unplaced = empty = 0
    for m in msgs:
        if m.name != "hr":
            continue
        v = m.values
        bpms = _as_tuple(v.get("filtered_bpm"))
        t = clock(v.get("timestamp"))
        direct = _ticks(v.get("event_timestamp"))
        events: list[int] | None
        if t is not None:
            if direct is None or len(direct) != 1:
                unplaced += len(bpms)  # the SDK's rule: an anchor has one strap time
                continue
            fraction = v.get("fractional_timestamp")
            if isinstance(fraction, int | float) and 0 <= fraction < 1:
                t += round(fraction * 1000)
            anchor_ms, anchor = t, direct[0]
            events = direct
        elif anchor_ms is None:
            unplaced += len(bpms)  # nothing places a strap time yet
            continue
        else:
            packed = v.get("event_timestamp_12")
            if isinstance(packed, tuple | list):
                events = _unpacked(tuple(packed), len(bpms), last)
            else:
                events = direct
        if events is None or len(events) != len(bpms):
            unplaced += len(bpms)
            continue
        last = events[-1] if events else last
        for bpm, event in zip(bpms, events, strict=True):
            since = (event - anchor) % _TICK_RING
            if since >= _TICK_RING // 2:
                unplaced += 1  # before its anchor's strap time (the ring's far half)
            elif not isinstance(bpm, int | float) or bpm <= 0:
                empty += 1  # 0xFF (None) is an unused slot, 0 no reading
            else:
                placed.append((anchor_ms + round(since * 1000 / _TICKS_PER_S), float(bpm)))
    return _Readings(placed, unplaced, empty)


_RECORD_STRETCH_MS = 60_000  # the longest gap between two records that the later one covers


def _stored_heart_rate(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """The heart rate a chest strap stored while it could not send it (under water: a
    swim), in `hr` messages: one `heart_rate` sample per reading, at its own time.

    Records win: a reading is left out when the record that ends its stretch of the
    activity (the time since the record before it) holds a heart rate of its own, so no
    moment is counted twice; where the records hold none (the swim), the readings fill
    in. A stretch longer than a minute (a pause: records come every few seconds at most
    while a watch records) is not the record's to cover, and its readings are kept.
    Readings nothing places, and slots without a value, are counted in a note.
    """
    name, source, device, clock, offset, _, note = ctx
    readings = _hr_readings(msgs, clock)
    covered = _record_heart_rate(msgs, clock)
    times = sorted(covered)
    kept = overlapping = 0
    for at, bpm in readings.placed:
        i = bisect.bisect_left(times, at)
        if (
            i < len(times)
            and covered[times[i]]
            and (at == times[i] or (i > 0 and times[i] - times[i - 1] <= _RECORD_STRETCH_MS))
        ):
            overlapping += 1
            continue
        kept += 1
        yield Sample("heart_rate", at, at, bpm, "/min", source, device, offset)
    if readings.placed:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} heart-rate reading stored by the strap (hr messages) kept "
                    "at its own time; {left:,} left out where the records hold heart rate",
                    "{name}: {n:,} heart-rate readings stored by the strap (hr messages) kept "
                    "at their own times; {left:,} left out where the records hold heart rate",
                ),
                name=name,
                n=kept,
                left=overlapping,
            )
        )
    unread: Counter[str] = Counter()
    if readings.unplaced:
        unread[N_("stored heart-rate readings without a time to place them")] = readings.unplaced
    if readings.empty:
        unread[N_("stored heart-rate slots without a reading")] = readings.empty
    if unread:
        note(_not_imported(name, unread))


def _record_heart_rate(msgs: list[_Msg], clock: Clock) -> dict[int, bool]:
    """Each record time (UTC ms), and whether a record at that time holds a heart rate."""
    out: dict[int, bool] = {}
    for m in msgs:
        if m.name == "record":
            t = clock(m.values.get("timestamp"))
            if t is not None:
                out[t] = out.get(t, False) or isinstance(m.values.get("heart_rate"), int | float)
    return out


_NIGHTLY = frozenset({"hrv_status_summary", "sleep_assessment"})
# hrv_status_summary fields kept with the night's average (ms, as the FIT profile scales them)
_HRV_STATUS_FIELDS = (
    "weekly_average",
    "last_night_5_min_high",
    "baseline_low_upper",
    "baseline_balanced_lower",
    "baseline_balanced_upper",
)
# sleep_assessment fields kept with the overall score (each 0-100, but the awakenings count)
_SLEEP_SCORES = (
    "combined_awake_score",
    "awake_time_score",
    "awakenings_count_score",
    "deep_sleep_score",
    "sleep_duration_score",
    "light_sleep_score",
    "sleep_quality_score",
    "sleep_recovery_score",
    "rem_sleep_score",
    "sleep_restlessness_score",
    "awakenings_count",
    "interruptions_score",
    "average_stress_during_sleep",
)


def _nightly(msgs: list[_Msg], ctx: _Context, file_id: dict[str, Any]) -> Iterator[Item]:
    """The night's summaries of sleep files: the HRV status (`hrv_status_summary`: last
    night's average RMSSD, with the weekly average, baselines and status kept beside it) and
    the sleep score (`sleep_assessment`: the overall score, its parts beside it).

    A sleep assessment has no time of its own: it is placed at the end of the night, the
    file's last sleep level, else at the file's creation; without either it is counted."""
    name, source, device, clock, offset, _, note = ctx
    unread: Counter[str] = Counter()
    levels = [clock(m.values.get("timestamp")) for m in msgs if m.name == "sleep_level"]
    placed = [t for t in levels if t is not None]
    night_end = max(placed) if placed else clock(file_id.get("time_created"))
    for m in msgs:
        v = m.values
        if m.name == "hrv_status_summary":
            t = clock(v.get("timestamp"))
            value = v.get("last_night_average")
            if t is None:
                unread[N_("HRV status summaries without a time")] += 1
            elif not isinstance(value, int | float) or value <= 0:
                unread[N_("HRV status summaries without a night average")] += 1
            else:
                meta = [("statistic", "last_night_average")]
                status = v.get("status")
                if isinstance(status, str):
                    meta.append(("status", status))
                meta.extend(
                    (field, f"{v[field]:g}")
                    for field in _HRV_STATUS_FIELDS
                    if isinstance(v.get(field), int | float)
                )
                yield Sample(
                    "hrv_rmssd", t, t, float(value), "ms", source, device, offset, tuple(meta)
                )
        elif m.name == "sleep_assessment":
            score = v.get("overall_sleep_score")
            if night_end is None:
                unread[N_("sleep scores without a night to place them")] += 1
            elif not isinstance(score, int | float) or not 0 <= score <= 100:
                unread[N_("sleep assessments without an overall score")] += 1
            else:
                parts = tuple(
                    (field, f"{v[field]:g}")
                    for field in _SLEEP_SCORES
                    if isinstance(v.get(field), int | float)
                )
                yield Sample(
                    "sleep_score",
                    night_end,
                    night_end,
                    float(score),
                    "{score}",
                    source,
                    device,
                    offset,
                    parts,
                )
    if unread:
        note(_not_imported(name, unread))


_PHYSIOLOGY = frozenset(
    {"stress_level", "respiration_rate", "spo2_data", "sleep_level", "hrv_value"}
)
# FIT sleep levels -> the `sleep` metric's stages (light sleep is Apple's "core")
_SLEEP_LEVELS = {"awake": "awake", "light": "core", "deep": "deep", "rem": "rem"}


def _physiology(msgs: list[_Msg], ctx: _Context) -> Iterator[Item]:
    """All-day and sleep messages of wellness files: stress, respiration, SpO2, 5-minute
    HRV (RMSSD) and sleep stages. Values the device marks as no reading (off wrist, too
    much motion: negative codes) are counted in the notes, never stored as readings."""
    name, source, device, clock, offset, _, note = ctx
    unread: Counter[str] = Counter()
    levels: list[tuple[int, str]] = []
    for m in msgs:
        kind, v = m.name, m.values
        if kind not in _PHYSIOLOGY:
            continue
        t = clock(v.get("stress_level_time", v.get("timestamp")))
        if t is None:
            unread[Text(N_("{kind} without a time"), kind=kind)] += 1
            continue
        if kind == "stress_level":
            value = v.get("stress_level_value")
            if isinstance(value, int | float) and 0 <= value <= 100:
                yield Sample("stress_level", t, t, float(value), "{score}", source, device, offset)
            else:
                unread[N_("stress levels marked as no reading")] += 1
        elif kind == "respiration_rate":
            value = v.get("respiration_rate")
            if isinstance(value, int | float) and value > 0:
                yield Sample("respiratory_rate", t, t, float(value), "/min", source, device, offset)
            else:
                unread[N_("respiration rates marked as no reading")] += 1
        elif kind == "spo2_data":
            value = v.get("reading_spo2")
            if isinstance(value, int | float) and 0 < value <= 100 and v.get("mode") != "off_wrist":
                mode = v.get("mode")
                meta = (("mode", str(mode)),) if isinstance(mode, str) else ()
                yield Sample("blood_oxygen", t, t, float(value), "%", source, device, offset, meta)
            else:
                unread[N_("SpO2 readings marked as no reading")] += 1
        elif kind == "hrv_value":
            value = v.get("value")
            if isinstance(value, int | float) and value > 0:
                # the FIT profile documents it as the RMSSD of 5 minutes, ending here
                yield Sample(
                    "hrv_rmssd", t - 300_000, t, float(value), "ms", source, device, offset
                )
            else:
                unread[N_("5-minute HRV values marked as no reading")] += 1
        else:
            levels.append((t, str(v.get("sleep_level", ""))))
    yield from _sleep_levels(levels, ctx, unread)
    if unread:
        note(_not_imported(name, unread))


def _not_imported(name: str, unread: Counter[str]) -> Text:
    """`f.fit: not imported: sleep levels not measured (2), ...`, each kind said in the
    person's language (a kind is a fixed sentence, or a Text)."""
    parts = [
        Text(N_("{kind} ({n})"), kind=k if isinstance(k, Text) else Text(k), n=n)
        for k, n in sorted(unread.items())
    ]
    return Text(N_("{name}: not imported: {kinds}"), name=name, kinds=_joined(parts))


def _joined(parts: list[Text]) -> Text:
    """PARTS as one list, `a, b, c`, each part still said in the person's language."""
    out = parts[-1]
    for part in reversed(parts[:-1]):
        out = Text(N_("{first}, {rest}"), first=part, rest=out)
    return out


def _sleep_levels(
    levels: list[tuple[int, str]], ctx: _Context, unread: Counter[str]
) -> Iterator[Item]:
    """Sleep stages: each `sleep_level` message starts a stage that lasts until the next
    one. The last has no recorded end and is counted, not guessed."""
    if not levels:
        return
    _, source, device, _, offset, _, _ = ctx
    levels.sort()
    for (start, level), (end, _) in itertools.pairwise(levels):
        stage = _SLEEP_LEVELS.get(level)
        if stage is None:
            unread[N_("sleep levels not measured")] += 1
        elif end > start:
            code = float(SLEEP_STAGES[stage])
            yield Sample("sleep", start, end, code, "", source, device, offset)
    unread[N_("last sleep level (its end is not recorded)")] += 1


def _scale_users(msgs: list[_Msg]) -> Counter[int]:
    """The people of a weight scale file: user profile numbers, each with its weighings."""
    users: Counter[int] = Counter()
    for m in msgs:
        if m.name == "user_profile" and isinstance(m.values.get("message_index"), int):
            users[m.values["message_index"]] += 0
        elif m.name == "weight_scale" and isinstance(m.values.get("user_profile_index"), int):
            users[m.values["user_profile_index"]] += 1
    return users


def _weight(msgs: list[_Msg], ctx: _Context, user: int | None) -> Iterator[Item]:
    """Weighings and body measures; in a file of several people, only USER's (ScaleUsers
    when it is not said whose, or names nobody in the file)."""
    name, source, device, clock, _, report, note = ctx
    users = _scale_users(msgs)
    if len(users) > 1 and (user is None or user not in users):
        listed = _joined(
            [
                Text(
                    N_plural("user {user} ({n} weighing)", "user {user} ({n} weighings)"),
                    user=u,
                    n=n,
                )
                for u, n in sorted(users.items())
            ]
        )
        if user is not None:
            problem = Text(
                N_("no user {user} in this file; it holds {users}"), user=user, users=listed
            )
            raise ScaleUsers(name, problem)
        numbers = ", ".join(str(u) for u in sorted(users))
        problem = Text(
            N_("whose weighings are these? It holds {users}: give --scale-user ({numbers})"),
            users=listed,
            numbers=numbers,
        )
        raise ScaleUsers(name, problem)
    others = unassigned = untimed = 0
    for m in msgs:
        if m.name != "weight_scale":
            continue
        v = m.values
        owner = v.get("user_profile_index")
        if user is not None and isinstance(owner, int) and owner != user:
            others += 1
            continue
        if user is not None and len(users) > 1 and not isinstance(owner, int):
            unassigned += 1  # in a shared file, a weighing nobody claims could be anyone's
            continue
        t = clock(v.get("timestamp"))
        if t is None:
            untimed += 1
            continue
        for field in _SCALE_FIELDS:
            value = v.get(field)
            if isinstance(value, int | float):
                yield Sample(_metric(field), t, t, float(value), _unit(m, field), source, device)
    if untimed:
        report(
            name,
            Text(
                N_plural(
                    "{n:,} weighing without a time skipped",
                    "{n:,} weighings without a time skipped",
                ),
                n=untimed,
            ),
        )
    if others:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} weighing of users other than {user} not imported",
                    "{name}: {n:,} weighings of users other than {user} not imported",
                ),
                name=name,
                n=others,
                user=user,
            )
        )
    if unassigned:
        note(
            Text(
                N_plural(
                    "{name}: {n:,} weighing naming no user not imported",
                    "{name}: {n:,} weighings naming no user not imported",
                ),
                name=name,
                n=unassigned,
            )
        )


def _open_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with zf.open(info) as f:
        return f.read(MAX_FILE_BYTES + 1)


def _read_file(path: Path) -> bytes:
    """A file's bytes, or one byte too many when it is larger than any real one (`read(n)`
    of a file would reserve n bytes whatever the file's size: 512 MiB for each file)."""
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
            return f.read(MAX_FILE_BYTES + 1)
        return f.read()


def _one(
    data: bytes, name: str, report: ReportIssue, note: Note, scale_user: int | None
) -> list[Item]:
    if len(data) > MAX_FILE_BYTES:
        raise MalformedInput(N_("{name}: larger than any real Garmin file; refused"), name=name)
    lower = name.lower()
    if lower.endswith(".fit"):
        return parse_fit(data, name, report, note, scale_user=scale_user)
    if lower.endswith(".gpx"):
        return list(parse_gpx(io.BytesIO(data), name, report, note=note))
    return list(parse_tcx(io.BytesIO(data), name, report, note))


def _skipped_whole(problem: str) -> Text:
    return Text(N_("{problem}: skipped whole, nothing imported from this file"), problem=problem)


def _skipped(exc: Exception) -> Text:
    """Why a file of a folder or zip was skipped, never quoting it: a library error says
    what it found; any other exception is named by its class only."""
    problem: str
    if isinstance(exc, FitDamaged | ScaleUsers):
        problem = exc.problem
    elif isinstance(exc, VaultError):
        problem = exc.detail or exc.message
    else:
        problem = Text(N_("cannot be read (unexpected {error})"), error=type(exc).__name__)
    return _skipped_whole(problem)


def parse_member(
    data: bytes, name: str, report: ReportIssue, note: Note, scale_user: int | None
) -> list[Item]:
    """One file of a folder or zip: all of it, its issues and notes with it, or nothing of it
    and one issue saying why."""
    items, issues, notes = decode_member(data, name, scale_user)
    replay(issues, notes, report, note)
    return items


Decoded = tuple[list[Item], list[tuple[str, str]], list[str]]  # items, issues, notes


def decode_member(data: bytes, name: str, scale_user: int | None) -> Decoded:
    """`parse_member` with its issues and notes returned rather than reported, so it can run
    in a helper process (`parallel.Pool`) and its findings be reported here, in order."""
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        items = _one(data, name, lambda loc, p: issues.append((loc, p)), notes.append, scale_user)
    except Exception as exc:  # any failure of one file, even a parser's own bug, skips it
        return [], [(name, _skipped(exc))], []
    return items, issues, notes


def replay(
    issues: list[tuple[str, str]], notes: list[str], report: ReportIssue, note: Note
) -> None:
    """Report what decoding one file found."""
    for location, problem in issues:
        report(location, problem)
    for text in notes:
        note(text)


# Below this much FIT data, starting helper processes costs more than decoding beside them
# saves (each helper starts an interpreter and imports fitdecode: a few tenths of a second).
PARALLEL_MIN_BYTES = 8 << 20
Job = tuple[bytes, str, "int | None"]
# Runs decode_member over (tag, job) pairs, here or in helpers, giving (tag, Decoded | None)
# back in order (None for a tag without a job).
Decoder = Callable[[Iterable[tuple[Any, "Job | None"]]], Iterator[tuple[Any, "Decoded | None"]]]


@contextlib.contextmanager
def decoder(parallel: bool | None, total_bytes: int) -> Iterator[Decoder]:
    """How the files of a folder, zip or export are decoded: by two helper processes, while
    this one stores what they decoded (`parallel`, by default when there are
    PARALLEL_MIN_BYTES of files or more and a second core is free), or here, one by one.
    The results are the same either way."""
    from vault.data.importers import parallel as helpers

    if parallel is None:
        parallel = total_bytes >= PARALLEL_MIN_BYTES and helpers.spare_core()
    if not parallel:
        yield partial(helpers.serial_map, decode_member)
        return
    with helpers.Pool(decode_member) as pool:
        yield pool.map


def parse_garmin(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    progress: ProgressCallback | None = None,
    scale_user: int | None = None,
    parallel: bool | None = None,
) -> Iterator[Item]:
    """Yield the workouts and samples of a Garmin file, folder or zip, or of a Garmin
    account export (a zip or folder holding DI_CONNECT/: see `garmin_export`).

    Alone, a damaged file raises FitDamaged/MalformedInput; among several, whatever went
    wrong, it is reported (`report_issue`) and skipped whole, while the others are imported.
    `parallel`: whether the files of a folder, zip or export are decoded in helper
    processes (see `decoder`; None decides by their size).
    """
    p = Path(path)
    from vault.data.importers import garmin_export

    if (p.is_dir() or zipfile.is_zipfile(p)) and garmin_export.looks_like_export(p):
        yield from garmin_export.parse_export(
            p, report_issue, note, progress=progress, scale_user=scale_user, parallel=parallel
        )
        return
    bar = Progress(N_("Reading Garmin files"), progress)
    if p.is_file() and p.suffix.lower() in SUFFIXES:
        bar.start(1)
        yield from _one(_read_file(p), p.name, report_issue, note, scale_user)
        bar.advance()
        bar.finish()
        return
    if p.is_dir():
        files = sorted(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() in SUFFIXES)
        if not files:
            raise MalformedInput(
                N_("{name}: no .fit, .gpx or .tcx files in this folder"), name=p.name
            )
        bar.start(len(files))
        total = sum(f.stat().st_size for f in files)
        jobs = ((None, (_read_file(f), f.relative_to(p).as_posix(), scale_user)) for f in files)
        with decoder(parallel, total) as decode:
            for _, decoded in decode(jobs):
                yield from replayed(decoded, report_issue, note)
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
                note(
                    Text(
                        N_plural(
                            "{n} zip file inside {name} was not opened; extract it first",
                            "{n} zip files inside {name} were not opened; extract them first",
                        ),
                        n=nested,
                        name=p.name,
                    )
                )
            if not infos:
                raise MalformedInput(
                    N_("{name}: no .fit, .gpx or .tcx files in this archive"), name=p.name
                )
            bar.start(len(infos))
            total = sum(i.file_size for i in infos)
            with decoder(parallel, total) as decode:
                for problem, decoded in decode(_zip_jobs(zf, infos, scale_user)):
                    if problem is not None:
                        report_issue(*problem)
                    yield from replayed(decoded, report_issue, note)
                    bar.advance()
        bar.finish()
        return
    if not p.exists():
        raise InvalidParameter(N_("{name}: no such file or folder"), name=p.name)
    raise MalformedInput(
        N_("{name}: not a .fit, .gpx or .tcx file, a folder or a zip of them"), name=p.name
    )


def _zip_jobs(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], scale_user: int | None
) -> Iterator[tuple[tuple[str, str] | None, Job | None]]:
    """Each member's job, or (a member damaged in a readable archive) the issue skipping it."""
    for info in infos:
        try:
            data = _open_member(zf, info)
        except common.zip_read_errors() as exc:
            problem = Text(N_("damaged inside the archive ({error})"), error=type(exc).__name__)
            yield (info.filename, _skipped_whole(problem)), None
        else:
            yield None, (data, info.filename, scale_user)


def replayed(decoded: Decoded | None, report: ReportIssue, note: Note) -> list[Item]:
    """The items of one decoded file, once its issues and notes are reported."""
    if decoded is None:
        return []
    items, issues, notes = decoded
    replay(issues, notes, report, note)
    return items


def import_garmin(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
    scale_user: str | int | None = None,
    *,
    parallel: bool | None = None,
) -> ImportSummary:
    """Import Garmin FIT/GPX/TCX files into the persona's data, all or nothing (a folder or
    zip: every good file, each bad one listed in the summary's errors).

    `scale_user` (a user number): in weight scale files shared by several people, import
    only that person's weighings. `parallel`: see `parse_garmin`.
    """
    user = parse_scale_user(scale_user) if isinstance(scale_user, str) else scale_user
    parse = partial(parse_garmin, path, progress=progress, scale_user=user, parallel=parallel)
    return common.feed(vault, persona_id, parse, fmt="garmin")
