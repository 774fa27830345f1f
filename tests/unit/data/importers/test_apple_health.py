"""Apple Health importer: real exports, iOS 16 quirks, correlations, workouts and routes,
bad input reported with its location, and atomic, idempotent imports into a vault."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.core.errors import MalformedInput, TruncatedArchive, UnsafeArchive
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import import_apple_health, parse_apple_health
from vault.data.importers.apple_health import AppleTimes, pick_export_xml
from vault.data.model import SLEEP_STAGES, ActivitySummary, HealthProfile, Sample, Workout

P = "0123456789abcdef0123456789abcdef"

BROKEN_DTD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 12 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  brand            CDATA #IMPLIED

<!ELEMENT RightEye EMPTY>
]>
"""


def rec(type_: str, value: str, start: str, end: str | None = None, **extra: str) -> str:
    attrs = "".join(f' {k}="{v}"' for k, v in extra.items())
    return (
        f'<Record type="{type_}" sourceName="Watch"{attrs} startDate="{start}" '
        f'endDate="{end or start}" value="{value}"/>\n'
    )


def export(body: str, head: str = "") -> str:
    return (
        f'{head}<HealthData locale="en_US">\n'
        f'<ExportDate value="2024-01-01 00:00:00 +0000"/>\n{body}</HealthData>\n'
    )


def parse(path: Path) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_apple_health(path, lambda loc, p: issues.append((loc, p)), notes.append))
    return items, issues, notes


def write(tmp_path: Path, text: str | bytes, name: str = "export.xml") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


# --- real exports ---------------------------------------------------------------------------


def test_real_zip_export(corpus: Path) -> None:
    items, issues, _ = parse(corpus / "apple-health/alxdrcirilo-export.zip")
    assert issues == []
    profiles = [i for i in items if isinstance(i, HealthProfile)]
    items = [i for i in items if not isinstance(i, HealthProfile)]
    assert all(isinstance(i, Sample) for i in items)
    # <Me>: the birth date as written, the enumeration cases in words, NotSet left out
    root = ET.parse(corpus / "apple-health/alxdrcirilo-export.xml").getroot()  # noqa: S314  # a corpus file
    me = root.find("Me")
    assert me is not None
    (profile,) = profiles
    values = dict(profile.values)
    assert values["birth_date"] == me.get("HKCharacteristicTypeIdentifierDateOfBirth")
    assert values["biological_sex"] == "male"
    assert values["blood_type"] == "A-"
    assert "skin_type" not in values
    by_metric = {}
    for s in items:
        assert isinstance(s, Sample)
        by_metric.setdefault(s.metric, []).append(s)
    assert sorted(by_metric) == [
        "active_energy",
        "exercise_time",
        "heart_rate",
        "sleep",
        "stand_time",
    ]
    hr = by_metric["heart_rate"][0]
    # 2024-01-01 01:01:36 +0200 is 2023-12-31 23:01:36 UTC
    assert hr.start == int(datetime(2023, 12, 31, 23, 1, 36, tzinfo=UTC).timestamp() * 1000)
    assert hr.offset_min == 120
    assert hr.value == 74 and hr.unit == "count/min"
    assert hr.device.startswith("name:Apple Watch")  # per-record object address dropped
    assert ("HKMetadataKeyHeartRateMotionContext", "0") in hr.metadata
    stages = sorted(s.value for s in by_metric["sleep"])
    assert stages == [SLEEP_STAGES["in_bed"], SLEEP_STAGES["core"]]
    assert ("HKTimeZone", "Europe/Amsterdam") in by_metric["sleep"][0].metadata


def test_real_export_with_inline_route_and_summaries(corpus: Path) -> None:
    items, issues, _ = parse(corpus / "apple-health/dogsheep-export.xml")
    assert issues == []
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.activity == "running"
    assert workout.offset_min == -420
    assert workout.distance_m == pytest.approx(0.4971749504535062 * 1609.344)
    assert workout.energy_kcal == pytest.approx(48.745)
    assert workout.duration_s == pytest.approx(5.19412346680959 * 60)
    assert len(workout.route) == 2 and workout.route[0].lat == pytest.approx(37.7777)
    assert ("HKTimeZone", "America/Los_Angeles") in workout.metadata
    summaries = [i for i in items if isinstance(i, ActivitySummary)]
    assert [s.day for s in summaries] == ["2016-11-15", "2016-11-16"]
    assert summaries[0].active_energy_kcal == pytest.approx(590.252)
    assert summaries[0].stand_goal_hours == 12
    bmi = next(i for i in items if isinstance(i, Sample) and i.metric == "body_mass_index")
    assert ("HKWasUserEntered", "0") in bmi.metadata


