"""The Devices & sync screen: adding a folder remote and syncing two vaults through it, sync
from the palette, removing a remote, renaming this device, the passphrase asked when another
device changed it, and errors shown as messages. Checked in the vaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Static

from tests.tui.conftest import (
    CLOCK,
    PASSPHRASE,
    answer,
    confirm,
    go_to,
    open_vault,
    press_button,
    run_async,
    run_unlocked,
    settle,
)
from tui.commands import all_commands
from tui.screens.dashboard import DashboardScreen
from tui.screens.devices import (
    AddRemoteModal,
    DevicesScreen,
    PassphraseModal,
    remote_problem,
    sync_summary,
)
from tui.screens.modals import ErrorModal, PromptModal
from tui.widgets.progress import ProgressPanel
from vault import forget, remote
from vault import personas as identities
from vault.core.errors import PassphraseUnavailable
from vault.core.progress import ProgressCallback
from vault.core.vault import Vault
from vault.remote import SyncReport


@pytest.fixture
def first(tmp_path: Path) -> Path:
    """A small vault on the fixed clock: one persona, no remote yet."""
    path = tmp_path / "first"
    with Vault.create(path, PASSPHRASE, kdf="minimum", clock=CLOCK) as v:
        identities.add_persona(v, "Camille")
        remote.rename_device(v, "Desktop")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder for a remote."""
    path = tmp_path / "remote"
    path.mkdir()
    return path


@pytest.fixture
def synced(first: Path, folder: Path) -> Path:
    """`first` with the folder remote `usb`, synced once."""
    with open_vault(first) as v:
        remote.add_remote(v, "usb", folder.as_uri())
        remote.sync(v)
    return first


@pytest.fixture
def second(synced: Path, folder: Path, tmp_path: Path) -> Iterator[Vault]:
    """Another device of the same vault, cloned from the remote."""
    v, _report = remote.clone(
        folder.as_uri(), tmp_path / "second", PASSPHRASE, device_name="Laptop", clock=CLOCK
    )
    yield v
    v.close()


def rows(screen: DevicesScreen, table: str) -> list[list[str]]:
    found = screen.query_one(table, DataTable)
    return [[str(cell) for cell in found.get_row_at(i)] for i in range(found.row_count)]


async def add_remote(pilot: Pilot[None], name: str, url: str) -> AddRemoteModal:
    """Open the add dialog, type NAME and URL, submit; returns the dialog."""
    dialog = await go_to(pilot, "a", AddRemoteModal)
    dialog.query_one("#remote-name", Input).value = name
    dialog.query_one("#remote-url", Input).value = url
    await press_button(pilot, "#ok")
    await settle(pilot)
    return dialog


@run_async
async def test_add_a_remote_and_sync_two_devices(first: Path, folder: Path, tmp_path: Path) -> None:
    async with run_unlocked(first) as (app, pilot):
        screen = await go_to(pilot, "8", DevicesScreen)
        assert rows(screen, "#remotes") == []
        assert [r[0] for r in rows(screen, "#devices-table")] == ["Desktop (this device)"]
        await add_remote(pilot, "usb", folder.as_uri())
        assert app.screen is screen
        (usb,) = rows(screen, "#remotes")
        assert usb[:3] == ["usb", folder.as_uri(), "never"]
        await pilot.press("s")
        await settle(pilot)
        (report,) = screen.reports
        assert report.remote == "usb" and report.created and report.pushed > 0
        assert [n.title for n in app._notifications][-1] == "Synced with usb"
        assert rows(screen, "#remotes")[0][2:4] == [
            CLOCK.iso()[:16].replace("T", " "),
            "up to date",
        ]
        # Another device takes the vault, adds a persona and syncs.
        laptop, _ = remote.clone(
            folder.as_uri(), tmp_path / "second", PASSPHRASE, device_name="Laptop", clock=CLOCK
        )
        with laptop:
            identities.add_persona(laptop, "Second self")
            remote.sync(laptop)
        await pilot.press("S")
        await settle(pilot)
        (report,) = screen.reports
        assert report.pulled > 0
        names = [r[0] for r in rows(screen, "#devices-table")]
        assert names == ["Desktop (this device)", "Laptop"]
    with open_vault(first) as v:
        assert {p.name for p in identities.list_personas(v)} == {"Camille", "Second self"}
        assert [e.action for e in v.audit_log() if e.action == "remote.add"] == ["remote.add"]


