"""Least-privilege export tokens: a script exports one grant's bundle with a token file
instead of the master passphrase, and what the token can decrypt is exactly its grant's scope.

The core (`vault.core.tokens`) seals each token's view: the record keys of the grant, its
recipient, the day indexes and day chunks of the in-scope metrics over the grant's range, the
in-scope content items with their current version, the source priority (hour and day
aggregates use it), the grant's own ledger entries (`--since-last`), plus what of the persona
the grant lets leave (its vCard of granted and derived attributes, as of the last refresh)
and the pairwise signing seed for that recipient.
The persona record itself, every other record, other grants' ledger entries and the audit
log stay out.

This module decides what a grant covers, and keeps every view current: registered with the
core, it runs inside each passphrase transaction that wrote records, before the commit. It
destroys a token (its row, so its view and every key in it) when the grant is withdrawn or
expired, when the token expires, when a forget removed or rewrote a record it could read, on
`untoken`; a re-key destroys them all. Exports made with a token are logged under its key and
moved into the ledger and the audit log, with the token's id, by the next passphrase session.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vault import content
from vault import personas as identities
from vault.core import tokens as core
from vault.core.errors import IntegrityError, InvalidParameter, RecordNotFound, TamperedRecord
from vault.core.i18n import N_
from vault.core.records import Record
from vault.data import catalog, chunks, health_records
from vault.data import query as qs_query
from vault.sharing import grants, ledger, recipients
from vault.sharing.bundles.plan import granted_identity
from vault.sharing.grants import GIVEN, Grant, get_grant
from vault.sharing.scope import parse_moment

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault

__all__ = [
    "TokenInfo",
    "create_token",
    "list_tokens",
    "sync",
    "token_expired",
    "token_signer",
    "untoken",
]


@dataclass(frozen=True)
class TokenInfo:
    """An active export token as `grant tokens` lists it (never its secret)."""

    id: str
    grant: str
    created: str
    expires: str | None
    records: int  # records its view opens now

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grant": self.grant,
            "created": self.created,
            "expires": self.expires,
            "records": self.records,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _vault_of(txn: Txn) -> Vault:
    from vault.core.vault import Vault

    owner = txn.store.owner
    if not isinstance(owner, Vault):  # pragma: no cover - every store is opened by a Vault
        raise TypeError("a store without its vault")
    return owner


# --- what a grant covers ----------------------------------------------------------------------


def _bounds(grant: Grant, now: datetime) -> tuple[int | None, int | None]:
    """[start, end) in UTC ms that a token must be able to read from now on: a rolling range
    (or one without an end) stays open towards the future, so data written later is in it."""
    start, end = grant.time_range.resolve(now)
    lo = int(start.timestamp() * 1000) if start is not None else None
    hi = int(end.timestamp() * 1000) if end is not None and not grant.time_range.last else None
    return lo, hi


def _in_bounds(ms: int, lo: int | None, hi: int | None) -> bool:
    return (lo is None or ms >= lo) and (hi is None or ms < hi)


def _scope_records(
    vault: Vault, grant: Grant, now: datetime
) -> tuple[list[tuple[str, str]], list[Record]]:
    """(kind, id) of every record an export of the grant reads, from now on; and the day
    indexes of its metrics cut down to those days (the whole index would name every day
    that has data, outside the range too), which the view holds in place of the stored ones."""
    out = [(grants.KIND, grant.id), (recipients.KIND, grant.recipient)]
    inline: list[Record] = []
    lo, hi = _bounds(grant, now)
    lo_day = chunks.utc_day(lo) if lo is not None else ""
    hi_day = chunks.utc_day(hi - 1) if hi is not None else "9999"
    for metric in grant.scope.metric_ids():
        days_id, days = catalog.load_days(vault.store, grant.persona, metric)
        if days_id is None:
            continue
        kept = {day: cid for day, cid in sorted(days.items()) if lo_day <= day <= hi_day}
        index = vault.store.get(catalog.KIND_DAYS, days_id)
        body = json.dumps({"days": kept}, separators=(",", ":")).encode()
        inline.append(Record(index.id, index.kind, index.version, body, index.terms))
        out += [(catalog.KIND_CHUNK, cid) for cid in kept.values()]
        if grant.granularity == "raw":
            # The records behind the samples (an ECG's voltages, a clinical record's FHIR
            # resource) leave under raw grants only; the export reads them by the same range.
            out += _health_records(vault, grant, metric, lo, hi)
    if grant.granularity != "raw":
        found = vault.store.find(catalog.KIND_SETTINGS, "name", qs_query.PRIORITY_SETTING)
        out += [(catalog.KIND_SETTINGS, r.id) for r in found]
    if grant.scope.has_content:
        for item in content.list_items(vault, persona=grant.persona):
            if not grant.scope.covers(item):
                continue
            created = parse_moment(item.created, end=False)
            if not _in_bounds(int(created.timestamp() * 1000), lo, hi):
                continue
            version = content.get_version(vault, item.id)
            out += [(content.ITEM, item.id), (content.VERSION, version.record_id)]
    return out, inline


def _health_records(
    vault: Vault, grant: Grant, metric: str, lo: int | None, hi: int | None
) -> list[tuple[str, str]]:
    """(kind, id) of the ECG recordings or clinical records an export of METRIC reads."""
    kind = health_records.RECORD_KINDS.get(metric)
    if kind is None:
        return []
    return [(kind, rid) for rid in health_records.record_ids(vault, kind, grant.persona, lo, hi)]


def _view(vault: Vault, txn: Txn, control: core.Control, grant: Grant, now: datetime) -> core.View:
    recipient = recipients.get_recipient(vault, grant.recipient)
    card, keys, missing = granted_identity(grant, identities.get_persona(vault, grant.persona), now)
    persona_id, seed, pseudonym = identities.pairwise_seed(
        vault, grant.persona, recipient.fingerprint
    )
    extra = {
        "card": base64.b64encode(card).decode("ascii"),
        "attributes": list(keys),
        "missing": list(missing),
        "persona": persona_id,
        "seed": seed.hex(),
        "pseudonym": pseudonym,
        "recipient": recipient.fingerprint,
    }
    records, inline = _scope_records(vault, grant, now)
    # The grant's own ledger entries (never another grant's): `--since-last` reads them.
    records += [(ledger.KIND, r.id) for r in vault.store.find(ledger.KIND, "grant", grant.id)]
    entries = core.entries_for(txn, records)
    return core.View(
        control.token_id, grant.id, control.expires, tuple(entries), extra, tuple(inline)
    )


# --- the passphrase side ----------------------------------------------------------------------


def _expired(control: core.Control, now: datetime) -> bool:
    return control.expires is not None and parse_moment(control.expires, end=False) <= now


def create_token(
    vault: Vault, grant_ref: str, *, expires: datetime | None = None
) -> tuple[TokenInfo, str]:
    """Make an export token for a grant; return it and the text of its file (shown once:
    the vault keeps only a key derived from it). Refuses a grant that cannot export."""
    now = vault.clock.now().astimezone(UTC).replace(microsecond=0)
    if expires is not None and expires <= now:
        raise InvalidParameter(N_("a token's expiry must be in the future"))
    secret = core.TokenSecret.new()
    # Outside the transaction: an expiry it finds unrecorded is recorded, even as it refuses.
    grants.check_exportable(vault, get_grant(vault, grant_ref), now)
    with vault.store.write() as txn:
        grant = grants.check_exportable(vault, get_grant(vault, grant_ref), now)
        control = core.new_control(
            txn, secret, grant.id, _iso(now), _iso(expires) if expires else None
        )
        view = _view(vault, txn, control, grant, now)
        core.put(txn, control, view)
        txn.audit(
            "token.create", grant=grant.id, token=secret.token_id.hex(), expires=control.expires
        )
    info = TokenInfo(
        secret.token_id.hex(), grant.id, control.created, control.expires, len(view.entries)
    )
    return info, secret.text()


def list_tokens(vault: Vault, grant_ref: str | None = None) -> list[TokenInfo]:
    """The active tokens (after bringing their views and logs up to date), by creation."""
    sync(vault, force=True)
    grant_id = get_grant(vault, grant_ref).id if grant_ref else None
    with vault.store.write() as txn:
        found = [
            TokenInfo(
                c.token_id.hex(),
                c.grant,
                c.created,
                c.expires,
                _records(txn, c),
            )
            for c in core.controls(txn)
            if grant_id is None or c.grant == grant_id
        ]
    return sorted(found, key=lambda t: (t.created, t.id))


def _records(txn: Txn, control: core.Control) -> int:
    view = core.current_view(txn, control)
    return len(view.entries) if view is not None else 0


def _control(txn: Txn, ref: str) -> core.Control:
    ref = ref.strip().lower()
    found = [c for c in core.controls(txn) if c.token_id.hex().startswith(ref)] if ref else []
    if not found:
        raise RecordNotFound(N_("no active token with id {ref}"), ref=ref[:16])
    if len(found) > 1:
        raise InvalidParameter(
            N_("the id prefix {ref} matches {n} tokens; type more"), ref=ref, n=len(found)
        )
    return found[0]


def untoken(vault: Vault, ref: str) -> TokenInfo:
    """Cancel a token: its row (view and keys) is destroyed; its file opens nothing after."""
    with vault.store.write() as txn:
        control = _control(txn, ref)
        info = TokenInfo(
            control.token_id.hex(),
            control.grant,
            control.created,
            control.expires,
            _records(txn, control),
        )
        if _fold(vault, txn, control):
            _destroy(txn, control, "untoken")
    return info


def _destroy(txn: Txn, control: core.Control, reason: str) -> None:
    core.drop(txn, control.token_id)
    txn.audit("token.destroy", grant=control.grant, token=control.token_id.hex(), reason=reason)


def _fold(vault: Vault, txn: Txn, control: core.Control) -> bool:
    """Move the exports logged with a token into the ledger and the audit log. A log that
    fails authentication, or an entry claiming more than the token's grant (another grant,
    token, recipient, persona, metric, content item or attribute: only the token holder can
    seal one), ends the token instead: False. Nothing it claimed is recorded then, and the
    vault stays writable."""
    entries = core.log_entries(txn, control)
    records = []
    try:
        grant = get_grant(vault, control.grant) if entries else None
        for payload in entries if entries is not None else []:
            body = {k: v for k, v in payload.items() if k != "seq"}
            if body.get("grant") != control.grant or body.get("token") != control.token_id.hex():
                raise TamperedRecord(N_("an export token's log names another grant"))
            record = ledger.BundleRecord.from_record(Record("", ledger.KIND, 1, _json_bytes(body)))
            if grant is None or not _within_grant(vault, grant, record):
                raise TamperedRecord(N_("an export token's log claims more than its grant"))
            records.append(record)
    except (TamperedRecord, RecordNotFound):
        entries = None
    if entries is None:
        _destroy(txn, control, "its export log fails authentication")
        return False
    for record in records:
        ledger.record_export(vault, txn, record)
    if records:
        core.clear_log(txn, control.token_id)
    return True


def _within_grant(vault: Vault, grant: Grant, sent: ledger.BundleRecord) -> bool:
    """Whether an export a token logged names only what its grant lets leave. The ledger is
    where revoking and forgetting look up who holds what: a claim there about another
    recipient or persona, or data the grant does not cover, would be believed."""
    if sent.recipient != grant.recipient or sent.persona != grant.persona:
        return False
    if not {m.metric for m in sent.metrics} <= set(grant.scope.metric_ids()):
        return False
    if not set(sent.attributes) <= set(grant.scope.attributes):
        return False
    for item in sent.content:
        # An id the vault does not hold names nothing of it; one it holds must be covered.
        if not vault.store.exists(content.ITEM, _record_id(item.id)):
            continue
        found = content.get(vault, item.id)
        if found.id != item.id or found.persona != grant.persona or not grant.scope.covers(found):
            return False
    return True


def _record_id(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return b""
    return raw if len(raw) == 16 and raw.hex() == text else b""


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _refresh(txn: Txn) -> None:
    """The core calls this before a commit that wrote records: fold the tokens' logs,
    destroy the tokens that must die, re-seal the views of the others."""
    vault = _vault_of(txn)
    now = vault.clock.now().astimezone(UTC).replace(microsecond=0)
    for control in core.controls(txn):
        if not _fold(vault, txn, control):
            continue
        if _expired(control, now):
            _destroy(txn, control, "expired")
            continue
        try:
            grant = get_grant(vault, control.grant)
        except RecordNotFound:
            _destroy(txn, control, "grant deleted")
            continue
        if grant.status_at(now) != GIVEN:
            _destroy(txn, control, f"grant {grant.status_at(now)}")
            continue
        # A forget that removed or rewrote any record the token could read ends the token.
        view = core.current_view(txn, control) if txn.rotated else None
        if txn.rotated and (view is None or core.changed(txn, view)):
            _destroy(txn, control, "forget")
            continue
        try:
            view = _view(vault, txn, control, grant, now)
        except (TamperedRecord, RecordNotFound, IntegrityError):
            # A record of its scope damaged or gone from the file: the token cannot be kept
            # current, so it ends, rather than every write of the vault failing with it.
            _destroy(txn, control, "its scope cannot be read")
            continue
        core.replace_view(txn, control, view)


core.register(_refresh)


def sync(vault: Vault, *, force: bool = False) -> None:
    """Fold what tokens exported into the ledger and destroy the tokens that must die (after
    an expiry nobody wrote since, say); a no-op when no token is active. `force` re-seals
    every view even when nothing changed (listing shows what each token opens now)."""
    if vault.token is not None or not core.in_use(vault.store):
        return
    with vault.store.write() as txn:
        if not core.any_active(txn):
            return
        if force or core.has_log(txn) or _any_due(vault, txn):
            _refresh(txn)


def _any_due(vault: Vault, txn: Txn) -> bool:
    now = vault.clock.now()
    for control in core.controls(txn):
        if _expired(control, now):
            return True
        try:
            if get_grant(vault, control.grant).status_at(now) != GIVEN:
                return True
        except RecordNotFound:
            return True
    return False


# --- the token side ---------------------------------------------------------------------------


def token_signer(
    vault: Vault,
) -> tuple[identities.Signer, tuple[bytes, tuple[str, ...], tuple[str, ...]]]:
    """The pairwise signer and the granted identity a token's view holds."""
    token = vault.token
    if token is None:  # pragma: no cover - callers check
        raise InvalidParameter(N_("not opened with a token"))
    extra = token.view.extra
    signer = identities.signer_of_seed(
        extra["persona"], bytes.fromhex(extra["seed"]), extra["pseudonym"], extra["recipient"]
    )
    card = base64.b64decode(extra["card"])
    return signer, (card, tuple(extra["attributes"]), tuple(extra["missing"]))


def token_expired(vault: Vault) -> bool:
    token = vault.token
    return (
        token is not None
        and token.view.expires is not None
        and (parse_moment(token.view.expires, end=False) <= vault.clock.now())
    )
