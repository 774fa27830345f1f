"""Sharing: recipients, grants, the guided new grant, export now, revoke, and the ledger
("who holds what of mine")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from tui.screens.grant_wizard import GrantOptions, GrantRequest, GrantWizard
from tui.screens.modals import ConfirmModal, PromptModal, ReportModal
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
from vault import sharing as consent
from vault.core.errors import NothingInScope
from vault.core.vault import Vault
from vault.data import query
from vault.sharing import Grant, Recipient, revocation
from vault.sharing.bundles import BundleResult, ExportPlan, export_bundle, prepare
from vault.sharing.overview import LedgerEntry, ledger_view
from vault.sharing.revocation import ErasureRequest

# The grants table's headings, one per cell `SharingScreen._show` fills in.
GRANT_COLUMNS = (
    "Recipient",
    "Status",
    "Until",
    "Persona",
    "Scope",
    "Purpose",
    "Sent",
    "In exchange",
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
        parts.append(f"{len(s.content_ids)} item(s)")
    return ", ".join(parts)


def plan_markdown(plan: ExportPlan, recipient: str) -> str:
    lines = [f"What would leave for **{recipient}** now:", ""]
    for m in plan.metrics:
        lines.append(
            f"- **{m.metric}**: {m.count:,} {'samples' if m.period is None else 'periods'} "
            f"from {fmt.day(m.first)} to {fmt.day(m.last)}"
        )
    lines += [
        f"- content: **{fmt.plain(c.item.title)}** (version {c.item.version})" for c in plan.content
    ]
    lines += [f"- attribute **{a}**" for a in plan.attributes]
    if plan.missing_attributes:
        lines.append(f"- not available (left out): {', '.join(plan.missing_attributes)}")
    lines += [f"- {note}" for note in plan.notes]
    lines += ["", f"Granularity: {plan.grant.granularity}. Signed with the pairwise key."]
    return "\n".join(lines)


def receipt_markdown(g: Grant) -> str:
    pretty = json.dumps(g.receipt.json(), indent=2, ensure_ascii=False)
    return f"Consent receipt `{g.receipt.id}`, signed (minisign):\n\n```json\n{pretty}\n```"


class SharingScreen(SectionScreen):
    """Who receives what, under which consent; giving, using and withdrawing it."""

    MODE = "sharing"
    TITLE_TEXT = "Sharing"
    BINDINGS: ClassVar = bindings(
        "sharing",
        ("n", "new_grant", "New grant", "Give consent to a recipient, guided"),
        ("e", "export", "Export now", "Export the selected grant to a bundle file"),
        ("w", "revoke", "Revoke", "Withdraw the selected grant"),
        ("c", "receipt", "Receipt", "Show the selected grant's consent receipt"),
        ("a", "add_recipient", "Add recipient", "Register a recipient"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.state = SharingState((), (), {}, ())
        self.last_export: BundleResult | None = None
        self.last_notice: ErasureRequest | None = None
        self.created: Grant | None = None

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="sharing-tabs"):
            with TabPane("Grants", id="tab-grants"):
                yield data_table("grants", *GRANT_COLUMNS)
            with TabPane("Recipients", id="tab-recipients"):
                yield data_table("recipients", "Name", "Contact", "Grants")
            with TabPane("Ledger", id="tab-ledger"):
                yield Static("Who holds what of mine:", classes="panel-title")
                yield data_table("ledger", "Recipient", "Since", "Holds", "Bundles")
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
                    g.status_at(now),
                    g.valid_until[:10],
                    state.personas.get(g.persona, "?"),
                    scope_text(g),
                    g.purpose.removeprefix("dpv:"),
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
        held = self.query_one("#ledger", DataTable)
        held.clear()
        for entry in state.ledger:
            for given in entry.grants:
                if given.since is None:
                    continue  # nothing sent under it: the recipient holds nothing
                what = [*given.metrics, *given.attributes]
                what += [f"{len(given.content)} item(s)"] * bool(given.content)
                held.add_row(
                    *fmt.cells(
                        entry.recipient.name,
                        fmt.instant(given.since),
                        ", ".join(what),
                        str(len(given.bundles)),
                    )
                )

    def _selected_grant(self) -> Grant | None:
        return self.cursor_item(
            "#grants", self.state.grants, warning="Select a grant first (Grants tab)."
        )

    def _recipient_name(self, recipient_id: str) -> str:
        return next((r.name for r in self.state.recipients if r.id == recipient_id), "?")

    # --- new grant ---

    def action_new_grant(self) -> None:
        if not self.state.recipients:
            self.notify("Add a recipient first (a).", severity="warning")
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
            preview = f"Nothing would leave yet: {exc.message}"
        self.app.call_from_thread(self._created, grant, preview)

    def _created(self, grant: Grant, preview: str) -> None:
        self.created = grant
        self.changed("grant created")
        self.report("Consent given", preview + "\n\n---\n\n" + receipt_markdown(grant), self.reload)

    def action_receipt(self) -> None:
        grant = self._selected_grant()
        if grant is not None:
            self.app.push_screen(ReportModal("Consent receipt", receipt_markdown(grant)))

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
        default = (
            f"{''.join(c if c.isalnum() else '-' for c in recipient).strip('-')}-{now:%Y%m%d}.age"
        )

        def path_chosen(text: str) -> None:
            panel = self.query_one("#sharing-progress", ProgressPanel)
            panel.begin(f"Exporting to {recipient}…")
            self._export(self.vault, plan.grant.id, Path(text).expanduser(), now, panel)

        def confirmed() -> None:
            self.ask(
                PromptModal(
                    "Write the bundle to",
                    value=default,
                    help="An age-encrypted file only the recipient can open.",
                ),
                path_chosen,
            )

        self.confirm(
            ConfirmModal(
                f"Export to {recipient}?",
                plan_markdown(plan, recipient).replace("**", ""),
                confirm="Export",
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
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.manifest.get("counts", {}).items()))
        self.report(
            "Bundle exported",
            f"- file: `{result.path}`\n- size: {fmt.size(result.size)}\n"
            f"- SHA-256: `{result.sha256}`\n- bundle id: `{result.bundle_id}`\n"
            f"- carried: {counts}\n\nThe export is recorded in the ledger.",
            self.reload,
        )

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
                f"Withdraw the grant to {recipient}?",
                "No further export will be possible under it. A signed withdrawal and erasure "
                "request naming every bundle sent is produced for the recipient.",
                confirm="Withdraw",
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
        self.report("Grant withdrawn: the notice to send", f"```text\n{text}\n```", self.reload)

    # --- recipients ---

    def action_add_recipient(self) -> None:
        def named(name: str) -> None:
            self.ask(
                PromptModal(
                    f"{name}'s age public key",
                    placeholder="age1…",
                    help="The recipient gives you this key; bundles are encrypted to it.",
                ),
                lambda key: self.update_vault(
                    "recipient added",
                    lambda v: consent.add_recipient(v, name, key),
                    notice=f"{name} added.",
                ),
            )

        self.ask(PromptModal("New recipient", placeholder="Name"), named)
