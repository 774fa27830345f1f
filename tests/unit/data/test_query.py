"""Queries: ranges, aggregates per period and zone, source priority, per-source breakdown."""

from __future__ import annotations

import datetime as dt

import pytest

from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.data.model import SLEEP_STAGES, Sample

P = "0123456789abcdef0123456789abcdef"
MIN = 60_000
H = 3_600_000


def ms(text: str) -> int:
    return query.parse_instant(text)


def steps(start: str, minutes: int, value: float, source: str) -> Sample:
    s = ms(start)
    return Sample("steps", s, s + minutes * MIN, value, "count", source, "", 60)


def write(vault: Vault, samples: list[Sample]) -> None:
    with QSWriter(vault, P) as w:
        for s in samples:
            w.add(s)


def test_raw_samples_in_half_open_range(fresh_vault: Vault) -> None:
    t = ms("2024-03-01T10:00:00Z")
    write(
        fresh_vault,
        [
            Sample("heart_rate", t + i * MIN, t + i * MIN, 60 + i, "/min", "W", "dev", 60,
                   (("HKTimeZone", "Europe/Paris"),))
            for i in range(10)
        ],
    )  # fmt: skip
    got = list(query.samples(fresh_vault, P, "heart_rate", t + 2 * MIN, t + 5 * MIN))
    assert [s.value for s in got] == [62, 63, 64]
    assert got[0].metadata == (("HKTimeZone", "Europe/Paris"),)
    assert (got[0].source, got[0].device, got[0].offset_min, got[0].unit) == (
        "W",
        "dev",
        60,
        "/min",
    )
    assert len(query.load(fresh_vault, P, "heart_rate")) == 10
    assert len(query.load(fresh_vault, P, "heart_rate", end=t)) == 0
    assert list(query.samples(fresh_vault, P, "steps")) == []


def test_source_priority_resolves_overlaps(fresh_vault: Vault) -> None:
    write(
        fresh_vault,
        [
            steps("2024-03-01T10:00:00Z", 10, 100, "Apple Watch"),
            steps("2024-03-01T10:00:00Z", 10, 120, "iPhone"),  # fully covered: 0
            steps("2024-03-01T10:05:00Z", 10, 60, "iPhone"),  # half covered: 30
            steps("2024-03-01T12:00:00Z", 10, 50, "Some App"),  # alone: 50
        ],
    )
    (day,) = query.aggregate(fresh_vault, P, "steps", "day")
    assert day.sum == pytest.approx(180)
    assert day.count == 3
    by = query.by_source(fresh_vault, P, "steps")
    assert [(s.source, s.count, s.sum, s.counted) for s in by] == [
        ("Apple Watch", 1, 100, 100),
        ("iPhone", 2, 180, pytest.approx(30)),
        ("Some App", 1, 50, 50),
    ]
    query.set_source_priority(fresh_vault, ["iPhone"])
    assert query.get_source_priority(fresh_vault) == ["iPhone"]
    (day,) = query.aggregate(fresh_vault, P, "steps", "day")
    # iPhone covers 10:00-10:15 (180 steps); the watch's 10:00-10:10 is covered entirely.
    assert day.sum == pytest.approx(230)


def test_rates_use_every_sample(fresh_vault: Vault) -> None:
    t = ms("2024-03-01T10:00:00Z")
    write(
        fresh_vault,
        [Sample("heart_rate", t, t, 50, "/min", "Apple Watch"),
         Sample("heart_rate", t, t, 70, "/min", "iPhone"),
         Sample("heart_rate", t + H, t + H, 90, "/min", "Apple Watch")],
    )  # fmt: skip
    hours = query.aggregate(fresh_vault, P, "heart_rate", "hour")
    assert [(b.count, b.min, b.avg, b.max) for b in hours] == [(2, 50, 60, 70), (1, 90, 90, 90)]
    assert hours[0].unit == "/min"


