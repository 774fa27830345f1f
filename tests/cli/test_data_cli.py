"""`coffre data metrics|show|sources|priority|export` and `coffre import csv`: shapes, codes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from tests.cli.conftest import checked, init_vault
from tests.conftest import PASSPHRASE
from vault.cli.main import cli

CSV = """start,end,metric,value,unit,source
2024-03-01T10:00:00+01:00,2024-03-01T10:10:00+01:00,steps,812,count,iPhone
2024-03-01T10:00:00+01:00,2024-03-01T10:10:00+01:00,steps,800,count,Apple Watch
2024-03-02T10:00:00+01:00,2024-03-02T10:10:00+01:00,steps,100,count,iPhone
2024-03-01T10:00:00+01:00,,heart_rate,61,/min,Apple Watch
2024-03-01T10:05:00+01:00,,heart_rate,75,/min,Apple Watch
2024-03-01T08:00:00+01:00,,mood,4,{score},Diary
2024-03-01T00:00:00+01:00,2024-03-01T01:30:00+01:00,sleep,deep,,Apple Watch
"""


@pytest.fixture
def loaded(vault_dir: Path, tmp_path: Path) -> Path:
    init_vault(vault_dir, "Jane Doe")
    f = tmp_path / "data.csv"
    f.write_text(CSV)
    out = checked(vault_dir, "import", "csv", str(f), "--json").stdout
    summary = json.loads(out)
    assert (summary["added"], summary["duplicates"], summary["errors"]) == (7, 0, [])
    assert summary["unknown_types"] == {"x:mood": 1}
    return vault_dir


def test_import_csv_text_summary_and_reimport(loaded: Path, tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    out = checked(loaded, "import", "csv", str(f), "--persona", "Jane Doe").stdout
    assert "Added 0 samples" in out
    assert "skipped 7 duplicates" in out


def test_import_csv_bad_row(loaded: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("start,end,metric,value,unit,source\n2024-03-01T10:00:00Z,,steps,lots,,x\n")
    result = checked(loaded, "import", "csv", str(f), code=7)
    assert "bad.csv: line 2, column 4 (value)" in result.stderr
    assert result.stdout == ""


def test_metrics_json_shape(loaded: Path) -> None:
    rows = json.loads(checked(loaded, "data", "metrics", "--json").stdout)
    assert [r["metric"] for r in rows] == ["heart_rate", "sleep", "steps", "x:mood"]
    steps = rows[2]
    assert set(steps) == {"metric", "unit", "samples", "first", "last", "sources"}
    assert steps["unit"] == "{steps}"
    assert steps["samples"] == 3
    assert steps["first"] == "2024-03-01T09:00:00Z"
    assert steps["last"] == "2024-03-02T09:10:00Z"
    assert steps["sources"] == {"Apple Watch": 1, "iPhone": 2}
    text = checked(loaded, "data", "metrics").stdout
    assert "heart_rate" in text


def test_show_raw_json_and_csv(loaded: Path) -> None:
    rows = json.loads(checked(loaded, "data", "show", "heart_rate", "--json").stdout)
    assert rows == [
        {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T09:00:00Z", "offset": "+01:00",
         "value": 61.0, "unit": "/min", "source": "Apple Watch"},
        {"start": "2024-03-01T09:05:00Z", "end": "2024-03-01T09:05:00Z", "offset": "+01:00",
         "value": 75.0, "unit": "/min", "source": "Apple Watch"},
    ]  # fmt: skip
    (sleep,) = json.loads(checked(loaded, "data", "show", "sleep", "--json").stdout)
    assert sleep["stage"] == "deep"
    csv_out = checked(loaded, "data", "show", "steps", "--csv", "--from", "2024-03-02").stdout
    assert csv_out.splitlines()[1:] == [
        "2024-03-02T10:00:00+01:00,2024-03-02T10:10:00+01:00,steps,100,{steps},iPhone,"
    ]
    empty = checked(loaded, "data", "show", "steps", "--json", "--to", "2024-02-01").stdout
    assert json.loads(empty) == []
    lines = checked(loaded, "data", "show", "heart_rate").stdout.splitlines()
    assert lines[0].split() == ["start", "end", "/min", "source"]  # the unit heads the values
    assert lines[1].split()[2] == "61"


def test_show_every_day(loaded: Path) -> None:
    rows = json.loads(
        checked(
            loaded, "data", "show", "steps", "--every", "day", "--tz", "+01:00", "--json"
        ).stdout
    )
    assert rows == [
        {"start": "2024-02-29T23:00:00Z", "end": "2024-03-01T23:00:00Z", "offset": "+01:00",
         "kind": "sum", "count": 1, "sum": 800, "min": 800, "avg": 800.0, "max": 800,
         "unit": "{steps}"},
        {"start": "2024-03-01T23:00:00Z", "end": "2024-03-02T23:00:00Z", "offset": "+01:00",
         "kind": "sum", "count": 1, "sum": 100, "min": 100, "avg": 100.0, "max": 100,
         "unit": "{steps}"},
    ]  # fmt: skip
    hr = json.loads(
        checked(loaded, "data", "show", "heart_rate", "--every", "hour", "--json").stdout
    )
    assert [(r["count"], r["min"], r["avg"], r["max"]) for r in hr] == [(2, 61, 68, 75)]
    text = checked(loaded, "data", "show", "steps", "--every", "month").stdout
    # Under a header; the iPhone's sample the watch also covers is not counted.
    assert text.splitlines()[1:] == ["month    total  samples", "2024-03    900        2"]
    csv_out = checked(loaded, "data", "show", "steps", "--every", "month", "--csv").stdout
    assert csv_out.startswith("start,end,metric,count,sum,min,avg,max,unit\n")


def test_sources_and_priority(loaded: Path) -> None:
    rows = json.loads(checked(loaded, "data", "sources", "steps", "--json").stdout)
    assert [(r["source"], r["samples"], r["counted"]) for r in rows] == [
        ("Apple Watch", 1, 800),
        ("iPhone", 2, 100),
    ]
    assert json.loads(checked(loaded, "data", "priority", "--json").stdout) == {"order": []}
    checked(loaded, "data", "priority", "iPhone")
    (day,) = json.loads(
        checked(
            loaded, "data", "show", "steps", "--every", "day", "--to", "2024-03-01", "--json"
        ).stdout
    )
    assert day["sum"] == 812
    checked(loaded, "data", "priority", "--reset")
    assert json.loads(checked(loaded, "data", "priority", "--json").stdout) == {"order": []}
    checked(loaded, "data", "priority", "x", "--reset", code=7)


def test_export_formats(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "steps.json"
    result = checked(loaded, "data", "export", "steps", "--format", "fhir", "-o", str(out))
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 3
    assert "Exported 3 items of steps as fhir" in result.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    result = checked(loaded, "data", "export", "steps", "--format", "csv", "-o", str(out), code=8)
    assert "--force" in result.stderr
    checked(loaded, "data", "export", "steps", "--format", "csv", "-o", str(out), "--force")
    assert out.read_text().startswith("start,end,metric")
    points = json.loads(
        checked(loaded, "data", "export", "heart_rate", "--format", "omh", "--every", "day").stdout
    )
    assert points[0]["body"]["heart_rate"] == {"value": 68, "unit": "beats/min"}
    csv_out = checked(loaded, "data", "export", "steps", "--format", "csv").stdout
    assert len(csv_out.splitlines()) == 4


def test_errors_are_clean(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "nope.json"
    result = checked(loaded, "data", "export", "x:mood", "--format", "omh", "-o", str(out), code=7)
    assert "no Open mHealth schema" in result.stderr
    assert not out.exists()
    assert "unknown metric" in checked(loaded, "data", "show", "stepz", code=7).stderr
    assert "ISO 8601" in checked(loaded, "data", "show", "steps", "--from", "soon", code=7).stderr
    checked(loaded, "data", "metrics", "--persona", "Nobody", code=4)


def test_workouts(loaded: Path) -> None:
    from vault.core.vault import Vault
    from vault.data.ingest import QSWriter
    from vault.data.model import RoutePoint, Workout
    from vault.personas import resolve_persona

    t = 1_709_283_600_000  # 2024-03-01T09:00:00Z
    with Vault.open(loaded, PASSPHRASE) as v, QSWriter(v, resolve_persona(v, None).id) as w:
        w.add_workout(
            Workout("running", t, t + 1_800_000, 60, 1800.0, 5000.0, 320.0, "Apple Watch",
                    route=(RoutePoint(t, 48.8, 2.3), RoutePoint(t + 1000, 48.81, 2.31)))
        )  # fmt: skip
    (row,) = json.loads(checked(loaded, "data", "workouts", "--json").stdout)
    assert row == {
        "activity": "running", "start": "2024-03-01T09:00:00Z",
        "end": "2024-03-01T09:30:00Z", "offset": "+01:00", "duration_s": 1800.0,
        "distance_m": 5000.0, "energy_kcal": 320.0, "source": "Apple Watch", "events": 0,
        "route_points": 2,
    }  # fmt: skip
    assert "5 km" in checked(loaded, "data", "workouts").stdout
    assert (
        json.loads(checked(loaded, "data", "workouts", "--to", "2024-02-01", "--json").stdout) == []
    )


def test_needs_a_persona(vault_dir: Path) -> None:
    init_vault(vault_dir)
    assert "no persona yet" in checked(vault_dir, "data", "metrics", code=7).stderr


def test_every_command_has_help() -> None:
    ctx = click.Context(cli)
    group = cli.get_command(ctx, "data")
    for name in ("metrics", "show", "workouts", "sources", "priority", "export"):
        assert group.commands[name].help  # type: ignore[union-attr]
    assert cli.get_command(ctx, "import").commands["csv"].help  # type: ignore[union-attr]


def test_the_health_kinds_of_one_source_are_listed_and_shown(
    vault_dir: Path, tmp_path: Path
) -> None:
    """Fitbit's scores, nightly skin temperature and Apple's hearing thresholds appear in
    `data metrics` with their units and counts, and `data show` gives their values."""
    from datetime import UTC, datetime

    from tests.builders import HEALTH_KINDS, health_kind_samples

    init_vault(vault_dir, "Jane Doe")
    days = ("2024-03-01", "2024-03-02")
    rows = ["start,end,metric,value,unit,source"]
    for day in days:
        for s in health_kind_samples(day, "Tracker"):
            start, end = (
                datetime.fromtimestamp(t / 1000, UTC).isoformat() for t in (s.start, s.end)
            )
            rows.append(f"{start},{end},{s.metric},{s.value},{s.unit},{s.source}")
    f = tmp_path / "kinds.csv"
    f.write_text("\n".join(rows) + "\n")
    summary = json.loads(checked(vault_dir, "import", "csv", str(f), "--json").stdout)
    assert (summary["added"], summary["errors"]) == (len(rows) - 1, [])
    listed = {
        r["metric"]: r for r in json.loads(checked(vault_dir, "data", "metrics", "--json").stdout)
    }
    for metric, unit, value, _span in HEALTH_KINDS:
        assert (listed[metric]["unit"], listed[metric]["samples"]) == (unit, len(days))
        shown = json.loads(checked(vault_dir, "data", "show", metric, "--json").stdout)
        assert [r["value"] for r in shown] == [value] * len(days)
