"""The import dialog: choose a format and a file; the Data screen runs the import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label, Select, Static

FORMATS: tuple[tuple[str, str], ...] = (
    ("Apple Health (export.zip or export.xml)", "apple-health"),
    ("Google Takeout (Fit, Fitbit)", "google-takeout"),
    ("Garmin (FIT, GPX, TCX)", "garmin"),
    ("CSV (start,end,metric,value,unit,source)", "csv"),
)


@dataclass(frozen=True)
class ImportRequest:
    """What the person chose: a format and a path."""

    fmt: str
    path: Path


class ImportModal(ModalScreen[ImportRequest | None]):
    """Asks what to import into the persona named in the title."""

    BINDINGS: ClassVar = [
        Binding(
            "escape", "cancel", "Cancel", tooltip="Close without importing", id="importer.cancel"
        )
    ]

    def __init__(self, persona: str) -> None:
        super().__init__()
        self._persona = persona

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-dialog"):
            yield Label(f"Import data for {self._persona}", classes="dialog-title")
            yield Select(FORMATS, value="apple-health", allow_blank=False, id="import-format")
            yield Input(placeholder="Path to the file or folder", id="import-path")
            yield DirectoryTree(Path.cwd(), id="import-tree")
            yield Static(
                "All or nothing (one transaction); samples already stored are skipped.",
                classes="dialog-body",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Import", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(DirectoryTree.FileSelected, "#import-tree")
    @on(DirectoryTree.DirectorySelected, "#import-tree")
    def _picked(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        """A file or folder picked in the tree fills the path (an export may be a folder)."""
        self.query_one("#import-path", Input).value = str(event.path)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        text = self.query_one("#import-path", Input).value.strip()
        if not text:
            self.notify("Give the path of the file to import.", severity="warning")
            return
        fmt = str(self.query_one("#import-format", Select).value)
        self.dismiss(ImportRequest(fmt, Path(text).expanduser()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
