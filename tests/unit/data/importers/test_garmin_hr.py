"""The heart rate a chest strap stores while it cannot send it (a swim), in FIT `hr`
messages, through the Garmin importer.

The real file is the Forerunner 920XT triathlon of the corpus (sample_mulitple_header.fit):
its readings are counted here from fitdecode's own frames, and their placing checked against
what the file says twice (each anchor's own time, and the records' heart rate where both
exist). The edge cases (12-bit and 32-bit rollover, messages nothing places, garbage) are
built in the test (tests/builders.fit_file) after the FIT profile fitdecode ships: hr is
message 132, with timestamp (253), fractional_timestamp (0, 1/32768 s), filtered_bpm (6),
event_timestamp (9, 1/1024 s) and event_timestamp_12 (10, 12-bit times, two in three bytes).
"""

from __future__ import annotations

import bisect
import functools
import io
import itertools
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fitdecode  # type: ignore[import-untyped]
import pytest

from tests.builders import (
    FIT_UINT8,
    FIT_UINT16,
    FIT_UINT32,
    FitField,
    fit_file,
    fit_file_id,
    fit_time,
)
from tests.conftest import CORPUS
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import garmin, import_garmin, parse_garmin
from vault.data.model import Sample, Workout

P = "0123456789abcdef0123456789abcdef"
TRIATHLON = CORPUS / "fit" / "sample_mulitple_header.fit"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
FIT_BYTE = (0x0D, "B", 0xFF)
HR, RECORD = 132, 20


def ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


@functools.cache
def frames() -> list[tuple[str, dict[str, Any]]]:
    """The triathlon's data messages as fitdecode reads them in its default mode."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fitdecode.FitReader(io.BytesIO(TRIATHLON.read_bytes())) as reader:
            for f in reader:
                if isinstance(f, fitdecode.FitDataMessage):
                    out.append((f.name, {x.name: x.value for x in f.fields}))
    return out


def bpms(values: dict[str, Any]) -> tuple[Any, ...]:
    v = values.get("filtered_bpm")
    return v if isinstance(v, tuple) else (v,)


@functools.cache
def placed() -> garmin._Readings:
    """The triathlon's hr readings as the importer places them, before records win."""
    data = TRIATHLON.read_bytes()
    msgs = garmin._fit_messages(data, TRIATHLON.name, lambda n: None)
    return garmin._hr_readings(msgs, garmin._clock(msgs, TRIATHLON.name, lambda n: None))


def test_every_reading_of_the_triathlon_is_placed_in_order_and_plausible() -> None:
    hr = [v for n, v in frames() if n == "hr"]
    readings = placed()
    assert (len(readings.placed), readings.unplaced, readings.empty) == (
        sum(len(bpms(v)) for v in hr),
        0,
        0,
    )
    times = [t for t, _ in readings.placed]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert all(30 <= bpm <= 220 for _, bpm in readings.placed)
    assert [bpm for _, bpm in readings.placed] == [b for v in hr for b in bpms(v)]


def test_each_anchor_lands_on_its_own_time_and_the_packed_times_run_up_to_it() -> None:
    """The file states the time of each timed hr message: the 12-bit times unpacked since
    the anchor before it must arrive just before it, never after (a wrong rollover would
    drift by 4 s per message, hundreds of messages)."""
    anchors = [
        (ms(v["timestamp"]) + round(v["fractional_timestamp"] * 1000), v["filtered_bpm"])
        for n, v in frames()
        if n == "hr" and v.get("timestamp") is not None
    ]
    assert len(anchors) > 1
    readings = placed().placed
    times = [t for t, _ in readings]
    for t, bpm in anchors:
        i = times.index(t)
        assert readings[i][1] == bpm
        if i:
            assert 0 < t - times[i - 1] <= 3_000


