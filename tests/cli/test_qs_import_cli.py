"""`coffre import apple-health|google-takeout|garmin`: summaries, JSON shape, exit codes, and
an unchanged vault after a refused file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import SUMMARY_KEYS, checked, invoke


@pytest.fixture
def made(vault_dir: Path) -> Path:
    checked(vault_dir, "init", "--kdf", "minimum")
    checked(vault_dir, "persona", "add", "Sam Runner")
    return vault_dir


def test_apple_health_json_summary(made: Path, samples: Path) -> None:
    args = ("import", "apple-health", str(samples / "apple-health/alxdrcirilo/export.zip"))
    summary = json.loads(checked(made, *args, "--json").stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary["added"] == 8 and summary["errors"] == []
    again = json.loads(checked(made, *args, "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 8)
    shown = json.loads(checked(made, "data", "show", "heart_rate", "--json").stdout)
    assert [row["value"] for row in shown] == [74, 75]


def test_apple_health_text_summary(made: Path, samples: Path) -> None:
    result = checked(
        made,
        "import",
        "apple-health",
        str(samples / "apple-health/dogsheep/zip_export.xml"),
        "--persona",
        "Sam Runner",
    )
    assert "Added 2 samples, 1 workouts, 2 daily summaries" in result.stdout
    assert "1 errors" in result.stdout
    assert "route file" in result.stderr  # the missing route is listed, on stderr


def test_garmin_folder_lists_the_truncated_file(made: Path, samples: Path, tmp_path: Path) -> None:
    folder = tmp_path / "fit"
    shutil.copytree(samples / "garmin-fit", folder)
    summary = json.loads(checked(made, "import", "garmin", str(folder), "--json").stdout)
    assert summary["workouts"] == 1
    assert [e["location"] for e in summary["errors"]] == ["activity-unexpected-eof.fit"]


def test_garmin_truncated_file_alone_exits_7_and_changes_nothing(made: Path, samples: Path) -> None:
    before = json.loads(checked(made, "status", "--json").stdout)["counts"]
    result = checked(
        made, "import", "garmin", str(samples / "garmin-fit/activity-unexpected-eof.fit"), code=7
    )
    assert "activity-unexpected-eof.fit: truncated" in result.stderr
    assert result.stdout == ""
    assert json.loads(checked(made, "status", "--json").stdout)["counts"] == before


def test_google_takeout_time_zone(made: Path, tmp_path: Path) -> None:
    f = tmp_path / "Takeout/Fitbit/Global Export Data/steps-2021-01-02.json"
    f.parent.mkdir(parents=True)
    f.write_text('[{"dateTime": "01/02/21 08:00:00", "value": "12"}]')
    result = checked(
        made, "import", "google-takeout", str(tmp_path / "Takeout"), "--time-zone", "Europe/Paris"
    )
    assert "read in Europe/Paris" in result.stderr
    shown = json.loads(checked(made, "data", "show", "steps", "--json").stdout)
    assert shown[0]["start"] == "2021-01-02T08:00:00+01:00"  # the offset of Paris is kept


def test_bad_time_zone_is_a_usage_error(made: Path, tmp_path: Path) -> None:
    result = checked(
        made, "import", "google-takeout", str(tmp_path), "--time-zone", "Nowhere/Land", code=7
    )
    assert "Nowhere/Land" in result.stderr


def test_malformed_export_exit_code(made: Path, tmp_path: Path) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text('<HealthData locale="en"><Record></HealthData>')
    result = checked(made, "import", "apple-health", str(bad), code=7)
    assert "export.xml line 1" in result.stderr


def test_commands_have_help() -> None:
    for name in ("apple-health", "google-takeout", "garmin"):
        result = invoke(None, "import", name, "--help")
        assert result.exit_code == 0
        assert "--persona" in result.stdout and "--json" in result.stdout
