"""Fitbit's part of a Google Takeout (`Takeout/Fitbit/...`, `Takeout/Google Health/...` in
the newest ones), from the zip or its folder.

Two generations of files sit side by side in one export, each with its own time rule:

- `Global Export Data/<type>-YYYY-MM-DD.json` (and `exercise-N.json`): per-minute steps,
  calories, distance and floors, intraday heart rate with its confidence, resting heart rate,
  sleep logs (stages and classic), weight logs, exercises. Their times carry no offset and are
  the tracker's wall-clock time (`01/02/21 08:00:00`, `2021-01-02T23:30:00.000`): a weight
  log's `logId` is that same wall-clock time written as if it were UTC. They are read in the
  person's zone: `--time-zone`, else the zone of the export's own profile (`Profile.csv`),
  else this machine's.
- The per-type CSV files (`Physical Activity_GoogleData/`, `Heart Rate Variability/`,
  `Sleep Score/`, `Oxygen Saturation (SpO2)/`): a timestamp that carries `Z` or an offset
  is that instant; one without (the Heart Rate Variability folder's) is a wall-clock time,
  read like the JSON files. Their `data source` column names the device, which becomes the
  sample's source (`Fitbit Pixel Watch`).
- The scores and readings of their own folders (`Stress Score/`, `Daily Readiness/`,
  `Temperature/`, `Active Zone Minutes (AZM)/`): one row a day, a night or a minute, dated
  by a wall-clock `date`, `sleep_start` or `date_time` column.

Every file is all or nothing: one that cannot be read is skipped whole and named, the others
are imported; record-level problems are counted once per file and problem.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.i18n import N_, N_plural, Text
from vault.core.progress import Progress
from vault.data import metrics
from vault.data.importers import common
from vault.data.importers.common import Item, Note, ReportIssue
from vault.data.importers.google_takeout import Job, LocalTimes, _one_file, _Tree, zone
from vault.data.model import SLEEP_STAGES, Sample, Workout

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.progress import ProgressCallback
    from vault.core.vault import Vault

SOURCE: Final = "Fitbit"
MINUTE_MS: Final = 60_000
DAY_MS: Final = 86_400_000
PROFILE_MAX_BYTES: Final = 1 << 20  # a profile is one row; anything larger is not one
MAX_DEVICE: Final = 80  # characters of a CSV's `data source` kept in the sample's source

SLEEP_LEVELS: Final = {
    "wake": "awake",
    "awake": "awake",
    "restless": "awake",
    "light": "core",
    "deep": "deep",
    "rem": "rem",
    "asleep": "asleep",
}
# Global Export Data series: (unit, span) with span "minute", "day" or "instant".
SERIES: Final[dict[str, tuple[str, str]]] = {
    "steps": ("count", "minute"),
    "calories": ("kcal", "minute"),  # total energy: resting included (registry: total_energy)
    "distance": ("cm", "minute"),  # minute distances are written in centimetres
    "altitude": ("{flights}", "minute"),  # in feet; ten feet make one floor
    "heart_rate": ("/min", "instant"),
    "resting_heart_rate": ("/min", "day"),
    "very_active_minutes": ("min", "day"),
    "moderately_active_minutes": ("min", "day"),
    "lightly_active_minutes": ("min", "day"),
    "sedentary_minutes": ("min", "day"),
}
# Weight logs are written in the unit of the account's setting, which Profile.csv names.
WEIGHT_UNITS: Final = ("kg", "lb", "st")
_PROFILE_WEIGHT: Final = {"METRIC": "kg", "en_US": "lb"}
_DISTANCE: Final = {"Kilometer": 1000.0, "Mile": 1609.344, "Meter": 1.0}
_JSON_FILE: Final = re.compile(r"^(?P<type>[a-z0-9_]+)-(?:\d{4}-\d{2}-\d{2}|\d+)\.json$")


@dataclass(frozen=True)
class CsvKind:
    """One kind of per-type CSV file: where it sits, the column holding the value, the
    metric and unit it goes to, how long one row lasts (ms) and the columns kept as metadata."""

    folder: str  # lower case, as the folder is named in the export
    prefix: str  # the start of the file name, lower case
    value: str  # the value's column, normalised (see _column)
    metric: str
    unit: str
    span_ms: int = 0
    metadata: tuple[str, ...] = ()
    time: str = "timestamp"  # the column of the row's time (a date gives the day's midnight)
    until: str = ""  # the column of the row's end, when the file states it (a night's)
    # (column, value): a row that says it holds no measurement (Fitbit writes its score
    # as 0 with CALCULATION_FAILED true), left out and counted in a note.
    empty: tuple[str, str] | None = None


# Column names are documented by the README each folder carries ("beats per minute", "weight
# grams") and observed in snake case in the older folders (rmssd, nremhr, overall_score).
_PA: Final = "physical activity_googledata"
CSV_KINDS: tuple[CsvKind, ...] = (
    CsvKind(_PA, "heart_rate_", "beats per minute", "heart_rate", "/min"),
    CsvKind(_PA, "steps_", "steps", "steps", "count", MINUTE_MS),
    CsvKind(_PA, "calories_", "calories", "total_energy", "kcal", MINUTE_MS),
    CsvKind(_PA, "distance_", "distance", "distance", "m", MINUTE_MS),
    CsvKind(
        _PA,
        "daily_resting_heart_rate",
        "beats per minute",
        "resting_heart_rate",
        "/min",
        DAY_MS,
    ),
    CsvKind(_PA, "weight", "weight grams", "body_mass", "g"),
    CsvKind(
        _PA,
        "daily_heart_rate_variability_",
        "average heart rate variability milliseconds",
        "hrv_rmssd",
        "ms",
        0,
        ("non rem heart rate beats per minute", "entropy"),
    ),
    CsvKind(
        _PA,
        "active_zone_minutes_",
        "total minutes",
        "active_zone_minutes",
        "min",
        MINUTE_MS,
        ("heart rate zone",),
    ),
    CsvKind(
        _PA,
        "daily_respiratory_rate_",
        "breaths per minute",
        "respiratory_rate",
        "/min",
    ),
    CsvKind(
        "heart rate variability",
        "daily heart rate variability summary",
        "rmssd",
        "hrv_rmssd",
        "ms",
        0,
        ("nremhr", "entropy"),
    ),
    CsvKind(
        "heart rate variability",
        "heart rate variability details",
        "rmssd",
        "hrv_rmssd",
        "ms",
        5 * MINUTE_MS,  # one row per five minutes of sleep
        ("coverage", "low frequency", "high frequency"),
    ),
    CsvKind(
        "heart rate variability",
        "daily respiratory rate summary",
        "daily respiratory rate",
        "respiratory_rate",
        "/min",
    ),
    CsvKind(
        "sleep score",
        "sleep_score",
        "overall score",
        common.unknown_metric("fitbit_sleep_score"),
        "",
        0,
        (
            "sleep log entry id",
            "composition score",
            "revitalization score",
            "duration score",
            "deep sleep in minutes",
            "resting heart rate",
            "restlessness",
        ),
    ),
    CsvKind(
        "oxygen saturation (spo2)",
        "daily spo2",
        "average value",
        "blood_oxygen",
        "%",
        0,
        ("lower bound", "upper bound"),
    ),
    CsvKind("oxygen saturation (spo2)", "minute spo2", "value", "blood_oxygen", "%", MINUTE_MS),
    # The scores and readings of the newer folders, one row a day (a night for temperature,
    # a minute for active zone minutes); their columns as each folder's README names them.
    CsvKind(
        "stress score",
        "stress score",
        "stress score",
        "stress_score",
        "{score}",
        DAY_MS,
        (
            "sleep points",
            "max sleep points",
            "responsiveness points",
            "max responsiveness points",
            "exertion points",
            "max exertion points",
            "status",
        ),
        time="date",
        empty=("calculation failed", "true"),
    ),
    CsvKind(
        "daily readiness",
        "daily readiness score",
        "readiness score value",
        "readiness_score",
        "{score}",
        DAY_MS,
        (
            "readiness state",
            "activity subcomponent",
            "sleep subcomponent",
            "hrv subcomponent",
            "activity state",
            "sleep state",
            "hrv state",
        ),
        time="date",
    ),
    CsvKind(
        "temperature",
        "computed temperature",
        "nightly temperature",
        "skin_temperature",
        "Cel",
        0,
        (
            "type",
            "temperature samples",
            "baseline relative sample sum",
            "baseline relative sample sum of squares",
            "baseline relative nightly standard deviation",
            "baseline relative sample standard deviation",
        ),
        time="sleep start",
        until="sleep end",
    ),
    CsvKind(
        "active zone minutes (azm)",
        "active zone minutes",
        "total minutes",
        "active_zone_minutes",
        "min",
        MINUTE_MS,
        ("heart zone id",),
        time="date time",
    ),
)
# Older exports keep the nightly temperature in `Sleep/` and the stress score in `Stress/`.
CSV_KINDS = (
    *CSV_KINDS,
    *(
        replace(kind, folder=older)
        for kind in CSV_KINDS
        for folder, older in (("temperature", "sleep"), ("stress score", "stress"))
        if kind.folder == folder
    ),
)
_FOLDERS: Final = frozenset(k.folder for k in CSV_KINDS) | {"global export data"}


@dataclass(frozen=True)
class Profile:
    """What the export's `Profile.csv` says that matters to reading it."""

    time_zone: str = ""
    weight_unit: str = ""  # kg or lb; "" when it does not say (or says something else)


