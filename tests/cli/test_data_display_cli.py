"""How `coffre data` shows data to people: headers, thousands separators, the aggregate that
fits a metric's kind, integer totals of whole things, durations, the range as typed, a
range that holds nothing or ends before it starts, and `data show --chart`."""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.cli.conftest import checked
from tests.conftest import PASSPHRASE
from vault import personas
from vault.cli.chart import render, y_limits
from vault.core.vault import Vault
from vault.data import display, query
from vault.data.ingest import QSWriter
from vault.data.model import SLEEP_STAGES, Sample

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_709_251_200_000  # 2024-03-01T00:00:00Z
HEART = {d: [55 + d + 7 * (h % 5) for h in range(0, 24, 2)] for d in range(6)}
STEPS = 1_200  # samples of one step count each over 2024-03-01 .. 2024-03-05


@pytest.fixture
def shown(vault_dir: Path) -> Path:
    """A vault whose persona has heart rate (six days, twelve samples a day), 1,200 steps
    samples with an iPhone sample half covered by the watch, a night's sleep and one
    large energy total."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        pid = personas.add_persona(v, "Ana").id
        with QSWriter(v, pid) as w:
            for day, values in HEART.items():
                for i, bpm in enumerate(values):
                    t = T0 + day * DAY + i * 2 * HOUR
                    w.add(Sample("heart_rate", t, t, bpm, "/min", source="Watch"))
            for i in range(STEPS):
                t = T0 + i * 6 * 60_000
                w.add(Sample("steps", t, t + 60_000, 1, "count", source="Watch"))
            # 2024-03-10: the watch covers the first half of the iPhone's 7 steps.
            t = T0 + 9 * DAY
            w.add(Sample("steps", t, t + 10 * 60_000, 10, "count", source="Watch"))
            w.add(Sample("steps", t + 5 * 60_000, t + 15 * 60_000, 7, "count", source="iPhone"))
            night = T0 + 22 * HOUR  # 22:00 on 2024-03-01
            for stage, minutes in (("core", 200), ("deep", 65), ("rem", 95)):
                end = night + minutes * 60_000
                w.add(Sample("sleep", night, end, SLEEP_STAGES[stage], "", source="Watch"))
                night = end
            w.add(Sample("active_energy", T0, T0 + HOUR, 1_076_000.0, "kcal", source="Watch"))
    return vault_dir


def test_metrics_has_headers_and_separators(shown: Path) -> None:
    lines = checked(shown, "data", "metrics").stdout.splitlines()
    assert lines[0].split() == ["metric", "unit", "samples", "first", "last", "sources"]
    steps = next(line for line in lines if line.startswith("steps"))
    assert steps.split()[:3] == ["steps", "steps", f"{STEPS + 2:,}"]
    energy = next(line for line in lines if line.startswith("active_energy"))
    assert energy.split()[:3] == ["active_energy", "kcal", "1"]  # the count, under `samples`


def test_sources_never_print_an_exponent(shown: Path) -> None:
    text = checked(shown, "data", "sources", "active_energy").stdout
    assert "1,076,000" in text and "e+" not in text
    rate = checked(shown, "data", "sources", "heart_rate").stdout.splitlines()
    assert rate[0].split() == ["rank", "source", "samples", "mean", "lowest", "highest"]


def test_rates_show_mean_lowest_highest(shown: Path) -> None:
    lines = checked(shown, "data", "show", "heart_rate", "--every", "day").stdout.splitlines()
    assert lines[1].split() == ["day", "mean", "lowest", "highest", "samples"]
    rows = [line.split() for line in lines[2:]]
    expected = [
        [f"2024-03-{d + 1:02d}", f"{statistics.mean(v):.1f}", str(min(v)), str(max(v)),
         str(len(v))]
        for d, v in HEART.items()
    ]  # fmt: skip
    assert rows == expected
    assert "sum" not in "\n".join(lines)


def test_whole_things_keep_integer_totals(shown: Path) -> None:
    day = ("data", "show", "steps", "--every", "day", "--from", "2024-03-10", "--to", "2024-03-10")
    (row,) = json.loads(checked(shown, *day, "--json").stdout)
    # 10 from the watch, and the half of the iPhone's 7 it does not cover: 13.5, shown 14.
    assert row["sum"] == round(10 + 7 / 2) and isinstance(row["sum"], int)
    sources = ("data", "sources", "steps", "--from", "2024-03-10", "--json")
    iphone = next(s for s in json.loads(checked(shown, *sources).stdout) if s["source"] == "iPhone")
    assert iphone["counted"] == round(7 / 2) and isinstance(iphone["counted"], int)
    text = checked(shown, *day).stdout.splitlines()
    assert text[1].split() == ["day", "total", "samples"]
    assert text[2].split() == ["2024-03-10", str(round(10 + 7 / 2)), "2"]
    per_day = defaultdict(int)
    for i in range(STEPS):
        per_day[query.utc_iso(T0 + i * 6 * 60_000)[:10]] += 1
    month = checked(shown, "data", "show", "steps", "--every", "month", "--to", "2024-03-09")
    (total,) = [line.split()[1] for line in month.stdout.splitlines()[2:]]
    assert total == f"{sum(per_day.values()):,}"


def test_sleep_shows_durations_never_min_for_minimum(shown: Path) -> None:
    lines = checked(shown, "data", "show", "sleep", "--every", "day").stdout.splitlines()
    assert lines[1].split() == ["woke", "up", "asleep", "core", "deep", "rem"]
    asleep = 200 + 65 + 95
    durations = [
        f"{asleep // 60} h {asleep % 60:02d} min",
        "3 h 20 min",
        "1 h 05 min",
        "1 h 35 min",
    ]
    assert lines[2].split() == ["2024-03-02", *" ".join(durations).split()]
    assert "min=" not in "\n".join(lines)


def test_the_range_is_echoed_as_typed(shown: Path) -> None:
    title = checked(
        shown, "data", "show", "heart_rate", "--every", "day", "--from", "2024-03-02",
        "--to", "2024-03-04",
    ).stdout.splitlines()[0]  # fmt: skip
    assert title == "heart_rate (/min): mean per day, 2024-03-02 to 2024-03-04 (UTC)"
    preview = checked(
        shown, "forget", "--metric", "heart_rate", "--to", "2024-03-04", "--dry-run", "--json"
    ).stdout
    assert json.loads(preview)["what"] == ["metric heart_rate from the start to 2024-03-04"]


REFUSING = [("show", "heart_rate"), ("sources", "heart_rate"), ("workouts",),
             ("show", "heart_rate", "--every", "day")]  # fmt: skip


@pytest.mark.parametrize("command", REFUSING)
def test_from_after_to_is_refused(shown: Path, command: tuple[str, ...]) -> None:
    refused = checked(shown, "data", *command, "--from", "2024-03-04", "--to", "2024-03-01", code=7)
    assert "--from 2024-03-04 is after --to 2024-03-01" in refused.stderr
    assert refused.stdout == ""


def test_an_empty_range_says_where_the_data_is(shown: Path) -> None:
    first, last = query.utc_iso(T0)[:10], query.utc_iso(T0 + 5 * DAY + 22 * HOUR)[:10]
    for extra in ((), ("--every", "day"), ("--json",)):
        result = checked(
            shown, "data", "show", "heart_rate", "--from", "2023-01-01", "--to", "2023-12-31",
            *extra,
        )  # fmt: skip
        assert result.stderr.strip() == (
            f"no heart_rate between 2023-01-01 and 2023-12-31; heart_rate has data from "
            f"{first} to {last}"
        )
    assert "no body_mass data" in checked(shown, "data", "show", "body_mass").stderr


def test_chart_of_heart_rate(shown: Path) -> None:
    """The chart, as a pipe gets it: its title, a y axis spanning the data (not from 0), and
    points that are the daily means computed here."""
    text = checked(shown, "data", "show", "heart_rate", "--chart").stdout
    assert "Heart rate (/min), mean per day" in text.splitlines()[0]
    assert "\x1b" not in text  # plain text when not a terminal
    means = [statistics.mean(v) for v in HEART.values()]
    ticks = [float(m[1]) for m in re.finditer(r"^\s*([\d.]+)┤", text, re.MULTILINE)]
    lo, hi = y_limits(means)
    # Tick labels are rounded to a tenth.
    assert ticks and min(ticks) >= lo - 0.05 and lo > 0 and max(ticks) <= hi + 0.05
    assert lo < min(means) and hi > max(means)
    assert "2024-03-01" in text
    with Vault.open(shown, PASSPHRASE) as v:
        pid = personas.resolve_persona(v, None).id
        buckets = query.aggregate(v, pid, "heart_rate", "day")
    series = display.chart_series(buckets, "heart_rate", "day")
    assert series.values == pytest.approx(means)
    assert series.labels == tuple(f"2024-03-{d + 1:02d}" for d in HEART)
    assert render(series) == text


def test_chart_refuses_json_and_says_where_the_data_is(shown: Path) -> None:
    checked(shown, "data", "show", "steps", "--chart", "--json", code=2)
    empty = checked(shown, "data", "show", "steps", "--chart", "--from", "2030-01-01")
    assert empty.stdout == "" and "steps has data from 2024-03-01" in empty.stderr


def test_y_limits_keep_totals_above_zero() -> None:
    assert y_limits([5.0, 100.0])[0] == 0.0
    assert y_limits([60.0, 70.0]) == pytest.approx((59.0, 71.0))


def test_chart_on_a_terminal_is_coloured_unless_no_color(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vault.cli.data import _draw_chart

    series = display.Series("Steps (steps), total per day", ("2024-03-01", "2024-03-02"), [1, 2])
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    _draw_chart(series)
    assert "\x1b[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    _draw_chart(series)
    out = capsys.readouterr().out
    assert "\x1b[" not in out and "Steps (steps), total per day" in out
