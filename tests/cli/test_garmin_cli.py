"""`coffre import garmin` on real files of others (tests/corpus/fit): a shared weight scale
asks whose weighings to import, and a folder with bad files imports the good ones, exits 0
and lists each bad file once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import checked, init_vault
from tests.conftest import CORPUS

SHARED_SCALE = str(CORPUS / "fit/WeightScaleMultiUser.fit")


@pytest.fixture
def sams_vault(vault_dir: Path) -> Path:
    """A new vault with one persona, Sam Runner."""
    return init_vault(vault_dir, "Sam Runner")


def _counts(vault: Path) -> dict[str, int]:
    counts: dict[str, int] = json.loads(checked(vault, "status", "--json").stdout)["counts"]
    return {k: v for k, v in counts.items() if k != "audit_entries"}


def test_a_shared_scale_file_exits_7_naming_its_users(sams_vault: Path) -> None:
    before = _counts(sams_vault)
    result = checked(sams_vault, "import", "garmin", SHARED_SCALE, code=7)
    assert "user 0 (1 weighing), user 1 (1 weighing)" in result.stderr
    assert "--scale-user" in result.stderr
    assert result.stdout == ""
    assert _counts(sams_vault) == before


def test_scale_user_imports_that_persons_weighings_only(sams_vault: Path) -> None:
    args = ("import", "garmin", SHARED_SCALE, "--scale-user", "1", "--json")
    summary = json.loads(checked(sams_vault, *args).stdout)
    assert summary["added"] == 2 and summary["errors"] == []
    assert any("of users other than 1" in n for n in summary["notes"])
    shown = json.loads(checked(sams_vault, "data", "show", "body_mass", "--json").stdout)
    assert [row["value"] for row in shown] == [58.2]  # user 1's weight in the file


def test_a_bad_scale_user_is_named_before_the_input_is_read(sams_vault: Path) -> None:
    result = checked(sams_vault, "import", "garmin", SHARED_SCALE, "--scale-user", "anna", code=7)
    assert "--scale-user takes a user number" in result.stderr


def test_a_folder_with_bad_files_exits_0_and_lists_each(sams_vault: Path, tmp_path: Path) -> None:
    folder = tmp_path / "watch"
    folder.mkdir()
    bad = ("activity-filecrc.fit", "activity-unexpected-eof.fit", "WeightScaleMultiUser.fit")
    for name in (*bad, "garmin-fenix-5-bike.fit", "WeightScaleSingleUser.fit"):
        shutil.copy(CORPUS / "fit" / name, folder / name)
    result = checked(sams_vault, "import", "garmin", str(folder), "--json")
    summary = json.loads(result.stdout)
    skipped = [
        e for e in summary["errors"] if e["problem"].endswith("nothing imported from this file")
    ]
    assert sorted(e["location"] for e in skipped) == sorted(bad)
    assert summary["workouts"] == 1
    text = checked(sams_vault, "import", "garmin", str(folder))
    assert "activity-filecrc.fit: checksum mismatch (damaged): skipped whole" in text.stderr


def test_an_activity_summary_without_a_fit_file_is_a_workout_listed(
    sams_vault: Path, tmp_path: Path
) -> None:
    """Garmin's export: an activity entered by hand (a summary, no FIT file) is listed by
    `data workouts` with its distance (centimetres in the file) and energy."""
    from tests.builders import GARMIN_ACTIVITIES, GARMIN_UDS, garmin_day, garmin_export

    entry = {
        "activityId": 1,
        "activityType": "lap_swimming",
        "startTimeGmt": 1_714_550_400_000,
        "startTimeLocal": 1_714_557_600_000,
        "duration": 2_400_000.0,
        "distance": 150_000.0,
        "calories": 310.0,
    }
    export = garmin_export(
        tmp_path / "export.zip",
        {
            GARMIN_UDS: json.dumps([garmin_day("2024-05-01", totalSteps=10)]).encode(),
            GARMIN_ACTIVITIES: json.dumps([{"summarizedActivitiesExport": [entry]}]).encode(),
        },
    )
    summary = json.loads(checked(sams_vault, "import", "garmin", str(export), "--json").stdout)
    assert summary["workouts"] == 1
    (row,) = json.loads(checked(sams_vault, "data", "workouts", "--json").stdout)
    assert (row["activity"], row["start"], row["offset"]) == (
        "swimming",
        "2024-05-01T08:00:00Z",
        "+02:00",
    )
    assert (row["distance_m"], row["energy_kcal"], row["source"]) == (
        entry["distance"] / 100,
        entry["calories"],
        "Garmin Connect",
    )
