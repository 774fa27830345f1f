"""The help screen: what Coffre is, and every key of the screen it was opened from."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label, Markdown

INTRO = """\
Coffre keeps your identities, health data and writing in one **encrypted vault** on your own
machine. Nothing leaves it unless you share it.

- **Number keys** switch between areas; **Ctrl+P** opens the command palette with every action.
- Destructive actions always ask first; forgetting asks you to type the target's name.
- **Ctrl+T** switches between the light and dark themes; **Ctrl+Q** closes the vault and quits.
"""


def keys_table(screen: Screen[object]) -> str:
    lines = ["| Key | Action |", "|---|---|"]
    seen = set()
    for node in (screen, screen.app):
        for binding in getattr(node, "BINDINGS", []):
            if isinstance(binding, tuple) or not binding.description:
                continue
            if binding.description in seen:
                continue
            seen.add(binding.description)
            key = binding.key_display or binding.key.split(",")[0].replace("_", " ")
            lines.append(f"| `{key}` | {binding.tooltip or binding.description} |")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Opened with F1 or ?; closed with Escape."""

    BINDINGS: ClassVar = [
        Binding("escape,f1,q", "close", "Close", tooltip="Close the help", id="help.close")
    ]

    def __init__(self, over: Screen[object]) -> None:
        super().__init__()
        self._over = over

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="help"):
            yield Label("Help", classes="dialog-title")
            with VerticalScroll(classes="report"):
                yield Markdown(INTRO + "\n## Keys here\n\n" + keys_table(self._over))
            yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