def test_periods_follow_the_time_zone(fresh_vault: Vault) -> None:
    # 23:30 UTC on 31 March is 1:30 on 1 April in Paris (summer time since 31 March).
    write(
        fresh_vault,
        [steps("2024-03-31T23:30:00Z", 1, 10, "W"), steps("2024-03-31T12:00:00Z", 1, 5, "W")],
    )
    utc = query.aggregate(fresh_vault, P, "steps", "day")
    assert [(query.iso(b.start), b.sum) for b in utc] == [("2024-03-31T00:00:00+00:00", 15)]
    paris = query.aggregate(fresh_vault, P, "steps", "day", tz="Europe/Paris")
    assert [(query.iso(b.start, b.offset_min), b.sum) for b in paris] == [
        ("2024-03-31T00:00:00+01:00", 5),
        ("2024-04-01T00:00:00+02:00", 10),
    ]
    # The DST day is 23 hours long.
    assert paris[0].end - paris[0].start == 23 * H
    (month,) = query.aggregate(fresh_vault, P, "steps", "month", tz="-05:00")
    assert query.iso(month.start, month.offset_min) == "2024-03-01T00:00:00-05:00"
    (week,) = query.aggregate(fresh_vault, P, "steps", "week")
    assert query.iso(week.start) == "2024-03-25T00:00:00+00:00"  # a Monday
    with pytest.raises(InvalidParameter):
        query.aggregate(fresh_vault, P, "steps", "fortnight")
    with pytest.raises(InvalidParameter):
        query.aggregate(fresh_vault, P, "steps", "day", tz="Mars/Olympus")


def test_sleep_durations_per_stage(fresh_vault: Vault) -> None:
    def stage(start: str, minutes: int, name: str, source: str = "Apple Watch") -> Sample:
        s = ms(start)
        return Sample("sleep", s, s + minutes * MIN, SLEEP_STAGES[name], "", source)

    write(
        fresh_vault,
        [
            stage("2024-03-01T22:00:00Z", 480, "in_bed", "iPhone"),
            stage("2024-03-01T22:10:00Z", 60, "core"),
            stage("2024-03-01T23:10:00Z", 30, "deep"),
            stage("2024-03-01T23:40:00Z", 5, "awake"),
            stage("2024-03-01T23:45:00Z", 45, "rem"),
            stage("2024-03-01T22:10:00Z", 60, "asleep", "Sleep App"),  # covered by the watch
        ],
    )
    (night,) = query.aggregate(fresh_vault, P, "sleep", "day")
    assert night.unit == "min"
    assert night.stages == {"in_bed": 480, "awake": 5, "core": 60, "deep": 30, "rem": 45}
    assert night.sum == pytest.approx(135)


def test_metrics_catalogue(fresh_vault: Vault) -> None:
    write(
        fresh_vault,
        [steps("2024-03-01T10:00:00Z", 10, 100, "W"), steps("2024-03-02T10:00:00Z", 10, 1, "P")],
    )
    (info,) = query.list_metrics(fresh_vault, P)
    assert (info.metric, info.unit, info.samples) == ("steps", "{steps}", 2)
    assert info.sources == {"P": 1, "W": 1}
    assert query.iso(info.first or 0) == "2024-03-01T10:00:00+00:00"
    assert query.iso(info.last or 0) == "2024-03-02T10:10:00+00:00"
    assert query.list_metrics(fresh_vault, "f" * 32) == []


def test_time_helpers() -> None:
    assert query.iso(ms("2024-03-01T10:00:00.250+02:00"), 120) == "2024-03-01T10:00:00.250+02:00"
    assert query.parse_instant("2024-03-01") == ms("2024-03-01T00:00:00Z")
    assert query.parse_instant("2024-03-01", end_of_day=True) == ms("2024-03-02T00:00:00Z")
    assert query.zone("-03:30").utcoffset(None) == dt.timedelta(hours=-3, minutes=-30)
    with pytest.raises(InvalidParameter, match="not an ISO 8601"):
        query.parse_instant("yesterday")


def test_unknown_metric_refused(fresh_vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="unknown metric"):
        query.load(fresh_vault, P, "stepz")
    assert len(query.load(fresh_vault, P, "x:Custom")) == 0


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("hrv", "hrv_sdnn"), ("heartrate", "heart_rate"), ("Steps", "steps")],
)
def test_a_mistyped_metric_gets_the_ones_it_likely_meant(typed: str, meant: str) -> None:
    from vault.data import metrics

    assert meant in metrics.close_metrics(typed)
    with pytest.raises(InvalidParameter, match=f"did you mean .*{meant}"):
        metrics.get(typed)
