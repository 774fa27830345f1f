"""The one import summary: its JSON shape, and that it cannot be changed once made."""

from __future__ import annotations

import dataclasses

import pytest

from vault.core.importing import ImportIssue, ImportSummary


def test_json_shape_and_the_keys_kept_for_older_scripts() -> None:
    summary = ImportSummary(
        "mastodon",
        added=2,
        added_ids=("a1", "b2"),
        duplicates=1,
        ignored=1,
        attachments=3,
        unknown_types={"x:mood": 4},
        errors=(ImportIssue("outbox.json item 3", "no date"),),
        notes=("boosts are not imported",),
    )
    assert summary.as_dict() == {
        "format": "mastodon",
        "added": 2,
        "added_ids": ["a1", "b2"],
        "updated": [],
        "unchanged": [],
        "duplicates": 1,
        "ignored": 1,
        "skipped": [],
        "attachments": 3,
        "workouts": 0,
        "summaries": 0,
        "unknown_types": {"x:mood": 4},
        "added_by_metric": {},
        "errors": [{"location": "outbox.json item 3", "problem": "no date"}],
        "notes": ["boosts are not imported"],
        "time_zone": None,
        "clinical_records": {"added": 0, "updated": 0, "unchanged": 0, "older": 0, "undated": 0},
        "source": "mastodon",
        "items": ["a1", "b2"],
    }


def test_a_summary_is_frozen_all_the_way_down() -> None:
    counts = {"x:mood": 1}
    summary = ImportSummary("csv", unknown_types=counts)
    counts["x:mood"] = 99  # the caller's dict is copied, not shared
    assert summary.unknown_types == {"x:mood": 1}
    with pytest.raises(TypeError):
        summary.unknown_types["x:mood"] = 2  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.added = 3  # type: ignore[misc]
