"""Garmin importer: real FIT files (activity, monitoring, weight scale, truncated), GPX and
TCX, folders and zips, and atomic imports into a vault."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import fitdecode  # type: ignore[import-untyped]
import pytest

from vault.core.errors import MalformedInput, UnsafeArchive
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import FitDamaged, import_garmin, parse_garmin
from vault.data.model import Sample, Workout

P = "0123456789abcdef0123456789abcdef"

TCX = """<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
  <Activities>
    <Activity Sport="Biking">
      <Id>2021-05-01T08:00:00Z</Id>
      <Lap StartTime="2021-05-01T08:00:00Z">
        <TotalTimeSeconds>120</TotalTimeSeconds>
        <DistanceMeters>800.5</DistanceMeters>
        <Calories>30</Calories>
        <Track>
          <Trackpoint>
            <Time>2021-05-01T08:00:00Z</Time>
            <Position><LatitudeDegrees>48.85</LatitudeDegrees>
              <LongitudeDegrees>2.35</LongitudeDegrees></Position>
            <AltitudeMeters>35.0</AltitudeMeters>
            <HeartRateBpm><Value>101</Value></HeartRateBpm>
          </Trackpoint>
          <Trackpoint>
            <Time>2021-05-01T08:01:00Z</Time>
            <Position><LatitudeDegrees>48.86</LatitudeDegrees>
              <LongitudeDegrees>2.36</LongitudeDegrees></Position>
            <HeartRateBpm><Value>128</Value></HeartRateBpm>
          </Trackpoint>
          <Trackpoint><Time>not a time</Time></Trackpoint>
        </Track>
      </Lap>
      <Creator><Name>Edge 530</Name></Creator>
    </Activity>
  </Activities>
</TrainingCenterDatabase>
"""

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Garmin Connect" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Morning Run</name><type>running</type><trkseg>
    <trkpt lat="45.0" lon="5.0"><ele>200</ele><time>2021-06-01T06:00:00Z</time></trkpt>
    <trkpt lat="45.001" lon="5.0"><ele>201</ele><time>2021-06-01T06:00:30Z</time></trkpt>
    <trkpt lat="999" lon="5.0"><time>2021-06-01T06:00:40Z</time></trkpt>
    <trkpt lat="45.002" lon="5.0"><time>2021-06-01T06:01:00Z</time></trkpt>
  </trkseg></trk>
</gpx>
"""


def parse(path: Path) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_garmin(path, lambda loc, p: issues.append((loc, p)), notes.append))
    return items, issues, notes


def rr_intervals(path: Path) -> int:
    """The R-R intervals of a FIT file's hrv messages, counted by fitdecode alone."""
    with fitdecode.FitReader(path) as reader:
        return sum(
            1
            for frame in reader
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "hrv"
            for t in frame.get_value("time")
            if t
        )


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_activity_fit(samples: Path) -> None:
    items, issues, notes = parse(samples / "garmin-fit/garmin-fenix-5-run.fit")
    assert issues == []
    (w,) = [i for i in items if isinstance(i, Workout)]
    assert w.activity == "running"
    assert w.start == ms(2017, 6, 11, 14, 34, 9)
    assert w.end == ms(2017, 6, 11, 14, 35, 24)
    assert w.offset_min == -420  # local_timestamp of the activity message
    assert w.distance_m == pytest.approx(157.56)
    assert w.energy_kcal == 5
    assert w.duration_s == pytest.approx(56.887)
    assert "lap" in {e.kind for e in w.events}
    assert len(w.route) == 21
    assert w.route[0].lat == pytest.approx(456099128 * 180 / 2**31)
    assert w.source == "Garmin fenix5"
    hr = [i for i in items if isinstance(i, Sample) and i.metric == "heart_rate"]
    assert hr[0].value == 61 and hr[0].start == w.start
    beats = [i for i in items if isinstance(i, Sample) and i.metric == "rr_interval"]
    assert beats and beats[0].start > w.start  # the first beat ends its first interval
    assert any("R-R" in n and "kept" in n for n in notes)  # how they were timed is said
    assert "garmin-fenix-5-run.fit: messages not imported: undocumented (5)" in notes


