"""`coffre import fitbit` on a Takeout's Fitbit part (a faithful reproduction built in code,
tests.builders names its sources): the zone of the profile, the
weight unit option, a bad file skipped whole with exit 0, the wrong kind of archive exit 7."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import FITBIT_EXPORT as EXPORT
from tests.builders import FITBIT_GLOBAL as G
from tests.builders import FITBIT_STEPS as STEPS
from tests.builders import fitbit_zip as zipped
from tests.builders import write_tree as build
from tests.cli.conftest import checked, init_vault


@pytest.fixture
def sams_vault(vault_dir: Path) -> Path:
    """A new vault with one persona, Sam Runner."""
    return init_vault(vault_dir, "Sam Runner")


def _counts(vault: Path) -> dict[str, int]:
    counts: dict[str, int] = json.loads(checked(vault, "status", "--json").stdout)["counts"]
    return {k: v for k, v in counts.items() if k != "audit_entries"}


def test_import_reads_in_the_profiles_zone_and_reimport_adds_nothing(
    sams_vault: Path, tmp_path: Path
) -> None:
    z = zipped(tmp_path, EXPORT)
    first = json.loads(checked(sams_vault, "import", "fitbit", str(z), "--json").stdout)
    assert (first["format"], first["time_zone"], first["errors"]) == (
        "fitbit",
        "America/New_York",
        [],
    )
    assert first["added"] > 0
    shown = json.loads(checked(sams_vault, "data", "show", "steps", "--json").stdout)
    # 08:00 in New York in January is 13:00 UTC, shown with New York's offset
    assert (shown[0]["start"], shown[0]["offset"]) == ("2021-01-02T13:00:00Z", "-05:00")
    again = json.loads(checked(sams_vault, "import", "fitbit", str(z), "--json").stdout)
    assert (again["added"], again["workouts"]) == (0, 0)


def test_the_zone_times_were_read_in_is_said_once(sams_vault: Path, tmp_path: Path) -> None:
    said = checked(sams_vault, "import", "fitbit", str(zipped(tmp_path, EXPORT))).stderr
    assert said.count("America/New_York") == 1  # the importer's note, not a second line


def test_verbose_lists_what_came_in_metric_by_metric(sams_vault: Path, tmp_path: Path) -> None:
    shown = checked(sams_vault, "-v", "import", "fitbit", str(zipped(tmp_path, EXPORT))).stdout
    listed = json.loads(checked(sams_vault, "data", "metrics", "--json").stdout)
    assert listed
    for m in listed:
        if m["metric"] != "workout":  # workouts have their own count in the headline
            assert f"  {m['metric']}: {m['samples']} added" in shown


def test_weight_unit_option(sams_vault: Path, tmp_path: Path) -> None:
    z = zipped(tmp_path, EXPORT)
    checked(sams_vault, "import", "fitbit", str(z), "--weight-unit", "kg")
    shown = json.loads(checked(sams_vault, "data", "show", "body_mass", "--json").stdout)
    weight = json.loads(EXPORT[G + "weight-2021-01-02.json"])[0]["weight"]
    assert [row["value"] for row in shown] == [weight]
    result = checked(sams_vault, "import", "fitbit", str(z), "--weight-unit", "pounds", code=7)
    assert "pounds" in result.stderr


def test_a_bad_file_is_skipped_whole_and_the_import_exits_0(
    sams_vault: Path, tmp_path: Path
) -> None:
    name = G + "heart_rate-2021-01-02.json"
    path = build(tmp_path / "export", {**EXPORT, name: "[{"})
    summary = json.loads(checked(sams_vault, "import", "fitbit", str(path), "--json").stdout)
    assert summary["errors"] == [
        {
            "location": name,
            "problem": f"{name}: malformed JSON: skipped whole, nothing imported from this file",
        }
    ]
    steps = json.loads(checked(sams_vault, "data", "show", "steps", "--json").stdout)
    assert len(steps) == len(STEPS) + 1  # the JSON minutes and the watch's CSV minute


def test_a_google_fit_takeout_is_refused_with_exit_7(sams_vault: Path, tmp_path: Path) -> None:
    before = _counts(sams_vault)
    z = zipped(tmp_path, {"Takeout/Fit/All Data/raw_x.json": "{}"})
    result = checked(sams_vault, "import", "fitbit", str(z), code=7)
    assert "coffre import google-takeout" in result.stderr
    assert _counts(sams_vault) == before
