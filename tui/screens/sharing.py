"""Sharing: recipients, grants, the guided new grant, export now, revoke, and the ledger
("who holds what of mine")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from tui.screens.grant_wizard import GrantOptions, GrantRequest, GrantWizard, purpose_label
from tui.screens.modals import ConfirmModal, PromptModal, ReportModal
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
from vault import sharing as consent
from vault.core.errors import NothingInScope
from vault.core.i18n import N_, _, day, error_message, localise
from vault.core.i18n import state as state_word
from vault.core.vault import Vault
from vault.data import query
from vault.sharing import Grant, Recipient, revocation
from vault.sharing.bundles import BundleResult, ExportPlan, export_bundle, prepare
from vault.sharing.overview import LedgerEntry, ledger_view
from vault.sharing.revocation import ErasureRequest

# The grants table's headings, one per cell `SharingScreen._show` fills in.
GRANT_COLUMNS = (
    N_("Recipient"),
    N_("Status"),
    N_("Until"),
    N_("Persona"),
    N_("Scope"),
    N_("Purpose"),
    N_("Sent"),
    N_("In exchange"),
)


@dataclass(frozen=True)
class SharingState:
    """Everything the screen lists, read in one worker."""

    recipients: tuple[Recipient, ...]
    grants: tuple[Grant, ...]
    personas: dict[str, str]
    ledger: tuple[LedgerEntry, ...]  # who holds what, per recipient and grant

    def sent(self, grant_id: str) -> int:
        """How many bundles were sent under a grant."""
        return next(
            (len(g.bundles) for e in self.ledger for g in e.grants if g.grant.id == grant_id), 0
        )


def scope_text(g: Grant) -> str:
    s = g.scope
    parts = [*s.metrics, *s.categories, *s.attributes]
    parts += [f"#{t}" for t in s.content_tags] + [f"{k}s" for k in s.content_kinds]
    if s.content_ids:
        parts.append(fmt.plural(len(s.content_ids), "item"))
    return ", ".join(parts)


# The ledger's fixed columns (recipient, since, bundles): "what it holds" takes the rest.
LEDGER_RECIPIENT = 20
LEDGER_SINCE = 10  # a date
LEDGER_BUNDLES = 7
LEDGER_MIN_HOLDS = 12


def ledger_holds_width(table_width: int) -> int:
    """How wide the ledger's "Holds" column may be in a table `table_width` cells wide:
    what the fixed columns, each cell's padding (one each side) and a scrollbar leave."""
    fixed = LEDGER_RECIPIENT + LEDGER_SINCE + LEDGER_BUNDLES + 4 * 2 + 2
    return max(LEDGER_MIN_HOLDS, table_width - fixed)


def exported_markdown(result: BundleResult) -> str:
    """What an export wrote, one readable line each: the file, then what it carries."""
    counts = result.manifest.get("counts", {})
    carried = [
        f"  - {metric}: {fmt.plural(n, 'sample' if 'samples' in counts else 'period')}"
        for metric, n in sorted(counts.get("metrics", {}).items())
    ]
    for key, word in (("content_items", "content item"), ("attributes", "attribute")):
        if counts.get(key):
            carried.append(f"  - {fmt.plural(counts[key], word)}")
    files = counts.get("files")
    lines = [
        _("- file: `{path}`").format(path=result.path),
        _("- size: {size}").format(size=fmt.size(result.size))
        + (" " + _("in {files}").format(files=fmt.plural(files, "file")) if files else ""),
        f"- SHA-256: `{result.sha256}`",
        _("- bundle id: `{id}`").format(id=result.bundle_id),
        _("- carries:") if carried else _("- carries: nothing"),
        *carried,
        "",
        _("The export is recorded in the ledger."),
    ]
    return "\n".join(lines)


# What a plan's metric line counts (`MetricSelection.counted`), as the nouns of tui.format.
_PLAN_NOUNS = {
    "samples": "sample",
    "periods": "period",
    "recordings": "ECG recording",
    "records": "clinical record",
}


