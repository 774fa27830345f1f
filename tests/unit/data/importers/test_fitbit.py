"""Fitbit's part of a Google Takeout: Global Export Data JSON and the per-type CSV folders,
their time zones, weight units, per-file all-or-nothing, dedup and refusals.

The export is a faithful reproduction (`tests.builders.FITBIT_EXPORT`, whose docstring names
its sources): no real Fitbit export with a licence that allows copying it could be found.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.builders import FITBIT_ACTIVITY as PA
from tests.builders import FITBIT_EXPORT as EXPORT
from tests.builders import FITBIT_GLOBAL as G
from tests.builders import FITBIT_HEART as HEART
from tests.builders import FITBIT_PROFILE as PROFILE
from tests.builders import FITBIT_RESTING as RESTING
from tests.builders import FITBIT_STEPS as STEPS
from tests.builders import fitbit_profile as profile
from tests.builders import fitbit_zip as zipped
from tests.builders import write_tree as build
from tests.conftest import CORPUS
from vault.core.errors import InvalidParameter, MalformedInput, WrongFormat
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import fitbit
from vault.data.importers.fitbit import import_fitbit, parse_fitbit
from vault.data.importers.google_takeout import import_google_takeout
from vault.data.model import SLEEP_STAGES, Sample, Workout
from vault.imports import get_format

P = "0123456789abcdef0123456789abcdef"
NY = ZoneInfo("America/New_York")


def ms(*parts: int, tz: ZoneInfo = NY) -> int:
    return int(datetime(*parts, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


def utc(*parts: int) -> int:
    return ms(*parts, tz=ZoneInfo("UTC"))


def parse(
    path: Path, tz: str | None = None, weight_unit: str | None = None
) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(
        parse_fitbit(
            path,
            lambda loc, p: issues.append((loc, p)),
            notes.append,
            time_zone=tz,
            weight_unit=weight_unit,
        )
    )
    return items, issues, notes


def of(items: list[object], metric: str, source: str | None = None) -> list[Sample]:
    return [
        i
        for i in items
        if isinstance(i, Sample) and i.metric == metric and (source is None or i.source == source)
    ]


def test_global_export_data_in_the_profiles_zone(tmp_path: Path) -> None:
    items, issues, notes = parse(build(tmp_path, EXPORT))
    assert issues == []
    assert any("profile's zone, America/New_York" in n for n in notes)
    hr = of(items, "heart_rate", "Fitbit")
    expected = []
    for e in HEART:
        value: dict[str, int] = e["value"]  # type: ignore[assignment]
        local = datetime.strptime(str(e["dateTime"]), "%m/%d/%y %H:%M:%S").replace(tzinfo=NY)
        when = int(local.timestamp() * 1000)
        expected.append((when, value["bpm"], (("confidence", str(value["confidence"])),)))
    assert [(s.start, s.value, s.metadata) for s in hr] == expected
    assert hr[0].offset_min == -300
    steps = of(items, "steps", "Fitbit")
    assert [(s.start, s.end - s.start, s.value) for s in steps] == [
        (ms(2021, 1, 2, 8, 0), 60_000, 12.0),
        (ms(2021, 1, 2, 8, 1), 60_000, 30.0),
    ]
    (distance,) = of(items, "distance")
    assert (distance.value, distance.unit) == (950.0, "cm")
    (energy,) = of(items, "total_energy")  # Fitbit's calories count resting energy too
    assert (energy.value, energy.unit) == (1.5, "kcal")
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.activity == "walking" and workout.distance_m == 1500.0
    assert (workout.start, workout.duration_s) == (ms(2021, 1, 2, 12, 0), 1200.0)


def test_heart_rate_timestamps_follow_the_source_even_across_midnight(tmp_path: Path) -> None:
    """A file named for one day may hold the next day's first minutes: each entry's own
    date counts, not the file's name."""
    late = [{"dateTime": "01/03/21 00:00:05", "value": {"bpm": 50, "confidence": 1}}]
    items, _, _ = parse(
        build(tmp_path, {PROFILE: profile(), G + "heart_rate-2021-01-02.json": json.dumps(late)})
    )
    (hr,) = of(items, "heart_rate")
    assert hr.start == ms(2021, 1, 3, 0, 0, 5)


