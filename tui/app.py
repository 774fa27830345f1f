"""The Coffre terminal application: unlock, then one mode per area of the vault.

The app owns the unlocked `Vault` and its clock (given to the vault at unlock, so the library
and the screens tell the same time; tests fix it). Every screen reaches the vault through
`self.app.vault` and does its slow work in thread workers; one
`Worker.StateChanged` handler here turns a failed worker into an error the person can read.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.commands import LANGUAGE_HELP, CoffreCommands
from tui.messages import VaultChanged, VaultUnlocked
from tui.screens.base import SectionScreen, TranslatedKeys, translate_bindings
from tui.screens.modals import ErrorModal
from vault.core import config, errors, i18n
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.errors import VaultError
from vault.core.i18n import N_, _, error_message
from vault.core.untrusted import printable
from vault.core.vault import Vault

LIGHT_THEME = "textual-light"
DARK_THEME = "textual-dark"


@dataclass(frozen=True)
class Section:
    """One area of the vault: its mode name, title, screen and a line of help (its number
    key is its position in the navigation bar)."""

    mode: str
    title: str
    screen: Callable[[], Screen[None]]
    help: str


def error_text(error: BaseException | None) -> str:
    """What the person may see of an error: a VaultError's own message, else only its type
    (the text of an arbitrary exception may hold plaintext or a passphrase)."""
    if isinstance(error, VaultError):
        return error_message(error)
    name = type(error).__name__ if error is not None else "unknown"
    return _("Unexpected internal error ({name}). Nothing was changed by the failed step.").format(
        name=name
    )


# What a dialog is titled by the kind of error: an expected refusal is not a failure.
_TITLES: tuple[tuple[type[VaultError], str], ...] = (
    (errors.ConsentRefused, N_("Refused")),
    (errors.BadInput, N_("Cannot use this input")),
    (errors.NotFound, N_("Not found")),
    (errors.AlreadyExists, N_("Already there")),
    (errors.PassphraseError, N_("Passphrase")),
    (errors.IntegrityError, N_("Integrity check failed")),
    (errors.VaultBusy, N_("The vault is busy")),
    (errors.UnsupportedFormat, N_("Not supported")),
    (errors.RemoteError, N_("Cannot sync")),
)
FAILURE_TITLE = N_("Something went wrong")
# Textual's own words: the palette's key in the footer (translated with the other keys) and
# its search field.
PALETTE_WORDS = (N_("palette"), N_("Open the command palette"))
PALETTE_PLACEHOLDER = N_("Search for commands…")


def error_title(error: BaseException | None) -> str:
    """The title of the dialog showing `error`: what kind of answer it is ("Refused" for a
    withdrawn grant), "Something went wrong" only for what was not expected."""
    for kind, title in _TITLES:
        if isinstance(error, kind):
            return _(title)
    return _(FAILURE_TITLE)


def settle_heap() -> None:
    """Move the objects alive now (Textual's widgets, the area screens, which live as long as
    the app) out of the garbage collector's sight: a full collection then scans only what is
    new, instead of stalling the event loop for a hundred milliseconds while a worker
    allocates. Called once the unlock is done and when an area screen is first mounted, never
    for short-lived dialogs (frozen objects are never collected)."""
    gc.freeze()


def sections() -> list[Section]:
    """The areas, in the order of the navigation bar (imported on unlock, so the unlock
    screen appears without waiting for them)."""
    from tui.screens.audit import AuditScreen
    from tui.screens.content import ContentScreen
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.data import DataScreen
    from tui.screens.devices import DevicesScreen
    from tui.screens.forget import ForgetScreen
    from tui.screens.personas import PersonasScreen
    from tui.screens.sharing import SharingScreen

    return [
        # Titles and help are marked here and translated where shown.
        Section("dashboard", N_("Dashboard"), DashboardScreen, N_("Overview of the vault")),
        Section("personas", N_("Personas"), PersonasScreen, N_("Identities and their attributes")),
        Section("data", N_("Data"), DataScreen, N_("Quantified-self metrics, charts and imports")),
        Section("content", N_("Content"), ContentScreen, N_("Notes, posts and their proofs")),
        Section(
            "sharing",
            N_("Sharing"),
            SharingScreen,
            N_("Recipients, grants, exports and the ledger"),
        ),
        Section("forget", N_("Forget"), ForgetScreen, N_("Forget data for good; retention rules")),
        Section("audit", N_("Audit"), AuditScreen, N_("The verified audit log")),
        Section(
            "devices",
            N_("Devices & sync"),
            DevicesScreen,
            N_("Remotes, devices and syncing now"),
        ),
    ]


class CoffreApp(TranslatedKeys, App[None]):
    """Coffre: a privacy-first personal data vault, in the terminal."""

    TITLE = "Coffre"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS: ClassVar = App.COMMANDS | {CoffreCommands}
    BINDINGS: ClassVar = [
        Binding(
            "f1,question_mark",
            "help",
            N_("Help"),
            show=False,  # each area's footer shows it first (SectionScreen)
            tooltip=N_("Keys and actions of this screen"),
            id="app.help",
        ),
        Binding(
            "ctrl+t",
            "toggle_theme",
            N_("Theme"),
            show=False,  # in the help and the palette: the footer has room for a few keys
            tooltip=N_("Switch between light and dark"),
            id="app.toggle_theme",
        ),
        Binding(
            "f2",
            "language",
            N_("Language"),
            show=False,
            tooltip=LANGUAGE_HELP,
            id="app.language",
        ),
        Binding(
            "ctrl+q",
            "quit",
            N_("Quit"),
            tooltip=N_("Close the vault and quit"),
            priority=True,
            id="app.quit",
        ),
    ]

    def __init__(
        self,
        vault_dir: Path,
        *,
        passphrase: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        theme: str = DARK_THEME,
    ) -> None:
        super().__init__()
        self.vault_dir = Path(vault_dir)
        self.vault: Vault | None = None
        self.clock = clock
        self._passphrase = passphrase
        self._sections: list[Section] = []
        self.generation = 0  # bumped by every write, so screens know to reload
        self.theme = theme

    # --- lifecycle ---

    def on_mount(self) -> None:
        from tui.screens.unlock import UnlockScreen

        self.push_screen(
            UnlockScreen(self.vault_dir, passphrase=self._passphrase, clock=self.clock)
        )
        self._passphrase = None

    @on(VaultUnlocked)
    def _unlocked(self, message: VaultUnlocked) -> None:
        self.vault = message.vault
        self._sections = sections()
        for key, section in enumerate(self._sections, start=1):
            self.add_mode(section.mode, section.screen)
            self.bind(str(key), f"go('{section.mode}')", description=section.title, show=False)
        self.switch_mode("dashboard")
        self.call_after_refresh(settle_heap)
        if message.created:
            self.notify(
                _("Your new vault is ready. Keep your passphrase safe."), title=_("Created")
            )

    @on(VaultChanged)
    def _changed(self, message: VaultChanged) -> None:
        self.generation += 1
        if isinstance(message.screen, SectionScreen):
            message.screen.mark_seen(self.generation)
        self.log.info(f"vault changed: {message.what}")

    def on_unmount(self) -> None:
        if self.vault is not None:
            self.vault.close()
            self.vault = None

    @property
    def open_vault(self) -> Vault:
        """The unlocked vault (screens after the unlock screen can rely on it)."""
        if self.vault is None:
            raise RuntimeError("the vault is locked")
        return self.vault

    @property
    def section_list(self) -> list[Section]:
        return list(self._sections)

    # --- errors ---

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes something the person sees (screens forward
        their workers' state changes here: Textual does not bubble them)."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        self.show_error(error_text(error), title=error_title(error))

    def show_error(self, message: str, *, title: str = FAILURE_TITLE) -> None:
        message = printable(message)  # may name a file or member of an imported archive
        handler = getattr(self.screen, "show_error", None)
        if callable(handler) and handler(message):
            return
        self.push_screen(ErrorModal(message, title=title))

    # --- actions ---

    async def action_language(self) -> None:
        """Switch between English and French now, and keep the choice for the next start
        (`coffre tui` reads it; `--lang` overrides it)."""
        lang = "en" if i18n.language() == "fr" else "fr"
        i18n.set_language(lang)
        config.write_setting("language", lang)
        translate_bindings(self)
        screen = self.screen
        if self.vault is not None:
            # The other areas are made again when next shown, in the new language.
            for section in self._sections:
                if section.mode != self.current_mode:
                    await self.remove_mode(section.mode)
                    self.add_mode(section.mode, section.screen)
        if isinstance(screen, TranslatedKeys):
            translate_bindings(screen)
            await screen.recompose()
            if isinstance(screen, SectionScreen):
                screen.sub_title = _(screen.TITLE_TEXT)
                screen.reload()
        self.refresh_bindings()
        self.notify(_("Coffre speaks English now."))

    def action_command_palette(self) -> None:
        """The command palette, its search field in the current language."""
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            placeholder = _(PALETTE_PLACEHOLDER)
            self.push_screen(CommandPalette(placeholder=placeholder, id="--command-palette"))

    async def action_quit(self) -> None:
        """Quit, unless a write is half done: it would be rolled back."""
        busy = [w for w in self.workers if w.group in ("write", "kdf") and w.is_running]
        if busy:
            self.notify(
                _("An operation is still writing to the vault; quit when it is done."),
                severity="warning",
            )
            return
        await super().action_quit()

    def action_go(self, mode: str) -> None:
        if self.vault is not None and mode in {s.mode for s in self._sections}:
            self.switch_mode(mode)

    def action_sync_now(self) -> None:
        """Sync with every remote, from any screen: on the Devices & sync screen, which shows
        the progress and then the remotes' new state."""
        from tui.screens.devices import DevicesScreen

        if self.vault is None:
            return
        self.switch_mode("devices")
        screen = self.screen
        if isinstance(screen, DevicesScreen):
            screen.sync_all_when_loaded()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            _("Toggle light/dark"), _("Switch the colour theme"), self.action_toggle_theme
        )
