"""What every area screen shares: the navigation bar, the footer and vault access."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs
from textual.worker import Worker

from tui.commands import PaletteCommand
from tui.messages import VaultChanged

if TYPE_CHECKING:
    from tui.app import CoffreApp
    from vault.core.vault import Vault


class ForwardsWorkerErrors:
    """Screens that run workers forward their state changes to the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        app = getattr(self, "app", None)
        if app is not None and hasattr(app, "on_worker_state_changed"):
            app.on_worker_state_changed(event)


class SectionScreen(ForwardsWorkerErrors, Screen[None]):
    """An area of the vault: subclasses compose the body and load data in workers."""

    MODE: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""
    _seen = -1  # the app's write generation this screen last loaded

    @property
    def coffre(self) -> CoffreApp:
        from tui.app import CoffreApp

        if not isinstance(self.app, CoffreApp):
            raise TypeError("Coffre screens run inside CoffreApp")
        return self.app

    @property
    def vault(self) -> Vault:
        return self.coffre.open_vault

    def compose(self) -> ComposeResult:
        tabs = [
            Tab(f"{key} {s.title}", id=f"nav-{s.mode}")
            for key, s in enumerate(self.coffre.section_list, start=1)
        ]
        yield Tabs(*tabs, active=f"nav-{self.MODE}", id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        from tui.app import settle_heap

        self.sub_title = self.TITLE_TEXT
        self.reload()
        self.call_after_refresh(settle_heap)

    def on_screen_resume(self) -> None:
        tabs = self.query_one("#nav", Tabs)
        if tabs.active != f"nav-{self.MODE}":
            tabs.active = f"nav-{self.MODE}"
        if self._seen != self.coffre.generation:
            self.reload()

    def reload(self) -> None:
        """Load what the screen shows (subclasses start a worker); on mount and after writes."""
        self._seen = self.coffre.generation
        self.load()

    def load(self) -> None:
        """Start the worker that fetches this screen's data."""

    def changed(self, what: str) -> None:
        """Tell the app this screen wrote to the vault: the other screens reload when shown
        (this one reloads what it needs itself)."""
        self.post_message(VaultChanged(what, self))

    def report(self, title: str, markdown: str, then: Callable[[], object]) -> None:
        """Show a finished operation's report, then run `then` (a reload) once it is closed:
        one thing at a time keeps the event loop responsive while the report appears."""
        from tui.screens.modals import ReportModal

        def closed(_result: None) -> None:
            then()

        self.app.push_screen(ReportModal(title, markdown), closed)

    def busy_writing(self) -> bool:
        """True (and the person told so) while a write is still running anywhere in the app:
        one import, export or forget at a time."""
        if any(w.group == "write" and w.is_running for w in self.workers):
            self.notify("Wait for the current operation to finish.", severity="warning")
            return True
        return False

    def mark_seen(self, generation: int) -> None:
        self._seen = generation

    @on(Tabs.TabActivated, "#nav")
    def _navigate(self, event: Tabs.TabActivated) -> None:
        mode = (event.tab.id or "").removeprefix("nav-")
        if mode and mode != self.MODE:
            self.coffre.action_go(mode)

    def palette_commands(self) -> list[PaletteCommand]:
        """The actions of this screen, for the command palette (from its bindings)."""
        found = []
        for binding in self.BINDINGS:
            if not isinstance(binding, tuple) and binding.description:
                run = partial(self.run_action, binding.action)
                found.append(
                    PaletteCommand(binding.description, binding.tooltip or binding.description, run)
                )
        return found
