"""Snapshot tests: every screen at 100x30 and 80x24, on the fixed demo vault, clock frozen.

Update with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at the SVGs
(tests/tui/__snapshots__/) before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.conftest import make_app, settle

SIZES = [(100, 30), (80, 24)]
MODES = ["dashboard", "personas", "data", "content", "sharing", "forget", "audit", "devices"]


def _still(pilot: Pilot[None]) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def _go(mode: str) -> Callable[[Pilot[None]], object]:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.action_go(mode)  # type: ignore[attr-defined]
        await settle(pilot)
        _still(pilot)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", MODES)
def test_screen(
    snap_compare: Callable[..., bool], pristine_demo: Path, mode: str, size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(pristine_demo), terminal_size=size, run_before=_go(mode))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_unlock(
    snap_compare: Callable[..., bool],
    pristine_demo: Path,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(pristine_demo.parent)  # the screen shows the path as given

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        _still(pilot)
        await pilot.press(*"typed but masked")

    assert snap_compare(
        make_app(Path(pristine_demo.name), unlocked=False),
        terminal_size=size,
        run_before=run_before,
    )


def _press(key: str) -> Callable[[Pilot[None]], object]:
    """Once the dashboard has loaded, press one of the app's own keys."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()

    return run_before


def test_help(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    assert snap_compare(make_app(pristine_demo), terminal_size=(100, 30), run_before=_press("f1"))


def _keys(*keys: str) -> Callable[[Pilot[None]], object]:
    """Once the dashboard has loaded, press `keys`, letting the work of each finish."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        _still(pilot)
        await pilot.pause()

    return run_before


def test_help_at_80x24_shows_more_below(
    snap_compare: Callable[..., bool], pristine_demo: Path
) -> None:
    """Sharing has the most keys: the help scrolls, and says so."""
    assert snap_compare(
        make_app(pristine_demo), terminal_size=(80, 24), run_before=_keys("5", "f1")
    )


def test_ledger_at_80x24(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    assert snap_compare(make_app(pristine_demo), terminal_size=(80, 24), run_before=_keys("5", "l"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_data_of_an_old_export_with_long_metric_names(
    snap_compare: Callable[..., bool], pristine_archive: Path, size: tuple[int, int]
) -> None:
    """Data that ended in 2024, read in 2026: its latest four weeks by default, heart rate
    on an axis scaled to it, counts in full next to long metric names."""
    assert snap_compare(
        make_app(pristine_archive), terminal_size=size, run_before=_keys("3", "down", "down")
    )


def test_light_theme(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    assert snap_compare(
        make_app(pristine_demo), terminal_size=(100, 30), run_before=_press("ctrl+t")
    )


def test_grant_wizard_terms(snap_compare: Callable[..., bool], pristine_demo: Path) -> None:
    """The wizard's form scrolled to the attributes, the sensitive ones marked, then the
    audience picker (public only), the least range by default; focus on Review."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _keys("5", "n")(pilot)
        wizard = pilot.app.screen
        attributes = wizard.query_one("#g-attributes")
        wizard.query_one("#wizard-form").scroll_to_widget(attributes, animate=False, top=True)
        await pilot.pause()

    assert snap_compare(make_app(pristine_demo), terminal_size=(100, 30), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_devices_with_a_remote_and_two_devices(
    snap_compare: Callable[..., bool], pristine_synced: Path, size: tuple[int, int]
) -> None:
    """One remote with a change to send, this device and a laptop with a forget pending."""
    assert snap_compare(make_app(pristine_synced), terminal_size=size, run_before=_go("devices"))


def test_dashboard_with_a_remote(snap_compare: Callable[..., bool], pristine_synced: Path) -> None:
    """The Sync panel appears beside the vault's status once the vault has a remote."""
    assert snap_compare(
        make_app(pristine_synced), terminal_size=(100, 30), run_before=_go("dashboard")
    )
