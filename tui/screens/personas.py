"""Personas: the list, one persona's attributes, editing, sensitivity and vCard export."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table, titled_panel
from tui.screens.modals import ConfirmModal, PromptModal
from vault import personas as identities
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_, _, error_message, pgettext
from vault.core.outputs import output_file
from vault.core.vault import Vault
from vault.personas import Attribute, Persona
from vault.personas.attributes import apply_edits


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


def edit_problem(
    persona: Persona,
    *,
    add: tuple[str, str] | None = None,
    change: tuple[Attribute, str] | None = None,
) -> str | None:
    """What the library would refuse in an attribute as typed (None when it would take
    it): checked before the dialog closes, so a mistake is shown under the input and
    what was typed stays there to be corrected."""
    try:
        apply_edits(persona.attributes, add=[add] if add else [], set=[change] if change else [])
    except InvalidParameter as exc:
        return error_message(exc)
    return None


def split_attribute(text: str) -> tuple[str, str]:
    """`KEY=VALUE` as typed, split at the first `=`."""
    key, _, value = text.partition("=")
    return key, value


class PersonasScreen(SectionScreen):
    """Who the person is, in each context: one persona per identity they present."""

    MODE = "personas"
    TITLE_TEXT = N_("Personas")
    BINDINGS: ClassVar = bindings(
        "personas",
        ("n", "new_persona", N_("New"), N_("Create a persona")),
        ("a", "add_attribute", N_("Add attribute"), N_("Add an attribute (key=value)")),
        ("e", "edit_attribute", N_("Edit"), N_("Change the selected attribute's value")),
        ("s", "toggle_sensitive", N_("Sensitive"), N_("Mark the attribute (not) sensitive")),
        ("delete", "remove_attribute", N_("Remove"), N_("Remove the selected attribute")),
        ("v", "export_vcard", N_("vCard"), N_("Export the persona as a vCard file")),
    )

    def __init__(self) -> None:
        super().__init__()
        self.personas: list[Persona] = []
        self.current: Persona | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="personas"):
            yield titled_panel(
                _("Personas"),
                data_table("persona-list", _("Name"), _("Attributes"), zebra_stripes=False),
                id="persona-list-panel",
            )
            with Vertical(classes="panel", id="persona-detail-panel"):
                yield Label("", classes="panel-title", id="persona-title")
                yield Static("", id="persona-facts")
                yield data_table(
                    "persona-attributes", pgettext("attribute", "Key"), _("Sensitive"), _("Value")
                )

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
            self.query_one("#persona-title", Label).update(_("No persona yet"))
            self.query_one("#persona-facts", Static).update(_("Press n to create one."))
            return
        self.query_one("#persona-title", Label).update(fmt.plain(persona.name))
        sensitive = sum(a.sensitive for a in persona.attributes)
        self.query_one("#persona-facts", Static).update(
            _("{n_attributes}, {sensitive} sensitive (left out of exports)").format(
                n_attributes=fmt.plural(len(persona.attributes), "attribute"), sensitive=sensitive
            )
        )
        for i, a in enumerate(persona.attributes):
            attrs.add_row(*fmt.cells(a.key, _("yes") if a.sensitive else "", a.value), key=str(i))

    def _selected_attribute(self) -> Attribute | None:
        attributes = self.current.attributes if self.current is not None else ()
        return self.cursor_item(
            "#persona-attributes", attributes, warning="Select an attribute first."
        )

    # --- actions ---

    def action_new_persona(self) -> None:
        self.ask(
            PromptModal(_("New persona"), placeholder=_("Name")),
            lambda name: self.update_vault(
                _("persona added"), lambda v: identities.add_persona(v, name)
            ),
        )

    def action_add_attribute(self) -> None:
        persona = self.current
        if persona is None:
            return

        def add(text: str) -> None:
            key, value = split_attribute(text)
            self.update_vault(
                _("attribute added"), lambda v: identities.edit(v, persona.id, add=[(key, value)])
            )

        def check(text: str) -> str | None:
            if "=" not in text:
                return "Type KEY=VALUE, as in email.work=me@example.org."
            return edit_problem(persona, add=split_attribute(text))

        self.ask(
            PromptModal(
                _("Add an attribute to {name}").format(name=persona.name),
                placeholder=_("email.work=me@example.org"),
                help="KEY[.LABEL]=VALUE, e.g. email.home=…, phone=…, handle.mastodon=@me@host, "
                "birth_date=1990-04-12, field.pronouns=they",
                check=check,
            ),
            add,
        )

    def action_edit_attribute(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return
        self.ask(
            PromptModal(
                _("Edit {key}").format(key=attr.key),
                value=editable_value(attr),
                check=lambda value: edit_problem(persona, change=(attr, value)),
            ),
            lambda value: self.update_vault(
                _("attribute changed"),
                lambda v: identities.edit(v, persona.id, set=[(attr, value)]),
            ),
        )

    def action_toggle_sensitive(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return
        marks, unmarks = ([], [attr]) if attr.sensitive else ([attr], [])
        self.update_vault(
            _("sensitivity changed"),
            lambda v: identities.edit(v, persona.id, sensitive=marks, not_sensitive=unmarks),
        )

    def action_remove_attribute(self) -> None:
        persona, attr = self.current, self._selected_attribute()
        if persona is None or attr is None:
            return
        self.confirm(
            ConfirmModal(
                _("Remove {key}?").format(key=attr.key),
                _("{name} will no longer carry it.").format(name=persona.name),
                confirm=_("Remove"),
            ),
            lambda: self.update_vault(
                _("attribute removed"), lambda v: identities.edit(v, persona.id, remove=[attr])
            ),
        )

    def action_export_vcard(self) -> None:
        persona = self.current
        if persona is None:
            return
        safe = "".join(c if c.isalnum() else "-" for c in persona.name).strip("-") or "persona"
        self.ask(
            PromptModal(
                _("Export {name} as vCard").format(name=persona.name),
                value=fmt.absolute(f"{safe}.vcf"),
                help=_("Sensitive attributes are left out. The file is readable by you only."),
            ),
            lambda path: self._export(self.vault, persona.id, Path(path).expanduser()),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _export(self, vault: Vault, persona_id: str, path: Path) -> None:
        exported = identities.export(vault, persona_id, fmt="vcard")
        with output_file(path, force=False) as out:  # 0600, never over an existing file
            out.write(exported.text.encode("utf-8"))
        self.app.call_from_thread(
            self.notify,
            _("Written to {path} ({left_out} left out).").format(
                path=path, left_out=fmt.plural(exported.left_out, "sensitive attribute")
            ),
            title=_("vCard exported"),
        )