def test_readings_agree_with_the_heart_rate_the_records_hold_at_the_same_moments() -> None:
    readings = placed().placed
    times = [t for t, _ in readings]
    both = [
        (ms(v["timestamp"]), v["heart_rate"])
        for n, v in frames()
        if n == "record" and v.get("heart_rate") is not None and times[0] <= ms(v["timestamp"])
        if ms(v["timestamp"]) <= times[-1]
    ]
    assert len(both) > 100
    for t, bpm in both:
        i = bisect.bisect_left(times, t)
        near = [readings[j][1] for j in (i - 1, i) if 0 <= j < len(readings)]
        assert min(abs(b - bpm) for b in near) <= 3


def test_the_swim_is_filled_and_records_win_where_they_hold_heart_rate(
    fresh_vault: Vault,
) -> None:
    sessions = [v for n, v in frames() if n == "session"]
    records = [v for n, v in frames() if n == "record" and v.get("timestamp") is not None]
    record_hr: dict[int, bool] = {}
    for r in records:
        t = ms(r["timestamp"])
        record_hr[t] = record_hr.get(t, False) or r.get("heart_rate") is not None
    order = sorted(record_hr)

    def has_own(t: int) -> bool:  # the record ending t's stretch holds a heart rate
        i = bisect.bisect_left(order, t)
        return i < len(order) and record_hr[order[i]] and (i > 0 or t == order[0])

    filled = [(t, bpm) for t, bpm in placed().placed if not has_own(t)]
    assert len(filled) < len(placed().placed)  # some overlap the records'
    expected = {(ms(r["timestamp"]), float(r["heart_rate"])) for r in records if "heart_rate" in r}
    expected |= set(filled)
    summary = import_garmin(fresh_vault, P, TRIATHLON)
    assert summary.added == len(expected)
    assert not any("messages not imported: hr" in n for n in summary.notes)
    stored = {(s.start, s.value) for s in query.samples(fresh_vault, P, "heart_rate")}
    assert stored == expected
    swim = sessions[0]
    assert swim["sport"] == "swimming"
    start, end = ms(swim["start_time"]), ms(swim["timestamp"])
    in_swim = sorted(t for t, _ in stored if start <= t <= end)
    records_in_swim = sum(1 for r in records if start <= ms(r["timestamp"]) <= end)
    assert len(in_swim) > records_in_swim  # several readings a second against one per 6 s
    assert in_swim[0] - start <= 1_000 and end - in_swim[-1] <= 10_000
    assert max(b - a for a, b in itertools.pairwise(in_swim)) <= 10_000


def decoded(folder: Path, parallel: bool) -> tuple[list[Any], list[Any], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_garmin(folder, lambda *i: issues.append(i), notes.append, parallel=parallel))
    return items, issues, notes


def test_helper_processes_decode_the_readings_as_this_process_does(tmp_path: Path) -> None:
    folder = tmp_path / "garmin"
    folder.mkdir()
    (folder / TRIATHLON.name).write_bytes(TRIATHLON.read_bytes())
    (folder / "rollover.fit").write_bytes(rollover_file(0xFFFF_FC00))
    (folder / "orphan.fit").write_bytes(activity([hr_packed([90, 91], [1, 2]), *anchored()]))
    runs = [decoded(folder, parallel) for parallel in (False, True)]
    assert runs[0] == runs[1]
    assert sum(1 for i in runs[0][0] if isinstance(i, Sample)) > len(placed().placed) // 2


# --- files built after the FIT profile -----------------------------------------------------