class _Unsupported(Exception):
    """An entry of a shape that holds no single value (zones, summaries): counted, not read."""


def _column(name: str) -> str:
    return name.strip().lower().replace("_", " ")


def _folder_of(key: str) -> str:
    """The folder right above the file, lower case (`global export data`)."""
    parts = PurePosixPath(key).parts
    return parts[-2].lower() if len(parts) >= 2 else ""


def fitbit_files(tree: _Tree) -> list[str]:
    """The files of the Fitbit part: those in one of the folders this importer knows, or in
    any folder of a `Fitbit` folder (`Google Health` in the newest Takeouts), so what is left
    out can be named."""
    out = []
    for key in tree.files:
        lowered = "/" + key.lower()
        if _folder_of(key) in _FOLDERS or "/fitbit/" in lowered or "/google health/" in lowered:
            out.append(key)
    return sorted(out)


def read_profile(tree: _Tree) -> Profile:
    """The profile's time zone and weight unit, or an empty Profile when the export holds no
    readable `Profile.csv` (it is optional: the person may have left it out of the Takeout)."""
    for key in sorted(tree.files):
        if PurePosixPath(key).name.lower() != "profile.csv":
            continue
        if tree.sizes.get(key, 0) > PROFILE_MAX_BYTES:
            continue
        with contextlib.suppress(Exception):  # a damaged profile only loses its hints
            with tree.files[key]() as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                row = next(csv.DictReader(text), None)
            if row is not None:
                fields = {_column(k): (v or "").strip() for k, v in row.items() if k}
                unit = _PROFILE_WEIGHT.get(fields.get("weight unit", ""), "")
                return Profile(fields.get("timezone", ""), unit)
    return Profile()


