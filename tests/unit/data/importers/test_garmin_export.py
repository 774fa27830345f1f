"""Garmin's account data export (the zip of the "Export your data" page) through
`import garmin`: daily summaries, sleep, and the FIT files inside the nested zips of uploaded
files, streamed; every level's safety rules; a bad inner file skipped whole.

No real export under a permissive licence exists (each is one person's whole history), so
the exports are built here (tests/builders.garmin_export) from the layout and field names
public parsers document: DI_CONNECT/DI-Connect-Aggregator/UDSFile_*.json,
DI-Connect-Wellness/*_sleepData.json, DI-Connect-Uploaded-Files/UploadedFiles_*.zip written
with data descriptors as Java's ZipOutputStream writes them. The FIT files inside are real
ones (tests/corpus/fit), counted independently with fitdecode."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import fitdecode  # type: ignore[import-untyped]
import pytest

from tests.builders import (
    GARMIN_ACTIVITIES,
    GARMIN_DI,
    GARMIN_SLEEP,
    GARMIN_UDS,
    GARMIN_UPLOADS,
    garmin_day,
    garmin_export,
    garmin_night,
    streamed_zip,
)
from tests.conftest import CORPUS
from vault.core.archive import stream_zip
from vault.core.errors import TruncatedArchive, UnsafeArchive
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import import_garmin, parse_garmin
from vault.data.model import SLEEP_STAGES, Sample, Workout

P = "0123456789abcdef0123456789abcdef"
GOOD = ("garmin-edge-820-bike.fit", "garmin-fenix-5-bike.fit")
BAD = "activity-unexpected-eof.fit"

DAYS = [
    garmin_day(
        "2024-05-01",
        totalSteps=9120,
        totalDistanceMeters=7012.5,
        activeKilocalories=420.0,
        bmrKilocalories=1650.0,
        restingHeartRate=52,
        moderateIntensityMinutes=20,
        vigorousIntensityMinutes=15,
        allDayStress={
            "aggregatorList": [
                {"type": "TOTAL", "averageStressLevel": 31, "maxStressLevel": 97},
                {"type": "AWAKE", "averageStressLevel": 38},
            ]
        },
        respiration={"avgWakingRespirationValue": 15.0, "highestRespirationValue": 21.0},
        bodyBattery={
            "chargedValue": 60,
            "drainedValue": 55,
            "bodyBatteryStatList": [
                {
                    "bodyBatteryStatType": "HIGHEST",
                    "statsValue": 88,
                    "statTimestamp": "2024-05-01T07:03:00.0",
                },
                {
                    "bodyBatteryStatType": "LOWEST",
                    "statsValue": 21,
                    "statTimestamp": "2024-05-01T22:40:00.0",
                },
            ],
        },
    ),
    garmin_day("2024-05-02", totalSteps=4003, restingHeartRate=54),
    {"calendarDate": "2024-05-03", "totalSteps": 10},  # no wellness times: reported
]
NIGHTS = [garmin_night("2024-05-02")]


def fit(name: str) -> bytes:
    return (CORPUS / "fit" / name).read_bytes()


def sessions(data: bytes) -> int:
    """Sessions of a FIT file, counted by fitdecode alone."""
    with fitdecode.FitReader(io.BytesIO(data)) as reader:
        return sum(
            1 for f in reader if isinstance(f, fitdecode.FitDataMessage) and f.name == "session"
        )


def files(**extra: bytes) -> dict[str, bytes]:
    out = {
        GARMIN_UDS: json.dumps(DAYS).encode(),
        GARMIN_SLEEP: json.dumps(NIGHTS).encode(),
        GARMIN_UPLOADS.format(1): streamed_zip(
            {GOOD[0]: fit(GOOD[0]), BAD: fit(BAD), "notes.txt": b"not a FIT file"}
        ),
        GARMIN_UPLOADS.format(2): streamed_zip({GOOD[1]: fit(GOOD[1])}),
        GARMIN_ACTIVITIES: json.dumps([{"summarizedActivitiesExport": []}]).encode(),
        GARMIN_DI + "DI-Connect-User/user_profile.json": b"{}",
    }
    out.update(extra)
    return out


def parse(path: Path) -> tuple[list[Any], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_garmin(path, lambda loc, p: issues.append((loc, p)), notes.append))
    return items, issues, notes


def of(items: list[Any], metric: str) -> list[Sample]:
    return [i for i in items if isinstance(i, Sample) and i.metric == metric]


def test_the_export_gives_days_nights_and_every_good_uploaded_file(tmp_path: Path) -> None:
    items, issues, notes = parse(garmin_export(tmp_path / "export.zip", files()))
    workouts = [i for i in items if isinstance(i, Workout)]
    assert len(workouts) == sum(sessions(fit(n)) for n in GOOD)
    # each daily field present in the JSON, once
    for field, metric in (
        ("totalSteps", "steps"),
        ("restingHeartRate", "resting_heart_rate"),
        ("totalDistanceMeters", "distance"),
    ):
        timed = [d for d in DAYS if "wellnessStartTimeGmt" in d and field in d]
        assert sorted(s.value for s in of(items, metric)) == sorted(d[field] for d in timed)
    (steps, _) = sorted(of(items, "steps"), key=lambda s: s.start)
    assert (steps.source, steps.offset_min) == ("Garmin Connect", 120)
    assert steps.end - steps.start == 86_400_000
    assert [s.value for s in of(items, "exercise_time")] == [35.0]
    assert [s.value for s in of(items, "stress_level")] == [31.0]
    assert [s.value for s in of(items, "respiratory_rate")] == [15.0]
    battery = of(items, "body_battery")
    assert sorted(s.value for s in battery) == [21.0, 88.0]
    high = next(s for s in battery if s.value == 88.0)
    assert high.start == steps.start + (7 * 60 + 3) * 60_000  # 07:03 local, from midnight
    (night,) = of(items, "sleep")
    assert night.value == SLEEP_STAGES["in_bed"] and night.end - night.start == 8 * 3_600_000
    assert dict(night.metadata)["deep_s"] == "5400"
    assert dict(night.metadata)["overall_score"] == "82"
    assert (
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_2024-05-01_2024-08-09.json 2024-05-03",
        "daily summary without its day's times: skipped",
    ) in issues
    skipped = [loc for loc, problem in issues if "skipped whole" in problem]
    assert skipped == [GARMIN_UPLOADS.format(1) + "/" + BAD]
    # the activities file holds no activity: nothing comes from it
    assert not [i for i in items if isinstance(i, Workout) and i.source == "Garmin Connect"]
    assert any("DI-Connect-User (1)" in n for n in notes)
    assert any("not imported: 1 other uploaded file" in n for n in notes)


def test_import_is_whole_and_a_second_time_adds_nothing(fresh_vault: Vault, tmp_path: Path) -> None:
    export = garmin_export(tmp_path / "export.zip", files())
    first = import_garmin(fresh_vault, P, export)
    assert first.workouts == sum(sessions(fit(n)) for n in GOOD)
    assert [e.location for e in first.errors if "skipped whole" in e.problem] == [
        GARMIN_UPLOADS.format(1) + "/" + BAD
    ]
    assert [s.value for s in query.samples(fresh_vault, P, "stress_level")] == [31.0]
    again = import_garmin(fresh_vault, P, export)
    assert (again.added, again.workouts) == (0, 0)


def test_a_fit_file_imported_before_is_not_added_again(fresh_vault: Vault, tmp_path: Path) -> None:
    alone = tmp_path / GOOD[1]
    alone.write_bytes(fit(GOOD[1]))
    direct = import_garmin(fresh_vault, P, alone)
    export = garmin_export(tmp_path / "export.zip", files())
    summary = import_garmin(fresh_vault, P, export)
    assert summary.workouts == sum(sessions(fit(n)) for n in GOOD) - direct.workouts
    assert len(query.workouts(fresh_vault, P)) == sum(sessions(fit(n)) for n in GOOD)


def test_a_damaged_inner_zip_keeps_the_files_before_the_damage(tmp_path: Path) -> None:
    inner = streamed_zip({GOOD[0]: fit(GOOD[0]), GOOD[1]: fit(GOOD[1])})
    cut = inner[: len(inner) - 2_000]  # the second file's data ends early
    export = garmin_export(
        tmp_path / "export.zip",
        {
            GARMIN_UDS: json.dumps(DAYS[:1]).encode(),
            GARMIN_UPLOADS.format(1): cut,
        },
    )
    items, issues, _ = parse(export)
    assert len([i for i in items if isinstance(i, Workout)]) == sessions(fit(GOOD[0]))
    ((location, problem),) = [(loc, p) for loc, p in issues if "was not read" in p]
    assert location == GARMIN_UPLOADS.format(1)
    assert "after 1 file" in problem
    assert of(items, "steps")  # the rest of the export still went in


def test_a_bad_json_file_is_skipped_whole(tmp_path: Path) -> None:
    export = garmin_export(tmp_path / "export.zip", files(**{GARMIN_UDS: b"[{not json"}))
    items, issues, _ = parse(export)
    assert [loc for loc, p in issues if "skipped whole" in p and loc == GARMIN_UDS] == [GARMIN_UDS]
    assert of(items, "steps") == [] and len(of(items, "sleep")) == 1


@pytest.mark.parametrize(
    ("inner", "words"),
    [
        ({"../escape.fit": b"x"}, "climbs out"),
        ({"a.fit": b"x", "b/../../a.fit": b"y"}, "climbs out"),
        ({"zeros.fit": bytes(8 << 20)}, "zip bomb"),
    ],
)
def test_an_unsafe_inner_zip_refuses_the_whole_export(
    fresh_vault: Vault, tmp_path: Path, inner: dict[str, bytes], words: str
) -> None:
    export = garmin_export(
        tmp_path / "export.zip", files(**{GARMIN_UPLOADS.format(3): streamed_zip(inner)})
    )
    before = fresh_vault.store.counts()
    with pytest.raises(UnsafeArchive, match=words):
        import_garmin(fresh_vault, P, export)
    assert fresh_vault.store.counts() == before


def test_an_unsafe_outer_name_refuses_the_export(tmp_path: Path) -> None:
    export = garmin_export(tmp_path / "export.zip", files(**{"../DI_CONNECT/x.json": b"[]"}))
    with pytest.raises(UnsafeArchive):
        parse(export)


def test_an_unpacked_export_folder_reads_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "garmin"
    for name, data in files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    zipped, _, _ = parse(garmin_export(tmp_path / "export.zip", files()))
    unpacked, _, _ = parse(folder)
    assert sorted(map(repr, unpacked)) == sorted(map(repr, zipped))


def chunked(data: bytes, size: int = 1000) -> Any:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_stream_zip_reads_stored_deflated_and_streamed_entries() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("stored.bin", b"s" * 5000, compress_type=zipfile.ZIP_STORED)
        zf.writestr("dir/", b"")
        zf.writestr("dir/deflated.bin", b"d" * 7000, compress_type=zipfile.ZIP_DEFLATED)
    seekable = [(n, b"".join(c)) for n, c in stream_zip(chunked(buf.getvalue()), "x.zip")]
    assert seekable == [("stored.bin", b"s" * 5000), ("dir/deflated.bin", b"d" * 7000)]
    streamed = streamed_zip({"a": b"a" * 3000, "b": b"b" * 10})
    assert [n for n, _ in stream_zip(chunked(streamed, 7), "y.zip")] == [
        "a",
        "b",
    ]  # unread ones skipped


def test_stream_zip_refuses_damage_it_meets() -> None:
    data = bytearray(streamed_zip({"a.fit": bytes(range(256)) * 40}))
    data[60] ^= 0xFF  # inside a.fit's compressed data
    with pytest.raises(TruncatedArchive):
        for _, chunks in stream_zip(chunked(bytes(data)), "z.zip"):
            b"".join(chunks)
    raw = zlib.compress(b"x")  # not a zip at all
    with pytest.raises(TruncatedArchive, match="damaged zip data"):
        list(stream_zip(iter([raw]), "w.zip"))


@pytest.mark.parametrize("chunk", [7, 1000, 1 << 16])
def test_stream_zip_reads_output_larger_than_its_input_chunks(chunk: int) -> None:
    """Highly compressible entries inflate to many reads per input chunk; the entry after
    them starts where their compressed data ended."""
    first, second = bytes(3 << 20), bytes(range(256)) * 300
    data = streamed_zip({"zeros.fit": first, "next.fit": second})
    read = {n: b"".join(c) for n, c in stream_zip(chunked(data, chunk), "z.zip")}
    assert read == {"zeros.fit": first, "next.fit": second}


def session_starts(data: bytes) -> list[tuple[int, str]]:
    """(start in UTC ms, sport) of each session of a FIT file, read by fitdecode alone."""
    with fitdecode.FitReader(io.BytesIO(data)) as reader:
        return [
            (int(f.get_value("start_time").timestamp() * 1000), str(f.get_value("sport")))
            for f in reader
            if isinstance(f, fitdecode.FitDataMessage) and f.name == "session"
        ]


def summarized(**fields: Any) -> dict[str, Any]:
    """One entry of summarizedActivities.json, with the units Garmin writes (ms, cm, kcal)."""
    entry: dict[str, Any] = {
        "activityId": 9_000_000_001,
        "name": "Morning run",
        "activityType": "running",
        "sportType": "RUNNING",
        "startTimeGmt": 1_714_550_400_000,  # 2024-05-01T08:00:00Z
        "startTimeLocal": 1_714_557_600_000,  # 10:00 in Paris
        "duration": 1_800_000.0,
        "distance": 500_000.0,
        "calories": 400.0,
        "avgHr": 142.0,
    }
    entry.update(fields)
    return entry


def test_summarized_activities_without_a_fit_file_become_workouts(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    """An activity summary gives a workout only when no uploaded FIT file holds the same
    activity (same sport, starting within a minute); a multisport parent adds nothing."""
    (fit_start, fit_sport) = session_starts(fit(GOOD[0]))[0]
    assert fit_sport == "cycling"
    activities = [
        summarized(),  # entered by hand: no FIT file
        summarized(  # the FIT file's ride, as Garmin Connect typed it, 20 s apart
            activityId=9_000_000_002,
            activityType="road_biking",
            startTimeGmt=fit_start + 20_000,
            startTimeLocal=fit_start + 20_000 + 7_200_000,
        ),
        summarized(activityId=9_000_000_003, activityType="multi_sport", parent=True),
        summarized(activityId=9_000_000_004, startTimeGmt=None, beginTimestamp=None),
    ]
    export = garmin_export(
        tmp_path / "export.zip",
        files(
            **{GARMIN_ACTIVITIES: json.dumps([{"summarizedActivitiesExport": activities}]).encode()}
        ),
    )
    items, issues, notes = parse(export)
    from_summaries = [i for i in items if isinstance(i, Workout) and i.source == "Garmin Connect"]
    (run,) = from_summaries
    entry = activities[0]
    assert (run.activity, run.start) == ("running", entry["startTimeGmt"])
    assert run.end - run.start == entry["duration"]
    assert run.distance_m == entry["distance"] / 100
    assert (run.energy_kcal, run.offset_min) == (entry["calories"], 120)
    assert dict(run.metadata)["average_heart_rate"] == "142"
    assert any("activity 4" in loc and "start or duration" in p for loc, p in issues)
    assert any("1 summarized activity not imported again" in n for n in notes)
    assert any("1 multisport activity imported as its legs" in n for n in notes)
    summary = import_garmin(fresh_vault, P, export)
    assert summary.workouts == sum(sessions(fit(n)) for n in GOOD) + 1
    assert import_garmin(fresh_vault, P, export).workouts == 0


def test_a_summarized_activities_file_that_is_not_a_list_is_skipped_whole(tmp_path: Path) -> None:
    export = garmin_export(tmp_path / "export.zip", files(**{GARMIN_ACTIVITIES: b'{"a": 1}'}))
    items, issues, _ = parse(export)
    assert [loc for loc, p in issues if "skipped whole" in p] == [
        GARMIN_UPLOADS.format(1) + "/" + BAD,
        GARMIN_ACTIVITIES,
    ]
    assert len([i for i in items if isinstance(i, Workout)]) == sum(sessions(fit(n)) for n in GOOD)


def parsed(path: Path, parallel: bool) -> tuple[list[Any], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    report = lambda loc, p: issues.append((loc, p))  # noqa: E731
    items = list(parse_garmin(path, report, notes.append, parallel=parallel))
    return items, issues, notes


def test_decoding_in_helper_processes_gives_the_same_items_issues_and_notes(
    tmp_path: Path,
) -> None:
    """Good, damaged and non-FIT files, and an inner zip cut midway: the helpers' results
    come back in the order the serial import gives them."""
    inner = streamed_zip({GOOD[1]: fit(GOOD[1]), GOOD[0]: fit(GOOD[0])})
    export = garmin_export(
        tmp_path / "export.zip", files(**{GARMIN_UPLOADS.format(3): inner[: len(inner) - 2_000]})
    )
    serial = parsed(export, parallel=False)
    helped = parsed(export, parallel=True)
    assert helped == serial
    assert [loc for loc, p in serial[1] if "was not read" in p] == [GARMIN_UPLOADS.format(3)]
    assert len([i for i in serial[0] if isinstance(i, Workout)]) == sum(
        sessions(fit(n)) for n in (*GOOD, GOOD[1])
    )


def test_an_import_decoded_in_helpers_stores_what_a_serial_one_stores(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    export = garmin_export(tmp_path / "export.zip", files())
    helped = import_garmin(fresh_vault, P, export, parallel=True)
    assert helped.workouts == sum(sessions(fit(n)) for n in GOOD)
    assert [e.location for e in helped.errors if "skipped whole" in e.problem] == [
        GARMIN_UPLOADS.format(1) + "/" + BAD
    ]
    again = import_garmin(fresh_vault, P, export, parallel=False)
    assert (again.added, again.workouts) == (0, 0)