def test_resting_heart_rate_of_zero_is_no_measurement(tmp_path: Path) -> None:
    items, _, notes = parse(build(tmp_path, EXPORT))
    (rhr,) = of(items, "resting_heart_rate")
    assert (rhr.start, rhr.end - rhr.start, rhr.value) == (ms(2021, 1, 2), 86_400_000, 58.4)
    assert rhr.metadata == (("error", "6.8"),)
    unread = sum(1 for e in RESTING if not e["value"]["value"])  # type: ignore[index]
    entries = (
        "entry without a single value was" if unread == 1 else "entries without a single value were"
    )
    assert any(f"{unread} {entries} not imported" in n for n in notes)


def test_sleep_stages_and_classic_logs(tmp_path: Path) -> None:
    items, _, _ = parse(build(tmp_path, EXPORT))
    sleep = of(items, "sleep")
    expected = [
        (ms(2021, 1, 1, 23, 30), ms(2021, 1, 2, 0, 0), SLEEP_STAGES["core"]),
        (ms(2021, 1, 2, 0, 0), ms(2021, 1, 2, 0, 20), SLEEP_STAGES["deep"]),
        (ms(2021, 1, 2, 0, 20), ms(2021, 1, 2, 0, 30), SLEEP_STAGES["rem"]),
        (ms(2021, 1, 2, 14, 0), ms(2021, 1, 2, 14, 25), SLEEP_STAGES["asleep"]),
        (ms(2021, 1, 2, 14, 25), ms(2021, 1, 2, 14, 30), SLEEP_STAGES["awake"]),
    ]
    assert [(s.start, s.end, s.value) for s in sleep] == expected
    assert dict(sleep[0].metadata) == {
        "log_id": "30000000001",
        "type": "stages",
        "main_sleep": "True",
    }
    assert dict(sleep[-1].metadata)["type"] == "classic"


def test_weight_in_the_profiles_unit_and_named_for_the_scale(tmp_path: Path) -> None:
    items, _, _ = parse(build(tmp_path, EXPORT))
    (mass,) = of(items, "body_mass")
    assert (mass.value, mass.unit, mass.source) == (154.3, "lb", "Fitbit Aria")
    assert mass.start == ms(2021, 1, 2, 8, 30)
    (bmi,) = of(items, "body_mass_index")
    (fat,) = of(items, "body_fat")
    assert (bmi.value, fat.value, fat.unit) == (24.17, 21.5, "%")


def test_weight_unit_given_or_assumed(tmp_path: Path) -> None:
    files = {k: v for k, v in EXPORT.items() if k != PROFILE}
    items, _, notes = parse(build(tmp_path / "a", files), tz="UTC")
    assert of(items, "body_mass")[0].unit == "kg"
    assert any("--weight-unit" in n for n in notes)  # the assumption is said
    items, _, _ = parse(build(tmp_path / "b", EXPORT), weight_unit="kg")
    assert of(items, "body_mass")[0].unit == "kg"  # the option overrides the profile
    with pytest.raises(InvalidParameter):
        parse(build(tmp_path / "c", EXPORT), weight_unit="pounds")


def test_given_zone_overrides_the_profile(tmp_path: Path) -> None:
    items, _, _ = parse(build(tmp_path, EXPORT), tz="Europe/Paris")
    paris = ZoneInfo("Europe/Paris")
    assert of(items, "steps", "Fitbit")[0].start == ms(2021, 1, 2, 8, 0, tz=paris)
    # CSV timestamps that carry Z are instants: no zone moves them
    assert of(items, "heart_rate", "Fitbit Pixel Watch 2")[0].start == utc(2024, 5, 1, 6, 0)


