"""The ledger: every bundle that left the vault, so the person can see who holds what of
theirs, since when, under which grant, for what purpose and in exchange for what, and so
revocation and forgetting know whom to ask for erasure, and for what (`bundles_carrying`,
`holdings`). The view of it all per recipient, with grants and erasure requests, is
`vault.sharing.overview.ledger_view`.

Each export is one encrypted `ledger.export` record (bundle id and SHA-256, grant, recipient,
persona, time, and exactly what left: metrics with counts and ranges, content items and
versions, attribute keys), found through blind-index terms by grant, recipient, persona,
metric and content item. The audit log records the same export with ids and counts only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import InvalidParameter, TamperedRecord
from vault.core.i18n import N_
from vault.sharing.recipients import get_recipient

if TYPE_CHECKING:
    from vault.core.records import Record
    from vault.core.txn import Txn
    from vault.core.vault import Vault

KIND: Final = "ledger.export"
_RECORD_VERSION: Final = 1
COMPLETE, INTERRUPTED = "complete", "interrupted"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)


@dataclass(frozen=True)
class MetricSent:
    """One metric carried by a bundle: count, first and last instants, the watermark for the
    next incremental bundle, and the granularity."""

    metric: str
    count: int
    first: str
    last: str
    next_start: int  # UTC ms
    granularity: str

    @property
    def span(self) -> tuple[int, int]:
        """The instants this metric's data in the bundle covers, `[start, end)` in UTC ms:
        from the first sample start (or aggregation period start) up to the watermark, which
        is just past the last sample start, or the end of the (UTC) last period. Every entry
        records both, so a forget can tell whether a bundle carried data of a range."""
        first = datetime.fromisoformat(self.first) - _EPOCH  # exact: no float timestamp
        return first // _MS, self.next_start

    def overlaps(self, start: int | None, end: int | None) -> bool:
        """Whether this metric's data in the bundle reaches into `[start, end)` (None: open)."""
        first, stop = self.span
        return (start is None or start < stop) and (end is None or first < end)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "next_start": self.next_start,
            "granularity": self.granularity,
        }


@dataclass(frozen=True)
class ContentSent:
    """One content item carried by a bundle, at one version."""

    id: str
    version: int
    title: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "title": self.title, "path": self.path}