def test_monitoring_fit_turns_cumulative_counters_into_steps(samples: Path) -> None:
    items, issues, notes = parse(samples / "garmin-fit/MonitoringFile.fit")
    assert issues == []
    steps = [i for i in items if isinstance(i, Sample)]
    assert steps and {s.metric for s in steps} == {"steps"}
    assert all(s.value > 0 and s.start <= s.end for s in steps)
    assert steps[0].value == 100  # 50 walking cycles = 100 steps since the day began
    assert steps[1].value == 215  # cumulative 157.5 cycles -> 315 steps, minus the 100 before
    assert steps[0].offset_min == -360
    assert any("daily totals" in n for n in notes)


def test_weight_scale_fit(samples: Path) -> None:
    items, issues, _ = parse(samples / "garmin-fit/WeightScaleSingleUser.fit")
    assert issues == []
    got = [(s.metric, s.value, s.unit) for s in items if isinstance(s, Sample)]
    assert got == [
        ("body_mass", 75.8, "kg"),
        ("body_fat", 22.3, "%"),
        ("body_mass", 76.09, "kg"),
        ("body_fat", 25.1, "%"),
    ]


def test_truncated_fit_alone_is_refused(samples: Path) -> None:
    with pytest.raises(FitDamaged, match=r"activity-unexpected-eof\.fit: truncated"):
        parse(samples / "garmin-fit/activity-unexpected-eof.fit")


def test_truncated_fit_in_a_folder_is_skipped_whole_and_reported(samples: Path) -> None:
    items, issues, _ = parse(samples / "garmin-fit")
    assert issues == [
        (
            "activity-unexpected-eof.fit",
            "truncated (the data ends early): skipped whole, nothing imported from this file",
        )
    ]
    # the truncated file's data (2012-04-09) left nothing behind; the three others are here
    day = (ms(2012, 4, 9), ms(2012, 4, 10))
    assert not [i for i in items if day[0] <= getattr(i, "start", 0) < day[1]]
    workouts = [i for i in items if isinstance(i, Workout)]
    assert len(workouts) == 1 and workouts[0].source == "Garmin fenix5"


def test_corrupted_fit_fails_its_checksum(samples: Path, tmp_path: Path) -> None:
    data = bytearray((samples / "garmin-fit/WeightScaleSingleUser.fit").read_bytes())
    data[40] ^= 0xFF
    bad = tmp_path / "scale.fit"
    bad.write_bytes(bytes(data))
    with pytest.raises(FitDamaged, match=r"scale\.fit"):
        parse(bad)


def test_tcx(tmp_path: Path) -> None:
    f = tmp_path / "ride.tcx"
    f.write_text(TCX)
    items, issues, _ = parse(f)
    assert issues == [("ride.tcx", "1 track point without a valid time skipped")]
    w, *hr = items
    assert isinstance(w, Workout)
    assert w.activity == "cycling" and w.device == "Edge 530"
    assert (w.start, w.end) == (ms(2021, 5, 1, 8, 0, 0), ms(2021, 5, 1, 8, 2, 0))
    assert w.distance_m == pytest.approx(800.5) and w.energy_kcal == 30
    assert [(p.lat, p.elevation) for p in w.route] == [(48.85, 35.0), (48.86, None)]
    assert [(s.metric, s.value) for s in hr] == [("heart_rate", 101.0), ("heart_rate", 128.0)]  # type: ignore[attr-defined]


def test_gpx(tmp_path: Path) -> None:
    f = tmp_path / "run.gpx"
    f.write_text(GPX)
    items, issues, _ = parse(f)
    assert issues == [("run.gpx", "1 track point with a bad position or elevation skipped")]
    (w,) = items
    assert isinstance(w, Workout) and w.activity == "running"
    assert len(w.route) == 3 and w.duration_s == 60
    assert w.distance_m == pytest.approx(222.4, abs=0.5)  # 0.002 degrees of latitude


