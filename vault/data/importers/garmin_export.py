"""Garmin's account data export: the zip a person downloads from Garmin's "Export your data"
privacy page (or that zip unpacked into a folder).

Its layout, as exports written since 2018 lay it out (the folder names are Garmin's):

    DI_CONNECT/DI-Connect-Aggregator/UDSFile_<from>_<to>.json     daily summaries
    DI_CONNECT/DI-Connect-Wellness/<from>_<to>_<id>_sleepData.json sleep windows
    DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip the FIT files uploaded
    DI_CONNECT/DI-Connect-Fitness/<user>_0_summarizedActivities.json  activity summaries
    DI_CONNECT/DI-Connect-User/..., DI-Connect-Metrics/..., ...     profile, settings...

The uploaded files sit in zips inside the zip: each is read in one forward pass over its
bytes (`vault.core.archive.stream_zip`), never unpacked to disk, every level checked for
unsafe names, bombs and damage. A file that cannot be read (a damaged FIT, a JSON file that
is not JSON, an inner zip cut short) is skipped whole and listed in the errors; the others
are imported. Activities come from their FIT files, with their records; the summarized
activities, which repeat them without records, give a workout only for an activity no FIT
file of the export holds (one entered by hand). A FIT imported on its own before adds
nothing again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from vault.core.archive import Archive, open_archive, stream_zip
from vault.core.errors import MalformedInput, UnsafeArchive, VaultError
from vault.core.i18n import N_, N_plural, Text
from vault.core.progress import Progress
from vault.data.importers import common, garmin
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.model import SLEEP_STAGES, Sample, Workout

if TYPE_CHECKING:
    from vault.core.progress import ProgressCallback

ROOT: Final = "di_connect/"  # the folder every export holds, whatever its case
SOURCE: Final = "Garmin Connect"  # daily summaries and sleep are Garmin Connect's figures
_UDS: Final = "/di-connect-aggregator/udsfile_"
_SLEEP: Final = "/di-connect-wellness/"
_UPLOADS: Final = "/di-connect-uploaded-files/"
_ACTIVITIES: Final = "summarizedactivities.json"


def looks_like_export(path: Path) -> bool:
    """Whether PATH (a zip or a folder) is a Garmin account export: it holds DI_CONNECT/."""
    import zipfile

    if path.is_dir():
        return any(
            p.is_dir() and p.name.lower() == ROOT.rstrip("/")
            for top in (path, *(c for c in path.iterdir() if c.is_dir()))
            for p in top.iterdir()
        )
    try:
        with zipfile.ZipFile(path) as zf:
            return any(ROOT in "/" + n.lower().replace("\\", "/") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _kind(name: str) -> str:
    """What an export member is to this importer: uds, sleep, upload, fit, activities, other."""
    low = "/" + name.lower()
    base = low.rsplit("/", 1)[-1]
    if _UDS in low and base.endswith(".json"):
        return "uds"
    if _SLEEP in low and base.endswith("sleepdata.json"):
        return "sleep"
    if _UPLOADS in low and base.endswith(".zip"):
        return "upload"
    if base.endswith(garmin.SUFFIXES):
        return "fit"
    if base.endswith(_ACTIVITIES):
        return "activities"
    return "other"


def _ms(value: Any) -> int | None:
    """A Garmin export time: ms since the epoch (a number) or an ISO text without a zone,
    read as the zone its field names (GMT, or local for the `...Local` fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _offset(gmt: int, local: int | None) -> int:
    """Minutes between a local time and its GMT twin; 0 when absent or no real zone's."""
    if local is None:
        return 0
    minutes = round((local - gmt) / 60_000)
    return minutes if -12 * 60 <= minutes <= 14 * 60 else 0


# Daily summary fields kept, each to its metric and unit (a sample spanning the day).
_DAILY: Final = (
    ("totalSteps", "steps", "{steps}"),
    ("totalDistanceMeters", "distance", "m"),
    ("activeKilocalories", "active_energy", "kcal"),
    ("bmrKilocalories", "basal_energy", "kcal"),
    ("restingHeartRate", "resting_heart_rate", "/min"),
)


def _day(entry: dict[str, Any], location: str, report: ReportIssue) -> list[Item]:
    """One day's summary (UDSFile): totals over the wellness day, day-average stress and
    waking respiration, and the body battery readings at their own times."""
    start = _ms(entry.get("wellnessStartTimeGmt"))
    end = _ms(entry.get("wellnessEndTimeGmt"))
    if start is None or end is None or end < start:
        report(location, N_("daily summary without its day's times: skipped"))
        return []
    off = _offset(start, _ms(entry.get("wellnessStartTimeLocal")))
    out: list[Item] = []

    def add(metric: str, value: float | None, unit: str, *meta: tuple[str, str]) -> None:
        if value is not None and value >= 0:
            out.append(Sample(metric, start, end, value, unit, SOURCE, "", off, tuple(meta)))

    for field, metric, unit in _DAILY:
        add(metric, _number(entry.get(field)), unit)
    moderate = _number(entry.get("moderateIntensityMinutes"))
    vigorous = _number(entry.get("vigorousIntensityMinutes"))
    if moderate is not None or vigorous is not None:
        add("exercise_time", (moderate or 0.0) + (vigorous or 0.0), "min")
    stress = entry.get("allDayStress")
    if isinstance(stress, dict):
        for agg in stress.get("aggregatorList") or ():
            if isinstance(agg, dict) and agg.get("type") == "TOTAL":
                level = _number(agg.get("averageStressLevel"))
                if level is not None and level <= 100:
                    add("stress_level", level, "{score}", ("statistic", "day_average"))
    breathing = entry.get("respiration")
    if isinstance(breathing, dict):
        rate = _number(breathing.get("avgWakingRespirationValue"))
        add("respiratory_rate", rate, "/min", ("statistic", "waking_average"))
    battery = entry.get("bodyBattery")
    if isinstance(battery, dict):
        for stat in battery.get("bodyBatteryStatList") or ():
            if not isinstance(stat, dict):
                continue
            value = _number(stat.get("statsValue"))
            # statTimestamp is the wall clock of the day (no GMT twin): placed by its offset
            local = _ms(stat.get("statTimestamp"))
            if value is None or not 0 <= value <= 100 or local is None:
                continue
            t = local - off * 60_000
            kind = str(stat.get("bodyBatteryStatType", ""))[:40]
            meta = (("stat", kind.lower()),) if kind else ()
            out.append(Sample("body_battery", t, t, value, "{score}", SOURCE, "", off, meta))
    return out


# Sleep window fields kept in the sample's metadata, under these names.
_SLEEP_META: Final = (
    ("deepSleepSeconds", "deep_s"),
    ("lightSleepSeconds", "light_s"),
    ("remSleepSeconds", "rem_s"),
    ("awakeSleepSeconds", "awake_s"),
    ("unmeasurableSeconds", "unmeasurable_s"),
    ("averageRespiration", "average_respiration"),
    ("avgSleepStress", "average_stress"),
    ("awakeCount", "awakenings"),
)


def _sleep(entry: dict[str, Any], location: str, report: ReportIssue) -> list[Item]:
    """One night: its window as an `in_bed` sleep sample, the time in each stage (which the
    export gives as totals, not as a timeline) and the night's scores in its metadata."""
    start = _ms(entry.get("sleepStartTimestampGMT"))
    end = _ms(entry.get("sleepEndTimestampGMT"))
    if start is None or end is None or end <= start:
        report(location, N_("sleep without its start and end: skipped"))
        return []
    off = _offset(start, _ms(entry.get("sleepStartTimestampLocal")))
    meta: list[tuple[str, str]] = []
    for field, key in _SLEEP_META:
        value = _number(entry.get(field))
        if value is not None:
            meta.append((key, f"{value:g}"))
    scores = entry.get("sleepScores")
    if isinstance(scores, dict):
        overall = _number(scores.get("overallScore"))
        if overall is not None:
            meta.append(("overall_score", f"{overall:g}"))
    stage = float(SLEEP_STAGES["in_bed"])
    return [Sample("sleep", start, end, stage, "", SOURCE, "", off, tuple(meta))]


def _entries(
    archive: Archive, name: str, read: Callable[[dict[str, Any], str, ReportIssue], list[Item]]
) -> tuple[list[Item], list[tuple[str, str]]]:
    """Every item of one JSON file of day or night entries, read whole (MalformedInput if it
    is not a list of objects), with the problems of its entries."""
    data = archive.read_json(name)
    if not isinstance(data, list):
        raise MalformedInput(
            N_("{archive}: {name} is not a list of entries"), archive=archive.label, name=name
        )
    issues: list[tuple[str, str]] = []
    items: list[Item] = []
    for n, entry in enumerate(data, 1):
        if not isinstance(entry, dict):
            issues.append((f"{name} entry {n}", N_("not an object: skipped")))
            continue
        day = entry.get("calendarDate")
        where = f"{name} {day}" if isinstance(day, str) and len(day) <= 10 else f"{name} entry {n}"
        items.extend(read(entry, where, lambda loc, p: issues.append((loc, p))))
    return items, issues


# Garmin Connect's activity types (`typeKey`) grouped into the sports FIT files name, so an
# activity summary meets the FIT file of the same activity; a type not listed is its own.
_SPORTS: Final = {
    "cycling": (
        "road_biking", "mountain_biking", "indoor_cycling", "virtual_ride", "gravel_cycling",
        "cyclocross", "track_cycling", "recumbent_cycling", "bmx", "e_bike_fitness",
        "e_bike_mountain", "downhill_biking",
    ),
    "running": ("treadmill_running", "trail_running", "track_running", "street_running",
                "indoor_running", "virtual_run", "ultra_run", "obstacle_run"),
    "swimming": ("lap_swimming", "open_water_swimming"),
    "walking": ("casual_walking", "speed_walking", "indoor_walking"),
    "training": ("strength_training", "indoor_cardio", "hiit", "pilates", "yoga",
                 "breathwork", "fitness_equipment"),
    "rowing": ("indoor_rowing",),
}  # fmt: skip
_SPORT_OF: Final = {t: sport for sport, types in _SPORTS.items() for t in types}
_SAME_START_MS: Final = 60_000  # a summary and its FIT file start within the same minute
_MAX_ACTIVITY_MS: Final = 14 * 86_400_000  # no activity lasts a fortnight


def _sport(activity: str) -> str:
    return _SPORT_OF.get(activity, activity)


def _summarized(entry: dict[str, Any]) -> Workout:
    """One summarized activity as a workout: Garmin writes its times in ms since the epoch
    (`startTimeGmt`, and `startTimeLocal` the same wall clock as if it were UTC), its
    duration in ms, its distance in centimetres and its energy in kilocalories."""
    kind = entry.get("activityType")
    if isinstance(kind, dict):  # some exports nest the type: {"typeKey": "running"}
        kind = kind.get("typeKey")
    start = _ms(entry.get("startTimeGmt", entry.get("beginTimestamp")))
    duration = _number(entry.get("duration", entry.get("elapsedDuration")))
    if start is None or duration is None or not 0 <= duration <= _MAX_ACTIVITY_MS:
        raise ValueError("no start or duration")
    garmin_type = common.activity_name(str(kind or "other"))[:40]
    distance = _number(entry.get("distance"))
    energy = _number(entry.get("calories"))
    meta: list[tuple[str, str]] = [("garmin_type", garmin_type), ("summary_only", "true")]
    for field, key in (("avgHr", "average_heart_rate"), ("maxHr", "max_heart_rate")):
        value = _number(entry.get(field))
        if value is not None and 0 < value <= 300:
            meta.append((key, f"{value:g}"))
    ident = entry.get("activityId")
    if isinstance(ident, int) and not isinstance(ident, bool):
        meta.append(("garmin_activity_id", str(ident)))
    return Workout(
        activity=_sport(garmin_type),
        start=start,
        end=start + round(duration),
        offset_min=_offset(start, _ms(entry.get("startTimeLocal"))),
        duration_s=duration / 1000,
        distance_m=distance / 100 if distance is not None and distance >= 0 else None,
        energy_kcal=energy if energy is not None and energy >= 0 else None,
        source=SOURCE,
        metadata=tuple(meta),
    )


def _activities(
    archive: Archive, name: str, fit_starts: dict[str, list[int]], report: ReportIssue
) -> tuple[list[Workout], int, int]:
    """The workouts of one summarizedActivities file that no FIT file of the export holds
    (same sport, starting within a minute), and how many were left out as repeats and as
    multisport parents (their legs are activities of their own). MalformedInput if the file
    is not the list Garmin writes."""
    data = archive.read_json(name)
    entries: list[Any] = []
    if isinstance(data, list):
        for chunk in data:
            if isinstance(chunk, dict) and isinstance(
                chunk.get("summarizedActivitiesExport"), list
            ):
                entries.extend(chunk["summarizedActivitiesExport"])
            else:
                entries.append(chunk)
    else:
        raise MalformedInput(
            N_("{archive}: {name} is not a list of entries"), archive=archive.label, name=name
        )
    out: list[Workout] = []
    repeats = parents = 0
    for n, entry in enumerate(entries, 1):
        where = f"{name} activity {n}"
        if not isinstance(entry, dict):
            report(where, N_("not an object: skipped"))
            continue
        if entry.get("parent") is True or entry.get("isMultiSportParent") is True:
            parents += 1
            continue
        try:
            workout = _summarized(entry)
        except ValueError:
            report(where, N_("activity without its start or duration: skipped"))
            continue
        starts = fit_starts.get(workout.activity, []) + fit_starts.get("generic", [])
        if any(abs(t - workout.start) <= _SAME_START_MS for t in starts):
            repeats += 1
            continue
        out.append(workout)
    return out, repeats, parents


def _skip(report: ReportIssue, where: str, exc: BaseException) -> None:
    report(
        where,
        Text(
            N_("{reason}: {skipped}"), reason=common.skip_reason(exc), skipped=common.SKIPPED_WHOLE
        ),
    )


def _uploads(
    archive: Archive,
    name: str,
    report: ReportIssue,
    note: Note,
    *,
    scale_user: int | None,
    left: Counter[str],
    decode: garmin.Decoder,
) -> Iterator[Item]:
    """The FIT (GPX, TCX) files of one zip of uploaded files, streamed; each good one whole,
    each bad one skipped and listed, and the rest of a zip damaged midway listed too.
    `decode` decodes the files, here or in helper processes, their results in order."""
    failures: tuple[type[BaseException], ...] = (VaultError, *common.zip_read_errors())

    def jobs() -> Iterator[tuple[tuple[str, BaseException | None], garmin.Job | None]]:
        """Each FIT file's job; a file too large, then the zip's own damage, as tags alone
        (the archive's own errors, not the decoders', end this zip)."""
        try:
            for inner, chunks in stream_zip(archive.chunks(name), f"{archive.label}: {name}"):
                where = f"{name}/{inner}"
                if not inner.lower().endswith(garmin.SUFFIXES):
                    nested = inner.lower().endswith(".zip")
                    left["zips" if nested else "others"] += 1
                    continue
                data = bytearray()
                for chunk in chunks:
                    data += chunk
                    if len(data) > garmin.MAX_FILE_BYTES:
                        break
                if len(data) > garmin.MAX_FILE_BYTES:
                    yield (where, None), None
                    continue
                yield (where, None), (bytes(data), where, scale_user)
        except failures as exc:
            if isinstance(exc, UnsafeArchive):
                raise  # an attack inside the export refuses the whole export
            yield (name, exc), None

    done = 0
    for (where, failure), decoded in decode(jobs()):
        if failure is not None:
            reason = common.skip_reason(failure)
            if done:
                problem = Text(
                    N_plural(
                        "{reason}: the rest of this zip after {n} file was not read",
                        "{reason}: the rest of this zip after {n} files was not read",
                    ),
                    reason=reason,
                    n=done,
                )
            else:
                problem = Text(N_("{reason}: the rest of this zip was not read"), reason=reason)
            report(name, problem)
        elif decoded is None:
            report(
                where,
                Text(
                    N_("larger than any real Garmin file: {skipped}"),
                    skipped=common.SKIPPED_WHOLE,
                ),
            )
        else:
            yield from garmin.replayed(decoded, report, note)
            done += 1


def parse_export(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    progress: ProgressCallback | None = None,
    scale_user: int | None = None,
    parallel: bool | None = None,
) -> Iterator[Item]:
    """Yield the samples and workouts of a Garmin account export (zip or folder); the FIT
    files of its uploaded files zips are decoded as `garmin.decoder(parallel, ...)` says."""
    p = Path(path)
    bar = Progress(N_("Reading the Garmin export"), progress)
    with open_archive(p) as archive:
        kinds: dict[str, list[str]] = {}
        for name in archive.members:
            kinds.setdefault(_kind(name), []).append(name)
        read = [n for k in ("uds", "sleep", "upload", "fit") for n in sorted(kinds.get(k, []))]
        if not read:
            raise MalformedInput(
                N_("{name}: a Garmin export with no daily summaries, sleep or uploaded files"),
                name=p.name,
            )
        bar.start(len(read))
        left: Counter[str] = Counter()
        fit_starts: dict[str, list[int]] = {}  # the start of each FIT workout, by sport
        files = sum(archive.members[n].size for n in read if _kind(n) in ("upload", "fit"))
        with garmin.decoder(parallel, files) as decode:
            for name in read:
                kind = _kind(name)
                if kind in ("uds", "sleep"):
                    try:
                        items, issues = _entries(archive, name, _day if kind == "uds" else _sleep)
                    except (VaultError, ValueError, RecursionError) as exc:
                        _skip(report_issue, name, exc)
                    else:
                        for location, problem in issues:
                            report_issue(location, problem)
                        yield from items
                elif kind == "upload":
                    uploads = _uploads(
                        archive,
                        name,
                        report_issue,
                        note,
                        scale_user=scale_user,
                        left=left,
                        decode=decode,
                    )
                    yield from _noted(uploads, fit_starts)
                else:
                    try:
                        data = archive.read_bytes(name)
                    except VaultError as exc:
                        _skip(report_issue, name, exc)
                    else:
                        member = garmin.parse_member(data, name, report_issue, note, scale_user)
                        yield from _noted(member, fit_starts)
                bar.advance()
        # Activity summaries last: an activity is taken from one only when no FIT file of
        # the export holds it (entered by hand, or from a device whose files are gone).
        repeats = parents = 0
        for name in sorted(kinds.get("activities", [])):
            try:
                workouts, seen, multi = _activities(archive, name, fit_starts, report_issue)
            except (VaultError, ValueError, RecursionError) as exc:
                _skip(report_issue, name, exc)
                continue
            repeats += seen
            parents += multi
            yield from workouts
        bar.finish()
        if repeats:
            note(
                Text(
                    N_plural(
                        "{n} summarized activity not imported again: an uploaded FIT file "
                        "holds it, with its records",
                        "{n} summarized activities not imported again: uploaded FIT files "
                        "hold them, with their records",
                    ),
                    n=repeats,
                )
            )
        if parents:
            note(
                Text(
                    N_plural(
                        "{n} multisport activity imported as its legs, not as one more workout",
                        "{n} multisport activities imported as their legs, not as one more "
                        "workout each",
                    ),
                    n=parents,
                )
            )
        folders: Counter[str] = Counter()
        for name in kinds.get("other", []):
            parts = PurePosixPath(name).parts
            folders[parts[-2] if len(parts) > 1 else "(top)"] += 1
        if folders:
            listed = ", ".join(f"{k} ({n})" for k, n in sorted(folders.items()))
            note(Text(N_("files of the export not read, by folder: {listed}"), listed=listed))
        if left["zips"]:
            note(
                Text(
                    N_plural(
                        "not imported: {n} zip inside an uploaded files zip",
                        "not imported: {n} zips inside an uploaded files zip",
                    ),
                    n=left["zips"],
                )
            )
        if left["others"]:
            note(
                Text(
                    N_plural(
                        "not imported: {n} other uploaded file",
                        "not imported: {n} other uploaded files",
                    ),
                    n=left["others"],
                )
            )
        if kinds.get("uds"):
            note(
                N_(
                    "daily summaries: floors, hydration, goals, minimum and maximum heart "
                    "rates and body battery readings without a time are not imported"
                )
            )
        if kinds.get("sleep"):
            note(
                N_(
                    "sleep: the export gives each night's time per stage as totals (kept with "
                    "the night), not when each stage happened"
                )
            )


def _noted(items: Iterable[Item], fit_starts: dict[str, list[int]]) -> Iterator[Item]:
    """ITEMS, passed on, with the start of each workout noted under its sport."""
    for item in items:
        if isinstance(item, Workout):
            fit_starts.setdefault(item.activity, []).append(item.start)
        yield item