def test_real_export_with_route_file_in_zip(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "apple-health"
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "dogsheep-zip-export.xml", "apple_health_export/export.xml")
        zf.writestr("apple_health_export/export_cda.xml", "<not even <closed")
        zf.write(
            src / "dogsheep-route_2019-06-11_3.00pm.gpx",
            "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx",
        )
    items, issues, _ = parse(z)
    assert issues == []
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert [p.lon for p in workout.route] == [-122.396397, -122.396396, -122.396394]
    assert workout.route[2].elevation == pytest.approx(4.085232)


def test_route_file_found_next_to_an_unzipped_export(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "apple-health"
    folder = tmp_path / "apple_health_export"
    (folder / "workout-routes").mkdir(parents=True)
    shutil.copy(src / "dogsheep-zip-export.xml", folder / "export.xml")
    shutil.copy(
        src / "dogsheep-route_2019-06-11_3.00pm.gpx",
        folder / "workout-routes/route_2019-06-11_3.00pm.gpx",
    )
    items, issues, _ = parse(tmp_path)  # the folder holding apple_health_export/ works too
    assert issues == []
    assert len(next(i for i in items if isinstance(i, Workout)).route) == 3


def _export_with_route(z: Path, src: Path, route: bytes) -> Path:
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "dogsheep-zip-export.xml", "apple_health_export/export.xml")
        zf.writestr("apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx", route)
    return z


def test_a_damaged_route_file_is_skipped_whole(corpus: Path, tmp_path: Path) -> None:
    """The real route cut in the middle of a point: the file is skipped whole (none of its
    points kept), named by its path in the zip, and the workout is kept."""
    real = (corpus / "apple-health/dogsheep-route_2019-06-11_3.00pm.gpx").read_bytes()
    cut = real[: real.index(b"</trkpt>") + 20]
    items, issues, _ = parse(
        _export_with_route(tmp_path / "export.zip", corpus / "apple-health", cut)
    )
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.route == ()
    ((location, problem),) = issues
    assert location == "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx"
    assert problem.endswith(": skipped whole, nothing imported from this file")