def test_csv_folders(tmp_path: Path) -> None:
    items, issues, _ = parse(build(tmp_path, EXPORT))
    assert issues == []
    watch = of(items, "heart_rate", "Fitbit Pixel Watch 2")
    assert [(s.start, s.value) for s in watch] == [
        (utc(2024, 5, 1, 6, 0, 0), 61.0),
        (utc(2024, 5, 1, 6, 0, 5), 63.0),
    ]
    (steps,) = of(items, "steps", "Fitbit Pixel Watch 2")
    assert (steps.end - steps.start, steps.value) == (60_000, 40.0)
    hrv = of(items, "hrv_rmssd")
    # the HRV folder's timestamps carry no offset: wall-clock times in the profile's zone
    assert [(s.start, s.end - s.start, s.value) for s in hrv] == [
        (ms(2024, 5, 1, 0, 0), 0, 38.2),
        (ms(2024, 5, 1, 2, 0), 300_000, 41.0),
        (ms(2024, 5, 1, 2, 5), 300_000, 36.5),
    ]
    assert dict(hrv[0].metadata) == {"nremhr": "55.1", "entropy": "2.9"}
    assert dict(hrv[1].metadata)["low_frequency"] == "800.1"
    (score,) = of(items, "x:fitbit_sleep_score")
    assert (score.start, score.value) == (utc(2024, 5, 1, 12, 10), 81.0)
    assert dict(score.metadata)["sleep_log_entry_id"] == "30000000001"
    (spo2,) = of(items, "blood_oxygen")
    assert (spo2.value, spo2.unit, dict(spo2.metadata)["lower_bound"]) == (95.8, "%", "93.1")


def test_zip_and_folder_give_the_same_items(tmp_path: Path) -> None:
    from_zip, _, _ = parse(zipped(tmp_path, EXPORT))
    from_dir, _, _ = parse(build(tmp_path / "x", EXPORT))
    assert from_zip == from_dir


def test_the_extracted_fitbit_folder_alone_is_read(tmp_path: Path) -> None:
    files = {k.removeprefix("Takeout/"): v for k, v in EXPORT.items()}
    items, issues, _ = parse(build(tmp_path, files) / "Fitbit")
    whole, _, _ = parse(build(tmp_path / "whole", EXPORT))
    assert issues == [] and items == whole


def test_record_defects_are_counted_once_per_file(tmp_path: Path) -> None:
    bad = [{"dateTime": "13/45/21 08:00:00", "value": "3"}] * 3 + [
        {"dateTime": "01/02/21 08:00:00", "value": "many"}
    ]
    good = STEPS
    name = G + "steps-2021-01-02.json"
    items, issues, _ = parse(build(tmp_path, {PROFILE: profile(), name: json.dumps(bad + good)}))
    assert len(of(items, "steps")) == len(good)
    (issue,) = issues
    assert issue[0] == f"{name} entry 1"
    assert f"({len(bad)} records; the first is here)" in issue[1]


def test_a_bad_file_is_skipped_whole_and_the_others_kept(tmp_path: Path) -> None:
    name = G + "steps-2021-01-02.json"
    csv_name = PA + "steps_2024-05-01.csv"
    files = {
        **EXPORT,
        name: '[{"dateTime": "01/02/21 08:00:00", "value": "12"}, {"secret": 7x}]',
        csv_name: "when,how many\n2024-05-01T06:00:00Z,40\n",
    }
    items, issues, _ = parse(build(tmp_path, files))
    assert sorted(loc for loc, _ in issues) == sorted([name, csv_name])
    assert all(p.endswith("skipped whole, nothing imported from this file") for _, p in issues)
    assert all("secret" not in p for _, p in issues)  # nothing of the file is quoted
    assert of(items, "steps") == []  # neither file gave any step
    assert len(of(items, "heart_rate", "Fitbit")) == len(HEART)  # the other files are read


def test_kinds_left_out_are_named(tmp_path: Path) -> None:
    files = {
        **EXPORT,
        G + "time_in_heart_rate_zones-2021-01-02.json.txt": "x",
        "Takeout/Fitbit/Daily Readiness/Daily Readiness User Properties - 2023-01-01.csv": "x\n",
        PA + "swim_lengths_data_2024-05-01.csv": "timestamp,lap time,stroke count\n",
    }
    _, _, notes = parse(build(tmp_path, files))
    (note,) = [n for n in notes if "kinds not read" in n]
    assert "Daily Readiness/Daily Readiness User Properties (1)" in note
    assert "Physical Activity_GoogleData/swim_lengths_data (1)" in note


