"""The unlock screen: a wrong passphrase, then the right one; creating a new vault."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Input, Label, Select

from tests.tui.conftest import PASSPHRASE, make_app, run_async, settle
from tui.app import CoffreApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.unlock import UnlockScreen
from vault import personas as identities
from vault.core.vault import Vault


@run_async
async def test_unlock_wrong_then_right_passphrase(demo_dir: Path) -> None:
    app = make_app(demo_dir, unlocked=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*"not the passphrase", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        error = str(app.screen.query_one("#unlock-error", Label).render())
        assert "Wrong passphrase" in error
        assert app.screen.query_one("#passphrase", Input).value == ""  # cleared for a retry
        assert app.vault is None
        unlock = app.screen
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert unlock.query_one("#passphrase", Input).value == ""  # not kept in the widget
        assert app.vault is not None
        assert len(identities.list_personas(app.vault)) == 2


@run_async
async def test_create_a_vault(tmp_path: Path) -> None:
    target = tmp_path / "new"
    app = CoffreApp(target)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UnlockScreen) and screen.creating
        screen.query_one("#kdf", Select).value = "minimum"
        screen.query_one("#passphrase", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).value = "a different one"
        screen.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "differ" in str(screen.query_one("#unlock-error", Label).render())
        assert not Vault.exists(target)
        for weak in ("xy", "password1"):  # too short; one of the most common passwords
            screen.query_one("#passphrase", Input).value = weak
            screen.query_one("#confirm", Input).value = weak
            screen.query_one("#confirm", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert "Too weak" in str(screen.query_one("#unlock-error", Label).render())
            assert weak not in str(screen.query_one("#unlock-error", Label).render())
            assert not Vault.exists(target)
        screen.query_one("#passphrase", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    with Vault.open(target, "a new passphrase") as v:
        assert v.info.kdf.name == "minimum"


@run_async
async def test_a_tampered_vault_is_refused_with_the_library_message(demo_dir: Path) -> None:
    conn = sqlite3.connect(demo_dir / "vault.db")
    conn.execute("DELETE FROM terms WHERE term = (SELECT term FROM terms LIMIT 1)")
    conn.commit()
    conn.close()
    before = {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()}
    app = make_app(demo_dir, unlocked=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert app.vault is None
        error = str(app.screen.query_one("#unlock-error", Label).render())
        assert "lookup index changed outside Coffre" in error
    after = {p: p.read_bytes() for p in demo_dir.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    assert after[demo_dir / "vault.db"] == before[demo_dir / "vault.db"]
