"""Snapshot tests in French (LANGUAGE=fr): the dashboard, the grant wizard and the Devices &
sync screen, on the fixed demo and synced vaults, clock frozen, as tests/tui/test_snapshots.py
draws them in English.

Update with `pytest tests/tui/test_snapshots_fr.py --snapshot-update`, then look at the SVGs
(tests/tui/__snapshots__/test_snapshots_fr/) before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import make_app
from tests.tui.test_snapshots import _go, _keys


@pytest.fixture(autouse=True)
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(
    snap_compare: Callable[..., bool], pristine_demo: Path, size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(pristine_demo), terminal_size=size, run_before=_go("dashboard"))


def test_grant_wizard_terms(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _keys("5", "n")(pilot)

    assert snap_compare(make_app(pristine_demo), terminal_size=(100, 30), run_before=run_before)


def test_grant_wizard_review(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    """The second step: what would be shared, in French, before consent is given."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _keys("5", "n")(pilot)
        wizard = pilot.app.screen
        wizard.query_one("#g-purpose").value = "dpv:AcademicResearch"  # type: ignore[attr-defined]
        await pilot.pause()
        await _keys("enter")(pilot)

    assert snap_compare(make_app(pristine_demo), terminal_size=(100, 30), run_before=run_before)


def test_help(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    assert snap_compare(make_app(pristine_demo), terminal_size=(100, 30), run_before=_keys("f1"))


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_devices_with_a_remote_and_two_devices(
    snap_compare: Callable[..., bool], pristine_synced: Path, size: tuple[int, int]
) -> None:
    """The remotes and devices tables, their notes and keys in French: a change to send, a
    laptop with a forget pending on it."""
    assert snap_compare(make_app(pristine_synced), terminal_size=size, run_before=_go("devices"))


def test_dashboard_with_a_remote(snap_compare: Callable[..., bool], pristine_synced: Path) -> None:
    """The dashboard's sync line in French."""
    assert snap_compare(
        make_app(pristine_synced), terminal_size=(100, 30), run_before=_go("dashboard")
    )