def choose_zone(given: str | None, profile: Profile, note: Note) -> str:
    """The zone of wall-clock times: the one given, else the profile's, else this machine's."""
    if given:
        return zone(given)[0]
    if profile.time_zone:
        try:
            name = zone(profile.time_zone)[0]
        except InvalidParameter:
            why = N_("the time zone in Profile.csv is not an IANA zone")
        else:
            note(
                Text(
                    N_("Fitbit's wall-clock times were read in the profile's zone, {zone}"),
                    zone=name,
                )
            )
            return name
    else:
        # A Takeout split into several zips holds the profile in one of them only.
        why = N_("the export holds no Profile.csv naming a time zone")
    name = zone(None)[0]
    note(
        Text(
            N_(
                "{why}: Fitbit's wall-clock times were read in this machine's zone, {zone} "
                "(give --time-zone if you lived elsewhere)"
            ),
            why=Text(why),
            zone=name,
        )
    )
    return name


def choose_weight_unit(given: str | None, profile: Profile, note: Note) -> str:
    """The unit weight logs are written in: the one given, else the profile's, else kg."""
    if given:
        return parse_weight_unit(given)
    if profile.weight_unit:
        return profile.weight_unit
    note(
        N_(
            "the export does not say which unit its weight logs use: they were read as "
            "kilograms (give --weight-unit lb if the account weighed in pounds)"
        )
    )
    return "kg"


def parse_weight_unit(text: str) -> str:
    """`kg`, `lb` or `st`; InvalidParameter otherwise (the option's check)."""
    value = text.strip().lower()
    if value not in WEIGHT_UNITS:
        raise InvalidParameter(N_("unknown weight unit {unit} (use kg, lb or st)"), unit=repr(text))
    return value