def test_gpx_with_entities_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "bomb.gpx"
    f.write_text(
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;">]><gpx><trk><name>&b;</name></trk></gpx>'
    )
    with pytest.raises(MalformedInput, match="DTD"):
        parse(f)


def test_malformed_tcx_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.tcx"
    f.write_text(TCX[:400])
    with pytest.raises(MalformedInput, match=r"bad\.tcx: not well-formed"):
        parse(f)


def test_zip_of_files(samples: Path, tmp_path: Path) -> None:
    z = tmp_path / "garmin.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(samples / "garmin-fit/WeightScaleSingleUser.fit", "fit/scale.fit")
        zf.writestr("fit/run.gpx", GPX)
        zf.writestr("readme.txt", "not imported")
    items, _, _ = parse(z)
    assert sum(isinstance(i, Workout) for i in items) == 1
    assert sum(isinstance(i, Sample) for i in items) == 4


def test_zip_with_escaping_names_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "garmin.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("/abs/run.gpx", GPX)
    with pytest.raises(UnsafeArchive):
        parse(z)


def test_not_a_garmin_file(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with pytest.raises(MalformedInput, match=r"not a \.fit"):
        parse(f)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MalformedInput, match=r"no \.fit"):
        parse(empty)


def test_import_folder_then_again(fresh_vault: Vault, samples: Path, tmp_path: Path) -> None:
    folder = tmp_path / "garmin"
    shutil.copytree(samples / "garmin-fit", folder)
    first = import_garmin(fresh_vault, P, folder)
    assert first.workouts == 1
    beats = rr_intervals(folder / "garmin-fenix-5-run.fit")
    assert beats > 0
    assert first.added == 79 + 21 + 4 + beats  # steps, heart rate, weight and fat, R-R
    assert [e.location for e in first.errors] == ["activity-unexpected-eof.fit"]
    (w,) = query.workouts(fresh_vault, P)
    assert w.distance_m == pytest.approx(157.56)
    assert [s.value for s in query.samples(fresh_vault, P, "body_mass")] == [75.8, 76.09]
    again = import_garmin(fresh_vault, P, folder)
    assert (again.added, again.workouts) == (0, 0)


def test_truncated_file_alone_leaves_the_vault_unchanged(fresh_vault: Vault, samples: Path) -> None:
    before = fresh_vault.store.counts()
    with pytest.raises(FitDamaged):
        import_garmin(fresh_vault, P, samples / "garmin-fit/activity-unexpected-eof.fit")
    assert fresh_vault.store.counts() == before


def test_a_folder_or_zip_decoded_in_helper_processes_reads_the_same(
    samples: Path, tmp_path: Path
) -> None:
    """Two helpers decode the files while the items are consumed here: the same items,
    issues (the truncated file skipped whole) and notes, in the same order."""
    z = tmp_path / "garmin.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted((samples / "garmin-fit").iterdir()):
            zf.write(f, f"fit/{f.name}")
        zf.writestr("fit/run.gpx", GPX)
    for path in (samples / "garmin-fit", z):
        serial: tuple[list[object], list[tuple[str, str]], list[str]] = ([], [], [])
        helped: tuple[list[object], list[tuple[str, str]], list[str]] = ([], [], [])
        for parallel, (items, issues, notes) in ((False, serial), (True, helped)):
            report = lambda loc, p, issues=issues: issues.append((loc, p))  # noqa: E731
            items.extend(parse_garmin(path, report, notes.append, parallel=parallel))
        assert helped == serial
        skipped = [loc for loc, problem in serial[1] if "skipped whole" in problem]
        assert [loc.rsplit("/", 1)[-1] for loc in skipped] == ["activity-unexpected-eof.fit"]