def pack(lows: list[int]) -> list[int | None]:
    """event_timestamp_12's bytes: each 12-bit value after the one before it, least
    significant bits first (two values in three bytes)."""
    bits = sum((low & 0xFFF) << (12 * i) for i, low in enumerate(lows))
    return list(bits.to_bytes((12 * len(lows) + 7) // 8, "little"))


def hr_anchor(moment: datetime, fraction_s: float, ticks: int, bpm: int) -> tuple[int, list[Any]]:
    """A timed hr message: its time, the fraction of its second, its one strap time."""
    return HR, [
        (253, FIT_UINT32, fit_time(moment)),
        (0, FIT_UINT16, round(fraction_s * 32768)),
        (9, FIT_UINT32, ticks),
        (6, FIT_UINT8, bpm),
    ]


def hr_packed(values: list[int | None], ticks: list[int]) -> tuple[int, list[Any]]:
    """An untimed hr message: readings with their strap times packed in 12 bits."""
    return HR, [(6, FIT_UINT8, values), (10, FIT_BYTE, pack(ticks))]


def record(moment: datetime, bpm: int | None) -> tuple[int, list[FitField]]:
    fields: list[FitField] = [(253, FIT_UINT32, fit_time(moment))]
    if bpm is not None:
        fields.append((3, FIT_UINT8, bpm))
    return RECORD, fields


def activity(messages: list[tuple[int, list[Any]]]) -> bytes:
    """A file_id, MESSAGES, and one record a minute after T0 (so there is an activity)."""
    return fit_file([fit_file_id(T0), *messages, record(T0 + timedelta(minutes=1), None)])


def anchored() -> list[tuple[int, list[Any]]]:
    """An anchor at T0 (strap time 4096 ticks) and two readings half a second apart."""
    return [hr_anchor(T0, 0.0, 4096, 100), hr_packed([101, 102], [4096 + 512, 4096 + 1024])]


def rollover_file(first: int) -> bytes:
    """An anchor at T0 + 0.25 s (strap time FIRST), then 40 readings every half second
    (512 ticks), 8 to a message: their 12 low bits wrap every 8 readings."""
    steps = [(first + 512 * k) % (1 << 32) for k in range(1, 41)]
    messages = [
        hr_packed([100 + k % 50 for k in range(i, i + 8)], steps[i : i + 8])
        for i in range(0, 40, 8)
    ]
    return activity([hr_anchor(T0, 0.25, first, 99), *messages])


def parse(data: bytes) -> tuple[list[Sample], list[Workout], list[str]]:
    notes: list[str] = []
    items = garmin.parse_fit(data, "strap.fit", lambda *i: None, notes.append)
    samples = [i for i in items if isinstance(i, Sample) and i.metric == "heart_rate"]
    return samples, [i for i in items if isinstance(i, Workout)], notes


@pytest.mark.parametrize("first", [0x1234_5F00, 0xFFFF_FC00], ids=["12-bit", "32-bit"])
def test_packed_times_roll_over_their_12_bits_and_the_strap_clock_its_32(first: int) -> None:
    samples, _, notes = parse(rollover_file(first))
    start = ms(T0) + 250
    assert [s.start for s in samples] == [start + 500 * k for k in range(41)]
    assert [s.value for s in samples] == [99.0, *(float(100 + k % 50) for k in range(40))]
    assert any("41 heart-rate readings stored by the strap" in n for n in notes)


def test_readings_before_any_timed_message_are_counted_and_the_rest_imported() -> None:
    """An untimed hr message first: nothing places its readings; the file's own records,
    and the readings the anchor after it places, still go in (fitdecode's own reading of
    such a message would have failed the whole file)."""
    data = activity([hr_packed([90, 91, 92], [1, 2, 3]), *anchored()])
    samples, workouts, notes = parse(data)
    assert [(s.start, s.value) for s in samples] == [
        (ms(T0), 100.0),
        (ms(T0) + 500, 101.0),
        (ms(T0) + 1000, 102.0),
    ]
    assert len(workouts) == 1
    assert any("readings without a time to place them (3)" in n for n in notes)


def test_garbage_is_counted_never_placed_and_never_fails_the_file() -> None:
    t = 4096
    messages = [
        *anchored(),
        # a slot the strap left unused (0xFF) and one with no reading (0)
        hr_packed([None, 0], [t + 1536, t + 2048]),
        # packed times all 0xFF: fitdecode gives no value
        (HR, [(6, FIT_UINT8, [120, 121]), (10, FIT_BYTE, [None, None, None])]),
        # fewer packed times than readings
        (HR, [(6, FIT_UINT8, [120, 121, 122]), (10, FIT_BYTE, pack([1, 2]))]),
        # an anchor with two strap times (the SDK refuses it)
        (HR, [(253, FIT_UINT32, fit_time(T0)), (9, FIT_UINT32, [1, 2]), (6, FIT_UINT8, [1, 2])]),
        # a strap time before its anchor's
        hr_anchor(T0 + timedelta(seconds=30), 0.0, 50_000, 110),
        (HR, [(6, FIT_UINT8, [111]), (9, FIT_UINT32, [40_000])]),
    ]
    samples, workouts, notes = parse(activity(messages))
    assert [s.value for s in samples] == [100.0, 101.0, 102.0, 110.0]
    assert len(workouts) == 1
    unplaced = 2 + 3 + 2 + 1
    assert any(f"readings without a time to place them ({unplaced})" in n for n in notes)
    assert any("slots without a reading (2)" in n for n in notes)


def test_records_win_and_readings_fill_only_the_stretches_without_their_heart_rate() -> None:
    """Records every second with heart rate for 3 s, then without it for 3 s; readings
    every half second from 1 s before the first record to 1 s after the last."""
    records = [record(T0 + timedelta(seconds=s), 150 if s <= 3 else None) for s in range(7)]
    base = 10_000
    ticks = [base + 512 * k for k in range(1, 16)]
    readings = [
        hr_anchor(T0 - timedelta(seconds=1), 0.0, base, 140),
        hr_packed([141 + k % 5 for k in range(15)], ticks),
    ]
    samples, _, notes = parse(fit_file([fit_file_id(T0), *records, *readings]))
    at = [ms(T0) - 1000 + 500 * k for k in range(16)]
    first, last_with_hr = ms(T0), ms(T0) + 3000
    # before the first record, nothing overlaps; up to the last record with heart rate
    # (its own stretch included), the records' values stand
    kept_readings = [t for t in at if t < first or t > last_with_hr]
    record_times = [ms(T0) + 1000 * s for s in range(4)]
    assert sorted(s.start for s in samples) == sorted(record_times + kept_readings)
    left = len(at) - len(kept_readings)
    assert any(f"kept at their own times; {left} left out" in n for n in notes)


def test_readings_in_a_long_pause_between_records_are_kept() -> None:
    """Records with heart rate at 0 s and 10 min (the watch paused between): the record
    after the pause does not cover it, so the strap's readings in it stay; those within a
    minute of a record's stretch still give way."""
    records = [record(T0, 150), record(T0 + timedelta(minutes=10), 150)]
    records.append(record(T0 + timedelta(minutes=10, seconds=30), 150))
    base = 10_000
    seconds = [60, 120, 300, 610, 620]  # in the pause, then in the next record's stretch
    # each reading a timed message (12-bit packed times would roll over every 4 s)
    readings = [
        hr_anchor(T0 + timedelta(seconds=s), 0.0, base + 1024 * s, 141 + k)
        for k, s in enumerate(seconds)
    ]
    samples, _, _ = parse(fit_file([fit_file_id(T0), *records, *readings]))
    stored = sorted(s.start for s in samples)
    assert [ms(T0) + 1000 * s for s in seconds[:3]] == [
        t for t in stored if ms(T0) < t < ms(T0) + 600_000
    ]
    assert all(ms(T0) + 1000 * s not in stored for s in seconds[3:])


def test_an_anchor_that_also_holds_packed_times_keeps_its_strap_time() -> None:
    """fitdecode gives `event_timestamp` as a date in a message that also has packed times;
    its strap time is still the anchor's (the packed bytes of a timed message are unused)."""
    strap = 0x0ABC_DEF0
    anchor = hr_anchor(T0, 0.5, strap, 100)
    anchor[1].append((10, FIT_BYTE, pack([strap & 0xFFF])))
    samples, _, _ = parse(activity([anchor, hr_packed([101], [strap + 1024])]))
    assert [(s.start, s.value) for s in samples] == [(ms(T0) + 500, 100.0), (ms(T0) + 1500, 101.0)]