def plan(
    tree: _Tree,
    note: Note,
    *,
    time_zone: str | None = None,
    weight_unit: str | None = None,
) -> tuple[list[tuple[str, Job]], str]:
    """The jobs that read the Fitbit part of TREE, one per file, and the zone they use.

    Files of kinds this importer does not read are named in one note, by kind.
    """
    profile = read_profile(tree)
    files = fitbit_files(tree)
    if not files:
        return [], zone(time_zone)[0]
    zone_name = choose_zone(time_zone, profile, note)
    local = LocalTimes(ZoneInfo(zone_name))
    jobs: list[tuple[str, Job]] = []
    left_out: dict[str, int] = {}
    unit: str | None = None
    for key in files:
        name = PurePosixPath(key).name
        folder = _folder_of(key)
        if folder == "global export data" and (m := _JSON_FILE.match(name)):
            kind = m["type"]
            if kind == "weight" and unit is None:
                unit = choose_weight_unit(weight_unit, profile, note)
            jobs.append((key, partial(_json_file, kind, ctx=(note, local, unit or "kg"))))
            continue
        csv_kind = _csv_kind(folder, name)
        if csv_kind is not None:
            jobs.append((key, partial(_csv_file, csv_kind, local=local, note=note)))
        elif name.lower() != "profile.csv" and not name.lower().endswith((".txt", ".md")):
            label = f"{PurePosixPath(key).parent.name}/{_stem_kind(name)}"
            left_out[label] = left_out.get(label, 0) + 1
    if left_out:
        listed = ", ".join(f"{k} ({n})" for k, n in sorted(left_out.items()))
        note(
            Text(N_("Fitbit files of kinds not read (folder/kind, files): {listed}"), listed=listed)
        )
    return jobs, zone_name


def _csv_kind(folder: str, name: str) -> CsvKind | None:
    lowered = name.lower()
    if not lowered.endswith(".csv"):
        return None
    for kind in CSV_KINDS:
        if folder == kind.folder and lowered.startswith(kind.prefix):
            if kind.prefix == "weight" and not re.fullmatch(r"weight(_[\d-]+)?\.csv", lowered):
                continue  # weight_goals.csv and the like are not weighings
            return kind
    return None


def _stem_kind(name: str) -> str:
    """A file's kind without its dates and numbers (`steps-2021-01-02.json`: `steps`)."""
    stem = PurePosixPath(name).stem
    return re.sub(r"[-_ ]*(\(\d+\)|\d{4}-\d{2}(-\d{2})?|\d+)$", "", stem) or stem


# --- Global Export Data ------------------------------------------------------------------


def _json_file(
    kind: str,
    name: str,
    stream: IO[bytes],
    report: ReportIssue,
    *,
    ctx: tuple[Note, LocalTimes, str],
) -> Iterator[Item]:
    import ijson  # type: ignore[import-untyped]

    note, local, weight_unit = ctx
    unsupported = short_wakes = 0
    try:
        for n, entry in enumerate(ijson.items(stream, "item", use_float=True), 1):
            try:
                if kind == "sleep":
                    yield from _sleep(entry, local)
                    short_wakes += len((entry.get("levels") or {}).get("shortData") or [])
                elif kind == "exercise":
                    yield _exercise(entry, local)
                elif kind == "weight":
                    yield from _weight(entry, local, weight_unit)
                else:
                    yield _point(kind, entry, local)
            except _Unsupported:
                unsupported += 1
            except (KeyError, TypeError, ValueError, AttributeError):
                report(f"{name} entry {n}", N_("missing or impossible date, or non-numeric value"))
    except ijson.JSONError:
        # ijson's message quotes the text around the error: it is not repeated here.
        raise MalformedInput(N_("{name}: malformed JSON"), name=name) from None
    if unsupported:
        note(
            Text(
                N_plural(
                    "{name}: {n} entry without a single value was not imported",
                    "{name}: {n} entries without a single value were not imported",
                ),
                name=name,
                n=unsupported,
            )
        )
    if short_wakes:
        # Short wakes lie over the stages they interrupt: stored too, they would count twice.
        note(
            Text(
                N_plural(
                    "{name}: {n} short wake (levels.shortData) was not imported",
                    "{name}: {n} short wakes (levels.shortData) were not imported",
                ),
                name=name,
                n=short_wakes,
            )
        )


