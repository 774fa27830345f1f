"""FIT beat-to-beat and wellness messages through the Garmin importer: R-R intervals (`hrv`),
stress, respiration, SpO2, 5-minute HRV and sleep stages.

No public FIT file under a permissive licence holds the wellness messages, so these files are
built in the test (tests/builders.fit_file) following the FIT SDK's Profile.xlsx as fitdecode
ships it (messages hrv 78, stress_level 227, spo2_data 269, sleep_level 275, beat_intervals 290,
respiration_rate 297, sleep_assessment 346, hrv_status_summary 370, hrv_value 371) and
decoded by fitdecode like any other file; the R-R series of a real
file (garmin-edge-820-bike.fit) is checked in test_garmin_corpus.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import (
    FIT_ENUM,
    FIT_SINT16,
    FIT_UINT8,
    FIT_UINT16,
    FIT_UINT32,
    FitField,
    fit_file,
    fit_file_id,
    fit_time,
)
from vault.core import i18n
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import import_garmin, parse_garmin
from vault.data.model import SLEEP_STAGES, Sample

P = "0123456789abcdef0123456789abcdef"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def timer(moment: datetime, event_type: int) -> tuple[int, list[FitField]]:
    """An event message: timer (event 0) start (type 0) or stop_all (type 4)."""
    return 21, [(253, FIT_UINT32, fit_time(moment)), (0, FIT_ENUM, 0), (1, FIT_ENUM, event_type)]


def hrv(*intervals_ms: int | None) -> tuple[int, list[FitField]]:
    """An hrv message: five slots of R-R intervals in ms (scale 1000 of seconds)."""
    slots = [*intervals_ms, *([None] * (5 - len(intervals_ms)))]
    return 78, [(0, FIT_UINT16, slots)]


def stamped(number: int, moment: datetime, *fields: FitField) -> tuple[int, list[FitField]]:
    return number, [(253, FIT_UINT32, fit_time(moment)), *fields]


def parse(tmp_path: Path, data: bytes) -> tuple[list[Sample], list[str]]:
    path = tmp_path / "wellness.fit"
    path.write_bytes(data)
    notes: list[str] = []
    items = list(parse_garmin(path, lambda loc, p: None, notes.append))
    return [i for i in items if isinstance(i, Sample)], notes


def of(samples: list[Sample], metric: str) -> list[Sample]:
    return [s for s in samples if s.metric == metric]


def test_beats_are_timed_from_the_start_and_skip_the_pause(tmp_path: Path) -> None:
    resume = T0 + timedelta(seconds=60)
    data = fit_file(
        [
            fit_file_id(T0),
            timer(T0, 0),
            hrv(600, 610),
            hrv(None, 0),  # an empty message and a zero slot: no beat
            timer(T0 + timedelta(seconds=5), 4),
            timer(resume, 0),
            hrv(700),
        ]
    )
    samples, notes = parse(tmp_path, data)
    beats = of(samples, "rr_interval")
    assert [(b.start, b.value) for b in beats] == [
        (ms(T0) + 600, 600.0),
        (ms(T0) + 1210, 610.0),
        (ms(resume) + 700, 700.0),  # after the pause, from the resume
    ]
    assert all(b.unit == "ms" and b.start == b.end for b in beats)
    assert any("3 beat-to-beat (R-R) intervals kept" in n for n in notes)


def test_beats_with_nothing_to_place_them_are_said_not_imported(tmp_path: Path) -> None:
    samples, notes = parse(tmp_path, fit_file([fit_file_id(T0), hrv(600), hrv(610)]))
    # file_id's time_created is when the file was made, not when the beats began
    assert of(samples, "rr_interval") == []
    assert any("2 beat-to-beat (R-R) messages not imported" in n for n in notes)


def wellness_file() -> bytes:
    sleep = [(0, 2), (10, 3), (40, 4), (60, 1), (70, 0), (75, 2)]  # minutes, level
    return fit_file(
        [
            fit_file_id(T0, kind=44),  # 44: a monitoring file of the newer devices
            (227, [(0, FIT_SINT16, 35), (1, FIT_UINT32, fit_time(T0))]),
            (227, [(0, FIT_SINT16, -1), (1, FIT_UINT32, fit_time(T0 + timedelta(minutes=3)))]),
            stamped(297, T0, (0, FIT_SINT16, 1450)),
            stamped(297, T0 + timedelta(minutes=2), (0, FIT_SINT16, -100)),
            stamped(269, T0, (0, FIT_UINT8, 95), (1, FIT_UINT8, 80), (2, FIT_ENUM, 3)),
            stamped(269, T0 + timedelta(minutes=1), (0, FIT_UINT8, 90), (2, FIT_ENUM, 0)),
            stamped(371, T0 + timedelta(minutes=5), (0, FIT_UINT16, 40 * 128)),
            *(stamped(275, T0 + timedelta(minutes=m), (0, FIT_ENUM, level)) for m, level in sleep),
        ]
    )


def test_wellness_messages_become_samples_and_no_readings_are_counted(tmp_path: Path) -> None:
    samples, notes = parse(tmp_path, wellness_file())
    t0 = ms(T0)
    assert [(s.start, s.value, s.unit) for s in of(samples, "stress_level")] == [
        (t0, 35.0, "{score}")
    ]
    assert [(s.start, s.value) for s in of(samples, "respiratory_rate")] == [(t0, 14.5)]
    (spo2,) = of(samples, "blood_oxygen")
    assert (spo2.start, spo2.value, dict(spo2.metadata)) == (t0, 95.0, {"mode": "periodic"})
    (rmssd,) = of(samples, "hrv_rmssd")
    assert (rmssd.start, rmssd.end, rmssd.value) == (t0, t0 + 300_000, 40.0)
    minute = 60_000
    assert [(s.start, s.end, s.value) for s in of(samples, "sleep")] == [
        (t0, t0 + 10 * minute, SLEEP_STAGES["core"]),
        (t0 + 10 * minute, t0 + 40 * minute, SLEEP_STAGES["deep"]),
        (t0 + 40 * minute, t0 + 60 * minute, SLEEP_STAGES["rem"]),
        (t0 + 60 * minute, t0 + 70 * minute, SLEEP_STAGES["awake"]),
    ]
    (said,) = [n for n in notes if "not imported:" in n]
    for words in (
        "stress levels marked as no reading (1)",
        "respiration rates marked as no reading (1)",
        "SpO2 readings marked as no reading (1)",
        "sleep levels not measured (1)",
        "last sleep level (its end is not recorded) (1)",
    ):
        assert words in said
    assert not any("messages not imported" in n for n in notes)  # every kind was read


def test_wellness_import_lands_once(fresh_vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "wellness.fit"
    path.write_bytes(wellness_file())
    first = import_garmin(fresh_vault, P, path)
    assert first.added == 1 + 1 + 1 + 1 + 4  # stress, respiration, SpO2, RMSSD, 4 stages
    assert [s.value for s in query.samples(fresh_vault, P, "stress_level")] == [35.0]
    again = import_garmin(fresh_vault, P, path)
    assert (again.added, again.duplicates) == (0, first.added)


HRV_STATUS = {  # field number -> (name, value in ms; the file holds it times 128)
    0: ("weekly_average", 41.5),
    1: ("last_night_average", 38.25),
    2: ("last_night_5_min_high", 62.0),
    3: ("baseline_low_upper", 33.0),
    4: ("baseline_balanced_lower", 35.0),
    5: ("baseline_balanced_upper", 48.0),
}
INTERVALS = ([900, 950, None], [1000, 0, 980])  # ms; None an unused slot, 0 no beat
SCORES = {
    6: ("overall_sleep_score", 81),
    4: ("sleep_duration_score", 90),
    11: ("awakenings_count", 2),
}


def night_file(*, levels: bool = True) -> bytes:
    """A sleep file of the newer watches: sleep levels, the night's HRV status and sleep
    assessment, and all-day beat intervals."""
    wake = T0 + timedelta(hours=7)
    status = [(n, FIT_UINT16, round(v * 128)) for n, (_, v) in HRV_STATUS.items()]
    return fit_file(
        [
            fit_file_id(T0, kind=49),  # 49: a sleep file
            *(
                [
                    stamped(275, T0, (0, FIT_ENUM, 3)),
                    stamped(275, wake - timedelta(minutes=5), (0, FIT_ENUM, 1)),
                    stamped(275, wake, (0, FIT_ENUM, 1)),
                ]
                if levels
                else []
            ),
            stamped(370, wake, *status, (6, FIT_ENUM, 4)),  # status 4: balanced
            (346, [(n, FIT_UINT8, v) for n, (_, v) in SCORES.items()] + [(7, FIT_UINT8, None)]),
            stamped(290, T0, (0, FIT_UINT16, 250), (1, FIT_UINT16, INTERVALS[0])),
            stamped(290, T0 + timedelta(seconds=2), (1, FIT_UINT16, INTERVALS[1])),
        ]
    )


def test_the_night_s_hrv_status_and_sleep_score_and_all_day_beats(tmp_path: Path) -> None:
    samples, notes = parse(tmp_path, night_file())
    wake = ms(T0 + timedelta(hours=7))
    (status,) = [s for s in of(samples, "hrv_rmssd") if s.metadata]
    meta = dict(status.metadata)
    assert (status.start, status.value, status.unit) == (wake, 38.25, "ms")
    assert meta.pop("statistic") == "last_night_average" and meta.pop("status") == "balanced"
    others = {name: v for n, (name, v) in HRV_STATUS.items() if name != "last_night_average"}
    assert {k: float(v) for k, v in meta.items()} == others
    (score,) = of(samples, "sleep_score")
    assert (score.start, score.end, score.value, score.unit) == (wake, wake, 81.0, "{score}")
    parts = {name: float(v) for _, (name, v) in SCORES.items() if name != "overall_sleep_score"}
    assert {k: float(v) for k, v in score.metadata} == parts  # the unset quality score: absent
    beats = of(samples, "rr_interval")
    first, second = ms(T0) + 250, ms(T0) + 2000
    assert [(b.start, b.value) for b in beats] == [
        (first + 900, 900.0),
        (first + 1850, 950.0),
        (second + 1000, 1000.0),  # each message from its own time, not the one before
        (second + 1980, 980.0),
    ]
    assert not any("messages not imported" in n for n in notes)


def test_a_sleep_score_without_a_night_is_placed_at_the_file_s_creation(tmp_path: Path) -> None:
    samples, _ = parse(tmp_path, night_file(levels=False))
    (score,) = of(samples, "sleep_score")
    assert score.start == ms(T0)


def test_night_summaries_land_once(fresh_vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "sleep.fit"
    path.write_bytes(night_file())
    first = import_garmin(fresh_vault, P, path)
    assert [s.value for s in query.samples(fresh_vault, P, "sleep_score")] == [81.0]
    beats = [ms for message in INTERVALS for ms in message if ms]
    assert len(list(query.samples(fresh_vault, P, "rr_interval"))) == len(beats)
    assert import_garmin(fresh_vault, P, path).added == 0
    assert first.added > 0


def test_the_notes_are_said_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note is English for scripts, and the front ends say it, each counted kind too, in
    the person's language."""
    _, notes = parse(tmp_path, wellness_file())
    (said,) = [n for n in notes if "not imported:" in n]
    monkeypatch.setenv("LANGUAGE", "fr")
    french = i18n.localise(said)
    assert french.startswith("wellness.fit\u00a0: non importé\u00a0: ")
    assert "niveaux de stress marqués comme sans lecture (1)" in french
    assert "not imported" not in french
