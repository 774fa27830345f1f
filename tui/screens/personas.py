"""Personas: the list, one persona's attributes, editing, sensitivity and vCard export."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import DataTable, Label, Static

from tui import format as fmt
from tui.screens.base import SectionScreen
from tui.screens.modals import ConfirmModal, PromptModal
from vault import personas as identities
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.personas import Attribute, Persona


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600); refuse to replace one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidParameter(f"{path.name} exists already; choose another name") from None
    except OSError as exc:
        raise InvalidParameter(f"{path.name}: cannot write it ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def editable_value(attr: Attribute) -> str:
    """The attribute as `parse_attribute` reads it back: structured names and addresses in
    their `;`-separated form, handles with their URL."""
    if attr.kind == identities.NAME and attr.parts:
        return ";".join(attr.parts)
    if attr.kind == identities.ADDRESS and attr.parts:
        return ";".join(attr.parts[2:])  # parse_attribute adds the two leading PO-box parts
    if attr.kind == identities.HANDLE and attr.url:
        return f"{attr.value} {attr.url}"
    return attr.value


class PersonasScreen(SectionScreen):
    """Who the person is, in each context: one persona per identity they present."""

    MODE = "personas"
    TITLE_TEXT = "Personas"
    BINDINGS: ClassVar = [
        Binding("n", "new_persona", "New", tooltip="Create a persona", id="personas.new_persona"),
        Binding(
            "a",
            "add_attribute",
            "Add attribute",
            tooltip="Add an attribute (key=value)",
            id="personas.add_attribute",
        ),
        Binding(
            "e",
            "edit_attribute",
            "Edit",
            tooltip="Change the selected attribute's value",
            id="personas.edit_attribute",
        ),
        Binding(
            "s",
            "toggle_sensitive",
            "Sensitive",
            tooltip="Mark the attribute (not) sensitive",
            id="personas.toggle_sensitive",
        ),
        Binding(
            "delete",
            "remove_attribute",
            "Remove",
            tooltip="Remove the selected attribute",
            id="personas.remove_attribute",
        ),
        Binding(
            "v",
            "export_vcard",
            "vCard",
            tooltip="Export the persona as a vCard file",
            id="personas.export_vcard",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.personas: list[Persona] = []
        self.current: Persona | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="personas"):
            with Vertical(classes="panel", id="persona-list-panel"):
                yield Label("Personas", classes="panel-title")
                yield DataTable(id="persona-list", cursor_type="row")
            with Vertical(classes="panel", id="persona-detail-panel"):
                yield Label("", classes="panel-title", id="persona-title")
                yield Static("", id="persona-facts")
                yield DataTable(id="persona-attributes", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#persona-list", DataTable).add_columns("Name", "Attributes")
        self.query_one("#persona-attributes", DataTable).add_columns("Key", "Sensitive", "Value")
        super().on_mount()

    def load(self) -> None:
        self._load(self.vault)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, vault: Vault) -> None:
        personas = identities.list_personas(vault)
        self.app.call_from_thread(self._show, personas)

    def _show(self, personas: list[Persona]) -> None:
        keep = self.current.id if self.current else None
        self.personas = personas
        table = self.query_one("#persona-list", DataTable)
        table.clear()
        for p in personas:
            table.add_row(*fmt.cells(p.name, str(len(p.attributes))), key=p.id)
        if personas:
            index = next((i for i, p in enumerate(personas) if p.id == keep), 0)
            table.move_cursor(row=index)
            self._select(personas[index])
        else:
            self._select(None)

    @on(DataTable.RowHighlighted, "#persona-list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        found = [p for p in self.personas if p.id == event.row_key.value]
        if found:
            self._select(found[0])

    def _select(self, persona: Persona | None) -> None:
        self.current = persona
        attrs = self.query_one("#persona-attributes", DataTable)
        attrs.clear()
        if persona is None:
            self.query_one("#persona-title", Label).update("No persona yet")
            self.query_one("#persona-facts", Static).update("Press n to create one.")
            return
        self.query_one("#persona-title", Label).update(escape(persona.name))
        sensitive = sum(a.sensitive for a in persona.attributes)
        self.query_one("#persona-facts", Static).update(
            f"{len(persona.attributes)} attributes, {sensitive} sensitive (left out of exports)"
        )
        for i, a in enumerate(persona.attributes):
            attrs.add_row(*fmt.cells(a.key, "yes" if a.sensitive else "", a.value), key=str(i))

    def _selected_attribute(self) -> Attribute | None:
        if self.current is None or not self.current.attributes:
            self.notify("Select an attribute first.", severity="warning")
            return None
        row = self.query_one("#persona-attributes", DataTable).cursor_row
        if not 0 <= row < len(self.current.attributes):
            return None
        return self.current.attributes[row]

    # --- actions ---

    def action_new_persona(self) -> None:
        def done(name: str | None) -> None:
            if name:
                self._write("persona added", lambda v: identities.add_persona(v, name))

        self.app.push_screen(PromptModal("New persona", placeholder="Name"), done)

    def action_add_attribute(self) -> None:
        persona = self.current
        if persona is None:
            return

        def done(text: str | None) -> None:
            if not text:
                return
            key, _, value = text.partition("=")
            self._write(
                "attribute added", lambda v: identities.edit(v, persona.id, add=[(key, value)])
            )

        self.app.push_screen(
            PromptModal(
                f"Add an attribute to {persona.name}",
                placeholder="email.work=me@example.org",
                help="KEY[.LABEL]=VALUE, e.g. email.home=…, phone=…, handle.mastodon=@me@host, "
                "birth_date=1990-04-12, field.pronouns=they",
            ),
            done,
        )

    def action_edit_attribute(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return

        def done(value: str | None) -> None:
            if value:
                self._write(
                    "attribute changed",
                    lambda v: identities.edit(v, persona.id, set=[(attr, value)]),
                )

        self.app.push_screen(PromptModal(f"Edit {attr.key}", value=editable_value(attr)), done)

    def action_toggle_sensitive(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return
        marks, unmarks = ([], [attr]) if attr.sensitive else ([attr], [])
        self._write(
            "sensitivity changed",
            lambda v: identities.edit(v, persona.id, sensitive=marks, not_sensitive=unmarks),
        )

    def action_remove_attribute(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._write(
                    "attribute removed", lambda v: identities.edit(v, persona.id, remove=[attr])
                )

        self.app.push_screen(
            ConfirmModal(
                f"Remove {attr.key}?", f"{persona.name} will no longer carry it.", confirm="Remove"
            ),
            done,
        )

    def action_export_vcard(self) -> None:
        persona = self.current
        if persona is None:
            return

        def done(path: str | None) -> None:
            if path:
                self._export(self.vault, persona.id, Path(path).expanduser())

        safe = "".join(c if c.isalnum() else "-" for c in persona.name).strip("-") or "persona"
        self.app.push_screen(
            PromptModal(
                f"Export {persona.name} as vCard",
                value=f"{safe}.vcf",
                help="Sensitive attributes are left out. The file is readable by you only.",
            ),
            done,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _export(self, vault: Vault, persona_id: str, path: Path) -> None:
        exported = identities.export(vault, persona_id, fmt="vcard")
        write_private(path, exported.text)
        self.app.call_from_thread(
            self.notify,
            f"Written to {path} ({exported.left_out} sensitive attribute(s) left out).",
            title="vCard exported",
        )

    def _write(self, what: str, change: Callable[[Vault], object]) -> None:
        self._apply(self.vault, what, change)

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _apply(self, vault: Vault, what: str, change: Callable[[Vault], object]) -> None:
        change(vault)
        self.app.call_from_thread(self._after_write, what)

    def _after_write(self, what: str) -> None:
        self.changed(what)
        self.notify(what.capitalize() + ".")
        self.reload()
