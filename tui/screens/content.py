"""Content: authored items with filters, a Markdown preview, versions, licence and proof."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Input, Markdown, Select, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from tui.screens.modals import PromptModal, ReportModal
from vault import content
from vault import personas as identities
from vault.content import Item, Version
from vault.core.errors import IntegrityError
from vault.core.i18n import N_, _, audience, content_kind, error_message
from vault.core.untrusted import printable
from vault.core.vault import Vault

PREVIEW_LIMIT = 64 * 1024  # bytes of a body decrypted for the preview


@dataclass(frozen=True)
class Detail:
    """One item as the detail pane shows it."""

    item: Item
    preview: str
    versions: tuple[Version, ...]
    proof: str


def detail(vault: Vault, item_id: str) -> Detail:
    item = content.get(vault, item_id)
    versions = tuple(content.versions(vault, item_id))
    if item.media_type.startswith("text/"):
        data = bytearray()
        for chunk in content.read(vault, item_id):
            data += chunk
            if len(data) >= PREVIEW_LIMIT:
                break
        preview = bytes(data[:PREVIEW_LIMIT]).decode("utf-8", errors="replace")
        if item.media_type != "text/markdown":
            preview = "```\n" + preview + "\n```"
    else:
        preview = (
            "*"
            + _("{media_type}, {size}: no preview.").format(
                media_type=item.media_type, size=fmt.size(item.size)
            )
            + "*"
        )
    try:
        p = content.proof(vault, item_id)
        fields = content.verify_statement(p.statement, p.signature, p.public_key)
        digest = str(fields.get("content_sha256", ""))[:12]
        proof = "[$success]✓[/] " + _(
            "authorship proof verifies (minisign; content sha256 {digest}…)"
        ).format(digest=digest)
    except IntegrityError as exc:
        proof = f"[$error]✗ {escape(error_message(exc))}[/]"
    return Detail(item, preview, versions, proof)


class ContentScreen(SectionScreen):
    """What the person wrote, under which licence, and the proof that they wrote it."""

    MODE = "content"
    TITLE_TEXT = N_("Content")
    BINDINGS: ClassVar = bindings(
        "content",
        ("h", "history", N_("Versions"), N_("Show every version of the item")),
        ("slash", "focus_filter", N_("Filter"), N_("Filter by tag")),
        (
            "p",
            "prove",
            N_("Proof"),
            N_("Write the signed authorship statement, its signature and public key"),
        ),
        ("r", "refresh", N_("Refresh"), N_("Read the vault again")),
    )
    HOME = "#content-items"

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Item] = []
        self.personas: dict[str, str] = {}
        self.current: Detail | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="content-filters"):
            yield Select([], prompt=_("Any kind"), id="filter-kind")
            yield Select([], prompt=_("Any persona"), id="filter-persona")
            yield Input(placeholder=_("Tag"), id="filter-tag")
        with Horizontal(id="content"):
            with Vertical(classes="panel", id="content-list-panel"):
                yield data_table(
                    "content-items", _("Title"), _("Kind"), _("Audience"), _("Tags"), _("v")
                )
            with Vertical(classes="panel", id="content-detail-panel"):
                yield Static("", id="content-facts")
                with VerticalScroll(id="content-preview"):
                    yield Markdown("", id="content-markdown")

    def load(self) -> None:
        self._load(self.vault, *self._filters())

    def action_refresh(self) -> None:
        self.reload()

    def action_focus_filter(self) -> None:
        self.query_one("#filter-tag", Input).focus()

    def _filters(self) -> tuple[str | None, str | None, str | None]:
        kind = self.query_one("#filter-kind", Select).value
        persona = self.query_one("#filter-persona", Select).value
        tag = self.query_one("#filter-tag", Input).value.strip()
        return (
            kind if isinstance(kind, str) else None,
            tag or None,
            persona if isinstance(persona, str) else None,
        )

    @on(Select.Changed, "#filter-kind")
    @on(Select.Changed, "#filter-persona")
    def _filter_changed(self) -> None:
        self.load()

    @on(Input.Submitted, "#filter-tag")
    def _tag_submitted(self) -> None:
        """Filter, and move to the list: what follows Enter is browsing what was found."""
        self.load()
        self.action_leave_field()

    @work(thread=True, exclusive=True, exit_on_error=False, group="list")
    def _load(self, vault: Vault, kind: str | None, tag: str | None, persona: str | None) -> None:
        items = content.list_items(vault, kind=kind, tag=tag, persona=persona)
        every = content.list_items(vault) if (kind or tag or persona) else items
        personas = {p.id: p.name for p in identities.list_personas(vault)}
        kinds = sorted({i.kind for i in every})
        self.app.call_from_thread(self._show, items, personas, kinds)

    def _show(self, items: list[Item], personas: dict[str, str], kinds: list[str]) -> None:
        self.items, self.personas = items, personas
        kind_select = self.query_one("#filter-kind", Select)
        persona_select = self.query_one("#filter-persona", Select)
        with self.prevent(Select.Changed):
            kept_kind, kept_persona = kind_select.value, persona_select.value
            kind_select.set_options([(content_kind(k), k) for k in kinds])
            persona_select.set_options([(name, pid) for pid, name in personas.items()])
            if kept_kind in kinds:
                kind_select.value = kept_kind
            if kept_persona in personas:
                persona_select.value = kept_persona
        table = self.query_one("#content-items", DataTable)
        table.clear()
        for i in items:
            cells = fmt.cells(
                i.title,
                content_kind(i.kind),
                audience(i.audience),
                ", ".join(i.tags),
                str(i.version),
            )
            table.add_row(*cells, key=i.id)
        if not items:
            self.query_one("#content-facts", Static).update(_("No item matches."))
            self.query_one("#content-markdown", Markdown).update("")

    @on(DataTable.RowHighlighted, "#content-items")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self._detail(self.vault, event.row_key.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def _detail(self, vault: Vault, item_id: str) -> None:
        found = detail(vault, item_id)
        self.app.call_from_thread(self._show_detail, found)

    def _show_detail(self, d: Detail) -> None:
        self.current = d
        i = d.item
        author = self.personas.get(i.persona, i.persona[:8])
        self.query_one("#content-facts", Static).update(
            _(
                "[b]{title}[/b]\n{kind} by {author} · audience [b]{audience}[/b] · "
                "licence [b]{license}[/b] · version {version} of {n_versions} · {size}\n{proof}"
            ).format(
                title=fmt.plain(i.title),
                kind=fmt.plain(content_kind(i.kind)),
                author=fmt.plain(author),
                audience=fmt.plain(audience(i.audience)),
                license=fmt.plain(i.license),
                version=i.version,
                n_versions=len(d.versions),
                size=fmt.size(i.size),
                proof=d.proof,
            )
        )
        self.query_one("#content-markdown", Markdown).update(d.preview)

    def action_prove(self) -> None:
        if self.current is None:
            return
        item = self.current.item
        self.ask(
            PromptModal(
                _("Proof of authorship of {title}").format(title=fmt.plain(item.title)),
                value=fmt.absolute("proof"),
                help=_(
                    "Three files go to this folder: the statement (.json), its minisign "
                    "signature (.minisig) and the public key (.pub). `minisign -Vm` checks them."
                ),
            ),
            lambda folder: self._prove(self.vault, item.id, Path(folder).expanduser()),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _prove(self, vault: Vault, item_id: str, folder: Path) -> None:
        written = content.write_proof(vault, item_id, folder)
        names = ", ".join(p.name for p in written)
        self.app.call_from_thread(
            self.notify,
            _("{names} in {folder}").format(names=names, folder=folder),
            title=_("Proof written"),
        )

    def action_history(self) -> None:
        if self.current is None:
            return
        rows = [_("| Version | Time | Title | Licence | Size |"), "|---|---|---|---|---|"]
        for v in self.current.versions:
            when, size = fmt.instant(v.time), fmt.size(v.size)
            rows.append(f"| {v.number} | {when} | {printable(v.title)} | {v.license} | {size} |")
        title = _("Versions of {title}").format(title=fmt.plain(self.current.item.title))
        self.app.push_screen(ReportModal(title, "\n".join(rows)))