def plan_markdown(plan: ExportPlan, recipient: str) -> str:
    lines = [_("What would leave for **{recipient}** now:").format(recipient=recipient), ""]
    for m in plan.metrics:
        count = fmt.plural(m.count, _PLAN_NOUNS.get(m.counted, "sample"))
        if m.undated == m.count:  # clinical records without a date only: no span to give
            lines.append(
                _("- **{metric}**: {count}, none dated").format(metric=m.metric, count=count)
            )
            continue
        lines.append(
            _("- **{metric}**: {count} from {first} to {last}").format(
                metric=m.metric, count=count, first=fmt.day(m.first), last=fmt.day(m.last)
            )
        )
    lines += [
        _("- content: **{title}** (version {version})").format(
            title=fmt.plain(c.item.title), version=c.item.version
        )
        for c in plan.content
    ]
    lines += [_("- attribute **{attribute}**").format(attribute=a) for a in plan.attributes]
    if plan.missing_attributes:
        lines.append(
            _("- not available (left out): {names}").format(
                names=", ".join(plan.missing_attributes)
            )
        )
    lines += [f"- {localise(note)}" for note in plan.notes]
    lines += [
        "",
        _("Granularity: {granularity}. Signed with the pairwise key.").format(
            granularity=plan.grant.granularity
        ),
    ]
    return "\n".join(lines)


def receipt_markdown(g: Grant) -> str:
    pretty = json.dumps(g.receipt.json(), indent=2, ensure_ascii=False)
    heading = _("Consent receipt `{id}`, signed (minisign):").format(id=g.receipt.id)
    return f"{heading}\n\n```json\n{pretty}\n```"