@dataclass(frozen=True)
class BundleRecord:
    """One export as the ledger keeps it."""

    bundle_id: str
    grant: str
    recipient: str
    persona: str
    time: str
    sha256: str
    size: int
    status: str  # complete, or interrupted (a stream cut short: part of it may have left)
    previous_bundle: str | None = None
    metrics: tuple[MetricSent, ...] = ()
    content: tuple[ContentSent, ...] = ()
    attributes: tuple[str, ...] = ()
    identity_sha256: str | None = None
    files: int = 0
    seq: int = 0  # order of the exports in this vault (several may share one second)
    record_id: str = field(default="", compare=False)
    token: str | None = None  # the export token's id, when one made the export

    def as_dict(self) -> dict[str, Any]:
        return {
            "bundle_id": self.bundle_id,
            "grant": self.grant,
            "recipient": self.recipient,
            "persona": self.persona,
            "time": self.time,
            "sha256": self.sha256,
            "size": self.size,
            "status": self.status,
            "previous_bundle": self.previous_bundle,
            "metrics": [m.as_dict() for m in self.metrics],
            "content": [c.as_dict() for c in self.content],
            "attributes": list(self.attributes),
            "identity_sha256": self.identity_sha256,
            "files": self.files,
            "seq": self.seq,
        } | ({"token": self.token} if self.token else {})

    @classmethod
    def from_record(cls, rec: Record) -> BundleRecord:
        try:
            d = json.loads(rec.data)
            return cls(
                bundle_id=str(d["bundle_id"]),
                grant=str(d["grant"]),
                recipient=str(d["recipient"]),
                persona=str(d["persona"]),
                time=str(d["time"]),
                sha256=str(d["sha256"]),
                size=int(d["size"]),
                status=str(d["status"]),
                previous_bundle=d.get("previous_bundle"),
                metrics=tuple(MetricSent(**m) for m in d.get("metrics", ())),
                content=tuple(ContentSent(**c) for c in d.get("content", ())),
                attributes=tuple(d.get("attributes", ())),
                identity_sha256=d.get("identity_sha256"),
                files=int(d.get("files", 0)),
                seq=int(d.get("seq", 0)),
                record_id=rec.id,
                token=str(d["token"]) if d.get("token") else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TamperedRecord(N_("a ledger record is unreadable")) from exc


def _terms(b: BundleRecord) -> list[tuple[str, str]]:
    terms = [
        ("grant", b.grant),
        ("recipient", b.recipient),
        ("persona", b.persona),
        ("bundle", b.bundle_id),
    ]
    terms += [("metric", f"{b.persona}/{m.metric}") for m in b.metrics]
    terms += [("content", c.id) for c in b.content]
    return terms


def record_export(vault: Vault, txn: Txn, bundle: BundleRecord) -> str:
    """Store one export (inside the caller's transaction) and audit it with ids and counts."""
    bundle = replace(bundle, seq=vault.store.count(KIND) + 1)
    body = bundle.as_dict()
    body["v"] = _RECORD_VERSION
    rid = txn.put(
        KIND,
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        terms=_terms(bundle),
    )
    txn.audit(
        "bundle.export",
        grant=bundle.grant,
        recipient=bundle.recipient,
        bundle=bundle.bundle_id,
        sha256=bundle.sha256,
        status=bundle.status,
        metrics=len(bundle.metrics),
        items=len(bundle.content),
        attributes=len(bundle.attributes),
        files=bundle.files,
        **({"token": bundle.token, "exported": bundle.time} if bundle.token else {}),
    )
    return rid


def _sorted(records: Iterable[Record]) -> list[BundleRecord]:
    return sorted((BundleRecord.from_record(r) for r in records), key=lambda b: (b.time, b.seq))


def all_bundles(vault: Vault) -> list[BundleRecord]:
    """Every export, oldest first."""
    return _sorted(vault.store.iter_kind(KIND))


def bundles_for_grant(vault: Vault, grant_id: str) -> list[BundleRecord]:
    """The bundles sent under one grant (ids, dates, hashes, contents), oldest first."""
    return _sorted(vault.store.find(KIND, "grant", grant_id))


def bundles_for_recipient(vault: Vault, recipient_id: str) -> list[BundleRecord]:
    """The bundles sent to one recipient, oldest first."""
    return _sorted(vault.store.find(KIND, "recipient", recipient_id))


def bundles_for_persona(vault: Vault, persona_id: str) -> list[BundleRecord]:
    """The bundles that carried data of one persona, oldest first."""
    return _sorted(vault.store.find(KIND, "persona", persona_id))


def get_bundle(vault: Vault, bundle_id: str) -> BundleRecord | None:
    found = vault.store.find(KIND, "bundle", bundle_id)
    return BundleRecord.from_record(found[0]) if found else None


def what_left(
    bundles: Iterable[BundleRecord],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The metrics, content item ids and attribute keys some bundles carried, each sorted."""
    sent = list(bundles)
    return (
        tuple(sorted({m.metric for b in sent for m in b.metrics})),
        tuple(sorted({c.id for b in sent for c in b.content})),
        tuple(sorted({a for b in sent for a in b.attributes})),
    )


@dataclass(frozen=True)
class Holding:
    """A recipient holding some of the person's data: under which grants, through which
    bundles (in the order they were sent, grant by grant), since when, and what."""

    recipient: str  # the recipient's id
    name: str
    grants: tuple[str, ...]
    since: str
    bundles: tuple[str, ...]
    metrics: tuple[str, ...]
    content: tuple[str, ...]
    attributes: tuple[str, ...]

    def merge(self, other: Holding) -> Holding:
        """This holding and another of the same recipient, as one (nothing counted twice)."""
        if other.recipient != self.recipient:
            raise ValueError("only holdings of one recipient merge")
        return replace(
            self,
            grants=tuple(dict.fromkeys(self.grants + other.grants)),
            since=min(self.since, other.since),
            bundles=tuple(dict.fromkeys(self.bundles + other.bundles)),
            metrics=tuple(sorted({*self.metrics, *other.metrics})),
            content=tuple(sorted({*self.content, *other.content})),
            attributes=tuple(sorted({*self.attributes, *other.attributes})),
        )


def bundles_carrying(
    vault: Vault,
    *,
    persona_id: str | None = None,
    metric: str | None = None,
    start: int | None = None,
    end: int | None = None,
    content_id: str | None = None,
) -> list[BundleRecord]:
    """The bundles that carried data of a persona, of one of its metrics (needs
    `persona_id`) over a span reaching into `[start, end)` (UTC ms, None: open), or one
    content item; with none of them, every bundle. Oldest first."""
    store = vault.store
    if content_id:
        records = store.find(KIND, "content", content_id)
    elif metric:
        if not persona_id:
            raise InvalidParameter(N_("bundles_carrying(metric=...) needs persona_id"))
        records = store.find(KIND, "metric", f"{persona_id}/{metric}")
    elif persona_id:
        records = store.find(KIND, "persona", persona_id)
    else:
        records = list(store.iter_kind(KIND))
    return [
        b
        for b in _sorted(records)
        if (not persona_id or b.persona == persona_id)
        and (not metric or any(m.metric == metric and m.overlaps(start, end) for m in b.metrics))
    ]


def holdings(vault: Vault, bundles: Iterable[BundleRecord]) -> list[Holding]:
    """Who holds what these bundles carried: one Holding per recipient, the earliest first,
    its grants in the order they first carried something."""
    per_grant: dict[tuple[str, str], list[BundleRecord]] = {}
    for b in sorted(bundles, key=lambda b: (b.time, b.seq)):
        per_grant.setdefault((b.recipient, b.grant), []).append(b)
    # Grants ordered by their first bundle (ties by recipient and grant id), so a recipient's
    # bundles are listed grant by grant and recipients come in the order they first received.
    ordered = sorted(per_grant.items(), key=lambda kv: (kv[1][0].time, kv[0]))
    names: dict[str, str] = {}
    held_by: dict[str, Holding] = {}
    for (recipient, grant), sent in ordered:
        if recipient not in names:
            names[recipient] = get_recipient(vault, recipient).name
        metrics, content, attributes = what_left(sent)
        held = Holding(
            recipient=recipient,
            name=names[recipient],
            grants=(grant,),
            since=sent[0].time,
            bundles=tuple(b.bundle_id for b in sent),
            metrics=metrics,
            content=content,
            attributes=attributes,
        )
        held_by[recipient] = held_by[recipient].merge(held) if recipient in held_by else held
    return list(held_by.values())