@run_async
async def test_sync_now_from_the_palette_syncs_every_remote(
    synced: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []  # what the progress panel said, remote by remote
    begin = ProgressPanel.begin
    monkeypatch.setattr(
        ProgressPanel, "begin", lambda panel, label: (shown.append(label), begin(panel, label))
    )
    with open_vault(synced) as v:
        other = folder.parent / "other"
        other.mkdir()
        remote.add_remote(v, "backup", other.as_uri())
        identities.add_persona(v, "Pro self")  # waiting to be sent to usb
    async with run_unlocked(synced) as (app, pilot):
        offered = all_commands(app, app.screen)  # from the dashboard
        sync_now = next(c for c in offered if c.title == "Sync now")
        sync_now.run()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DevicesScreen)
        assert [r.remote for r in screen.reports] == ["backup", "usb"]
        assert shown == ["Syncing with backup…", "Syncing with usb…"]
        assert not screen.query_one(ProgressPanel).has_class("-active")  # hidden when done
        assert all(r[3] == "up to date" for r in rows(screen, "#remotes"))
    with open_vault(synced) as v:
        assert all(r["pending"] == 0 and r["last_sync"] for r in remote.list_remotes(v))


@run_async
async def test_a_forget_pending_on_another_device_is_shown_until_it_applies_it(
    synced: Path, second: Vault
) -> None:
    with open_vault(synced) as v:
        old = identities.add_persona(v, "Old self")
        remote.sync(v)
        remote.sync(second)  # the laptop holds it too
        forget.forget(v, forget.Target.of_persona(old.id))
        remote.sync(v)
    async with run_unlocked(synced) as (_app, pilot):
        screen = await go_to(pilot, "8", DevicesScreen)
        assert rows(screen, "#remotes")[0][4] == "1"
        assert rows(screen, "#devices-table")[1] == [
            "Laptop",
            CLOCK.iso()[:16].replace("T", " "),
            "active",
            "1 forget pending on Laptop",
        ]
        remote.sync(second)  # the laptop applies it
        assert all(p.name != "Old self" for p in identities.list_personas(second))
        await pilot.press("s")
        await settle(pilot)
        assert rows(screen, "#remotes")[0][4] == "none"
        assert rows(screen, "#devices-table")[1][3] == "none"


@run_async
async def test_a_remote_with_a_bad_name_or_url_is_not_added(first: Path) -> None:
    async with run_unlocked(first) as (app, pilot):
        await go_to(pilot, "8", DevicesScreen)
        dialog = await add_remote(pilot, "usb", "http://example.org/vault")
        assert app.screen is dialog and "file://" in dialog.problem
        dialog.query_one("#remote-name", Input).value = "Not A Name"
        url = dialog.query_one("#remote-url", Input)
        url.value = "file:///tmp/x"
        url.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is dialog and "lowercase" in dialog.problem
        await press_button(pilot, "#cancel")
        await settle(pilot)
    with open_vault(first) as v:
        assert remote.list_remotes(v) == []


@run_async
async def test_remove_a_remote_after_confirming(synced: Path) -> None:
    async with run_unlocked(synced) as (_app, pilot):
        screen = await go_to(pilot, "8", DevicesScreen)
        screen.query_one("#remotes").focus()
        await confirm(pilot, "delete", "#cancel")
        assert [r[0] for r in rows(screen, "#remotes")] == ["usb"]
        await confirm(pilot, "delete")
        assert rows(screen, "#remotes") == []
    with open_vault(synced) as v:
        assert remote.list_remotes(v) == []
        assert v.audit_log()[-1].action == "remote.remove"


@run_async
async def test_rename_this_device(synced: Path) -> None:
    async with run_unlocked(synced) as (app, pilot):
        screen = await go_to(pilot, "8", DevicesScreen)
        prompt = await go_to(pilot, "n", PromptModal)
        assert prompt.query_one(Input).value == "Desktop"  # the current name, to edit
        prompt.query_one(Input).value = "x" * 65
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is prompt and "64" in prompt.problem
        await answer(pilot, "Work laptop")
        assert rows(screen, "#devices-table")[0][0] == "Work laptop (this device)"
    with open_vault(synced) as v:
        (me,) = remote.devices(v)
        assert me["this"] and me["name"] == "Work laptop"