class SharingScreen(SectionScreen):
    """Who receives what, under which consent; giving, using and withdrawing it."""

    MODE = "sharing"
    TITLE_TEXT = N_("Sharing")
    BINDINGS: ClassVar = bindings(
        "sharing",
        ("n", "new_grant", N_("New grant"), N_("Give consent to a recipient, guided")),
        ("e", "export", N_("Export"), N_("Export the selected grant to a bundle file now")),
        ("w", "revoke", N_("Revoke"), N_("Withdraw the selected grant")),
        ("c", "receipt", N_("Receipt"), N_("Show the selected grant's consent receipt")),
        hidden=(("a", "add_recipient", N_("Add recipient"), N_("Register a recipient")),),
    ) + bindings(
        "sharing",
        ("g", "show_tab('tab-grants')", N_("Grants"), N_("Show the grants tab")),
        ("r", "show_tab('tab-recipients')", N_("Recipients"), N_("Show the recipients tab")),
        (
            "l",
            "show_tab('tab-ledger')",
            N_("Ledger"),
            N_("Show the ledger: who holds what of mine"),
        ),
        group=Binding.Group(N_("Tabs"), compact=True),
    )

    def __init__(self) -> None:
        super().__init__()
        self.state = SharingState((), (), {}, ())
        self.last_export: BundleResult | None = None
        self.last_notice: ErasureRequest | None = None
        self.created: Grant | None = None

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="sharing-tabs"):
            with TabPane(_("Grants"), id="tab-grants"):
                yield data_table("grants", *map(_, GRANT_COLUMNS))
            with TabPane(_("Recipients"), id="tab-recipients"):
                yield data_table("recipients", _("Name"), _("Contact"), _("Grants"))
            with TabPane(_("Ledger"), id="tab-ledger"):
                yield Static(_("Who holds what of mine:"), classes="panel-title")
                yield data_table("ledger")
        yield ProgressPanel(id="sharing-progress")

    def load(self) -> None:
        self._load(self.vault)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, vault: Vault) -> None:
        state = SharingState(
            recipients=tuple(consent.list_recipients(vault)),
            grants=tuple(consent.list_grants(vault)),
            personas={p.id: p.name for p in identities.list_personas(vault)},
            ledger=tuple(ledger_view(vault)),
        )
        self.app.call_from_thread(self._show, state)

    def _show(self, state: SharingState) -> None:
        self.state = state
        now = self.coffre.clock.now()
        names = {r.id: r.name for r in state.recipients}
        grants = self.query_one("#grants", DataTable)
        grants.clear()
        for g in state.grants:
            grants.add_row(
                *fmt.cells(
                    names.get(g.recipient, "?"),
                    state_word(g.status_at(now)),
                    day(g.valid_until[:10]),
                    state.personas.get(g.persona, "?"),
                    scope_text(g),
                    purpose_label(g.purpose),
                    str(state.sent(g.id)),
                    g.compensation or "—",
                ),
                key=g.id,
            )
        recipients = self.query_one("#recipients", DataTable)
        recipients.clear()
        for r in state.recipients:
            count = sum(1 for g in state.grants if g.recipient == r.id)
            recipients.add_row(*fmt.cells(r.name, r.contact or "—", str(count)), key=r.id)
        self._show_ledger()

    def _show_ledger(self) -> None:
        """The ledger, its columns fitted to the table's width: long cells end in an
        ellipsis instead of running off the screen."""
        held = self.query_one("#ledger", DataTable)
        holds = ledger_holds_width(held.size.width or self.size.width)
        held.clear(columns=True)
        held.add_column(_("Recipient"), width=LEDGER_RECIPIENT)
        held.add_column(_("Since"), width=LEDGER_SINCE)
        held.add_column(_("Holds"), width=holds)
        held.add_column(_("Bundles"), width=LEDGER_BUNDLES)
        for entry in self.state.ledger:
            for given in entry.grants:
                if given.since is None:
                    continue  # nothing sent under it: the recipient holds nothing
                what = [*given.metrics, *given.attributes]
                what += [fmt.plural(len(given.content), "item")] * bool(given.content)
                held.add_row(
                    *fmt.cells(
                        fmt.clip(entry.recipient.name, LEDGER_RECIPIENT),
                        fmt.instant(given.since)[:10],
                        fmt.clip(", ".join(what), holds),
                        str(len(given.bundles)),
                    )
                )

    def on_resize(self, _event: events.Resize) -> None:
        self._show_ledger()

    def action_show_tab(self, tab: str) -> None:
        """Switch to the Grants, Recipients or Ledger tab, its table focused."""
        self.query_one("#sharing-tabs", TabbedContent).active = tab
        table = {"tab-grants": "#grants", "tab-recipients": "#recipients"}.get(tab, "#ledger")
        self.query_one(table, DataTable).focus()

    def _selected_grant(self) -> Grant | None:
        return self.cursor_item(
            "#grants", self.state.grants, warning="Select a grant first (Grants tab)."
        )

    def _recipient_name(self, recipient_id: str) -> str:
        return next((r.name for r in self.state.recipients if r.id == recipient_id), "?")

    # --- new grant ---

    def action_new_grant(self) -> None:
        if not self.state.recipients:
            self.notify(_("Add a recipient first (a)."), severity="warning")
            return
        self._grant_options(self.vault)

    @work(thread=True, exclusive=True, exit_on_error=False, group="options")
    def _grant_options(self, vault: Vault) -> None:
        personas = identities.list_personas(vault)
        options = GrantOptions(
            recipients=tuple((r.name, r.id) for r in consent.list_recipients(vault)),
            personas=tuple((p.name, p.id) for p in personas),
            metrics={
                p.id: tuple(m.metric for m in query.list_metrics(vault, p.id)) for p in personas
            },
            attributes={p.id: tuple(dict.fromkeys(a.key for a in p.attributes)) for p in personas},
            sensitive={
                p.id: frozenset(
                    key
                    for a in p.attributes
                    if a.sensitive
                    for key in (a.key, a.key.partition(".")[0])
                )
                for p in personas
            },
        )
        self.app.call_from_thread(self._open_wizard, options)

    def _open_wizard(self, options: GrantOptions) -> None:
        self.ask(
            GrantWizard(options, self.coffre.clock.now().date()),
            lambda request: self._create(self.vault, request, self.coffre.clock.now()),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _create(self, vault: Vault, r: GrantRequest, now: datetime) -> None:
        grant = consent.create_grant(
            vault,
            recipient=r.recipient,
            persona=r.persona,
            scope=r.scope(),
            purpose=r.purpose,
            valid_until=r.valid_until,
            time_range=consent.TimeRange.build(last=r.last or None),
            granularity=r.granularity,
            compensation=r.compensation,
            now=now,
        )
        preview = ""
        try:
            preview = plan_markdown(
                prepare(vault, grant.id, now=now), self._recipient_name(grant.recipient)
            )
        except NothingInScope as exc:
            preview = _("Nothing would leave yet: {reason}").format(reason=error_message(exc))
        self.app.call_from_thread(self._created, grant, preview)

    def _created(self, grant: Grant, preview: str) -> None:
        self.created = grant
        self.changed("grant created")
        self.report(
            _("Consent given"), preview + "\n\n---\n\n" + receipt_markdown(grant), self.reload
        )

    def action_receipt(self) -> None:
        grant = self._selected_grant()
        if grant is not None:
            self.app.push_screen(ReportModal(_("Consent receipt"), receipt_markdown(grant)))

    # --- export ---

    def action_export(self) -> None:
        if self.busy_writing():
            return
        grant = self._selected_grant()
        if grant is not None:
            self._prepare(self.vault, grant, self.coffre.clock.now())

    @work(thread=True, exclusive=True, exit_on_error=False, group="prepare")
    def _prepare(self, vault: Vault, grant: Grant, now: datetime) -> None:
        plan = prepare(vault, grant.id, now=now)
        self.app.call_from_thread(self._confirm_export, plan, now)

    def _confirm_export(self, plan: ExportPlan, now: datetime) -> None:
        recipient = self._recipient_name(plan.grant.recipient)
        default = fmt.absolute(
            f"{''.join(c if c.isalnum() else '-' for c in recipient).strip('-')}-{now:%Y%m%d}.age"
        )

        def path_chosen(text: str) -> None:
            panel = self.query_one("#sharing-progress", ProgressPanel)
            panel.begin(_("Exporting to {recipient}…").format(recipient=recipient))
            self._export(self.vault, plan.grant.id, Path(text).expanduser(), now, panel)

        def confirmed() -> None:
            self.ask(
                PromptModal(
                    _("Write the bundle to"),
                    value=default,
                    help=_("An age-encrypted file only the recipient can open."),
                ),
                path_chosen,
            )

        self.confirm(
            ConfirmModal(
                _("Export to {recipient}?").format(recipient=recipient),
                plan_markdown(plan, recipient).replace("**", ""),
                confirm=_("Export"),
                danger=False,
            ),
            confirmed,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _export(
        self, vault: Vault, grant_id: str, path: Path, now: datetime, panel: ProgressPanel
    ) -> None:
        try:
            result = export_bundle(vault, grant_id, path, now=now, progress=panel.report)
        finally:
            self.app.call_from_thread(panel.end)
        self.app.call_from_thread(self._exported, result)

    def _exported(self, result: BundleResult) -> None:
        self.last_export = result
        self.changed("export")
        self.report(_("Bundle exported"), exported_markdown(result), self.reload)

    # --- revoke ---

    def action_revoke(self) -> None:
        if self.busy_writing():
            return
        grant = self._selected_grant()
        if grant is None:
            return
        recipient = self._recipient_name(grant.recipient)
        self.confirm(
            ConfirmModal(
                _("Withdraw the grant to {recipient}?").format(recipient=recipient),
                _(
                    "No further export will be possible under it. A signed withdrawal and erasure "
                    "request naming every bundle sent is produced for the recipient."
                ),
                confirm=_("Withdraw"),
            ),
            lambda: self._revoke(self.vault, grant.id, self.coffre.clock.now()),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _revoke(self, vault: Vault, grant_id: str, now: datetime) -> None:
        notice = revocation.revoke(vault, grant_id, now=now)
        self.app.call_from_thread(self._revoked, notice, notice.text())

    def _revoked(self, notice: ErasureRequest, text: str) -> None:
        self.last_notice = notice
        self.changed("revoke")
        self.report(
            _("Grant withdrawn: the notice to send"),
            _("```text\n{text}\n```").format(text=text),
            self.reload,
        )

    # --- recipients ---

    def action_add_recipient(self) -> None:
        def named(name: str) -> None:
            self.ask(
                PromptModal(
                    _("{name}'s age public key").format(name=name),
                    placeholder=_("age1…"),
                    help=_("The recipient gives you this key; bundles are encrypted to it."),
                ),
                lambda key: self.update_vault(
                    _("recipient added"),
                    lambda v: consent.add_recipient(v, name, key),
                    notice=_("{name} added.").format(name=name),
                ),
            )

        self.ask(PromptModal(_("New recipient"), placeholder=_("Name")), named)
