"""Unlock an existing vault or create a new one; the KDF runs in a thread worker."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, LoadingIndicator, Select, Static

from tui.messages import VaultUnlocked
from tui.screens.base import ForwardsWorkerErrors, TranslatedKeys
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.errors import VaultError
from vault.core.i18n import N_, _, error_message, localise
from vault.core.strength import assess
from vault.core.vault import DEFAULT_KDF, KDF_PROFILES, Vault

_PROFILE_HELP = {
    "minimum": N_("fastest; for tests and small devices"),
    "interactive": N_("quick to unlock"),
    "moderate": N_("recommended"),
    "sensitive": N_("slowest and strongest"),
}


def profile_label(name: str) -> str:
    p = KDF_PROFILES[name]
    cost = _("{mib} MiB, {passes} passes").format(
        mib=p.memlimit // (1024 * 1024), passes=p.opslimit
    )
    return f"{name} — {cost} ({_(_PROFILE_HELP.get(name, ''))})"


class UnlockScreen(TranslatedKeys, ForwardsWorkerErrors, Screen[None]):
    """Asks for the passphrase (masked); shows a clear message when it is wrong."""

    BINDINGS: ClassVar = [
        Binding(
            "ctrl+q",
            "app.quit",
            N_("Quit"),
            tooltip=N_("Quit without unlocking"),
            priority=True,
            id="unlock.app_quit",
        ),
    ]

    def __init__(
        self, vault_dir: Path, *, passphrase: str | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        super().__init__()
        self.vault_dir = vault_dir
        self.clock = clock  # the vault opened here tells the time by it
        self.creating = not Vault.exists(vault_dir)
        self._given = passphrase

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock-box"):
            yield Label(_("Coffre"), id="unlock-title")
            yield Static(str(self.vault_dir), id="unlock-path", markup=False)
            if self.creating:
                yield Static(
                    _(
                        "No vault here yet. Choose a passphrase to create one: without it nothing "
                        "in the vault can ever be recovered."
                    ),
                    classes="unlock-help",
                )
                yield Input(password=True, placeholder=_("New passphrase"), id="passphrase")
                yield Input(password=True, placeholder=_("Repeat the passphrase"), id="confirm")
                yield Select(
                    [(profile_label(name), name) for name in KDF_PROFILES],
                    value=DEFAULT_KDF,
                    allow_blank=False,
                    id="kdf",
                )
                yield Button(_("Create vault"), id="submit", variant="primary")
            else:
                yield Input(password=True, placeholder=_("Passphrase"), id="passphrase")
                yield Button(_("Unlock"), id="submit", variant="primary")
            yield Label("", id="unlock-error")
            yield LoadingIndicator(id="unlock-busy")
            yield Label("", id="unlock-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#unlock-busy").display = False
        self.query_one("#passphrase", Input).focus()
        if self._given is not None and not self.creating:
            given, self._given = self._given, None
            self._start(given)

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        passphrase = self.query_one("#passphrase", Input).value
        if not passphrase:
            self.show_error(_("Type your passphrase first."))
            return
        if self.creating and passphrase != self.query_one("#confirm", Input).value:
            self.show_error(_("The two passphrases differ."))
            return
        if self.creating:
            # The same floor as `coffre init` (which alone can go below it, with --weak-ok).
            strength = assess(passphrase, context=[str(self.vault_dir), self.vault_dir.name])
            if not strength.acceptable:
                self.show_error(
                    _("Too weak to protect a vault: {reason}.").format(
                        reason=localise(strength.reason)
                    )
                )
                return
        # The fields let go of the passphrase at once: the worker holds the only copy.
        for field in self.query(Input):
            field.value = ""
        self._start(passphrase)

    def _start(self, passphrase: str) -> None:
        self._busy(True)
        if self.creating:
            kdf = str(self.query_one("#kdf", Select).value)
            self.query_one("#unlock-status", Label).update(
                _("Creating the vault (Argon2id, {kdf})…").format(kdf=kdf)
            )
            self._create(passphrase, kdf)
        else:
            try:
                profile = Vault.inspect(self.vault_dir).kdf.name
            except VaultError as exc:
                self.show_error(error_message(exc))
                return
            self.query_one("#unlock-status", Label).update(
                _("Deriving the key (Argon2id, {profile})…").format(profile=profile)
            )
            self._open(passphrase)

    def _busy(self, busy: bool) -> None:
        self.query_one("#unlock-busy").display = busy
        for widget in self.query("Input, Button, Select"):
            widget.disabled = busy
        if busy:
            self.query_one("#unlock-error", Label).update("")
        else:
            self.query_one("#unlock-status", Label).update("")

    @work(thread=True, exclusive=True, exit_on_error=False, group="kdf")
    def _open(self, passphrase: str) -> None:
        vault = Vault.open(self.vault_dir, passphrase, clock=self.clock)
        # Registers what keeps export tokens current as this session writes, and moves what
        # tokens exported into the ledger.
        from vault.sharing import tokens

        tokens.sync(vault)
        self.post_message(VaultUnlocked(vault, created=False))

    @work(thread=True, exclusive=True, exit_on_error=False, group="kdf")
    def _create(self, passphrase: str, kdf: str) -> None:
        vault = Vault.create(self.vault_dir, passphrase, kdf=kdf, clock=self.clock)
        self.post_message(VaultUnlocked(vault, created=True))

    def show_error(self, message: str) -> bool:
        """Shown inline under the passphrase (the app routes worker errors here)."""
        self._busy(False)
        self.query_one("#unlock-error", Label).update(escape(message))
        field = self.query_one("#passphrase", Input)
        field.value = ""
        field.focus()
        return True