def test_no_fitbit_data(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput):
        parse(build(tmp_path, {"Takeout/Fit/All Data/x.json": "{}"}), tz="UTC")


def test_import_counts_and_reimport_adds_nothing(fresh_vault: Vault, tmp_path: Path) -> None:
    z = zipped(tmp_path, EXPORT)
    items, _, _ = parse(z)
    samples = [i for i in items if isinstance(i, Sample)]
    first = import_fitbit(fresh_vault, P, z)
    assert first.errors == ()
    assert first.time_zone == "America/New_York"
    assert first.added == len(samples)
    assert first.workouts == sum(1 for i in items if isinstance(i, Workout))
    stored = list(query.samples(fresh_vault, P, "heart_rate"))
    assert len(stored) == len(of(items, "heart_rate"))
    again = import_fitbit(fresh_vault, P, z)
    assert (again.added, again.workouts) == (0, 0)
    # the Google Takeout import reads the Fitbit part the same way: it adds nothing either
    takeout = import_google_takeout(fresh_vault, P, z)
    assert (takeout.time_zone, takeout.added, takeout.workouts) == ("America/New_York", 0, 0)


def test_a_bad_file_leaves_the_rest_imported(fresh_vault: Vault, tmp_path: Path) -> None:
    name = G + "heart_rate-2021-01-02.json"
    z = zipped(tmp_path, {**EXPORT, name: "[{"})
    summary = import_fitbit(fresh_vault, P, z)
    assert [e.location for e in summary.errors] == [name]
    assert list(query.samples(fresh_vault, P, "heart_rate"))  # the CSV's heart rate is in
    assert len(list(query.samples(fresh_vault, P, "steps"))) == len(STEPS) + 1


@pytest.mark.parametrize(
    ("files", "suggested"),
    [
        ({"Takeout/Fit/All Data/raw_x.json": "{}"}, "google-takeout"),
        ({"activities/ride.fit": "x"}, "garmin"),
    ],
)
def test_the_wrong_kind_of_archive_is_refused_by_name(
    tmp_path: Path, files: dict[str, str], suggested: str
) -> None:
    with pytest.raises(WrongFormat, match=f"coffre import {suggested}"):
        get_format("fitbit").check(zipped(tmp_path, files))


def test_a_single_json_file_is_refused(tmp_path: Path) -> None:
    lone = tmp_path / "heart_rate-2021-01-02.json"
    lone.write_text(json.dumps(HEART))
    with pytest.raises(WrongFormat):
        get_format("fitbit").check(lone)


def test_without_a_profile_the_machines_zone_is_used_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    files = {k: v for k, v in EXPORT.items() if k != PROFILE}
    items, _, notes = parse(build(tmp_path, files))
    tokyo = ZoneInfo("Asia/Tokyo")
    assert of(items, "steps", "Fitbit")[0].start == ms(2021, 1, 2, 8, 0, tz=tokyo)
    assert any("no Profile.csv" in n and "Asia/Tokyo" in n for n in notes)


def test_short_wakes_are_counted_not_stored(tmp_path: Path) -> None:
    """Stages logs list wakes shorter than three minutes apart (`levels.shortData`), over
    the stages they interrupt."""
    log = {
        "logId": 1,
        "startTime": "2021-01-01T23:30:00.000",
        "endTime": "2021-01-02T00:00:00.000",
        "type": "stages",
        "levels": {
            "data": [{"dateTime": "2021-01-01T23:30:00.000", "level": "light", "seconds": 1800}],
            "shortData": [
                {"dateTime": "2021-01-01T23:40:00.000", "level": "wake", "seconds": 60},
                {"dateTime": "2021-01-01T23:50:30.000", "level": "wake", "seconds": 90},
            ],
        },
    }
    files = {PROFILE: profile(), G + "sleep-2021-01-02.json": json.dumps([log])}
    items, _, notes = parse(build(tmp_path, files))
    assert len(of(items, "sleep")) == len(log["levels"]["data"])  # type: ignore[index]
    short = len(log["levels"]["shortData"])  # type: ignore[index]
    assert any(f"{short} short wakes" in n for n in notes)


