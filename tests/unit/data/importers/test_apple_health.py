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
from vault.data.model import SLEEP_STAGES, ActivitySummary, Sample, Workout

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


def test_real_zip_export(samples: Path) -> None:
    items, issues, _ = parse(samples / "apple-health/alxdrcirilo/export.zip")
    assert issues == []
    assert all(isinstance(i, Sample) for i in items)
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


def test_real_export_with_inline_route_and_summaries(samples: Path) -> None:
    items, issues, _ = parse(samples / "apple-health/dogsheep/tests_export.xml")
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


def test_real_export_with_route_file_in_zip(samples: Path, tmp_path: Path) -> None:
    src = samples / "apple-health/dogsheep"
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "zip_export.xml", "apple_health_export/export.xml")
        zf.writestr("apple_health_export/export_cda.xml", "<not even <closed")
        zf.write(
            src / "route_2019-06-11_3.00pm.gpx",
            "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx",
        )
    items, issues, _ = parse(z)
    assert issues == []
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert [p.lon for p in workout.route] == [-122.396397, -122.396396, -122.396394]
    assert workout.route[2].elevation == pytest.approx(4.085232)


def test_route_file_found_next_to_an_unzipped_export(samples: Path, tmp_path: Path) -> None:
    src = samples / "apple-health/dogsheep"
    folder = tmp_path / "apple_health_export"
    (folder / "workout-routes").mkdir(parents=True)
    shutil.copy(src / "zip_export.xml", folder / "export.xml")
    shutil.copy(src / "route_2019-06-11_3.00pm.gpx", folder / "workout-routes")
    items, issues, _ = parse(tmp_path)  # the folder holding apple_health_export/ works too
    assert issues == []
    assert len(next(i for i in items if isinstance(i, Workout)).route) == 3


def test_missing_route_file_is_reported_and_workout_kept(samples: Path) -> None:
    items, issues, _ = parse(samples / "apple-health/dogsheep/zip_export.xml")
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.route == ()
    assert len(issues) == 1 and "route file" in issues[0][1] and "line" in issues[0][0]


# --- quirks ---------------------------------------------------------------------------------


def test_ios16_broken_dtd_and_control_characters(tmp_path: Path) -> None:
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
    assert any("DTD" in n for n in notes) and any("control characters" in n for n in notes)


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


def test_correlation_records_count_once(tmp_path: Path) -> None:
    t = "2023-03-01 07:00:00 -0500"
    sys_ = rec("HKQuantityTypeIdentifierBloodPressureSystolic", "121", t, unit="mmHg")
    dia = rec("HKQuantityTypeIdentifierBloodPressureDiastolic", "79", t, unit="mmHg")
    corr = (
        f'<Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" '
        f'startDate="{t}" endDate="{t}">\n<MetadataEntry key="HKWasUserEntered" value="0"/>\n'
        f"{sys_}{dia}</Correlation>\n"
    )
    items, issues, notes = parse(write(tmp_path, export(corr + sys_ + dia)))
    assert issues == []
    assert [(s.metric, s.value) for s in items] == [  # type: ignore[union-attr]
        ("blood_pressure_systolic", 121.0),
        ("blood_pressure_diastolic", 79.0),
    ]
    assert any("nested in correlations" in n for n in notes)


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


def test_truncated_zip_is_refused(samples: Path, tmp_path: Path) -> None:
    data = (samples / "apple-health/alxdrcirilo/export.zip").read_bytes()
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


def test_import_is_idempotent_and_queryable(fresh_vault: Vault, samples: Path) -> None:
    path = samples / "apple-health/dogsheep/tests_export.xml"
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


def test_helper_process_gives_the_same_items(samples: Path, tmp_path: Path) -> None:
    src = samples / "apple-health/dogsheep"
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src / "zip_export.xml", "apple_health_export/export.xml")
        zf.write(
            src / "route_2019-06-11_3.00pm.gpx",
            "apple_health_export/workout-routes/route_2019-06-11_3.00pm.gpx",
        )
    here: list[tuple[str, str]] = []
    there: list[tuple[str, str]] = []
    notes: list[str] = []
    local = list(parse_apple_health(z, lambda *i: here.append(i)))
    helped = list(parse_apple_health(z, lambda *i: there.append(i), notes.append, parallel=True))
    assert helped == local and len(local) == 5
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


def test_import_with_helper_process(fresh_vault: Vault, samples: Path) -> None:
    path = samples / "apple-health/alxdrcirilo/export.zip"
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
    with pytest.raises(RuntimeError, match="disk full"):
        import_apple_health(fresh_vault, P, path, parallel=True)
    assert _children() == []
    assert fresh_vault.store.counts() == before


def test_beat_lists_are_said_not_imported(tmp_path: Path) -> None:
    t = "2023-01-01 10:00:00 +0000"
    body = (
        f'<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="W" '
        f'unit="ms" startDate="{t}" endDate="{t}" value="41.5">\n'
        "<HeartRateVariabilityMetadataList>\n"
        '<InstantaneousBeatsPerMinute bpm="61" time="10:00:00.00 AM"/>\n'
        "</HeartRateVariabilityMetadataList>\n</Record>\n"
    )
    (s,), issues, notes = parse(write(tmp_path, export(body)))
    assert issues == []
    assert isinstance(s, Sample) and (s.metric, s.value) == ("hrv_sdnn", 41.5)
    assert any("beat-to-beat lists of 1 heart rate variability" in n for n in notes)
