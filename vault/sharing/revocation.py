"""Withdrawing consent: revoke a grant and produce a signed withdrawal and erasure request.

`revoke` records the grant as withdrawn (every later export under it is refused) and builds
an **erasure request**: JSON naming the grant, its consent receipt and every bundle sent under
it (ids, dates, SHA-256), citing GDPR Art. 7(3) (withdrawal) and Art. 17 (erasure), signed in
minisign format with the persona's pairwise key for that recipient, so the recipient can check
it came from the person it knows under that pseudonym, and nobody can link it to the persona's
other grants. A readable text version goes with it. The request is kept in the vault as the
termination receipt. Expired grants get the same request on demand (`notice_for`), and a
forget that reaches data a recipient holds produces one per holding grant
(`requests_for_forget`, called by `vault.forget`).

Coffre cannot make a recipient erase anything: the request is what technology allows, and
the ledger records that it was made.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from vault import personas as identities
from vault.core import minisign
from vault.core.clock import iso
from vault.core.errors import InvalidParameter, RecordNotFound
from vault.sharing import EXPIRED, WITHDRAWN, get_grant, get_recipient, ledger, set_grant_status

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault
    from vault.sharing import Grant

KIND: Final = "consent.notice"
SCHEMA: Final = "coffre.erasure-request/v1"
LEGAL: Final = (
    "GDPR Art. 7(3): the data subject has the right to withdraw consent at any time.",
    "GDPR Art. 17: the data subject has the right to obtain the erasure of personal data "
    "concerning them without undue delay.",
)
Reason = Literal["withdrawn", "expired", "forgotten"]


@dataclass(frozen=True)
class ErasureRequest:
    """A signed withdrawal and erasure request, as sent to one recipient."""

    id: str
    grant: str
    recipient: str
    reason: Reason
    created: str
    document: bytes  # the JSON the signature covers
    signature: str  # minisign signature file text
    public_key: str  # the pairwise key, in the form `minisign -P` takes
    record_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.document)
        return {**body, "signature": self.signature, "public_key": self.public_key}

    def text(self) -> str:
        """The request in words, for a person at the recipient's end."""
        d: dict[str, Any] = json.loads(self.document)
        lines = [
            f"Withdrawal of consent and request for erasure ({d['id']})",
            "",
            f"To: {d['controller']['name']}"
            + (f" <{d['controller']['contact']}>" if d["controller"].get("contact") else ""),
            f"From: the data subject you know as {d['principal']['id']}",
            f"Date: {d['created']}",
            "",
            f"I withdraw the consent I gave under grant {d['grant']['id']} "
            f"(consent receipt {d['grant']['receipt_id']}, purpose {d['grant']['purpose']}).",
        ]
        if d["reason"] == "expired":
            lines.append(f"That consent also expired on {d['grant']['valid_until']}.")
        if d["reason"] == "forgotten":
            lines.append("I have erased this data on my side and ask you to do the same.")
        lines += ["", "Please erase every copy of the personal data you received under it:"]
        for b in d["bundles"]:
            lines.append(f"  - bundle {b['id']} sent {b['time']} (SHA-256 {b['sha256']})")
        if not d["bundles"]:
            lines.append("  - no bundle was sent under this grant; please erase anything kept.")
        lines += [
            "",
            *d["legal_basis"],
            "",
            "This request is signed; verify it with:",
            f"  minisign -Vm {d['id']}.json -P {self.public_key}",
        ]
        return "\n".join(lines) + "\n"


def _build(vault: Vault, grant: Grant, reason: Reason, now: datetime | None) -> ErasureRequest:
    recipient = get_recipient(vault, grant.recipient)
    signer = identities.signer(vault, grant.persona, recipient=recipient.fingerprint)
    bundles = ledger.bundles_for_grant(vault, grant.id)
    request_id = f"urn:uuid:{uuid.uuid4()}"
    created = iso(now or vault.clock.now())
    body = {
        "schema": SCHEMA,
        "id": request_id,
        "created": created,
        "reason": reason,
        "principal": {"id": signer.pseudonym},
        "controller": {
            "name": recipient.name,
            "contact": recipient.contact,
            "fingerprint": recipient.fingerprint,
        },
        "grant": {
            "id": grant.id,
            "receipt_id": grant.receipt.id,
            "purpose": grant.purpose,
            "given": grant.created,
            "valid_until": grant.valid_until,
            "withdrawn": created if reason == "withdrawn" else None,
        },
        "bundles": [
            {"id": b.bundle_id, "time": b.time, "sha256": b.sha256, "size": b.size} for b in bundles
        ],
        "requests": ["withdraw-consent", "erase-all-copies", "confirm-erasure"],
        "legal_basis": list(LEGAL),
    }
    document = json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"
    signature = minisign.sign_with(
        signer.sign, signer.key_id, document, f"coffre erasure request {request_id}"
    )
    return ErasureRequest(
        request_id,
        grant.id,
        recipient.id,
        reason,
        created,
        document,
        signature,
        signer.minisign_public_key(),
    )


