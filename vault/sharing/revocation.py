"""Withdrawing consent and asking for erasure: signed requests to recipients.

`revoke` records the grant as withdrawn (every later export under it is refused) and builds
a **withdrawal and erasure request**: JSON naming the grant, its consent receipt and every
bundle sent under it (ids, dates, SHA-256), citing GDPR Art. 7(3) (withdrawal) and Art. 17
(erasure). Expired grants get the same request on demand (`notice_for`).

A forget that reaches data a recipient received produces, per grant, an **erasure request**
(`requests_for_forget`, called by `vault.forget` with the `Erasure`s its plan found): it names
only the bundles that carried forgotten data and, in each, what to erase (a metric over the
forgotten range, content items, or all of it), cites Art. 17 alone and leaves the grant as it
is: consent is withdrawn only by `revoke`.

Both are signed in minisign format with the persona's pairwise key for that recipient, so the
recipient can check they came from the person it knows under that pseudonym, and nobody can
link them to the persona's other grants; a readable text version goes with each, and each is
kept in the vault (a withdrawal's as the termination receipt).

Coffre cannot make a recipient erase anything: the request is what technology allows, and
the ledger records that it was made.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from vault import personas as identities
from vault.core import i18n, minisign
from vault.core.clock import iso
from vault.core.errors import InvalidParameter, RecordNotFound
from vault.core.i18n import N_
from vault.data import query
from vault.sharing import EXPIRED, WITHDRAWN, get_grant, get_recipient, ledger, set_grant_status
from vault.sharing.ledger import BundleRecord, ContentSent

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault
    from vault.sharing import Grant

KIND: Final = "consent.notice"
SCHEMA: Final = "coffre.erasure-request/v1"
WITHDRAWAL: Final = (
    "GDPR Art. 7(3): the data subject has the right to withdraw consent at any time."
)
ERASURE: Final = (
    "GDPR Art. 17: the data subject has the right to obtain the erasure of personal data "
    "concerning them without undue delay."
)
Reason = Literal["withdrawn", "expired", "forgotten"]
FORGOTTEN: Final = "forgotten"  # the reason of a forget's erasure request


@dataclass(frozen=True)
class MetricErased:
    """A metric whose samples a forget erased over `[start, end)` (UTC ms, None: open)."""

    metric: str
    start: int | None = None
    end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "from": None if self.start is None else query.iso(self.start),
            "before": None if self.end is None else query.iso(self.end),
        }


@dataclass(frozen=True)
class Erasure:
    """What a forget erased of the data one bundle carried, and so asks its recipient to
    erase: all of it (`whole`: a persona, everything), or metrics over the forgotten range
    and content items."""

    bundle: BundleRecord
    whole: bool = False
    metrics: tuple[MetricErased, ...] = ()
    content: tuple[ContentSent, ...] = ()

    def merge(self, other: Erasure) -> Erasure:
        """This erasure and another of the same bundle, as one."""
        if other.bundle.bundle_id != self.bundle.bundle_id:
            raise ValueError("only erasures of one bundle merge")
        if self.whole or other.whole:
            return replace(self, whole=True, metrics=(), content=())
        return replace(
            self,
            metrics=tuple(dict.fromkeys(self.metrics + other.metrics)),
            content=tuple(dict.fromkeys(self.content + other.content)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The bundle's entry in the request: which bundle, and what of it to erase."""
        return {
            **_bundle_ref(self.bundle),
            "erase": {
                "everything": self.whole,
                "metrics": [m.as_dict() for m in self.metrics],
                "content": [{"id": c.id, "version": c.version} for c in self.content],
            },
        }


