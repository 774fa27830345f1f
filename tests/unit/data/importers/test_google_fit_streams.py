"""Google Fit in a Takeout: streams identified by their own `Data Source`, the one stream
counted per type, day totals equal to Takeout's own "Daily activity metrics", energy by its
definition, multi-field types kept whole, sessions in the zone given, and the per-file rule.

No Google Fit Takeout under a licence that allows keeping it here could be found, so these
tests build faithful reproductions following the layout and JSON of real Takeouts
(`Takeout/Fit/All Data/<raw|derived>_<type>_<app>_<stream>.json` holding `{"Data Source":
<stream id>, "Data Points": [{"fitValue": [{"value": {"intVal"|"fpVal": ...}}],
"originDataSourceId", "startTimeNanos", "endTimeNanos", "dataTypeName",
"modifiedTimeMillis"}]}`, names cut and numbered `(1)`, `(2)` when too long; per-day CSVs of
15-minute rows) and the field lists of Google Fit's data types.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.builders import build, write_tree
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import fitbit, google_takeout, import_google_takeout, parse_google_takeout
from vault.data.model import Sample, Workout

P = "0123456789abcdef0123456789abcdef"
ZONE = "Europe/Paris"
PARIS = ZoneInfo(ZONE)
NS = 1_000_000
ALL = "Takeout/Fit/All Data/"
GMS = "com.google.android.gms"
STEPS = "com.google.step_count.delta"
CALORIES = "com.google.calories.expended"
PHONE = "raw:com.google.step_count.delta:com.google.android.gms:Google:Pixel 4a:3d1f:Step Counter"
WATCH = "raw:com.google.step_count.delta:com.mobvoi.companion.aw:Mobvoi:TicWatch:99ab:steps"
DAYS = [datetime(2021, 3, d, tzinfo=PARIS) for d in (1, 2, 3)]


def ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def fit_point(
    type_: str, start: int, end: int, *values: float, origin: str = PHONE
) -> dict[str, object]:
    key = "intVal" if type_ == STEPS else "fpVal"
    return {
        "fitValue": [{"value": {key: v}} for v in values],
        "originDataSourceId": origin,
        "endTimeNanos": end * NS,
        "dataTypeName": type_,
        "startTimeNanos": start * NS,
        "modifiedTimeMillis": end,
    }


def stream_file(stream_id: str, points: list[dict[str, object]]) -> str:
    return json.dumps({"Data Source": stream_id, "Data Points": points}, indent=2)


def minutes(rng: random.Random, day: datetime, every: int) -> list[int]:
    """Starts (UTC ms) of one-minute intervals with activity, across the local day."""
    first = ms(day.replace(hour=7))
    return [first + m * 60_000 for m in range(0, 14 * 60, every) if rng.random() < 0.6]


def reproduction() -> tuple[dict[str, str], dict[str, list[tuple[int, int, float]]]]:
    """Three days of steps and calories as Google Fit keeps them: a phone and a watch each
    write a raw step stream (overlapping), Google derives `merge_step_deltas` (their union)
    and `estimated_steps` (its estimate, which the Fit app shows), and
    `merge_calories_expended`; the daily CSVs sum the estimated steps and the merged
    calories per 15 minutes of the local day. Returns the files and each stream's points."""
    rng = random.Random(7)
    streams: dict[str, list[tuple[int, int, float]]] = {}
    phone: list[tuple[int, int, float]] = []
    watch: list[tuple[int, int, float]] = []
    for day in DAYS:
        for t in minutes(rng, day, 3):
            phone.append((t, t + 60_000, float(rng.randint(20, 120))))
        for t in minutes(rng, day, 5):
            watch.append((t, t + 60_000, float(rng.randint(30, 130))))
    merged = sorted({(s, e): v for s, e, v in [*phone, *watch]}.items())
    merge_steps = [(s, e, v) for (s, e), v in merged]
    estimated = [(s, e, v + (3.0 if int(s // 60_000) % 7 == 0 else 0.0)) for s, e, v in merge_steps]
    calories = [(s, e, round(v * 0.04 + 1.1, 3)) for s, e, v in estimated]
    streams[f"derived:{STEPS}:{GMS}:estimated_steps"] = estimated
    streams[f"derived:{STEPS}:{GMS}:merge_step_deltas"] = merge_steps
    streams[PHONE] = phone
    streams[WATCH] = watch
    streams[f"derived:{CALORIES}:{GMS}:merge_calories_expended"] = calories
    names = {
        f"derived:{STEPS}:{GMS}:estimated_steps": f"derived_{STEPS}_{GMS}_estimated_steps.json",
        f"derived:{STEPS}:{GMS}:merge_step_deltas": f"derived_{STEPS}_{GMS}_merge_step_deltas.json",
        PHONE: f"raw_{STEPS}_com.google.a(1).json",  # Takeout cuts long names and numbers them
        WATCH: f"raw_{STEPS}_com.google.a(2).json",
        f"derived:{CALORIES}:{GMS}:merge_calories_expended": (
            f"derived_{CALORIES}_{GMS}_merge_calories_expended.json"
        ),
    }
    files: dict[str, str] = {}
    for sid, points in streams.items():
        type_ = sid.split(":")[1]
        files[ALL + names[sid]] = stream_file(
            sid, [fit_point(type_, s, e, v) for s, e, v in points]
        )
    for day in DAYS:
        rows = ["Start time,End time,Calories (kcal),Step count"]
        for q in range(96):
            b0 = day + timedelta(minutes=15 * q)
            b1 = b0 + timedelta(minutes=15)
            lo, hi = ms(b0), ms(b1)
            st = sum(v for s, _, v in estimated if lo <= s < hi)
            kc = sum(v for s, _, v in calories if lo <= s < hi)
            if st or kc:
                rows.append(
                    f"{b0:%H:%M:%S}.000{b0:%z}"[:-2]
                    + f":00,{b1:%H:%M:%S}.000{b1:%z}"[:-2]
                    + f":00,{kc!r},{st:g}"
                )
        files[f"Takeout/Fit/Daily activity metrics/{day:%Y-%m-%d}.csv"] = "\n".join(rows) + "\n"
    return files, streams


def csv_day_totals(files: dict[str, str], column: str) -> dict[str, float]:
    """Takeout's own daily totals, read from its CSVs."""
    totals: dict[str, float] = {}
    for name, text in files.items():
        if "Daily activity metrics" in name:
            rows = csv.DictReader(io.StringIO(text))
            totals[Path(name).stem] = sum(float(r[column] or 0) for r in rows)
    return totals


def parse(path: Path) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(
        parse_google_takeout(path, lambda *i: issues.append(i), notes.append, time_zone=ZONE)
    )
    return items, issues, notes


def test_day_totals_equal_takeouts_daily_metrics(fresh_vault: Vault, tmp_path: Path) -> None:
    files, streams = reproduction()
    summary = import_google_takeout(fresh_vault, P, write_tree(tmp_path, files), time_zone=ZONE)
    assert summary.errors == ()
    for metric, column in (("steps", "Step count"), ("total_energy", "Calories (kcal)")):
        expected = csv_day_totals(files, column)
        buckets = query.aggregate(fresh_vault, P, metric, "day", tz=ZONE)
        got = {
            datetime.fromtimestamp(b.start / 1000, PARIS).strftime("%Y-%m-%d"): b.sum
            for b in buckets
        }
        assert got.keys() == expected.keys()
        for day, total in expected.items():
            assert got[day] == pytest.approx(total), (metric, day)
    # the raw and the other derived streams are kept, each under its own id, not counted
    kept = list(query.samples(fresh_vault, P, f"x:{STEPS}"))
    by_source: dict[str, int] = {}
    for s in kept:
        by_source[s.source] = by_source.get(s.source, 0) + 1
    assert by_source == {
        "Google Fit " + sid: len(points)
        for sid, points in streams.items()
        if STEPS in sid and not sid.endswith("estimated_steps")
    }
    # they overlap: counting them all would not give Takeout's totals
    day_one = csv_day_totals(files, "Step count")["2021-03-01"]
    lo, hi = ms(DAYS[0]), ms(DAYS[1])
    everything = sum(
        v for sid, p in streams.items() if STEPS in sid for s, _, v in p if lo <= s < hi
    )
    assert everything > day_one


def test_a_renumbered_takeout_adds_nothing(fresh_vault: Vault, tmp_path: Path) -> None:
    """The second Takeout numbers the two cut names the other way round: the samples still
    belong to the stream named inside each file, so nothing is added again."""
    files, _ = reproduction()
    first = import_google_takeout(fresh_vault, P, build(tmp_path / "a.zip", files), time_zone=ZONE)
    one, two = (ALL + f"raw_{STEPS}_com.google.a({n}).json" for n in (1, 2))
    swapped = {**files, one: files[two], two: files[one]}
    again = import_google_takeout(
        fresh_vault, P, build(tmp_path / "b.zip", swapped), time_zone=ZONE
    )
    assert first.added > 0
    assert (again.added, again.errors) == (0, ())
    assert again.duplicates == first.added
    sources = {s.source for s in query.samples(fresh_vault, P, f"x:{STEPS}")}
    assert "Google Fit " + PHONE in sources and "Google Fit " + WATCH in sources


def test_without_a_merged_stream_every_stream_counts(tmp_path: Path) -> None:
    t = ms(DAYS[0].replace(hour=9))
    files = {
        ALL + f"raw_{STEPS}_x.json": stream_file(PHONE, [fit_point(STEPS, t, t + 60_000, 10)]),
        ALL + f"raw_{STEPS}_y.json": stream_file(WATCH, [fit_point(STEPS, t, t + 60_000, 12)]),
    }
    items, issues, notes = parse(write_tree(tmp_path, files))
    assert issues == [] and notes == []
    assert sorted((i.source, i.value) for i in items if isinstance(i, Sample)) == [
        ("Google Fit " + PHONE, 10.0),
        ("Google Fit " + WATCH, 12.0),
    ]
    assert {i.metric for i in items if isinstance(i, Sample)} == {"steps"}


def test_energy_follows_each_types_definition(tmp_path: Path) -> None:
    """calories.expended is total energy (resting included); calories.bmr is a rate in kcal
    per day: over an interval it is the resting energy of that interval, at an instant it
    is kept as the rate it is."""
    t = ms(DAYS[0].replace(hour=6))
    bmr = f"derived:com.google.calories.bmr:{GMS}:merged"
    files = {
        ALL + "derived_com.google.calories.expended_x.json": stream_file(
            f"derived:{CALORIES}:{GMS}:merge_calories_expended",
            [fit_point(CALORIES, t, t + 3_600_000, 95.5)],
        ),
        ALL + "derived_com.google.calories.bmr_x.json": stream_file(
            bmr,
            [
                fit_point("com.google.calories.bmr", t, t + 6 * 3_600_000, 1600.0),
                fit_point("com.google.calories.bmr", t, t, 1650.0),
            ],
        ),
    }
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert issues == []
    got = sorted((i.metric, i.value, i.unit) for i in items if isinstance(i, Sample))
    assert got == [
        ("basal_energy", pytest.approx(1600.0 / 4), "kcal"),
        ("total_energy", 95.5, "kcal"),
        ("x:com.google.calories.bmr", 1650.0, "kcal/d"),
    ]


def test_multi_field_types_are_kept_whole(tmp_path: Path) -> None:
    t = ms(DAYS[0].replace(hour=10))
    loc = f"derived:com.google.location.sample:{GMS}:merge_location_samples"
    bp = "raw:com.google.blood_pressure:com.omronhealthcare.omronconnect:"
    files = {
        ALL + "derived_com.google.location.sample_x.json": stream_file(
            loc, [fit_point("com.google.location.sample", t, t, 52.3579123, 4.8686456, 12.0, 3.5)]
        ),
        ALL + "raw_com.google.blood_pressure_x.json": stream_file(
            bp, [fit_point("com.google.blood_pressure", t, t, 121.0, 79.0)]
        ),
        ALL + "raw_com.google.nutrition_x.json": stream_file(
            "raw:com.google.nutrition:com.myfitnesspal.android:",
            [
                {
                    "fitValue": [
                        {"value": {"mapVal": [{"key": "calories", "value": {"fpVal": 310.0}}]}},
                        {"value": {"intVal": 2}},
                        {"value": {"stringVal": "porridge"}},
                    ],
                    "dataTypeName": "com.google.nutrition",
                    "startTimeNanos": t * NS,
                    "endTimeNanos": t * NS,
                }
            ],
        ),
    }
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert issues == []
    (place,) = [i for i in items if isinstance(i, Sample) and "location" in i.metric]
    assert dict(place.metadata) == {
        "latitude": "52.3579123",
        "longitude": "4.8686456",
        "accuracy": "12",
        "altitude": "3.5",
    }
    pressure = sorted(
        (i.metric, i.value) for i in items if isinstance(i, Sample) and "blood" in i.metric
    )
    assert pressure == [("blood_pressure_diastolic", 79.0), ("blood_pressure_systolic", 121.0)]
    (meal,) = [i for i in items if isinstance(i, Sample) and "nutrition" in i.metric]
    fields = dict(meal.metadata)
    assert json.loads(fields["nutrients"]) == [{"key": "calories", "value": {"fpVal": 310.0}}]
    assert (fields["meal_type"], fields["food_item"]) == ("2", "porridge")


def test_sessions_are_shown_in_the_zone_given(tmp_path: Path) -> None:
    session = {
        "fitnessActivity": "running",
        "startTime": "2021-07-02T05:00:00.000Z",
        "endTime": "2021-07-02T05:30:00.000Z",
        "aggregate": [{"metricName": CALORIES, "floatValue": 250.5}],
    }
    files = {"Takeout/Fit/All Sessions/2021-07-02T07_00_00+02_00_RUNNING.json": json.dumps(session)}
    items, _, _ = parse(write_tree(tmp_path, files))
    (w,) = items
    assert isinstance(w, Workout)
    assert w.offset_min == 120  # Paris in summer
    assert w.start == ms(datetime(2021, 7, 2, 7, 0, tzinfo=PARIS))
    assert ("energy", "total, resting included") in w.metadata


def test_every_bad_file_is_skipped_whole_whatever_went_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = ms(DAYS[0].replace(hour=9))
    good = stream_file(PHONE, [fit_point(STEPS, t, t + 60_000, 10)])
    broken = good[: good.index('"startTimeNanos"')]  # cut short: the file ends mid-point
    files = {
        ALL + "raw_a.json": good,
        ALL + "raw_b.json": broken,
        "Takeout/Fit/All Sessions/bad.json": "{not json",
        "Takeout/Fitbit/Global Export Data/steps-2021-03-01.json": "[]",
    }
    root = write_tree(tmp_path, files)
    (root / "Takeout/Fitbit/Global Export Data/heart_rate-2021-03-01.json").write_bytes(
        b'[{"dateTime": "03/01/21 08:00:00", "value": {"bpm": 7\xff}}]'
    )

    def explode(*_: object) -> Sample:
        raise RuntimeError("value 7 quoted from the file")

    monkeypatch.setattr(fitbit, "_point", explode)
    (root / "Takeout/Fitbit/Global Export Data/steps-2021-03-01.json").write_text(
        '[{"dateTime": "03/01/21 08:00:00", "value": "12"}]'
    )
    items, issues, _ = parse(root)
    assert [i.value for i in items if isinstance(i, Sample)] == [10.0]
    problems = dict(issues)
    suffix = ": skipped whole, nothing imported from this file"
    assert set(problems) == {
        ALL + "raw_b.json",
        "Takeout/Fit/All Sessions/bad.json",
        "Takeout/Fitbit/Global Export Data/heart_rate-2021-03-01.json",
        "Takeout/Fitbit/Global Export Data/steps-2021-03-01.json",
    }
    assert all(p.endswith(suffix) for p in problems.values())
    assert problems["Takeout/Fitbit/Global Export Data/steps-2021-03-01.json"] == (
        "RuntimeError" + suffix
    )
    assert "quoted" not in repr(issues)


def test_a_large_file_is_checked_before_it_is_read(
    fresh_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the size held in memory, a file is read twice: the first pass finds a fault
    anywhere in it before any of its points reaches the vault."""
    monkeypatch.setattr(google_takeout, "BUFFER_BYTES", 0)
    files, _ = reproduction()
    estimated = ALL + f"derived_{STEPS}_{GMS}_estimated_steps.json"
    text = files[estimated]
    files[estimated] = text[: len(text) * 3 // 4]  # thousands of good points, then the end
    summary = import_google_takeout(fresh_vault, P, write_tree(tmp_path, files), time_zone=ZONE)
    ((location, problem),) = [(e.location, e.problem) for e in summary.errors]
    assert location == estimated and problem.endswith("nothing imported from this file")
    steps = list(query.samples(fresh_vault, P, "steps"))
    assert steps == []  # the counted stream was the damaged one: none of it is kept
    assert list(query.samples(fresh_vault, P, f"x:{STEPS}"))  # the others were imported


def test_bad_points_of_a_good_file_make_one_issue_with_a_count(tmp_path: Path) -> None:
    t = ms(DAYS[0].replace(hour=9))
    bad = [{"dataTypeName": STEPS, "startTimeNanos": "soon"} for _ in range(5)]
    files = {ALL + "raw_a.json": stream_file(PHONE, [fit_point(STEPS, t, t + 60_000, 10), *bad])}
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert len(items) == 1
    assert issues == [
        (
            ALL + "raw_a.json point 2",
            "data point without a type or valid times: skipped (5 records; the first is here)",
        )
    ]


def test_values_out_of_range_are_reported_once_per_file_and_metric(tmp_path: Path) -> None:
    t = ms(DAYS[0].replace(hour=7))
    weight = "raw:com.google.weight:com.withings.wiscale2:"
    name = ALL + "raw_com.google.weight_x.json"
    files = {
        name: stream_file(
            weight,
            [
                fit_point("com.google.weight", t, t, 70.2),
                fit_point("com.google.weight", t + 1000, t + 1000, 0.0),
                fit_point("com.google.weight", t + 2000, t + 2000, 1500.0),
            ],
        )
    }
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert [(i.metric, i.value) for i in items if isinstance(i, Sample)] == [("body_mass", 70.2)]
    assert issues == [
        (name, "2 body_mass values outside 0.2–700 kg skipped (the first: 0 kg, 0 kg)")
    ]


def test_a_stream_that_does_not_count_stays_out_of_sleep_too(tmp_path: Path) -> None:
    t = ms(DAYS[0].replace(hour=1))
    sleep = "com.google.sleep.segment"
    merged = f"derived:{sleep}:{GMS}:merged"
    raw = f"raw:{sleep}:com.urbandroid.sleep:"
    files = {
        ALL + f"derived_{sleep}_x.json": stream_file(merged, [fit_point(sleep, t, t + 60_000, 5)]),
        ALL + f"raw_{sleep}_y.json": stream_file(raw, [fit_point(sleep, t, t + 60_000, 5)]),
    }
    items, issues, _ = parse(write_tree(tmp_path, files))
    assert issues == []
    assert sorted((i.metric, i.source) for i in items if isinstance(i, Sample)) == [
        ("sleep", "Google Fit " + merged),
        (f"x:{sleep}", "Google Fit " + raw),
    ]
