"""Google Takeout importer: Google Fit data points, sessions and daily CSVs; Fitbit's
offset-less two-digit-year files read in a stated time zone; zip or folder; bad input."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders import build, write_tree
from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import import_google_takeout, parse_google_takeout
from vault.data.importers.google_takeout import LocalTimes
from vault.data.model import SLEEP_STAGES, Sample, Workout

P = "0123456789abcdef0123456789abcdef"
PARIS = ZoneInfo("Europe/Paris")
NS = 1_000_000


def ms(*parts: int, tz: ZoneInfo = PARIS) -> int:
    return int(datetime(*parts, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


def point(type_: str, start_ms: int, end_ms: int, **value: float) -> dict[str, object]:
    return {
        "fitValue": [{"value": {k: v}} for k, v in value.items()],
        "originDataSourceId": "raw:" + type_ + ":com.example:phone",
        "endTimeNanos": end_ms * NS,
        "dataTypeName": type_,
        "startTimeNanos": start_ms * NS,
        "modifiedTimeMillis": end_ms,
    }


def data_file(type_: str, points: list[dict[str, object]]) -> str:
    source = f"derived:{type_}:com.google.android.gms:merged"
    return json.dumps({"Data Source": source, "Data Points": points}, indent=2)


T0 = ms(2021, 1, 2, 8, 0)

TAKEOUT: dict[str, str] = {
    "Takeout/Fit/All Data/derived_com.google.step_count.delta_com.google.android.gms_merged.json": (
        data_file(
            "com.google.step_count.delta",
            [
                point("com.google.step_count.delta", T0, T0 + 60_000, intVal=42),
                point("com.google.step_count.delta", T0 + 60_000, T0 + 120_000, intVal=17),
            ],
        )
    ),
    "Takeout/Fit/All Data/raw_com.google.heart_rate.bpm_com.example_phone.json": data_file(
        "com.google.heart_rate.bpm", [point("com.google.heart_rate.bpm", T0, T0, fpVal=61.5)]
    ),
    "Takeout/Fit/All Data/derived_com.google.sleep.segment_com.google.android.gms_merged.json": (
        data_file(
            "com.google.sleep.segment",
            [point("com.google.sleep.segment", T0 - 3_600_000, T0 - 1_800_000, intVal=5)],
        )
    ),
    "Takeout/Fit/All Data/derived_com.google.speed_com.google.android.gms_merged.json": data_file(
        "com.google.speed", [point("com.google.speed", T0, T0, fpVal=2.5)]
    ),
    "Takeout/Fit/All Sessions/2021-01-02T08_00_00+01_00_RUNNING.json": json.dumps(
        {
            "fitnessActivity": "running",
            "startTime": "2021-01-02T07:00:00.000Z",
            "endTime": "2021-01-02T07:30:00.000Z",
            "duration": "1800s",
            "segment": [
                {
                    "fitnessActivity": "running",
                    "startTime": "2021-01-02T07:00:00.000Z",
                    "endTime": "2021-01-02T07:30:00.000Z",
                }
            ],
            "aggregate": [
                {"metricName": "com.google.calories.expended", "floatValue": 250.5},
                {"metricName": "com.google.distance.delta", "floatValue": 4500.0},
                {"metricName": "com.google.step_count.delta", "intValue": 4200},
            ],
        }
    ),
    "Takeout/Fit/Daily activity metrics/2021-01-02.csv": (
        "Start time,End time,Move Minutes count,Calories (kcal),Step count\n"
        "08:00:00.000+01:00,08:15:00.000+01:00,3,12.5,59\n"
    ),
    "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json": json.dumps(
        [
            {"dateTime": "01/02/21 08:00:00", "value": "12"},
            {"dateTime": "01/02/21 08:01:00", "value": "30"},
        ]
    ),
    "Takeout/Fitbit/Global Export Data/heart_rate-2021-01-02.json": json.dumps(
        [{"dateTime": "01/02/21 08:00:05", "value": {"bpm": 72, "confidence": 2}}]
    ),
    "Takeout/Fitbit/Global Export Data/resting_heart_rate-2021-01-02.json": json.dumps(
        [{"dateTime": "01/02/21 00:00:00", "value": {"date": "01/02/21", "value": 58.4}}]
    ),
    "Takeout/Fitbit/Global Export Data/weight-2021-01-02.json": json.dumps(
        [{"logId": 1, "weight": 70.2, "bmi": 22.1, "date": "01/02/21", "time": "07:30:00"}]
    ),
    "Takeout/Fitbit/Global Export Data/lightly_active_minutes-2021-01-02.json": json.dumps(
        [{"dateTime": "01/02/21 00:00:00", "value": "95"}]
    ),
    "Takeout/Fitbit/Global Export Data/sleep-2021-01-02.json": json.dumps(
        [
            {
                "logId": 9,
                "dateOfSleep": "2021-01-02",
                "startTime": "2021-01-01T23:30:00.000",
                "endTime": "2021-01-02T00:30:00.000",
                "type": "stages",
                "levels": {
                    "data": [
                        {"dateTime": "2021-01-01T23:30:00.000", "level": "light", "seconds": 1800},
                        {"dateTime": "2021-01-02T00:00:00.000", "level": "rem", "seconds": 1800},
                    ]
                },
            }
        ]
    ),
    "Takeout/Fitbit/Global Export Data/exercise-2021-01-02.json": json.dumps(
        [
            {
                "logId": 5,
                "activityName": "Walk",
                "startTime": "01/02/21 12:00:00",
                "duration": 1_200_000,
                "calories": 90,
                "distance": 1.5,
                "distanceUnit": "Kilometer",
            }
        ]
    ),
}


def zipped(tmp_path: Path, files: dict[str, str]) -> Path:
    return build(tmp_path / "takeout-20210301.zip", files)


def parse(
    path: Path, tz: str | None = "Europe/Paris"
) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(
        parse_google_takeout(
            path, lambda loc, p: issues.append((loc, p)), notes.append, time_zone=tz
        )
    )
    return items, issues, notes


def samples_of(items: list[object], metric: str, source_prefix: str = "") -> list[Sample]:
    return [
        i
        for i in items
        if isinstance(i, Sample) and i.metric == metric and i.source.startswith(source_prefix)
    ]


def test_google_fit_data_points(tmp_path: Path) -> None:
    items, issues, notes = parse(write_tree(tmp_path, TAKEOUT))
    assert issues == []
    steps = samples_of(items, "steps", "Google Fit")
    assert [(s.start, s.end, s.value, s.unit) for s in steps] == [
        (T0, T0 + 60_000, 42, "count"),
        (T0 + 60_000, T0 + 120_000, 17, "count"),
    ]
    # named after the stream's own id, from the file's "Data Source"
    assert steps[0].source == (
        "Google Fit derived:com.google.step_count.delta:com.google.android.gms:merged"
    )
    assert steps[0].offset_min == 60  # Paris in January
    (hr,) = samples_of(items, "heart_rate", "Google Fit")
    assert hr.value == 61.5 and hr.unit == "/min"
    (sleep,) = samples_of(items, "sleep", "Google Fit")
    assert sleep.value == SLEEP_STAGES["deep"]
    (speed,) = samples_of(items, "x:com.google.speed")  # unknown to the registry: kept
    assert speed.value == 2.5 and speed.unit == "m/s"
    assert any("daily activity metrics" in n for n in notes)  # redundant with All Data


def test_google_fit_sessions(tmp_path: Path) -> None:
    items, _, _ = parse(write_tree(tmp_path, TAKEOUT))
    fit = [i for i in items if isinstance(i, Workout) and i.source == "Google Fit"]
    (w,) = fit
    assert w.activity == "running"
    assert (w.start, w.end) == (T0, T0 + 1_800_000)
    assert (w.distance_m, w.energy_kcal, w.duration_s) == (4500.0, 250.5, 1800.0)
    assert [e.kind for e in w.events] == ["segment"]


def test_daily_csv_used_without_all_data(tmp_path: Path) -> None:
    files = {k: v for k, v in TAKEOUT.items() if "All Data" not in k}
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert issues == []
    daily = [i for i in items if isinstance(i, Sample) and i.source == "Google Fit daily metrics"]
    assert {(s.metric, s.value) for s in daily} == {
        ("exercise_time", 3.0),
        ("total_energy", 12.5),  # Google Fit's calories count resting energy too
        ("steps", 59.0),
    }
    assert all((s.start, s.end) == (T0, T0 + 900_000) for s in daily)


def test_fitbit_local_times_in_the_given_zone(tmp_path: Path) -> None:
    items, issues, notes = parse(write_tree(tmp_path, TAKEOUT))
    assert issues == []
    steps = samples_of(items, "steps", "Fitbit")
    assert [(s.start, s.end, s.value) for s in steps] == [
        (T0, T0 + 60_000, 12.0),
        (T0 + 60_000, T0 + 120_000, 30.0),
    ]
    assert steps[0].offset_min == 60
    (hr,) = samples_of(items, "heart_rate", "Fitbit")
    assert (hr.start, hr.value) == (T0 + 5000, 72.0)
    (rhr,) = samples_of(items, "resting_heart_rate", "Fitbit")
    assert (rhr.start, rhr.end - rhr.start, rhr.value) == (ms(2021, 1, 2), 86_400_000, 58.4)
    (mass,) = samples_of(items, "body_mass", "Fitbit")
    assert (mass.start, mass.value) == (ms(2021, 1, 2, 7, 30), 70.2)
    (light,) = samples_of(items, "x:lightly_active_minutes")
    assert light.value == 95 and light.unit == "min"
    sleep = samples_of(items, "sleep", "Fitbit")
    assert [(s.start, s.value) for s in sleep] == [
        (ms(2021, 1, 1, 23, 30), SLEEP_STAGES["core"]),
        (ms(2021, 1, 2, 0, 0), SLEEP_STAGES["rem"]),
    ]
    (walk,) = [i for i in items if isinstance(i, Workout) and i.source == "Fitbit"]
    assert walk.activity == "walking" and walk.distance_m == 1500.0
    assert walk.start == ms(2021, 1, 2, 12, 0) and walk.duration_s == 1200
    assert any("kilograms" in n for n in notes)


def test_another_zone_shifts_fitbit_but_not_google_fit(tmp_path: Path) -> None:
    items, _, _ = parse(write_tree(tmp_path, TAKEOUT), tz="America/New_York")
    ny = ZoneInfo("America/New_York")
    assert samples_of(items, "steps", "Fitbit")[0].start == ms(2021, 1, 2, 8, 0, tz=ny)
    assert samples_of(items, "steps", "Fitbit")[0].offset_min == -300
    assert samples_of(items, "steps", "Google Fit")[0].start == T0  # UTC nanoseconds


def test_zip_and_folder_give_the_same_items(tmp_path: Path) -> None:
    from_zip, _, _ = parse(zipped(tmp_path, TAKEOUT))
    from_dir, _, _ = parse(write_tree(tmp_path / "x", TAKEOUT))
    assert from_zip == from_dir


@pytest.mark.parametrize(
    ("name", "text", "location"),
    [
        (
            "Takeout/Fitbit/Global Export Data/steps-2021-01-03.json",
            '[{"dateTime": "13/45/21 08:00:00", "value": "3"}, '
            '{"dateTime": "01/03/21 08:00:00", "value": "3"}]',
            "Takeout/Fitbit/Global Export Data/steps-2021-01-03.json entry 1",
        ),
        (
            "Takeout/Fitbit/Global Export Data/steps-2021-01-03.json",
            '[{"dateTime": "01/03/21 08:00:00", "value": "many"}, '
            '{"dateTime": "01/03/21 08:00:00", "value": "3"}]',
            "Takeout/Fitbit/Global Export Data/steps-2021-01-03.json entry 1",
        ),
        (
            "Takeout/Fit/All Data/raw_com.google.heart_rate.bpm_x.json",
            data_file(
                "com.google.heart_rate.bpm",
                [
                    point("com.google.heart_rate.bpm", 9 * 10**12, 9 * 10**12, fpVal=60.0),
                    point("com.google.heart_rate.bpm", T0, T0, fpVal=60.0),
                ],
            ),
            "Takeout/Fit/All Data/raw_com.google.heart_rate.bpm_x.json point 1",
        ),
        (
            "Takeout/Fit/All Data/raw_com.google.weight_x.json",
            data_file(
                "com.google.weight",
                [
                    {"dataTypeName": "com.google.weight", "startTimeNanos": "soon"},
                    point("com.google.weight", T0, T0, fpVal=70.0),
                ],
            ),
            "Takeout/Fit/All Data/raw_com.google.weight_x.json point 1",
        ),
    ],
)
def test_one_bad_entry_is_reported_and_skipped(
    tmp_path: Path, name: str, text: str, location: str
) -> None:
    items, issues, _ = parse(write_tree(tmp_path, {name: text}))
    assert len(items) == 1
    assert [loc for loc, _ in issues] == [location]


def test_a_bad_file_is_skipped_whole_and_named_without_its_text(tmp_path: Path) -> None:
    """Good entries before the break are not kept: the file is all or nothing."""
    name = "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json"
    files = {
        **TAKEOUT,
        name: '[{"dateTime": "01/02/21 08:00:00", "value": "12"}, {"secret": 7x}]',
    }
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert issues == [
        (name, f"{name}: malformed JSON: skipped whole, nothing imported from this file")
    ]
    assert samples_of(items, "steps", "Fitbit") == []
    assert len(samples_of(items, "steps", "Google Fit")) == 2  # the other files imported
    assert "secret" not in repr(issues)


def test_no_fitness_data(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match="no Google Fit or Fitbit data"):
        parse(zipped(tmp_path, {"Takeout/Mail/all.mbox": "From x"}))


def test_unknown_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="Mars/Olympus"):
        parse(write_tree(tmp_path, TAKEOUT), tz="Mars/Olympus")


def test_escaping_zip_member(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive):
        parse(zipped(tmp_path, {"../Takeout/Fit/All Data/x.json": "{}"}))


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("Takeout/Fit/All Data/a.json", b"0" * (20 << 20))
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        parse(z)


def test_import_names_the_zone_and_is_idempotent(fresh_vault: Vault, tmp_path: Path) -> None:
    z = zipped(tmp_path, TAKEOUT)
    first = import_google_takeout(fresh_vault, P, z, time_zone="Europe/Paris")
    assert first.time_zone == "Europe/Paris"
    assert first.errors == ()
    assert first.workouts == 2
    assert first.unknown_types == {"x:com.google.speed": 1, "x:lightly_active_minutes": 1}
    assert len(list(query.samples(fresh_vault, P, "steps"))) == 4
    again = import_google_takeout(fresh_vault, P, z, time_zone="Europe/Paris")
    assert (again.added, again.workouts) == (0, 0)


def test_default_zone_is_this_machines(
    fresh_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    summary = import_google_takeout(fresh_vault, P, zipped(tmp_path, TAKEOUT))
    assert summary.time_zone == "Asia/Tokyo"


def test_unsafe_archive_leaves_the_vault_unchanged(fresh_vault: Vault, tmp_path: Path) -> None:
    files = {**TAKEOUT, "../evil.json": "[]"}
    before = fresh_vault.store.counts()
    with pytest.raises(UnsafeArchive):
        import_google_takeout(fresh_vault, P, zipped(tmp_path, files), time_zone="UTC")
    assert fresh_vault.store.counts() == before


def test_what_is_not_read_is_said(tmp_path: Path) -> None:
    files = {
        "Takeout/Fitbit/Global Export Data/time_in_heart_rate_zones-2021-01-02.json": json.dumps(
            [
                {
                    "dateTime": "01/02/21 00:00:00",
                    "value": {"valuesInZones": {"IN_DEFAULT_ZONE_1": 5}},
                }
            ]
        ),
        "Takeout/Fitbit/Global Export Data/estimated_oxygen_variation-2021-01-02.csv": "a,b\n",
        "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json": "[]",
    }
    items, issues, notes = parse(write_tree(tmp_path, files))
    assert items == [] and issues == []
    assert any("1 entry without a single value was not imported" in n for n in notes)
    assert any("Global Export Data/estimated_oxygen_variation (1)" in n for n in notes)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_fitbit_times_match_zoneinfo(moment: datetime, zone_name: str) -> None:
    # The text carries no fold: an hour that repeats when clocks go back reads as its first
    # occurrence, as zoneinfo does for fold=0.
    moment = moment.replace(microsecond=0, fold=0)
    tz = ZoneInfo(zone_name)
    expected = moment.replace(tzinfo=tz)
    offset = expected.utcoffset()
    assert offset is not None
    got = LocalTimes(tz).fitbit(moment.strftime("%m/%d/%y %H:%M:%S"))
    assert got == (int(expected.timestamp()) * 1000, int(offset.total_seconds()) // 60)