@dataclass(frozen=True)
class ErasureRequest:
    """A signed request, as sent to one recipient: a withdrawal and erasure request, or a
    forget's erasure request (`reason` "forgotten")."""

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

    def text(self, document: str = "erasure-request.json") -> str:
        """The request in words, for a person at the recipient's end: in the person's
        language, then in English (the signed JSON is the same in every language). It ends
        with the command that verifies the signed JSON, saved as `document` beside its
        `.minisig`."""
        return "\n---\n\n".join(
            self._text(i18n.translator(lang), document) for lang in i18n.person_languages()
        )

    def _text(self, _: Callable[[str], str], document: str) -> str:
        d: dict[str, Any] = json.loads(self.document)
        if d["reason"] == FORGOTTEN:
            title, body = _("Request for erasure of personal data"), _erasure_words(d, _)
        else:
            title = _("Withdrawal of consent and request for erasure")
            body = _withdrawal_words(d, _)
        contact = d["controller"].get("contact")
        lines = [
            f"{title} ({d['id']})",
            "",
            _("To: {name}").format(name=d["controller"]["name"])
            + (f" <{contact}>" if contact else ""),
            _("From: the data subject you know as {id}").format(id=d["principal"]["id"]),
            _("Date: {date}").format(date=d["created"]),
            "",
            *body,
            "",
            *d["legal_basis"],
            "",
            _("This request is signed; verify it with:"),
            f"  minisign -Vm {document} -P {self.public_key}",
        ]
        return "\n".join(lines) + "\n"


def _withdrawal_words(d: dict[str, Any], _: Callable[[str], str]) -> list[str]:
    """The body of a withdrawal and erasure request: the grant, then every bundle."""
    g = d["grant"]
    body = [
        _(
            "I withdraw the consent I gave under grant {grant} "
            "(consent receipt {receipt}, purpose {purpose})."
        ).format(grant=g["id"], receipt=g["receipt_id"], purpose=g["purpose"]),
    ]
    if d["reason"] == "expired":
        body.append(_("That consent also expired on {date}.").format(date=g["valid_until"]))
    body += ["", _("Please erase every copy of the personal data you received under it:")]
    for b in d["bundles"]:
        body.append(
            _("  - bundle {id} sent {time} (SHA-256 {sha256})").format(
                id=b["id"], time=b["time"], sha256=b["sha256"]
            )
        )
    if not d["bundles"]:
        body.append(_("  - no bundle was sent under this grant; please erase anything kept."))
    return body


def _erasure_words(d: dict[str, Any], _: Callable[[str], str]) -> list[str]:
    """The body of a forget's erasure request: the bundles, and what of each to erase."""
    g = d["grant"]
    body = [
        _("I have erased the personal data listed below on my side."),
        _("Please erase every copy of it that you received under grant {grant}").format(
            grant=g["id"]
        ),
        _("(consent receipt {receipt}, purpose {purpose}):").format(
            receipt=g["receipt_id"], purpose=g["purpose"]
        ),
    ]
    for b in d["bundles"]:
        body.append(
            _("  - bundle {id} sent {time} (SHA-256 {sha256}):").format(
                id=b["id"], time=b["time"], sha256=b["sha256"]
            )
        )
        body += [f"      {line}" for line in _erase_words(b["erase"], _)]
    body.append(_("Please confirm the erasure once it is done."))
    return body


def _metric_words(
    metric: str, since: str | None, before: str | None, _: Callable[[str], str]
) -> str:
    if since and before:
        return _("{metric} data from {since} to before {before}").format(
            metric=metric, since=since, before=before
        )
    if since:
        return _("{metric} data from {since} on").format(metric=metric, since=since)
    if before:
        return _("{metric} data before {before}").format(metric=metric, before=before)
    return _("all {metric} data").format(metric=metric)


def _erase_words(erase: dict[str, Any], _: Callable[[str], str]) -> list[str]:
    """What a forget request asks to erase of one bundle, in words."""
    if erase["everything"]:
        return [_("everything it carried")]
    words = [_metric_words(m["metric"], m["from"], m["before"], _) for m in erase["metrics"]]
    return words + [
        _("content item {id} (version {version})").format(id=c["id"], version=c["version"])
        for c in erase["content"]
    ]