@run_async
async def test_an_unreachable_remote_is_an_error_message(synced: Path, folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    async with run_unlocked(synced) as (app, pilot):
        await go_to(pilot, "8", DevicesScreen)
        await pilot.press("s")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        title = modal.query_one("#error-title", Label).content
        assert title == "Cannot sync"  # the library's own message, not an internal error
        assert modal._message.startswith("The remote could not be reached")
        assert str(folder) in modal._message


@run_async
async def test_the_passphrase_is_asked_when_the_remote_needs_it(
    synced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine raises PassphraseUnavailable when another device re-sealed the remote's
    keys under a new passphrase; that is simulated here around the real sync, which then
    runs with what was typed."""
    real = remote.sync
    given: list[str | bytes | None] = []

    def keys_changed(
        vault: Vault,
        name: str | None = None,
        *,
        passphrase: str | bytes | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SyncReport]:
        given.append(passphrase)
        if passphrase is None:
            raise PassphraseUnavailable("the remote's keys changed; sync needs the passphrase")
        return real(vault, name, passphrase=passphrase, progress=progress)

    monkeypatch.setattr(remote, "sync", keys_changed)
    async with run_unlocked(synced) as (app, pilot):
        screen = await go_to(pilot, "8", DevicesScreen)
        for answer_with in ("#cancel", "#ok"):
            await pilot.press("s")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, PassphraseModal)
            assert "usb" in str(dialog.query_one("#passphrase-why", Static).render())
            dialog.query_one("#passphrase", Input).value = PASSPHRASE
            await press_button(pilot, answer_with)
            await settle(pilot)
            assert app.screen is screen
        assert given == [None, None, PASSPHRASE]  # cancelled once, then typed
        (report,) = screen.reports
        assert report.remote == "usb"


def test_a_sync_summary_says_what_moved() -> None:
    report = SyncReport("usb", pulled=3, blobs_received=1, bytes_received=2048, pushed=1)
    text = sync_summary(report)
    assert text.startswith("Received 3 records, 0 deletions, 1 file (2.0 KiB); sent 1 record,")
    assert "merged" not in text
    assert "2 changes made on two devices merged" in sync_summary(SyncReport("usb", merged=2))


@run_async
async def test_the_dashboard_has_a_sync_line_once_there_is_a_remote(
    first: Path, folder: Path
) -> None:
    async with run_unlocked(first) as (app, pilot):
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert not dashboard.query_one("#dash-sync").display
        await go_to(pilot, "8", DevicesScreen)
        await add_remote(pilot, "usb", folder.as_uri())
        await go_to(pilot, "1", DashboardScreen)
        line = dashboard.query_one("#dash-sync", Static)
        assert line.display
        text = str(line.render())  # the persona waits (counted in tests/cli/test_core_cli.py)
        assert text.startswith("Sync  usb: never synced, ") and text.endswith(" to send")
        await go_to(pilot, "8", DevicesScreen)
        await pilot.press("s")
        await settle(pilot)
        await go_to(pilot, "1", DashboardScreen)
        synced_at = CLOCK.iso()[:16].replace("T", " ")
        assert str(line.render()) == f"Sync  usb: synced {synced_at}, up to date"


def test_a_sync_summary_in_french_agrees_with_its_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """French puts 0 and 1 in the singular, and writes every count the French way."""
    monkeypatch.setenv("LANGUAGE", "fr")
    report = SyncReport(
        "usb", pulled=1, blobs_received=0, pushed=1204, tombstones=2, merged=1, created=True
    )
    text = sync_summary(report)
    assert text.startswith("Dépôt distant créé. Reçu 1 enregistrement, 0 suppression, 0 fichier")
    assert "envoyé 1\u202f204 enregistrements, 2 suppressions" in text
    assert "faites sur deux appareils\u00a0: 1 modification." in text
    assert remote_problem("usb", "ftp://x") == (
        "L'URL commence par file:// (un dossier) ou s3:// (un stockage compatible S3)."
    )