def test_real_resting_heart_rate_files(tmp_path: Path) -> None:
    """Two real files (tests/corpus/fitbit, from FitOut): each day's value is read at local
    midnight of its own `dateTime`, whatever date the file's name says."""
    folder = tmp_path / "Takeout/Fitbit/Global Export Data"
    folder.mkdir(parents=True)
    expected = []
    for real in sorted((CORPUS / "fitbit").glob("resting_heart_rate-*.json")):
        shutil.copy(real, folder / real.name)
        for entry in json.loads(real.read_text()):
            day = datetime.strptime(entry["dateTime"], "%m/%d/%y %H:%M:%S")
            expected.append((ms(day.year, day.month, day.day), entry["value"]["value"]))
    items, issues, _ = parse(tmp_path, tz="America/New_York")
    assert issues == []
    rhr = of(items, "resting_heart_rate")
    assert sorted((s.start, s.value) for s in rhr) == sorted(expected)
    assert all(s.end - s.start == 86_400_000 for s in rhr)


def test_the_newest_takeouts_google_health_folder(tmp_path: Path) -> None:
    """The newest Takeouts name the folder `Google Health` instead of `Fitbit` (as a public
    pipeline's fixture shows): the same files give the same samples."""
    renamed = {k.replace("/Fitbit/", "/Google Health/"): v for k, v in EXPORT.items()}
    renamed["Takeout/Google Health/Paired Devices/Devices.csv"] = "wire_id,device_type\n"
    items, issues, notes = parse(build(tmp_path / "new", renamed))
    before, _, _ = parse(build(tmp_path / "old", EXPORT))
    assert issues == [] and items == before
    assert any("Paired Devices/Devices (1)" in n for n in notes)


def test_a_device_name_is_kept_short(tmp_path: Path) -> None:
    long_name = "W" * 5_000
    files = {
        PROFILE: profile(),
        PA + "steps_2024-05-01.csv": (
            f"timestamp,steps,data source\n2024-05-01T06:00:00Z,4,{long_name}\n"
        ),
    }
    items, _, _ = parse(build(tmp_path, files))
    (steps,) = of(items, "steps")
    assert steps.source == "Fitbit " + long_name[: fitbit.MAX_DEVICE]


# The scores and readings of the newer folders, reproduced from the columns each folder's
# README (and the public parsers of these exports) names; no real file of these kinds is
# published under a permissive licence. Times without an offset are wall-clock times.
STRESS = (
    "DATE,UPDATED_AT,STRESS_SCORE,SLEEP_POINTS,MAX_SLEEP_POINTS,RESPONSIVENESS_POINTS,"
    "MAX_RESPONSIVENESS_POINTS,EXERTION_POINTS,MAX_EXERTION_POINTS,STATUS,CALCULATION_FAILED\n"
    "2024-01-11T00:00:00,2024-01-11T07:23:52.009,0,0,0,0,0,0,0,NO_DATA,true\n"
    "2024-01-12T00:00:00,2024-01-12T17:07:49.634,79,25,30,24,30,30,40,READY,false\n"
    "2024-01-13T00:00:00,2024-01-13T07:33:56.804,bad,0,0,0,0,0,0,READY,false\n"
)
READINESS = (
    "date,readiness_score_value,readiness_state,activity_subcomponent,sleep_subcomponent,"
    "hrv_subcomponent,activity_state,sleep_state,hrv_state\n"
    "2024-01-12,71,MED,65,80,70,MED,HIGH,MED\n"
)
TEMPERATURE = (
    "type,sleep_start,sleep_end,temperature_samples,nightly_temperature,"
    "baseline_relative_sample_sum,baseline_relative_sample_sum_of_squares,"
    "baseline_relative_nightly_standard_deviation,baseline_relative_sample_standard_deviation\n"
    "SLEEP,2024-01-11T23:40:00,2024-01-12T07:10:00,412,33.9,-12.1,8.3,0.42,0.14\n"
    "SLEEP,2024-01-12T23:40:00,2024-01-12T07:10:00,412,34.0,-12.1,8.3,0.42,0.14\n"
)
AZM = (
    "date_time,heart_zone_id,total_minutes\n"
    "2024-01-12T09:30,FAT_BURN,1\n"
    "2024-01-12T09:31,CARDIO,2\n"
    "2024-01-12T09:32,PEAK,2\n"
)
AZM_GOOGLE = "timestamp,heart rate zone,total minutes\n2024-05-01T06:00:00Z,cardio,2\n"
NEW_FOLDERS = {
    PROFILE: profile(),
    "Takeout/Fitbit/Stress Score/Stress Score.csv": STRESS,
    "Takeout/Fitbit/Daily Readiness/Daily Readiness Score - 2024-01-01.csv": READINESS,
    "Takeout/Fitbit/Temperature/Computed Temperature - 2024-01-01.csv": TEMPERATURE,
    "Takeout/Fitbit/Active Zone Minutes (AZM)/Active Zone Minutes - 2024-01-01.csv": AZM,
    PA + "active_zone_minutes_2024-05-01.csv": AZM_GOOGLE,
}


