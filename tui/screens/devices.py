"""Devices & sync: the remotes this vault syncs with, the devices they showed, and syncing
(one remote or all, in a worker with progress), adding and removing a remote, naming this
device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, TranslatedKeys, bindings, data_table, titled_panel
from tui.screens.modals import CANCEL, ConfirmModal, PromptModal, buttons
from tui.widgets.progress import ProgressPanel
from vault import remote
from vault.core.errors import InvalidParameter, PassphraseUnavailable
from vault.core.i18n import N_, _, error_message, pgettext
from vault.core.vault import Vault
from vault.remote import SyncReport
from vault.remote.remotes import DEVICE_NAME_MAX, check_remote_name

# The URLs a remote may have: a folder (a USB disk, a synced folder) or S3-compatible storage.
SCHEMES = ("file://", "s3://")
KEYS_CHANGED = N_(
    "The keys of {name} changed (the passphrase was changed on another device): type the "
    "vault's current passphrase to sync with it."
)


@dataclass(frozen=True)
class SyncState:
    """Everything the screen lists, read in one worker."""

    remotes: tuple[dict[str, Any], ...]
    devices: tuple[dict[str, Any], ...]

    @property
    def this_device(self) -> str:
        return next((d["name"] for d in self.devices if d["this"]), "")


def remote_problem(name: str, url: str) -> str | None:
    """What is wrong with a new remote as typed (None when the library would take it)."""
    try:
        check_remote_name(name)
    except InvalidParameter as exc:
        return error_message(exc)
    if not url.startswith(SCHEMES):
        return _("The URL starts with file:// (a folder) or s3:// (S3-compatible storage).")
    return None


def device_problem(name: str) -> str | None:
    """What is wrong with a device name as typed (the library's own rule)."""
    if len(name) > DEVICE_NAME_MAX or not name.isprintable():
        return _("A device's name is 1 to {n} printable characters.").format(n=DEVICE_NAME_MAX)
    return None


def last_sync(iso: str | None) -> str:
    return fmt.instant(iso) if iso else _("never")


def sync_summary(report: SyncReport) -> str:
    """One sync in a sentence, in the words of `coffre sync`."""
    parts = [_("Remote created.") + " "] if report.created else []
    parts.append(
        _(
            "Received {records}, {deleted}, {files} ({size}); "
            "sent {records_sent}, {deleted_sent}, {files_sent} ({size_sent})."
        ).format(
            records=fmt.plural(report.pulled, "record"),
            deleted=fmt.plural(report.deleted, "deletion"),
            files=fmt.plural(report.blobs_received, "file"),
            size=fmt.size(report.bytes_received),
            records_sent=fmt.plural(report.pushed, "record"),
            deleted_sent=fmt.plural(report.tombstones, "deletion"),
            files_sent=fmt.plural(report.blobs_sent, "file"),
            size_sent=fmt.size(report.bytes_sent),
        )
    )
    if report.merged:
        parts.append(
            " "
            + _("{changes} made on two devices merged.").format(
                changes=fmt.plural(report.merged, "change")
            )
        )
    if report.forgets_applied:
        parts.append(
            " "
            + _("{forgets} from another device applied.").format(
                forgets=fmt.plural(report.forgets_applied, "forget")
            )
        )
    if report.compacted:
        parts.append(" " + _("This device's objects rewritten: nothing forgotten remains in them."))
    return "".join(parts)


class AddRemoteModal(TranslatedKeys, ModalScreen[tuple[str, str]]):
    """Asks for a new remote's name and URL; dismisses with (name, url), or None. What the
    library would refuse is shown under the fields, which keep what was typed."""

    BINDINGS: ClassVar = [CANCEL]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Add a remote"), classes="dialog-title")
            yield Static(
                _(
                    "Nothing is sent before the first sync. The URL is file:///ABSOLUTE/PATH "
                    "(a folder, a USB disk) or s3://BUCKET/PREFIX?endpoint=URL."
                ),
                classes="dialog-body",
                markup=False,
            )
            yield Input(placeholder=_("Name: usb, backup…"), id="remote-name")
            yield Input(placeholder="file:///media/usb/coffre", id="remote-url")
            yield Label("", id="remote-problem", classes="field-error", markup=False)
            yield buttons(
                Button(_("Cancel"), id="cancel"), Button(_("Add"), id="ok", variant="primary")
            )

    def on_mount(self) -> None:
        self.query_one("#remote-problem").display = False
        self.query_one("#remote-name", Input).focus()

    @property
    def problem(self) -> str:
        """What was found wrong with the remote last submitted ("" when nothing)."""
        label = self.query_one("#remote-problem", Label)
        return str(label.content) if label.display else ""

    @on(Input.Submitted, "#remote-name")
    def _next_field(self) -> None:
        self.query_one("#remote-url", Input).focus()  # Enter in the name moves to the URL

    @on(Input.Submitted, "#remote-url")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        name = self.query_one("#remote-name", Input).value.strip()
        url = self.query_one("#remote-url", Input).value.strip()
        problem = remote_problem(name, url)
        label = self.query_one("#remote-problem", Label)
        label.update(problem or "")
        label.display = bool(problem)
        if problem is None:
            self.dismiss((name, url))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PassphraseModal(TranslatedKeys, ModalScreen[str]):
    """Asks for the vault's passphrase, masked, saying why; dismisses with it (as typed:
    spaces count), or None when cancelled."""

    BINDINGS: ClassVar = [CANCEL]

    def __init__(self, why: str) -> None:
        super().__init__()
        self._why = why

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("The passphrase is needed"), classes="dialog-title")
            yield Static(self._why, classes="dialog-body", id="passphrase-why", markup=False)
            yield Input(password=True, placeholder=_("Passphrase"), id="passphrase")
            yield buttons(
                Button(_("Cancel"), id="cancel"), Button(_("Sync"), id="ok", variant="primary")
            )

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#passphrase", Input).value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class DevicesScreen(SectionScreen):
    """Where the vault is synced and backed up, and the devices that share it."""

    MODE = "devices"
    TITLE_TEXT = N_("Devices & sync")
    HOME = "#remotes"
    BINDINGS: ClassVar = bindings(
        "devices",
        ("s", "sync", N_("Sync"), N_("Sync with the selected remote")),
        ("S", "sync_all", N_("Sync all"), N_("Sync with every remote, in name order")),
        (
            "a",
            "add_remote",
            N_("Add remote"),
            N_("Add a remote: a folder or S3-compatible storage"),
        ),
        ("delete", "remove_remote", N_("Remove"), N_("Stop syncing with the selected remote")),
        hidden=(("n", "rename_device", N_("Rename device"), N_("Give this device another name")),),
    )

    def __init__(self) -> None:
        super().__init__()
        self.state = SyncState((), ())
        self.reports: list[SyncReport] = []  # of the last sync
        self._sync_when_loaded = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="devices"):
            yield titled_panel(
                _("Remotes"),
                data_table(
                    "remotes",
                    _("Name"),
                    _("URL"),
                    _("Last sync"),
                    _("To send"),
                    _("Forgets pending"),
                ),
                Static("", id="remotes-note"),
                id="remotes-panel",
            )
            yield titled_panel(
                _("Devices"),
                data_table(
                    "devices-table", _("Device"), _("Last sync"), _("State"), _("Forgets pending")
                ),
                Static("", id="devices-note"),
                id="devices-panel",
            )
            yield ProgressPanel(id="sync-progress")

    def load(self) -> None:
        self._load(self.vault)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, vault: Vault) -> None:
        state = SyncState(tuple(remote.list_remotes(vault)), tuple(remote.devices(vault)))
        self.app.call_from_thread(self._show, state)

    def sync_all_when_loaded(self) -> None:
        """Sync with every remote once the remotes are read ("Sync now" from any screen: this
        one may not be shown yet)."""
        self._sync_when_loaded = True
        if self.is_mounted:
            self.reload()  # else mounting loads it

    def _show(self, state: SyncState) -> None:
        self.state = state
        table = self.query_one("#remotes", DataTable)
        row = table.cursor_row
        table.clear()
        for r in state.remotes:
            table.add_row(
                *fmt.cells(
                    r["name"],
                    r["url"],
                    last_sync(r["last_sync"]),
                    fmt.count(r["pending"]) if r["pending"] else _("up to date"),
                    fmt.count(r["pending_forgets"])
                    if r["pending_forgets"]
                    else pgettext("forgets pending", "none"),
                ),
                key=r["name"],
            )
        if state.remotes:
            table.move_cursor(row=min(max(row, 0), len(state.remotes) - 1))
        self.query_one("#remotes-note", Static).update(
            _(
                "Forgets pending: forgets made here that other devices have not applied yet "
                "(each applies them at its next sync)."
            )
            if state.remotes
            else _("No remote yet: press a to add a folder or S3-compatible storage.")
        )
        devices = self.query_one("#devices-table", DataTable)
        devices.clear()
        for d in state.devices:
            devices.add_row(
                *fmt.cells(
                    d["name"] + (_(" (this device)") if d["this"] else ""),
                    last_sync(d["last_sync"]),
                    _("revoked") if d["revoked"] else _("active"),
                    _("{forgets} pending on {name}").format(
                        forgets=fmt.plural(d["pending_forgets"], "forget"), name=d["name"]
                    )
                    if d["pending_forgets"]
                    else pgettext("forgets pending", "none"),
                ),
                key=d["id"],
            )
        if not state.devices:
            note = _("This device is listed once a remote is added (press n to name it now).")
        elif len(state.devices) == 1:
            note = _("Other devices appear here once a remote showed them (after a sync).")
        else:
            note = _(
                "A device that is not revoked applies the forgets pending on it at its next sync."
            )
        self.query_one("#devices-note", Static).update(note)
        if self._sync_when_loaded:
            self._sync_when_loaded = False
            self.action_sync_all()

    # --- sync ---

    def action_sync(self) -> None:
        chosen = self.cursor_item("#remotes", self.state.remotes, warning=_("Add a remote first."))
        if chosen is not None:
            self.start_sync([chosen["name"]])

    def action_sync_all(self) -> None:
        if not self.state.remotes:
            self.notify(_("Add a remote first."), severity="warning")
            return
        self.start_sync([r["name"] for r in self.state.remotes])

    def start_sync(self, names: list[str], passphrase: str | None = None) -> None:
        """Sync with each remote of `names` in turn, in a worker, the progress panel showing
        which one."""
        if self.busy_writing():
            return
        panel = self.query_one("#sync-progress", ProgressPanel)
        panel.begin(_("Syncing with {name}…").format(name=names[0]))
        self._sync(self.vault, names, passphrase, panel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _sync(
        self, vault: Vault, names: list[str], passphrase: str | None, panel: ProgressPanel
    ) -> None:
        reports: list[SyncReport] = []
        waiting: list[str] = []
        try:
            for i, name in enumerate(names):
                if i:
                    self.app.call_from_thread(
                        panel.begin, _("Syncing with {name}…").format(name=name)
                    )
                try:
                    (report,) = remote.sync(
                        vault, name, passphrase=passphrase, progress=panel.report
                    )
                except PassphraseUnavailable:
                    # Only the passphrase opens the remote's new keys: ask for it, then go on
                    # from this remote (those before it are done).
                    waiting = names[i:]
                    break
                reports.append(report)
        finally:
            # Also when a remote failed: the syncs done before it are told and shown.
            self.app.call_from_thread(panel.end)
            self.app.call_from_thread(self._synced, reports, waiting)

    def _synced(self, reports: list[SyncReport], waiting: list[str]) -> None:
        """Tell what each sync did and show the new state; ask for the passphrase when a
        remote needs it."""
        self.reports = reports
        for report in reports:
            self.notify(
                sync_summary(report), title=_("Synced with {name}").format(name=report.remote)
            )
        if reports:
            self.changed("sync")
        self.reload()
        if waiting:
            self.ask(
                PassphraseModal(_(KEYS_CHANGED).format(name=waiting[0])),
                lambda passphrase: self.start_sync(waiting, passphrase),
            )

    # --- remotes and this device ---

    def action_add_remote(self) -> None:
        def add(answer: tuple[str, str]) -> None:
            name, url = answer
            self.update_vault(
                _("remote added"),
                lambda v: remote.add_remote(v, name, url),
                notice=_("Remote {name} added; press s to send the vault there.").format(name=name),
            )

        self.ask(AddRemoteModal(), add)

    def action_remove_remote(self) -> None:
        chosen = self.cursor_item("#remotes", self.state.remotes, warning=_("Select a remote."))
        if chosen is None:
            return
        name = chosen["name"]
        self.confirm(
            ConfirmModal(
                _("Stop syncing with {name}?").format(name=name),
                _(
                    "Its objects stay where they are: delete the folder or bucket there to "
                    "remove them."
                ),
                confirm=_("Remove"),
            ),
            lambda: self.update_vault(
                _("remote removed"),
                lambda v: remote.remove_remote(v, name),
                notice=_("Remote {name} removed; its objects stay where they are.").format(
                    name=name
                ),
            ),
        )

    def action_rename_device(self) -> None:
        self.ask(
            PromptModal(
                _("Rename this device"),
                value=self.state.this_device,
                help=_("The other devices see the new name at their next sync."),
                check=device_problem,
            ),
            lambda name: self.update_vault(
                _("device renamed"),
                lambda v: remote.rename_device(v, name),
                notice=_("This device is now called {name}.").format(name=name),
            ),
        )
