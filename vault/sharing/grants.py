"""Grants: one recipient may receive one persona's data within a scope, for a purpose, until
an expiry. Grants are never widened: only their status changes (given, expired, withdrawn,
each with its time); a wider scope is a new grant with its own receipt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from vault import personas as identities
from vault.core.clock import SYSTEM_CLOCK, Clock, iso
from vault.core.errors import (
    ContradictoryScope,
    EmptyScope,
    GrantExpired,
    GrantWithdrawn,
    InvalidParameter,
    RecordNotFound,
    TamperedRecord,
)
from vault.core.i18n import N_, Text
from vault.sharing import receipt as receipts
from vault.sharing.recipients import get_recipient
from vault.sharing.scope import (
    Scope,
    ScopeRequest,
    TimeRange,
    build_scope,
    check_granularity,
    parse_moment,
)
from vault.sharing.terms import check_jurisdiction, check_purpose

if TYPE_CHECKING:
    from vault.core.vault import Vault

KIND: Final = "consent.grant"
_RECORD_VERSION: Final = 1
GIVEN, EXPIRED, WITHDRAWN = "given", "expired", "withdrawn"
STATUSES: Final = (GIVEN, EXPIRED, WITHDRAWN)
_TERM_RE: Final = re.compile(r"^[a-z][a-z0-9-]*:[A-Za-z][A-Za-z0-9_.-]*$")
DEFAULT_LEGAL_BASIS: Final = "dpv:Consent"
DEFAULT_JURISDICTION: Final = "EU"
_DURATION_RE: Final = re.compile(r"^(\d{1,5})([dwmy])$")


@dataclass(frozen=True)
class StatusChange:
    """One entry of a grant's status history."""

    status: str
    time: str
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"status": self.status, "time": self.time}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Grant:
    """A grant as stored: immutable terms, a status history and the signed receipt."""

    id: str
    recipient: str
    persona: str
    pseudonym: str
    persona_key: str  # the pairwise minisign public key (the `minisign -P` form)
    scope: Scope
    time_range: TimeRange
    granularity: str
    purpose: str
    legal_basis: str
    jurisdiction: str
    retention: str
    valid_until: str
    compensation: str
    created: str
    history: tuple[StatusChange, ...]
    receipt: receipts.SignedReceipt

    def status_at(self, now: datetime | None = None) -> str:
        """The effective status at `now` (by default the system clock's time): the last
        recorded one, or `expired` once `valid_until` has passed even if nobody recorded it."""
        last = self.history[-1].status if self.history else GIVEN
        if last == GIVEN and parse_moment(self.valid_until, end=False) <= _moment(now):
            return EXPIRED
        return last

    @property
    def status(self) -> str:
        return self.status_at()

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The JSON shape of `grant show --json`."""
        return {
            "id": self.id,
            "recipient": self.recipient,
            "persona": self.persona,
            "pseudonym": self.pseudonym,
            "persona_minisign_key": self.persona_key,
            "scope": self.scope.as_dict(),
            "metrics_covered": list(self.scope.metric_ids()),
            "time_range": self.time_range.as_dict(),
            "granularity": self.granularity,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "jurisdiction": self.jurisdiction,
            "retention": self.retention,
            "valid_until": self.valid_until,
            "compensation": self.compensation,
            "created": self.created,
            "status": self.status_at(now),
            "history": [h.as_dict() for h in self.history],
            "receipt_id": self.receipt.id,
        }


def _moment(now: datetime | None, clock: Clock = SYSTEM_CLOCK) -> datetime:
    """`now` when given, else the clock's time: UTC, to the second (as grants record times)."""
    return (now or clock.now()).astimezone(UTC).replace(microsecond=0)


def check_term(value: str, what: str) -> str:
    """A DPV-style prefixed term (`dpv:ServiceProvision`, `eu-gdpr:A6-1-a`)."""
    term = value.strip()
    if not _TERM_RE.match(term):
        raise InvalidParameter(
            N_("the {what} must be a prefixed term such as dpv:ServiceProvision, got {term!r}"),
            what=what,
            term=term[:40],
        )
    return term