def _bundle_ref(b: BundleRecord) -> dict[str, Any]:
    """A bundle as a request names it, so that the recipient can tell which one it is."""
    return {"id": b.bundle_id, "time": b.time, "sha256": b.sha256, "size": b.size}


def _build(
    vault: Vault,
    grant: Grant,
    reason: Reason,
    now: datetime | None,
    *,
    bundles: list[dict[str, Any]],
    requests: list[str],
    legal: list[str],
) -> ErasureRequest:
    """A request to the grant's recipient, signed with the persona's pairwise key for it:
    what every request holds (who, to whom, which grant), around the bundles it names, what
    it asks and on which legal basis."""
    recipient = get_recipient(vault, grant.recipient)
    signer = identities.signer(vault, grant.persona, recipient=recipient.fingerprint)
    request_id = f"urn:uuid:{uuid.uuid4()}"
    created = iso(now or vault.clock.now())
    terms: dict[str, Any] = {
        "id": grant.id,
        "receipt_id": grant.receipt.id,
        "purpose": grant.purpose,
        "given": grant.created,
        "valid_until": grant.valid_until,
    }
    if reason != FORGOTTEN:  # a forget's request says nothing of consent: the grant stays
        terms["withdrawn"] = created if reason == "withdrawn" else None
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
        "grant": terms,
        "bundles": bundles,
        "requests": requests,
        "legal_basis": legal,
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


def _withdrawal(vault: Vault, grant: Grant, reason: Reason, now: datetime | None) -> ErasureRequest:
    """The withdrawal and erasure request of a withdrawn or expired grant: every bundle sent
    under it."""
    return _build(
        vault,
        grant,
        reason,
        now,
        bundles=[_bundle_ref(b) for b in ledger.bundles_for_grant(vault, grant.id)],
        requests=["withdraw-consent", "erase-all-copies", "confirm-erasure"],
        legal=[WITHDRAWAL, ERASURE],
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
        return _keep(txn, _withdrawal(vault, grant, "withdrawn", now))


def notice_for(vault: Vault, grant_ref: str, *, now: datetime | None = None) -> ErasureRequest:
    """The withdrawal and erasure request of a withdrawn or expired grant: the kept one, or a
    new one for an expired grant (recording the expiry if nobody had yet). A forget's erasure
    requests are not it: they leave the grant given."""
    grant = get_grant(vault, grant_ref)
    kept = [n for n in notices(vault, grant=grant.id) if n.reason != FORGOTTEN]
    if kept:
        return kept[-1]
    status = grant.status_at(now or vault.clock.now())
    if status not in (EXPIRED, WITHDRAWN):
        raise InvalidParameter(
            N_("grant {grant} is still given; revoke it first (`coffre revoke`)"),
            grant=grant.id[:8],
        )
    with vault.store.write() as txn:
        if status == EXPIRED and grant.history[-1].status != EXPIRED:
            grant = set_grant_status(vault, grant.id, EXPIRED, reason="valid_until passed")
        return _keep(
            txn, _withdrawal(vault, grant, "expired" if status == EXPIRED else "withdrawn", now)
        )


def requests_for_forget(vault: Vault, erasures: Sequence[Erasure]) -> tuple[ErasureRequest, ...]:
    """One erasure request per grant under which bundles carried forgotten data, naming those
    bundles and what of each to erase; kept in the vault (inside the forget's transaction
    when called from one). The grants stay as they are."""
    per_grant: dict[str, list[Erasure]] = {}
    for erasure in erasures:
        per_grant.setdefault(erasure.bundle.grant, []).append(erasure)
    with vault.store.write() as txn:
        return tuple(
            _keep(
                txn,
                _build(
                    vault,
                    get_grant(vault, grant_id),
                    FORGOTTEN,
                    None,
                    bundles=[e.as_dict() for e in reached],
                    requests=["erase-listed-data", "confirm-erasure"],
                    legal=[ERASURE],
                ),
            )
            for grant_id, reached in per_grant.items()
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
    raise RecordNotFound(N_("erasure request {ref}"), ref=ref[:40])