def test_an_unexpected_failure_in_a_route_names_only_its_class(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.data.importers import apple_health

    def explode(*_: object) -> list[object]:
        raise RuntimeError("lat=37.7777 quoted from the file")

    monkeypatch.setattr(apple_health, "gpx_points", explode)
    real = (corpus / "apple-health/dogsheep-route_2019-06-11_3.00pm.gpx").read_bytes()
    items, issues, _ = parse(
        _export_with_route(tmp_path / "export.zip", corpus / "apple-health", real)
    )
    assert len([i for i in items if isinstance(i, Workout)]) == 1
    ((_, problem),) = issues
    assert problem == "RuntimeError: skipped whole, nothing imported from this file"


def test_missing_route_file_is_reported_and_workout_kept(corpus: Path) -> None:
    items, issues, _ = parse(corpus / "apple-health/dogsheep-zip-export.xml")
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.route == ()
    assert len(issues) == 1 and "route file" in issues[0][1] and "line" in issues[0][0]


# --- quirks ---------------------------------------------------------------------------------


def test_ios16_broken_dtd_and_control_characters(tmp_path: Path) -> None:
    """A faithful reproduction of what iOS 16 writes (HealthKit Export Version 12: an
    ATTLIST left unclosed in the internal DTD; \\x0b inside an attribute), since no real
    iOS 16 export under a licence that allows keeping it here could be had."""
    body = rec(
        "HKQuantityTypeIdentifierStepCount",
        "12",
        "2022-10-01 08:00:00 +0200",
        "2022-10-01 08:05:00 +0200",
        unit="count",
        device="iPhone\x0b 14",
    ) + rec(
        "HKQuantityTypeIdentifierHeartRate", "61", "2022-10-01 08:00:00 +0200", unit="count/min"
    )
    path = write(tmp_path, export(body, BROKEN_DTD))
    with pytest.raises(ET.ParseError):  # what strict parsers do with it
        ET.parse(path)  # noqa: S314  # our own test file, parsed to show the failure
    items, issues, notes = parse(path)
    assert issues == []
    assert [s.metric for s in items if isinstance(s, Sample)] == ["steps", "heart_rate"]
    assert items[0].device == "iPhone 14"  # type: ignore[union-attr]
    assert any("DTD" in n for n in notes) and any("stray control character" in n for n in notes)


def test_malformed_xml_beyond_the_quirks_names_the_line(tmp_path: Path) -> None:
    body = rec("HKQuantityTypeIdentifierStepCount", "1", "2022-10-01 08:00:00 +0200", unit="count")
    path = write(tmp_path, export(body + "<Record type='x'>\n<oops></Record>\n"))
    with pytest.raises(MalformedInput, match=r"export.xml line 5 column \d+: malformed XML"):
        parse(path)


def test_line_numbers_survive_the_dtd_removal(tmp_path: Path) -> None:
    body = "\n" + rec("HKQuantityTypeIdentifierStepCount", "x", "2022-10-01 08:00:00 +0200")
    path = write(tmp_path, export(body, BROKEN_DTD))
    _, issues, _ = parse(path)
    line = BROKEN_DTD.count("\n") + 4
    assert issues == [(f"export.xml line {line} (HKQuantityTypeIdentifierStepCount)", issues[0][1])]


def _blood_pressure(t: str, source: str = "Omron") -> tuple[str, str]:
    """A systolic and a diastolic record, and the correlation holding copies of both."""
    readings = rec("HKQuantityTypeIdentifierBloodPressureSystolic", "121", t, unit="mmHg") + rec(
        "HKQuantityTypeIdentifierBloodPressureDiastolic", "79", t, unit="mmHg"
    )
    corr = (
        f'<Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="{source}" '
        f'startDate="{t}" endDate="{t}">\n<MetadataEntry key="HKWasUserEntered" value="0"/>\n'
        f"{readings}</Correlation>\n"
    )
    return readings, corr


@pytest.mark.parametrize("correlation_first", [True, False])
def test_correlation_readings_that_also_appear_alone_count_once(
    tmp_path: Path, correlation_first: bool
) -> None:
    readings, corr = _blood_pressure("2023-03-01 07:00:00 -0500")
    body = corr + readings if correlation_first else readings + corr
    items, issues, notes = parse(write(tmp_path, export(body)))
    assert issues == []
    assert sorted((s.metric, s.value) for s in items) == [  # type: ignore[union-attr]
        ("blood_pressure_diastolic", 79.0),
        ("blood_pressure_systolic", 121.0),
    ]
    assert any("2 readings inside correlations" in n and "once" in n for n in notes)
    assert not any("only inside correlations" in n for n in notes)


def test_correlation_only_readings_are_imported_and_said_so(tmp_path: Path) -> None:
    _, corr = _blood_pressure("2023-03-01 07:00:00 -0500")
    items, issues, notes = parse(write(tmp_path, export(corr)))
    assert issues == []
    assert sorted((s.metric, s.value) for s in items) == [  # type: ignore[union-attr]
        ("blood_pressure_diastolic", 79.0),
        ("blood_pressure_systolic", 121.0),
    ]
    assert any("2 readings that appear only inside correlations" in n for n in notes)
    assert not any("also appear" in n for n in notes)


def _record_key(e: ET.Element) -> tuple[str, ...]:
    keys = ("type", "sourceName", "startDate", "endDate", "value", "unit")
    return tuple(e.get(k, "") for k in keys)


def test_real_export_with_a_correlation_found_nowhere_else(corpus: Path) -> None:
    """ahcd's iOS 13/14 export: its one blood-pressure correlation holds two readings that
    are not among its top-level records. Counted here with ElementTree, independently."""
    path = corpus / "apple-health/ahcd-export.xml"
    root = ET.parse(path).getroot()  # noqa: S314  # a corpus file, parsed to count
    top = [_record_key(r) for r in root.findall("Record")]
    inside = [_record_key(r) for c in root.findall("Correlation") for r in c.findall("Record")]
    only_inside = [k for k in inside if k not in set(top)]
    assert only_inside  # what this file is here to show
    items, issues, notes = parse(path)
    assert issues == []
    got = sorted((s.start, s.metric, s.value) for s in items if isinstance(s, Sample))
    assert len(got) == len(top) + len(only_inside)
    bp = [s for s in items if isinstance(s, Sample) and s.metric.startswith("blood_pressure")]
    expected_bp = [k for k in top + only_inside if "BloodPressure" in k[0]]
    assert sorted(s.value for s in bp) == sorted(float(k[4]) for k in expected_bp)
    assert any(f"{len(only_inside)} readings that appear only inside" in n for n in notes)
    assert not any("DTD" in n for n in notes)  # its DTD is well formed: nothing to say


def test_workout_events_statistics_and_activity(tmp_path: Path) -> None:
    t0, t1, t2 = (f'"2023-05-01 18:{m} +0200"' for m in ("00:00", "30:00", "10:00"))
    stat = '<WorkoutStatistics type="HKQuantityTypeIdentifier'
    w = (
        '<Workout workoutActivityType="HKWorkoutActivityTypeTraditionalStrengthTraining" '
        f'duration="30" durationUnit="min" sourceName="Watch" startDate={t0} endDate={t1}>\n'
        ' <MetadataEntry key="HKIndoorWorkout" value="1"/>\n'
        f' <WorkoutEvent type="HKWorkoutEventTypePause" date={t2} duration="0.5" '
        'durationUnit="min"/>\n'
        f' <WorkoutActivity uuid="a" startDate={t0} endDate={t1}>\n'
        f'  <WorkoutEvent type="HKWorkoutEventTypeSegment" date={t0}/>\n'
        f'  {stat}ActiveEnergyBurned" sum="999" unit="kcal"/>\n'
        " </WorkoutActivity>\n"
        f' {stat}ActiveEnergyBurned" startDate={t0} endDate={t1} sum="200" unit="kJ"/>\n'
        f' {stat}HeartRate" average="120" unit="count/min"/>\n'
        "</Workout>\n"
    )
    items, issues, _ = parse(write(tmp_path, export(w)))
    assert issues == []
    (workout,) = items
    assert isinstance(workout, Workout)
    assert workout.activity == "traditional_strength_training"
    assert workout.energy_kcal == pytest.approx(200 / 4.184)  # nested activity not counted twice
    assert [(e.kind, e.end - e.start) for e in workout.events] == [("pause", 30_000)]
    assert workout.metadata == (
        ("HKIndoorWorkout", "1"),
        ("HeartRate.average", "120 count/min"),
    )
    assert workout.duration_s == 1800


def test_unknown_types_kept_under_their_own_id(tmp_path: Path) -> None:
    body = rec(
        "HKQuantityTypeIdentifierEnvironmentalAudioExposure",
        "71.5",
        "2023-01-01 10:00:00 +0000",
        unit="dBASPL",
    ) + rec(
        "HKCategoryTypeIdentifierAppleStandHour",
        "HKCategoryValueAppleStandHourIdle",
        "2023-01-01 10:00:00 +0000",
    )
    items, issues, _ = parse(write(tmp_path, export(body)))
    assert issues == []
    assert [(s.metric, s.value, s.unit) for s in items] == [  # type: ignore[union-attr]
        ("x:HKQuantityTypeIdentifierEnvironmentalAudioExposure", 71.5, "dBASPL"),
        ("x:HKCategoryTypeIdentifierAppleStandHour", 1.0, ""),
    ]


def test_fraction_percentages_become_percent(tmp_path: Path) -> None:
    body = rec(
        "HKQuantityTypeIdentifierOxygenSaturation", "0.97", "2023-01-01 10:00:00 +0000", unit="%"
    )
    (s,), _, _ = parse(write(tmp_path, export(body)))
    assert isinstance(s, Sample) and s.value == pytest.approx(97.0) and s.unit == "%"


# Every unit real exports write for the registry's metrics, with the value in the metric's
# canonical unit worked out here by hand.
UNITS = [
    ("HKQuantityTypeIdentifierStepCount", "count", "1234", "steps", 1234.0),
    ("HKQuantityTypeIdentifierDistanceWalkingRunning", "km", "1.5", "distance", 1500.0),
    ("HKQuantityTypeIdentifierDistanceWalkingRunning", "mi", "2", "distance", 3218.688),
    ("HKQuantityTypeIdentifierDistanceWalkingRunning", "m", "800", "distance", 800.0),
    ("HKQuantityTypeIdentifierDistanceCycling", "mi", "10", "cycling_distance", 16093.44),
    ("HKQuantityTypeIdentifierActiveEnergyBurned", "kcal", "250", "active_energy", 250.0),
    ("HKQuantityTypeIdentifierActiveEnergyBurned", "Cal", "250", "active_energy", 250.0),
    ("HKQuantityTypeIdentifierActiveEnergyBurned", "kJ", "418.4", "active_energy", 100.0),
    ("HKQuantityTypeIdentifierBasalEnergyBurned", "kcal", "70", "basal_energy", 70.0),
    ("HKQuantityTypeIdentifierHeartRate", "count/min", "61", "heart_rate", 61.0),
    ("HKQuantityTypeIdentifierRestingHeartRate", "count/min", "52", "resting_heart_rate", 52.0),
    (
        "HKQuantityTypeIdentifierWalkingHeartRateAverage",
        "count/min",
        "95",
        "walking_heart_rate",
        95.0,
    ),
    ("HKQuantityTypeIdentifierHeartRateVariabilitySDNN", "ms", "41.5", "hrv_sdnn", 41.5),
    ("HKQuantityTypeIdentifierOxygenSaturation", "%", "0.97", "blood_oxygen", 97.0),
    ("HKQuantityTypeIdentifierRespiratoryRate", "count/min", "14.5", "respiratory_rate", 14.5),
    ("HKQuantityTypeIdentifierBodyMass", "kg", "70.5", "body_mass", 70.5),
    ("HKQuantityTypeIdentifierBodyMass", "lb", "200", "body_mass", 200 * 0.45359237),
    ("HKQuantityTypeIdentifierBodyMass", "g", "70500", "body_mass", 70.5),
    ("HKQuantityTypeIdentifierBodyFatPercentage", "%", "0.185", "body_fat", 18.5),
    ("HKQuantityTypeIdentifierLeanBodyMass", "lb", "150", "lean_body_mass", 150 * 0.45359237),
    ("HKQuantityTypeIdentifierBodyMassIndex", "count", "22.5", "body_mass_index", 22.5),
    ("HKQuantityTypeIdentifierHeight", "cm", "175", "height", 175.0),
    ("HKQuantityTypeIdentifierHeight", "ft", "6", "height", 6 * 30.48),
    ("HKQuantityTypeIdentifierHeight", "m", "1.75", "height", 175.0),
    (
        "HKQuantityTypeIdentifierBloodPressureSystolic",
        "mmHg",
        "118",
        "blood_pressure_systolic",
        118.0,
    ),
    ("HKQuantityTypeIdentifierBloodGlucose", "mg/dL", "95", "blood_glucose", 95.0),
    (
        "HKQuantityTypeIdentifierBloodGlucose",
        "mmol&lt;180.1558800000541&gt;/L",
        "4.59",
        "blood_glucose",
        4.59 * 180.1558800000541 / 10,
    ),
    ("HKQuantityTypeIdentifierBodyTemperature", "degC", "36.8", "body_temperature", 36.8),
    ("HKQuantityTypeIdentifierBodyTemperature", "degF", "98.6", "body_temperature", 37.0),
    ("HKQuantityTypeIdentifierVO2Max", "mL/min·kg", "48.5", "vo2max", 48.5),
    ("HKQuantityTypeIdentifierVO2Max", "mL/kg·min", "44.2", "vo2max", 44.2),
    ("HKQuantityTypeIdentifierFlightsClimbed", "count", "3", "flights_climbed", 3.0),
    ("HKQuantityTypeIdentifierAppleExerciseTime", "min", "30", "exercise_time", 30.0),
    ("HKQuantityTypeIdentifierAppleStandTime", "min", "5", "stand_time", 5.0),
    ("HKQuantityTypeIdentifierDietaryWater", "mL", "500", "water", 500.0),
    ("HKQuantityTypeIdentifierDietaryWater", "fl_oz_us", "8", "water", 8 * 29.5735295625),
    ("HKQuantityTypeIdentifierDietaryWater", "L", "0.5", "water", 500.0),
]


def test_every_unit_real_exports_write(fresh_vault: Vault, tmp_path: Path) -> None:
    body = "".join(
        rec(type_, value, f"2023-01-01 10:{i:02d}:00 +0000", unit=unit)
        for i, (type_, unit, value, _, _) in enumerate(UNITS)
    )
    summary = import_apple_health(fresh_vault, P, write(tmp_path, export(body)))
    assert summary.errors == ()
    assert summary.added == len(UNITS)
    for i, (_, unit, _, metric, expected) in enumerate(UNITS):
        start = int(datetime(2023, 1, 1, 10, i, tzinfo=UTC).timestamp() * 1000)
        (got,) = [s for s in query.samples(fresh_vault, P, metric) if s.start == start]
        assert got.value == pytest.approx(expected, rel=1e-9), (metric, unit)


def test_values_out_of_range_are_reported_once_per_metric_and_not_stored(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    """A percentage written as a percent, not the fraction HealthKit writes (18.5 "%" would
    be 1,850 % body fat), and a heart rate of 0: reported with a count and the first value."""
    t = [f"2023-01-01 10:{m:02d}:00 +0000" for m in range(6)]
    body = (
        rec("HKQuantityTypeIdentifierBodyFatPercentage", "0.185", t[0], unit="%")
        + rec("HKQuantityTypeIdentifierBodyFatPercentage", "18.5", t[1], unit="%")
        + rec("HKQuantityTypeIdentifierBodyFatPercentage", "19.0", t[2], unit="%")
        + rec("HKQuantityTypeIdentifierHeartRate", "0", t[3], unit="count/min")
        + rec("HKQuantityTypeIdentifierHeartRate", "64", t[4], unit="count/min")
        + rec("HKQuantityTypeIdentifierBodyMass", "2000", t[5], unit="lb")
    )
    summary = import_apple_health(fresh_vault, P, write(tmp_path, export(body)))
    assert [s.value for s in query.samples(fresh_vault, P, "body_fat")] == [pytest.approx(18.5)]
    assert [s.value for s in query.samples(fresh_vault, P, "heart_rate")] == [64.0]
    assert list(query.samples(fresh_vault, P, "body_mass")) == []
    problems = {e.location: e.problem for e in summary.errors}
    assert len(problems) == 3
    assert problems["export.xml line 4 (HKQuantityTypeIdentifierBodyFatPercentage)"] == (
        "2 body_fat records outside 1–80 % skipped (the first: 18.5 %, 1850 %)"
    )
    assert problems["export.xml line 6 (HKQuantityTypeIdentifierHeartRate)"].startswith(
        "1 heart_rate record outside 10–300 /min skipped (the first: 0 count/min"
    )
    assert "2000 lb" in problems["export.xml line 8 (HKQuantityTypeIdentifierBodyMass)"]
    assert summary.added == 2


def test_many_bad_records_make_one_issue_with_a_count(tmp_path: Path) -> None:
    bad = "".join(
        rec("HKQuantityTypeIdentifierStepCount", "?", f"2023-02-01 11:{m:02d}:00 +0000")
        for m in range(7)
    )
    good = rec("HKQuantityTypeIdentifierStepCount", "5", "2023-02-01 12:00:00 +0000", unit="count")
    items, issues, _ = parse(write(tmp_path, export(good + bad)))
    assert len(items) == 1
    assert issues == [
        (
            "export.xml line 4 (HKQuantityTypeIdentifierStepCount)",
            "missing or non-numeric value: skipped (7 records; the first is here)",
        )
    ]


def test_a_well_formed_dtd_is_skipped_without_a_note(tmp_path: Path) -> None:
    good_dtd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n'
        "<!-- HealthKit Export Version: 11 -->\n"
        "<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>\n"
        "<!ATTLIST HealthData\n  locale CDATA #REQUIRED\n>\n]>\n"
    )
    body = rec("HKQuantityTypeIdentifierStepCount", "5", "2023-02-01 11:00:00 +0000")
    items, issues, notes = parse(write(tmp_path, export(body, good_dtd)))
    assert len(items) == 1 and issues == []
    assert notes == []
    _, _, broken_notes = parse(write(tmp_path, export(body, BROKEN_DTD), "ios16.xml"))
    assert any("DTD is malformed" in n for n in broken_notes)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (rec("HKQuantityTypeIdentifierStepCount", "12", "2023-02-30 10:00:00 +0000"), "date"),
        (rec("HKQuantityTypeIdentifierStepCount", "12", "2023-02-01 25:00:00 +0000"), "date"),
        (rec("HKQuantityTypeIdentifierStepCount", "12", "yesterday"), "date"),
        (rec("HKQuantityTypeIdentifierStepCount", "lots", "2023-02-01 10:00:00 +0000"), "numeric"),
        (rec("HKQuantityTypeIdentifierStepCount", "nan", "2023-02-01 10:00:00 +0000"), "finite"),
        (
            rec(
                "HKQuantityTypeIdentifierHeartRate",
                "60",
                "2023-02-01 10:00:00 +0000",
                unit="furlongs",
            ),
            "unit 'furlongs'",
        ),
        (
            rec(
                "HKQuantityTypeIdentifierStepCount",
                "3",
                "2023-02-01 10:00:00 +0000",
                "2023-02-01 09:00:00 +0000",
            ),
            "ends before",
        ),
        (
            rec("HKCategoryTypeIdentifierSleepAnalysis", "Dozing", "2023-02-01 10:00:00 +0000"),
            "sleep",
        ),
        ('<Record sourceName="x" startDate="2023-02-01 10:00:00 +0000"/>\n', "without a type"),
    ],
)
def test_one_bad_record_is_reported_and_skipped(tmp_path: Path, record: str, problem: str) -> None:
    good = rec("HKQuantityTypeIdentifierStepCount", "5", "2023-02-01 11:00:00 +0000", unit="count")
    items, issues, _ = parse(write(tmp_path, export(good + record + good)))
    assert len(items) == 2
    assert len(issues) == 1
    location, message = issues[0]
    assert location.startswith("export.xml line 4")
    assert problem in message