def normalize_retention(value: str) -> str:
    """A requested retention as an ISO 8601 duration: `30d`, `6m`, `1y` or `P1Y` as given."""
    text = value.strip()
    if not text:
        return ""
    if re.fullmatch(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?", text.upper()):
        return text.upper()
    m = _DURATION_RE.match(text.lower())
    if not m:
        raise InvalidParameter(N_("the retention is a duration such as 30d, 6m, 1y or P1Y"))
    return f"P{int(m[1])}{m[2].upper()}"


def _encode(g: Grant) -> bytes:
    body = g.as_dict()
    for key in ("id", "status", "metrics_covered", "receipt_id"):
        del body[key]
    body["v"] = _RECORD_VERSION
    body["receipt"] = {
        "id": g.receipt.id,
        "data": g.receipt.data.decode("utf-8"),
        "signature": g.receipt.signature,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _decode(rec_id: str, raw: bytes) -> Grant:
    try:
        d = json.loads(raw)
        r = d["receipt"]
        return Grant(
            id=rec_id,
            recipient=str(d["recipient"]),
            persona=str(d["persona"]),
            pseudonym=str(d["pseudonym"]),
            persona_key=str(d["persona_minisign_key"]),
            scope=Scope.from_dict(d["scope"]),
            time_range=TimeRange.from_dict(d["time_range"]),
            granularity=str(d["granularity"]),
            purpose=str(d["purpose"]),
            legal_basis=str(d["legal_basis"]),
            jurisdiction=str(d["jurisdiction"]),
            retention=str(d["retention"]),
            valid_until=str(d["valid_until"]),
            compensation=str(d["compensation"]),
            created=str(d["created"]),
            history=tuple(
                StatusChange(str(h["status"]), str(h["time"]), str(h.get("reason", "")))
                for h in d["history"]
            ),
            receipt=receipts.SignedReceipt(
                str(r["id"]), str(r["data"]).encode("utf-8"), str(r["signature"])
            ),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TamperedRecord(N_("a grant record is unreadable")) from exc


def _terms(g: Grant) -> list[tuple[str, str]]:
    return [("recipient", g.recipient), ("persona", g.persona), ("receipt", g.receipt.id)]


def create_grant(
    vault: Vault,
    *,
    recipient: str,
    persona: str,
    scope: Scope | ScopeRequest,
    purpose: str,
    valid_until: str,
    time_range: TimeRange | None = None,
    granularity: str = "raw",
    legal_basis: str = DEFAULT_LEGAL_BASIS,
    jurisdiction: str = DEFAULT_JURISDICTION,
    retention: str = "",
    compensation: str = "",
    now: datetime | None = None,
) -> Grant:
    """Give consent: check every term, sign the receipt with the pairwise key, store both.

    `scope` is a checked Scope, or a ScopeRequest that `build_scope` checks for the persona.
    `valid_until` is a date (valid through that day: until 23:59:59 UTC) or a date-time.
    """
    at = _moment(now, vault.clock)
    rcpt = get_recipient(vault, recipient)
    person = identities.get_persona(vault, persona)
    checked = scope if isinstance(scope, Scope) else build_scope(vault, person.id, scope)
    if checked.is_empty():
        raise EmptyScope(N_("the scope names nothing"))
    rng = time_range or TimeRange()
    gran = check_granularity(granularity)
    until = parse_moment(valid_until, end=True)
    if len(valid_until.strip()) == 10:
        until -= timedelta(seconds=1)  # a date is valid through its last second
    if until <= at:
        raise ContradictoryScope(N_("the expiry (--expires) is not in the future"))
    purpose = check_purpose(purpose)
    legal_basis = check_term(legal_basis, Text(N_("legal basis")))
    jurisdiction = check_jurisdiction(jurisdiction)
    retention = normalize_retention(retention)
    compensation = " ".join(compensation.split())
    if len(compensation) > 2000:
        raise InvalidParameter(N_("the compensation text is at most 2000 characters"))
    signer = identities.signer(vault, person.id, recipient=rcpt.fingerprint)
    with vault.store.write() as txn:
        # The record id is needed inside the receipt: store a placeholder, then the real one.
        gid = txn.put(KIND, b"{}")
        signed = receipts.build_receipt(
            grant_id=gid,
            created=at,
            recipient=rcpt,
            signer=signer,
            scope=checked,
            time_range=rng,
            granularity=gran,
            purpose=purpose,
            legal_basis=legal_basis,
            jurisdiction=jurisdiction,
            retention=retention,
            valid_until=iso(until),
            compensation=compensation,
        )
        grant = Grant(
            id=gid,
            recipient=rcpt.id,
            persona=person.id,
            pseudonym=signer.pseudonym,
            persona_key=signer.minisign_public_key(),
            scope=checked,
            time_range=rng,
            granularity=gran,
            purpose=purpose,
            legal_basis=legal_basis,
            jurisdiction=jurisdiction,
            retention=retention,
            valid_until=iso(until),
            compensation=compensation,
            created=iso(at),
            history=(StatusChange(GIVEN, iso(at)),),
            receipt=signed,
        )
        txn.update(KIND, gid, _encode(grant), terms=_terms(grant))
        txn.audit("grant.create", grant=gid, recipient=rcpt.id, persona=person.id)
    return grant


# What a grant at hour or day granularity sends of the metrics that stand for records.
_COARSE_RECORDS: Final = {
    "ecg": N_(
        "ECG recordings are only sent at raw granularity; at {granularity} granularity the "
        "recipient receives how many recordings there were per {granularity}"
    ),
    "clinical_record": N_(
        "clinical records are only sent at raw granularity; at {granularity} granularity the "
        "recipient receives how many records there were per {granularity}"
    ),
}
_PERIOD_WORDS: Final = {"hour": N_("hour"), "day": N_("day")}


def granularity_warnings(grant: Grant) -> tuple[Text, ...]:
    """What a grant's granularity changes in what leaves: at hour or day granularity a grant
    covering `ecg` or `clinical_record` (by name or category) sends counts per period, not
    the recordings or records, which exist only whole. Said when the grant is given and in
    every dry run, so nobody believes the records themselves are shared."""
    if grant.granularity not in _PERIOD_WORDS:
        return ()
    covered = grant.scope.metric_ids()
    word = Text(_PERIOD_WORDS[grant.granularity])
    return tuple(
        Text(template, granularity=word)
        for metric, template in _COARSE_RECORDS.items()
        if metric in covered
    )


def list_grants(
    vault: Vault, *, recipient: str | None = None, persona: str | None = None
) -> list[Grant]:
    """Grants, oldest first; optionally those of one recipient and/or persona (id or name)."""
    store = vault.store
    if recipient:
        records = store.find(KIND, "recipient", get_recipient(vault, recipient).id)
    elif persona:
        records = store.find(KIND, "persona", identities.get_persona(vault, persona).id)
    else:
        records = list(store.iter_kind(KIND))
    grants = [_decode(r.id, r.data) for r in records]
    if persona and recipient:
        pid = identities.get_persona(vault, persona).id
        grants = [g for g in grants if g.persona == pid]
    return sorted(grants, key=lambda g: (g.created, g.id))


def get_grant(vault: Vault, ref: str) -> Grant:
    """A grant by id or unique id prefix (4+ hex digits)."""
    ref = ref.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{4,32}", ref):
        raise InvalidParameter(N_("a grant is named by its id (at least 4 hexadecimal digits)"))
    found = vault.store.find_prefix(KIND, ref)
    if not found:
        raise RecordNotFound(N_("no grant with id {ref}"), ref=ref)
    if len(found) > 1:
        raise InvalidParameter(
            N_("the id prefix {ref} matches {n} grants; type more"), ref=ref, n=len(found)
        )
    return _decode(found[0].id, found[0].data)


_ALLOWED: Final = {
    GIVEN: (EXPIRED, WITHDRAWN),
    EXPIRED: (WITHDRAWN,),
    WITHDRAWN: (),
}


def set_grant_status(
    vault: Vault,
    grant_id: str,
    status: str,
    *,
    at: datetime | None = None,
    reason: str = "",
) -> Grant:
    """Record a status change (expired or withdrawn) with its time. A withdrawn grant stays
    withdrawn (GrantWithdrawn); a grant is never given again (a new grant is)."""
    if status not in STATUSES:
        raise InvalidParameter(N_("a grant status is one of {known}"), known=", ".join(STATUSES))
    with vault.store.write() as txn:
        grant = get_grant(vault, grant_id)
        current = grant.history[-1].status if grant.history else GIVEN
        if current == WITHDRAWN:
            raise GrantWithdrawn(
                N_("grant {grant} was withdrawn on {time}"),
                grant=grant.id[:8],
                time=grant.history[-1].time,
            )
        if status not in _ALLOWED[current]:
            raise InvalidParameter(
                N_("a {current} grant cannot become {status}"), current=current, status=status
            )
        change = StatusChange(status, iso(_moment(at, vault.clock)), " ".join(reason.split())[:500])
        updated = replace(grant, history=(*grant.history, change))
        txn.update(KIND, grant.id, _encode(updated), terms=_terms(updated))
        txn.audit(f"grant.{status}", grant=grant.id)
    return updated


def check_exportable(vault: Vault, grant: Grant, now: datetime | None = None) -> Grant:
    """Refuse (GrantWithdrawn, GrantExpired) unless the grant is given and current. An expiry
    nobody recorded yet is recorded now, at the time it happened."""
    status = grant.status_at(_moment(now, vault.clock))
    if status == WITHDRAWN:
        raise GrantWithdrawn(
            N_("grant {grant} was withdrawn on {time}"),
            grant=grant.id[:8],
            time=grant.history[-1].time,
        )
    if status == EXPIRED:
        # An export token cannot write: the expiry is recorded at the next unlock instead.
        if grant.history[-1].status == GIVEN and vault.token is None:
            until = parse_moment(grant.valid_until, end=False)
            set_grant_status(vault, grant.id, EXPIRED, at=until, reason="valid_until passed")
        raise GrantExpired(
            N_("grant {grant} expired on {time}"), grant=grant.id[:8], time=grant.valid_until
        )
    return grant
