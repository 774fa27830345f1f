"""What every area screen shares: the navigation bar, the footer and vault access, the
pieces their bodies are built from (key bindings, titled panels, tables), asking through a
dialog, and small writes in a worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Label, Tab, Tabs
from textual.worker import Worker

from tui.commands import PaletteCommand
from tui.messages import VaultChanged
from vault.core.i18n import N_, _

if TYPE_CHECKING:
    from tui.app import CoffreApp
    from vault.core.vault import Vault

T = TypeVar("T")


def bindings(
    area: str,
    *rows: tuple[str, str, str, str],
    hidden: tuple[tuple[str, str, str, str], ...] = (),
    group: Binding.Group | None = None,
) -> list[BindingType]:
    """An area's keys from (key, action, description, tooltip) rows. Each binding's id is
    `area.action` (the name a keymap rebinds it by; `action(arg)` gives `area.action_arg`).
    The `hidden` rows stay out of the footer, which has room for a few keys at 80 columns,
    but are in the help and the palette like every other; `group` shows its rows' keys
    together under the group's name."""

    def make(row: tuple[str, str, str, str], show: bool) -> BindingType:
        key, action, description, tooltip = row
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in action).strip("_")
        return Binding(
            key,
            action,
            description,
            show=show,
            tooltip=tooltip,
            id=f"{area}.{name}",
            group=group if show else None,
        )

    return [make(row, True) for row in rows] + [make(row, False) for row in hidden]


def titled_panel(title: str, *children: Widget, id: str) -> Vertical:
    """A bordered panel headed by its title (the `.panel` styles of app.tcss)."""
    return Vertical(Label(title, classes="panel-title"), *children, classes="panel", id=id)


def data_table(id: str, *columns: str, zebra_stripes: bool = True) -> DataTable[Text]:
    """A table the cursor moves through row by row, with its column headings."""
    table: DataTable[Text] = DataTable(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
    table.add_columns(*columns)
    return table


def translate_bindings(node: DOMNode) -> None:
    """Show NODE's keys in the current language: descriptions and tooltips are marked in the
    class (`N_`, read at import) and translated for each screen as it is made, and again
    when the language changes (from the English kept the first time)."""
    english: dict[str, list[Binding]] = node.__dict__.setdefault("_english_bindings", {})
    for key, current in node._bindings.key_to_bindings.items():
        found = english.setdefault(key, list(current))
        node._bindings.key_to_bindings[key] = [
            replace(
                b,
                description=_(b.description),
                tooltip=_(b.tooltip) if b.tooltip else "",
                group=replace(b.group, description=_(b.group.description)) if b.group else None,
            )
            for b in found
        ]


class TranslatedKeys:
    """A screen or app whose keys are shown in the current language (`translate_bindings`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)  # type: ignore[arg-type]  # mixed into a DOMNode


class ForwardsWorkerErrors:
    """Screens that run workers forward their state changes to the app's one handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        app = getattr(self, "app", None)
        if app is not None and hasattr(app, "on_worker_state_changed"):
            app.on_worker_state_changed(event)


class SectionScreen(TranslatedKeys, ForwardsWorkerErrors, Screen[None]):
    """An area of the vault: subclasses compose the body and load data in workers."""

    # First in every area's footer, so it shows even at 80 columns (subclasses' keys follow).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f1",
            "app.help",
            N_("Help"),
            tooltip=N_("Keys and actions of this screen"),
            id="area.help",
        ),
        Binding(
            "escape",
            "leave_field",
            N_("Leave the field"),
            show=False,
            tooltip=N_("Leave a text field, so the number keys switch areas again"),
            id="area.leave_field",
        ),
    ]
    HOME: ClassVar[str] = ""  # the widget Escape returns to from a text field (else none)
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
            Tab(f"{key} {_(s.title)}", id=f"nav-{s.mode}")
            for key, s in enumerate(self.coffre.section_list, start=1)
        ]
        yield Tabs(*tabs, active=f"nav-{self.MODE}", id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        from tui.app import settle_heap

        self.sub_title = _(self.TITLE_TEXT)
        self.reload()
        self.call_after_refresh(settle_heap)

    def on_screen_resume(self) -> None:
        tabs = self.query_one("#nav", Tabs)
        if tabs.active != f"nav-{self.MODE}":
            tabs.active = f"nav-{self.MODE}"
        if self._seen != self.coffre.generation:
            self.reload()

    def action_leave_field(self) -> None:
        """Leave a text field for the screen's main widget (`HOME`), or for no widget: the
        number keys then switch areas instead of typing into it."""
        if isinstance(self.focused, Input):
            self.set_focus(self.query_one(self.HOME) if self.HOME else None)

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

    def cursor_item(self, table: str, items: Sequence[T], *, warning: str = "") -> T | None:
        """The item of `items` (the rows of the table `table` selects, in order) under the
        cursor; None when there is none, after telling the person `warning` if given."""
        row = self.query_one(table, DataTable).cursor_row
        if not items or not 0 <= row < len(items):
            if warning:
                self.notify(warning, severity="warning")
            return None
        return items[row]

    def ask(self, dialog: Screen[T], then: Callable[[T], object]) -> None:
        """Show a dialog, then act on its answer: `then` runs only when the person answered
        (a cancelled prompt gives None, a declined confirmation False, and nothing runs)."""

        def answered(answer: T | None) -> None:
            if answer:
                then(answer)

        self.app.push_screen(dialog, answered)

    def confirm(self, dialog: Screen[bool], then: Callable[[], object]) -> None:
        """Show a confirmation; run `then` only when the person confirms."""
        self.ask(dialog, lambda _yes: then())

    def update_vault(
        self, what: str, change: Callable[[Vault], object], *, notice: str = ""
    ) -> None:
        """Make a small change to the vault in a worker; then tell the app (`what`), tell the
        person (`notice`, else `what`) and reload."""
        self._update(self.vault, what, change, notice or what.capitalize() + ".")

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _update(
        self, vault: Vault, what: str, change: Callable[[Vault], object], notice: str
    ) -> None:
        change(vault)
        self.app.call_from_thread(self._updated, what, notice)

    def _updated(self, what: str, notice: str) -> None:
        self.changed(what)
        self.notify(notice)
        self.reload()

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
            self.notify(_("Wait for the current operation to finish."), severity="warning")
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
        for binding in type(self).__dict__.get("BINDINGS", ()):
            if not isinstance(binding, tuple) and binding.description:
                run = partial(self.run_action, binding.action)
                found.append(
                    PaletteCommand(
                        _(binding.description), _(binding.tooltip or binding.description), run
                    )
                )
        return found