def test_truncated_zip_is_refused(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "apple-health/alxdrcirilo-export.zip").read_bytes()
    cut = write(tmp_path, data[: len(data) // 2], "export.zip")
    with pytest.raises((TruncatedArchive, MalformedInput)):
        parse(cut)


def test_damaged_member_is_refused(tmp_path: Path) -> None:
    body = "".join(
        rec("HKQuantityTypeIdentifierStepCount", str(i), "2023-02-01 11:00:00 +0000", unit="count")
        for i in range(2000)
    )
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export.xml", export(body))
    raw = bytearray(z.read_bytes())
    raw[200:260] = bytes(60)  # corrupt the compressed stream, keep the directory
    z.write_bytes(bytes(raw))
    with pytest.raises(TruncatedArchive, match=r"export.zip:apple_health_export/export.xml"):
        parse(z)


def test_escaping_member_names_are_refused(tmp_path: Path) -> None:
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("apple_health_export/export.xml", export(""))
        zf.writestr("../../etc/evil", "x")
    with pytest.raises(UnsafeArchive):
        parse(z)


def test_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match="no <HealthData>"):
        parse(write(tmp_path, "<gpx><trk/></gpx>"))
    with pytest.raises(MalformedInput, match="empty"):
        parse(write(tmp_path, ""))
    (tmp_path / "folder").mkdir()
    with pytest.raises(MalformedInput, match=r"no export\.xml"):
        parse(tmp_path / "folder")


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_apple_times_match_datetime(moment: datetime, offset: int) -> None:
    moment = moment.replace(microsecond=0)
    sign = "-" if offset < 0 else "+"
    text = f"{moment:%Y-%m-%d %H:%M:%S} {sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    expected = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    assert AppleTimes()(text) == (int(expected.timestamp()) * 1000, offset)


# --- into a vault ---------------------------------------------------------------------------


def test_import_is_idempotent_and_queryable(fresh_vault: Vault, corpus: Path) -> None:
    path = corpus / "apple-health/dogsheep-export.xml"
    first = import_apple_health(fresh_vault, P, path)
    assert (first.added, first.workouts, first.summaries, first.errors) == (2, 1, 2, ())
    (hr,) = query.samples(fresh_vault, P, "heart_rate")
    assert hr.value == 72 and hr.unit == "/min" and hr.offset_min == -420
    (w,) = query.workouts(fresh_vault, P)
    assert w.activity == "running" and len(w.route) == 2
    again = import_apple_health(fresh_vault, P, path)
    assert (again.added, again.workouts) == (0, 0)
    assert again.duplicates >= 3


def test_fatal_error_leaves_the_vault_unchanged(fresh_vault: Vault, tmp_path: Path) -> None:
    good = "".join(
        rec(
            "HKQuantityTypeIdentifierStepCount",
            "5",
            f"2023-02-01 11:{m:02d}:00 +0000",
            unit="count",
        )
        for m in range(50)
    )
    path = write(tmp_path, export(good + "<Record></Oops>"))
    before = fresh_vault.store.counts()
    with pytest.raises(MalformedInput):
        import_apple_health(fresh_vault, P, path)
    assert fresh_vault.store.counts() == before
    assert list(query.samples(fresh_vault, P, "steps")) == []


def test_recoverable_issues_reach_the_summary(fresh_vault: Vault, tmp_path: Path) -> None:
    body = rec("HKQuantityTypeIdentifierStepCount", "5", "2023-02-01 11:00:00 +0000", unit="count")
    body += rec("HKQuantityTypeIdentifierStepCount", "?", "2023-02-01 11:01:00 +0000", unit="count")
    body += rec("HKQuantityTypeIdentifierWeirdThing", "3", "2023-02-01 11:02:00 +0000", unit="g")
    summary = import_apple_health(fresh_vault, P, write(tmp_path, export(body)))
    assert summary.added == 2
    assert summary.unknown_types == {"x:HKQuantityTypeIdentifierWeirdThing": 1}
    assert [e.location for e in summary.errors] == [
        "export.xml line 4 (HKQuantityTypeIdentifierStepCount)"
    ]


# --- parsing in a helper process ------------------------------------------------------------


def test_helper_process_gives_the_same_items(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "apple-health"
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "dogsheep-zip-export.xml", "apple_health_export/export.xml")
        zf.write(
            src / "dogsheep-route_2019-06-11_3.00pm.gpx",
            "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx",
        )
    here: list[tuple[str, str]] = []
    there: list[tuple[str, str]] = []
    notes: list[str] = []
    local = list(parse_apple_health(z, lambda *i: here.append(i)))
    helped = list(parse_apple_health(z, lambda *i: there.append(i), notes.append, parallel=True))
    assert helped == local
    assert sum(isinstance(i, HealthProfile) for i in local) == 1
    assert there == here


def test_helper_process_reports_issues_and_fatal_errors(tmp_path: Path) -> None:
    body = rec("HKQuantityTypeIdentifierStepCount", "?", "2023-02-01 11:00:00 +0000")
    issues: list[tuple[str, str]] = []
    path = write(tmp_path, export(body))
    assert list(parse_apple_health(path, lambda *i: issues.append(i), parallel=True)) == []
    assert issues == [("export.xml line 3 (HKQuantityTypeIdentifierStepCount)", issues[0][1])]
    broken = write(tmp_path, export(body + "<Record></Oops>"), "broken.xml")
    with pytest.raises(MalformedInput, match=r"broken\.xml line 4 column \d+: malformed XML"):
        list(parse_apple_health(broken, lambda *i: None, parallel=True))


def test_import_with_helper_process(fresh_vault: Vault, corpus: Path) -> None:
    path = corpus / "apple-health/alxdrcirilo-export.zip"
    summary = import_apple_health(fresh_vault, P, path, parallel=True)
    assert (summary.added, summary.errors) == (8, ())


def test_localised_export_name(tmp_path: Path) -> None:
    body = rec("HKQuantityTypeIdentifierStepCount", "5", "2023-02-01 11:00:00 +0000", unit="count")
    z = tmp_path / "exportar.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("apple_health_export/exportar_cda.xml", "<broken")
        zf.writestr("apple_health_export/exportar.xml", export(body))
        zf.writestr("apple_health_export/workout-routes/route.gpx", "<gpx/>")
    items, issues, _ = parse(z)
    assert len(items) == 1 and issues == []
    assert pick_export_xml(["a/export_cda.xml", "a/export.xml", "a/Other.xml"]) == "a/export.xml"
    assert pick_export_xml(["a/export_cda.xml", "a/electrocardiograms/x.csv"]) is None


def _children() -> list[str]:
    tasks = Path("/proc/self/task")
    return [c for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def test_failure_while_storing_stops_the_helper_and_rolls_back(
    fresh_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc to list child processes")
    body = "".join(  # more than the pipe and the reader's buffer hold: the helper must wait
        rec("HKQuantityTypeIdentifierStepCount", "5", f"2023-02-{d:02d} {h:02d}:{m:02d}:00 +0000")
        for d in range(1, 29)
        for h in range(24)
        for m in range(0, 60, 2)
    )
    path = write(tmp_path, export(body))
    from vault.data.ingest import QSWriter

    real_add = QSWriter.add
    calls = 0

    def failing_add(self: QSWriter, sample: Sample) -> None:
        nonlocal calls
        calls += 1
        if calls == 100:
            raise RuntimeError("disk full")
        real_add(self, sample)

    monkeypatch.setattr(QSWriter, "add", failing_add)
    before = fresh_vault.store.counts()
    # Children the session already had (a test server started by a session fixture) are not
    # the import's: only a helper it started and left running would be new.
    children_before = set(_children())
    with pytest.raises(RuntimeError, match="disk full"):
        import_apple_health(fresh_vault, P, path, parallel=True)
    assert set(_children()) - children_before == set()
    assert fresh_vault.store.counts() == before
