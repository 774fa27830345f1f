"""The help screen: every key of the screen it was opened from, then what Coffre is."""

from __future__ import annotations

from typing import ClassVar

from rich import box
from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label, Static

from tui.screens.base import TranslatedKeys
from vault.core.i18n import N_, _

INTRO = N_("""\
Coffre keeps your identities, health data and writing in one **encrypted vault** on your own
machine. Nothing leaves it unless you share it.

- **Number keys** switch between areas; **Ctrl+P** opens the command palette with every action.
- **Escape** leaves a text field, so the number keys switch areas again.
- Destructive actions always ask first; forgetting asks you to type the target's name.
- **Ctrl+T** switches between the light and dark themes; **Ctrl+Q** closes the vault and quits.
""")
MORE_BELOW = N_("▼ more below: ↓ or PgDn to scroll")


def key_rows(screen: Screen[object]) -> list[tuple[str, str]]:
    """(key, what it does) for every described key of `screen`, then of the app."""
    rows = []
    seen = set()
    for node in (screen, screen.app):
        for binding in getattr(node, "BINDINGS", []):
            if isinstance(binding, tuple) or not binding.description:
                continue
            if binding.description in seen:
                continue
            seen.add(binding.description)
            key = binding.key_display or binding.key.split(",")[0].replace("_", " ")
            rows.append((key, _(binding.tooltip or binding.description)))
    return rows


def keys_table(screen: Screen[object]) -> Table:
    """The keys as a table of one line each (a Markdown table takes two per key)."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False)
    table.add_column(_("Key"), style="bold", no_wrap=True)
    table.add_column(_("Action"), ratio=1)
    for key, action in key_rows(screen):
        table.add_row(key, action)
    return table


class HelpScreen(TranslatedKeys, ModalScreen[None]):
    """Opened with F1 or ?; closed with Escape. When it holds more than the terminal shows,
    a line at its foot says so, until the end is reached."""

    BINDINGS: ClassVar = [
        Binding("escape,f1,q", "close", N_("Close"), tooltip=N_("Close the help"), id="help.close")
    ]

    def __init__(self, over: Screen[object]) -> None:
        super().__init__()
        self._over = over

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="help"):
            yield Label(_("Help: keys here"), classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(Group(keys_table(self._over), RichMarkdown(_(INTRO))), id="help-text")
            with Horizontal(classes="dialog-buttons"):
                yield Label("", id="help-more")
                yield Button(_("Close"), id="close", variant="primary")

    def on_mount(self) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.focus()  # ↓ and PgDn scroll it at once
        for attribute in ("scroll_y", "virtual_size", "size"):
            self.watch(scroll, attribute, self._cue_after_layout)

    def _cue_after_layout(self) -> None:
        # A size change is told before the layout that follows it: measure once it is done.
        self.call_after_refresh(self._update_cue)

    def _update_cue(self) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        below = scroll.scroll_y < scroll.max_scroll_y
        self.query_one("#help-more", Label).update(_(MORE_BELOW) if below else "")

    @property
    def more_below(self) -> bool:
        return bool(self.query_one("#help-more", Label).content)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