def _point(kind: str, entry: dict[str, Any], local: LocalTimes) -> Sample:
    t, off = local.fitbit(entry["dateTime"])
    raw = entry["value"]
    metadata: tuple[tuple[str, str], ...] = ()
    if isinstance(raw, dict):
        if "bpm" in raw:  # intraday heart rate: {"bpm": 72, "confidence": 2}
            if raw.get("confidence") is not None:
                metadata = (("confidence", str(int(raw["confidence"]))),)
            raw = raw["bpm"]
        elif "value" in raw:  # resting heart rate: {"date": ..., "value": 58.4, "error": ...}
            if not raw["value"]:
                raise _Unsupported  # 0 or null: no resting heart rate measured that day
            if raw.get("error") is not None:
                metadata = (("error", str(float(raw["error"]))),)
            raw = raw["value"]
        else:
            raise _Unsupported
    if isinstance(raw, dict | list) or raw is None:
        raise _Unsupported
    value = float(raw)
    unit, span = SERIES.get(kind, ("", "instant"))
    if kind == "altitude":
        value /= 10.0
    m = metrics.lookup("fitbit", kind)
    metric = m.id if m is not None else common.unknown_metric(kind)
    end = t + (MINUTE_MS if span == "minute" else DAY_MS if span == "day" else 0)
    return Sample(metric, t, end, value, unit, SOURCE, "", off, metadata)


def _weight(entry: dict[str, Any], local: LocalTimes, unit: str) -> Iterator[Sample]:
    t, off = local.fitbit(f"{entry['date']} {entry.get('time', '00:00:00')}")
    source = f"{SOURCE} {entry.get('source', '')}".strip()  # Aria, API, Web...
    for field, metric, field_unit in (
        ("weight", "body_mass", unit),
        ("bmi", "body_mass_index", ""),
        ("fat", "body_fat", "%"),
    ):
        if entry.get(field) is not None:
            yield Sample(metric, t, t, float(entry[field]), field_unit, source, "", off)


def _sleep(entry: dict[str, Any], local: LocalTimes) -> Iterator[Sample]:
    metadata = tuple(
        (key, str(entry[field]))
        for key, field in (("log_id", "logId"), ("type", "type"), ("main_sleep", "mainSleep"))
        if entry.get(field) is not None
    )
    levels = (entry.get("levels") or {}).get("data") or []
    if not levels:  # a log without stages: the whole log as "asleep"
        start, off = local.iso_local(entry["startTime"])
        end, _ = local.iso_local(entry["endTime"])
        if end < start:
            raise ValueError("the log ends before it starts")
        yield Sample("sleep", start, end, SLEEP_STAGES["asleep"], "", SOURCE, "", off, metadata)
        return
    for seg in levels:
        stage = SLEEP_LEVELS.get(seg["level"])
        if stage is None:
            raise ValueError("unknown sleep level")
        start, off = local.iso_local(seg["dateTime"])
        seconds = float(seg["seconds"])
        if not 0 <= seconds <= 86_400:
            raise ValueError("impossible sleep segment length")
        end = start + round(seconds * 1000)
        yield Sample("sleep", start, end, SLEEP_STAGES[stage], "", SOURCE, "", off, metadata)


def _exercise(entry: dict[str, Any], local: LocalTimes) -> Workout:
    start, off = local.fitbit(entry["startTime"])
    duration_ms = float(entry.get("duration") or entry.get("activeDuration") or 0)
    if not 0 <= duration_ms <= 7 * DAY_MS:
        raise ValueError("impossible duration")
    distance = entry.get("distance")
    scale = _DISTANCE.get(entry.get("distanceUnit", "Kilometer"))
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
        source=SOURCE,
        # Fitbit's exercise calories count resting energy too, as its daily calories do
        metadata=(("energy", "total, resting included"),)
        if entry.get("calories") is not None
        else (),
    )


# --- per-type CSV files ------------------------------------------------------------------


def _csv_time(text: str, local: LocalTimes) -> tuple[int, int]:
    """A CSV timestamp: with `Z` or an offset, that instant; without, a wall-clock time; a
    date alone, that day's midnight in the person's zone."""
    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00"
    return local.iso_local(text.replace(" ", "T", 1))


