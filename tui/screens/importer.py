"""The import dialog: choose a format of the import registry, a path and the format's own
settings (Fitbit's time zone...); the Data screen runs the import."""

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

from tui.screens.base import TranslatedKeys
from vault.core.i18n import N_, _, localise
from vault.imports import FORMATS, ImportFormat, get_format


def choices() -> list[tuple[str, str]]:
    """The Select's options: every registry format, by its name for people."""
    return [(fmt.title, fmt.name) for fmt in FORMATS]


def explanation(fmt: ImportFormat) -> str:
    """What importing in this format reads and does, shown under the choice."""
    where = (
        "" if fmt.needs_persona else " " + _("The chosen persona is not used: it makes personas.")
    )
    reads = _("Reads {what}.").format(what=localise(fmt.accepts.describe()))
    return f"{_(fmt.description)} {reads}{where}\n" + _(
        "All or nothing (one transaction); what is already in the vault is skipped."
    )


def option_fields(fmt: ImportFormat) -> list[Label | Input]:
    """A label and an input for each setting of FMT (as the CLI's flags: `--time-zone`), left
    empty for the importer's default."""
    fields: list[Label | Input] = []
    for option in fmt.options:
        about = _("{flag} {metavar}: {help}")
        fields.append(
            Label(about.format(flag=option.flag, metavar=option.metavar, help=_(option.help)))
        )
        fields.append(Input(placeholder=option.metavar, id=f"import-option-{option.name}"))
    return fields


@dataclass(frozen=True)
class ImportRequest:
    """What the person chose: a format, a path and the settings they filled in."""

    fmt: str
    path: Path
    options: tuple[tuple[str, str], ...] = ()


class ImportModal(TranslatedKeys, ModalScreen[ImportRequest]):
    """Asks what to import into the persona named in the title."""

    BINDINGS: ClassVar = [
        Binding(
            "escape",
            "cancel",
            N_("Cancel"),
            tooltip=N_("Close without importing"),
            id="importer.cancel",
        )
    ]

    def __init__(self, persona: str) -> None:
        super().__init__()
        self._persona = persona

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-dialog"):
            yield Label(
                _("Import data for {persona}").format(persona=self._persona), classes="dialog-title"
            )
            yield Select(choices(), value=FORMATS[0].name, allow_blank=False, id="import-format")
            yield Vertical(*option_fields(FORMATS[0]), id="import-options")
            yield Input(placeholder=_("Path to the file or folder"), id="import-path")
            yield DirectoryTree(Path.cwd(), id="import-tree")
            yield Static(explanation(FORMATS[0]), classes="dialog-body", id="import-about")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("Import"), id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Select.Changed, "#import-format")
    async def _format_changed(self, event: Select.Changed) -> None:
        fmt = get_format(str(event.value))
        self.query_one("#import-about", Static).update(explanation(fmt))
        box = self.query_one("#import-options", Vertical)
        await box.remove_children()  # two formats may share a setting's id
        await box.mount_all(option_fields(fmt))

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
            self.notify(_("Give the path of the file to import."), severity="warning")
            return
        fmt = str(self.query_one("#import-format", Select).value)
        options = tuple(
            (option.name, value)
            for option in get_format(fmt).options
            for field in self.query(f"#import-option-{option.name}").results(Input)
            if (value := field.value.strip())
        )
        self.dismiss(ImportRequest(fmt, Path(text).expanduser(), options))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
