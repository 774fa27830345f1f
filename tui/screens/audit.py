"""Audit: the vault's hash-chained log, and whether the chain verifies."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.markup import escape
from textual.widgets import DataTable, Static

from tui import format as fmt
from tui.screens.base import SectionScreen, bindings, data_table
from vault.core.errors import IntegrityError
from vault.core.i18n import N_, _, error_message
from vault.core.vault import AuditEntry, Vault

_HEX = frozenset("0123456789abcdef")


def details_text(details: dict[str, object]) -> str:
    """Ids and digests shortened to 8 digits (the log holds ids and counts only)."""
    parts = []
    for key, value in sorted(details.items()):
        text = str(value)
        if isinstance(value, str) and len(text) >= 32 and all(c in _HEX for c in text):
            text = text[:8]
        parts.append(f"{key}={text}")
    return " ".join(parts)


class AuditScreen(SectionScreen):
    """Every change to the vault, newest first; a broken chain is said loudly."""

    MODE = "audit"
    TITLE_TEXT = N_("Audit")
    BINDINGS: ClassVar = bindings(
        "audit", ("r", "refresh", N_("Verify again"), N_("Re-read and verify the log"))
    )

    def compose_body(self) -> ComposeResult:
        yield Static(_("Verifying the audit chain…"), id="audit-status")
        yield data_table("audit-log", "#", _("Time"), _("Action"), _("Details"))

    def action_refresh(self) -> None:
        self.reload()

    def load(self) -> None:
        self._load(self.vault)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, vault: Vault) -> None:
        entries: list[AuditEntry] = []
        error = None
        try:
            entries.extend(vault.audit_entries())
        except IntegrityError as exc:
            error = error_message(exc)
        self.app.call_from_thread(self._show, entries, error)

    def _show(self, entries: list[AuditEntry], error: str | None) -> None:
        status = self.query_one("#audit-status", Static)
        if error:
            status.update(
                _("[b $error]✗ {error}[/] ({n_entries} entries read before the break)").format(
                    error=escape(error), n_entries=len(entries)
                )
            )
        else:
            status.update(
                _(
                    "[$success]✓[/] Chain verified: {n_entries} entries, none missing or altered."
                ).format(n_entries=len(entries))
            )
        table = self.query_one("#audit-log", DataTable)
        table.clear()
        for e in reversed(entries):
            table.add_row(
                *fmt.cells(str(e.seq), fmt.instant(e.time), e.action, details_text(e.details))
            )