def _csv_file(
    kind: CsvKind,
    name: str,
    stream: IO[bytes],
    report: ReportIssue,
    *,
    local: LocalTimes,
    note: Note = common.ignore_note,
) -> Iterator[Item]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    columns = {_column(c): i for i, c in enumerate(header)}
    needed = [c for c in (kind.time, kind.value, kind.until) if c]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise MalformedInput(
            N_("{name}: no {column} column"), name=name, column=" / ".join(missing)
        )
    at, value_at = columns[kind.time], columns[kind.value]
    until_at = columns[kind.until] if kind.until else None
    source_at = columns.get("data source")
    empty_at, flag = (columns.get(kind.empty[0]), kind.empty[1]) if kind.empty else (None, "")
    kept = [(c, columns[c]) for c in kind.metadata if c in columns]
    empty = 0
    for line, row in enumerate(reader, 2):
        if not row:
            continue
        where = f"{name} line {line}"
        if empty_at is not None and empty_at < len(row) and row[empty_at].strip().lower() == flag:
            empty += 1
            continue
        try:
            start, off = _csv_time(row[at], local)
            end = _csv_time(row[until_at], local)[0] if until_at is not None else None
            raw = row[value_at].strip()
        except (IndexError, ValueError, TypeError):
            report(where, N_("missing or impossible timestamp"))
            continue
        if not raw:
            continue  # an empty cell: nothing measured
        try:
            value = float(raw)
        except ValueError:
            report(where, N_("non-numeric value"))
            continue
        if end is None:
            end = start + kind.span_ms
        elif end < start:
            report(where, N_("ends before it starts"))
            continue
        device = row[source_at].strip() if source_at is not None and source_at < len(row) else ""
        device = device[:MAX_DEVICE]  # a name, not a payload: a longer one is cut
        source = f"{SOURCE} {device}".strip()
        metadata = tuple(
            (c.replace(" ", "_"), row[i].strip()[:MAX_DEVICE])
            for c, i in kept
            if i < len(row) and row[i].strip()
        )
        yield Sample(kind.metric, start, end, value, kind.unit, source, "", off, metadata)
    if empty:
        note(
            Text(
                N_plural(
                    "{name}: {n} row that Fitbit marks as not calculated was not imported",
                    "{name}: {n} rows that Fitbit marks as not calculated were not imported",
                ),
                name=name,
                n=empty,
            )
        )


# --- the importer ------------------------------------------------------------------------


def parse_fitbit(
    path: str | Path,
    report_issue: ReportIssue,
    note: Note = common.ignore_note,
    *,
    time_zone: str | None = None,
    weight_unit: str | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Item]:
    """Yield the samples and workouts of the Fitbit part of a Google Takeout (zip or folder).

    Each file is all or nothing: one that cannot be read is skipped whole and named in an
    issue. Problems with single records of a good file are reported once per file and
    problem, with a count. An unsafe archive is refused whole.
    """
    with _Tree(Path(path)) as tree:
        jobs, _ = plan(tree, note, time_zone=time_zone, weight_unit=weight_unit)
        if not jobs:
            raise MalformedInput(
                N_(
                    "{name}: no Fitbit data found (expected Fitbit/Global Export Data "
                    "or one of Fitbit's per-type CSV folders)"
                ),
                name=Path(path).name,
            )
        bar = Progress(N_("Reading Fitbit export"), progress)
        bar.start(len(jobs))
        for key, job in jobs:
            yield from _one_file(tree, key, job, report_issue)
            bar.advance()
        bar.finish()


def fitbit_zone(path: str | Path, time_zone: str | None) -> str:
    """The zone an import of PATH reads wall-clock times in (see `choose_zone`)."""
    if time_zone:
        return zone(time_zone)[0]
    with _Tree(Path(path)) as tree:
        return choose_zone(None, read_profile(tree), common.ignore_note)


def import_fitbit(
    vault: Vault,
    persona_id: str,
    path: str | Path,
    progress: ProgressCallback | None = None,
    *,
    time_zone: str | None = None,
    weight_unit: str | None = None,
) -> ImportSummary:
    """Import the Fitbit part of a Google Takeout in one transaction, each file whole or not
    at all; the summary's `time_zone` names the zone wall-clock times were read in."""
    if weight_unit is not None:
        parse_weight_unit(weight_unit)
    name = fitbit_zone(path, time_zone)
    # the parser chooses the same zone again, and says in a note why it is that one
    parse = partial(
        parse_fitbit, path, time_zone=time_zone, weight_unit=weight_unit, progress=progress
    )
    return common.feed(vault, persona_id, parse, fmt="fitbit", time_zone=name)
