"""Views across the consent records of one recipient or one persona.

`ledger_view` answers "who holds what of mine, since when, under which grant, for what, in
exchange for what": per recipient, its grants, the bundles sent under each and the erasure
requests made for them. `tied_to_persona` and `tied_to_recipient` list the consent records
that go with a persona or a recipient, which forgetting it removes. All of them read grants,
the ledger and the kept erasure requests, so they live here, above `grants`, `ledger` and
`revocation`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vault.sharing import grants, ledger, revocation
from vault.sharing.grants import Grant, list_grants
from vault.sharing.ledger import BundleRecord
from vault.sharing.recipients import Recipient, get_recipient, list_recipients
from vault.sharing.revocation import ErasureRequest

if TYPE_CHECKING:
    from vault.core.vault import Vault


@dataclass(frozen=True)
class LedgerGrant:
    """One grant in the ledger view: its terms and status, the bundles sent under it (oldest
    first), what they carried, and the erasure requests made for it."""

    grant: Grant
    status: str  # as of when the view was made
    bundles: tuple[BundleRecord, ...]
    erasure_requests: tuple[ErasureRequest, ...]
    metrics: tuple[str, ...]  # what the bundles carried, each sorted
    content: tuple[str, ...]
    attributes: tuple[str, ...]

    @property
    def since(self) -> str | None:
        """When the recipient first received something under this grant (None: never)."""
        return self.bundles[0].time if self.bundles else None

    def as_dict(self, recipient: Recipient) -> dict[str, Any]:
        """The grant as `grant show --json` shows it, plus what its bundles carried."""
        return {
            **grant_view(self.grant, recipient),
            "status": self.status,
            "since": self.since,
            "holds": {
                "metrics": list(self.metrics),
                "content": list(self.content),
                "attributes": list(self.attributes),
            },
            "erasure_requests": [
                {"id": n.id, "reason": n.reason, "created": n.created}
                for n in self.erasure_requests
            ],
            "bundles": [
                {
                    "id": b.bundle_id,
                    "time": b.time,
                    "sha256": b.sha256,
                    "size": b.size,
                    "status": b.status,
                    "previous_bundle": b.previous_bundle,
                    "samples": sum(m.count for m in b.metrics),
                    "items": len(b.content),
                    "attributes": len(b.attributes),
                    "token": b.token,
                }
                for b in self.bundles
            ],
        }


@dataclass(frozen=True)
class LedgerEntry:
    """One recipient in the ledger view, with every grant given to it."""

    recipient: Recipient
    grants: tuple[LedgerGrant, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `coffre ledger --json` (one element of its list)."""
        return {
            **self.recipient.as_dict(),
            "grants": [g.as_dict(self.recipient) for g in self.grants],
        }


def grant_view(grant: Grant, recipient: Recipient, now: datetime | None = None) -> dict[str, Any]:
    """The JSON shape of a grant on the command line (`grant create|list|show --json`): its
    recipient as `{"id", "name"}`, its receipt by id, its status at NOW."""
    view = grant.as_dict(now)
    del view["receipt_id"]
    return {
        **view,
        "recipient": {"id": recipient.id, "name": recipient.name},
        "receipt": grant.receipt.id,
    }


def ledger_view(vault: Vault, recipient: str | None = None) -> list[LedgerEntry]:
    """Who holds what of mine, per recipient (all, or one by id or name). Grants never used
    are listed too (with no bundles), withdrawn and expired ones included, with the erasure
    requests produced for them."""
    chosen = [get_recipient(vault, recipient)] if recipient else list_recipients(vault)
    view = []
    for r in chosen:
        given = []
        for g in list_grants(vault, recipient=r.id):
            sent = tuple(ledger.bundles_for_grant(vault, g.id))
            given.append(
                LedgerGrant(
                    g,
                    g.status,
                    sent,
                    tuple(revocation.notices(vault, grant=g.id)),
                    *ledger.what_left(sent),
                )
            )
        view.append(LedgerEntry(r, tuple(given)))
    return view


@dataclass(frozen=True)
class ConsentRecords:
    """The consent records tied to a persona or a recipient, by record id."""

    grants: tuple[str, ...] = ()
    ledger_entries: tuple[str, ...] = ()
    erasure_requests: tuple[str, ...] = ()

    def by_kind(self) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """(record kind, what they are, record ids) for each kind of consent record."""
        return (
            (grants.KIND, "grants", self.grants),
            (ledger.KIND, "ledger_entries", self.ledger_entries),
            (revocation.KIND, "erasure_requests", self.erasure_requests),
        )


def tied_to_persona(vault: Vault, persona_id: str) -> ConsentRecords:
    """A persona's grants and ledger entries. Its erasure requests are not among them: they
    are the person's record that erasure was asked for, and forgetting the persona makes more."""
    return ConsentRecords(
        grants=tuple(g.id for g in list_grants(vault, persona=persona_id)),
        ledger_entries=tuple(b.record_id for b in ledger.bundles_for_persona(vault, persona_id)),
    )


def tied_to_recipient(vault: Vault, recipient_id: str) -> ConsentRecords:
    """A recipient's grants, ledger entries and erasure requests."""
    return ConsentRecords(
        grants=tuple(g.id for g in list_grants(vault, recipient=recipient_id)),
        ledger_entries=tuple(
            b.record_id for b in ledger.bundles_for_recipient(vault, recipient_id)
        ),
        erasure_requests=tuple(
            n.record_id for n in revocation.notices(vault, recipient=recipient_id)
        ),
    )