def test_stress_readiness_temperature_and_zone_minutes(tmp_path: Path) -> None:
    items, issues, notes = parse(build(tmp_path, NEW_FOLDERS))
    (stress,) = of(items, "stress_score")
    assert (stress.start, stress.end - stress.start, stress.value) == (
        ms(2024, 1, 12, 0, 0),
        86_400_000,
        79.0,
    )
    assert dict(stress.metadata)["responsiveness_points"] == "24"
    # the row Fitbit marks as not calculated is no measurement; the bad one is reported
    assert any("1 row that Fitbit marks as not calculated" in n for n in notes)
    assert [p for loc, p in issues if "Stress Score.csv line 4" in loc] == ["non-numeric value"]
    (ready,) = of(items, "readiness_score")
    assert (ready.start, ready.value, dict(ready.metadata)["readiness_state"]) == (
        ms(2024, 1, 12, 0, 0),
        71.0,
        "MED",
    )
    (night,) = of(items, "skin_temperature")
    assert (night.start, night.end, night.value, night.unit) == (
        ms(2024, 1, 11, 23, 40),
        ms(2024, 1, 12, 7, 10),
        33.9,
        "Cel",
    )
    assert [p for loc, p in issues if "Computed Temperature" in loc] == ["ends before it starts"]
    zones = of(items, "active_zone_minutes")
    rows = [r.split(",") for r in AZM.splitlines()[1:]]
    from_azm = [z for z in zones if z.start < utc(2024, 3, 1)]
    assert sum(z.value for z in from_azm) == sum(float(r[2]) for r in rows)
    assert [dict(z.metadata)["heart_zone_id"] for z in from_azm] == [r[1] for r in rows]
    (google,) = [z for z in zones if z.start == utc(2024, 5, 1, 6, 0)]
    assert (google.value, dict(google.metadata)) == (2.0, {"heart_rate_zone": "cardio"})
    assert not [n for n in notes if "kinds not read" in n]


def test_the_new_kinds_are_imported_whole(fresh_vault: Vault, tmp_path: Path) -> None:
    summary = import_fitbit(fresh_vault, P, build(tmp_path, NEW_FOLDERS))
    for metric in ("stress_score", "readiness_score", "skin_temperature", "active_zone_minutes"):
        assert query.samples(fresh_vault, P, metric), metric
    assert import_fitbit(fresh_vault, P, build(tmp_path / "again", NEW_FOLDERS)).added == 0
    assert summary.added == sum(
        len(list(query.samples(fresh_vault, P, m)))
        for m in ("stress_score", "readiness_score", "skin_temperature", "active_zone_minutes")
    )


def test_older_exports_keep_temperature_in_sleep_and_stress_in_stress(tmp_path: Path) -> None:
    files = {
        PROFILE: profile(),
        "Takeout/Fitbit/Sleep/Computed Temperature - 2024-01-01.csv": TEMPERATURE,
        "Takeout/Fitbit/Stress/Stress Score.csv": STRESS,
    }
    older, _, _ = parse(build(tmp_path / "older", files))
    newer, _, _ = parse(build(tmp_path / "newer", NEW_FOLDERS))
    for metric in ("skin_temperature", "stress_score"):
        assert of(older, metric) == of(newer, metric) != []