def _keep(txn: Txn, request: ErasureRequest) -> ErasureRequest:
    body = json.dumps(
        {
            "id": request.id,
            "grant": request.grant,
            "recipient": request.recipient,
            "reason": request.reason,
            "created": request.created,
            "document": request.document.decode(),
            "signature": request.signature,
            "public_key": request.public_key,
        }
    ).encode()
    rid = txn.put(
        KIND,
        body,
        terms=[("grant", request.grant), ("recipient", request.recipient)],
        compress=True,
    )
    txn.audit("consent.notice", grant=request.grant, reason=request.reason)
    return ErasureRequest(**{**request.__dict__, "record_id": rid})


def _decode(rec_id: str, raw: bytes) -> ErasureRequest:
    d = json.loads(raw)
    return ErasureRequest(
        d["id"],
        d["grant"],
        d["recipient"],
        d["reason"],
        d["created"],
        d["document"].encode(),
        d["signature"],
        d["public_key"],
        rec_id,
    )


def revoke(vault: Vault, grant_ref: str, *, now: datetime | None = None) -> ErasureRequest:
    """Withdraw a grant and keep (and return) the signed erasure request for its recipient.

    Raises GrantWithdrawn when it already was, RecordNotFound when there is no such grant.
    """
    with vault.store.write() as txn:
        grant = set_grant_status(
            vault,
            get_grant(vault, grant_ref).id,
            WITHDRAWN,
            at=now,
            reason="withdrawn by the person",
        )
        return _keep(txn, _build(vault, grant, "withdrawn", now))


def notice_for(vault: Vault, grant_ref: str, *, now: datetime | None = None) -> ErasureRequest:
    """The erasure request of a withdrawn or expired grant: the kept one, or a new one for an
    expired grant (recording the expiry if nobody had yet)."""
    grant = get_grant(vault, grant_ref)
    kept = notices(vault, grant=grant.id)
    if kept:
        return kept[-1]
    status = grant.status_at(now or vault.clock.now())
    if status not in (EXPIRED, WITHDRAWN):
        raise InvalidParameter(
            f"grant {grant.id[:8]} is still given; revoke it first (`coffre revoke`)"
        )
    with vault.store.write() as txn:
        if status == EXPIRED and grant.history[-1].status != EXPIRED:
            grant = set_grant_status(vault, grant.id, EXPIRED, reason="valid_until passed")
        return _keep(
            txn, _build(vault, grant, "expired" if status == EXPIRED else "withdrawn", now)
        )


def requests_for_forget(vault: Vault, grant_ids: Sequence[str]) -> tuple[ErasureRequest, ...]:
    """Erasure requests for grants whose recipients hold data being forgotten, kept in the
    vault (inside the forget's transaction when called from one)."""
    with vault.store.write() as txn:
        return tuple(
            _keep(txn, _build(vault, get_grant(vault, gid), "forgotten", None)) for gid in grant_ids
        )


def notices(
    vault: Vault, *, grant: str | None = None, recipient: str | None = None
) -> list[ErasureRequest]:
    """Kept erasure requests, oldest first: all, those of one grant or of one recipient (ids)."""
    if grant:
        records = vault.store.find(KIND, "grant", grant)
    elif recipient:
        records = vault.store.find(KIND, "recipient", recipient)
    else:
        records = list(vault.store.iter_kind(KIND))
    return sorted((_decode(r.id, r.data) for r in records), key=lambda n: n.created)


def get_notice(vault: Vault, ref: str) -> ErasureRequest:
    for n in notices(vault):
        if ref in (n.id, n.record_id) or (len(ref) >= 4 and n.record_id.startswith(ref)):
            return n
    raise RecordNotFound(f"erasure request {ref[:40]}")
