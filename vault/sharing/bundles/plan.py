"""What would leave the vault under a grant: the selection behind `export` and `--dry-run`.

Only data inside every dimension of the grant's scope is selected: the persona, the metrics
(named or by DPV category), the content (kind AND tag AND id when given, AND an audience
the grant names: public only unless it names others), the identity
attributes, and the data time range. At `hour` and `day` granularity only whole periods
inside the range leave, as aggregates. With `since_last`, what earlier bundles of the same
grant already carried is left out (per metric from the last instant or period sent, per
content item by version).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from vault import content
from vault import personas as identities
from vault.core.i18n import N_, N_plural, Text
from vault.data import chunks, health_records, query
from vault.data.health_records import StoredEcg
from vault.personas import vcard
from vault.sharing.grants import Grant, granularity_warnings
from vault.sharing.scope import is_derived

if TYPE_CHECKING:
    from vault.core.vault import Vault

HOUR_MS: Final = 3_600_000
DAY_MS: Final = chunks.DAY_MS
_PERIOD_MS: Final = {"hour": HOUR_MS, "day": DAY_MS}


@dataclass(frozen=True)
class MetricSelection:
    """One metric that leaves: how many samples (raw), recordings or records (`ecg`,
    `clinical_record` at raw granularity) or periods (aggregated), and when."""

    metric: str
    count: int
    first: int  # UTC ms: first sample start, or first period start
    last: int  # UTC ms: last sample start, or last period start
    unit: str
    start: int | None  # the range exported for this metric, [start, end)
    end: int | None
    period: int | None = None  # ms of one aggregation period; None for raw samples
    counted: str = "samples"  # what `count` counts: samples, recordings, records, periods
    undated: int = 0  # clinical records without a date among `count` (all-time grants)

    @property
    def next_start(self) -> int:
        """Where the next incremental bundle starts for this metric."""
        return self.last + (self.period or 1)

    def as_dict(self) -> dict[str, Any]:
        dated = self.count > self.undated
        return {
            "metric": self.metric,
            "count": self.count,
            "counted": self.counted,
            "undated": self.undated,
            "first": query.utc_iso(self.first) if dated else None,
            "last": query.utc_iso(self.last) if dated else None,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class ContentSelection:
    """One content item that leaves (its current version), under a recipient-facing slug."""

    item: content.Item
    slug: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "title": self.item.title,
            "kind": self.item.kind,
            "audience": self.item.audience,
            "tags": list(self.item.tags),
            "version": self.item.version,
            "created": self.item.created,
            "size": self.item.size,
            "attachments": self.item.attachments,
            "path": f"data/content/{self.slug}.md",
        }


@dataclass(frozen=True)
class ExportPlan:
    """Exactly what an export of a grant would carry, resolved at one instant."""

    grant: Grant
    at: datetime
    start: int | None  # UTC ms, inclusive
    end: int | None  # UTC ms, exclusive
    previous_bundle: str | None
    metrics: tuple[MetricSelection, ...] = ()
    content: tuple[ContentSelection, ...] = ()
    attributes: tuple[str, ...] = ()  # granted keys the persona has values for
    missing_attributes: tuple[str, ...] = ()  # granted keys the persona has no value for
    identity_card: bytes = b""  # data/identity.vcf when attributes leave
    notes: tuple[str, ...] = field(default=())

    def is_empty(self) -> bool:
        return not (self.metrics or self.content or self.attributes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `export --dry-run --json`."""
        return {
            "grant": self.grant.id,
            "recipient": self.grant.recipient,
            "persona": self.grant.persona,
            "pseudonym": self.grant.pseudonym,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "granularity": self.grant.granularity,
            "time_range": {
                "from": query.utc_iso(self.start) if self.start is not None else None,
                "to": query.utc_iso(self.end) if self.end is not None else None,
            },
            "previous_bundle": self.previous_bundle,
            "metrics": [m.as_dict() for m in self.metrics],
            "content": [c.as_dict() for c in self.content],
            "attributes": list(self.attributes),
            "missing_attributes": list(self.missing_attributes),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class SentBefore:
    """What earlier bundles of a grant carried (from the ledger), for `--since-last`."""

    last_bundle: str | None = None
    metric_next: dict[str, int] = field(default_factory=dict)  # metric -> first new instant
    content_versions: dict[str, int] = field(default_factory=dict)  # item id -> version
    identity_sha256: str | None = None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def slugify(title: str, item_id: str) -> str:
    """An ASCII file name for an item: its title's words plus 8 id digits (unique)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return f"{words or 'item'}-{item_id[:8]}"


def granted_attributes(
    persona: identities.Persona, keys: tuple[str, ...], today: datetime
) -> tuple[list[identities.Attribute], list[tuple[str, str]], list[str]]:
    """(plain attributes, derived (key, value) pairs, keys with no value) for a grant."""
    plain: list[identities.Attribute] = []
    derived: list[tuple[str, str]] = []
    missing: list[str] = []
    for key in keys:
        if is_derived(key):
            value = identities.derive(persona, key, today=today.date())
            if value is None:
                missing.append(key)
            else:
                derived.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
            continue
        found = [a for a in persona.attributes if identities.matches(a, key) and a not in plain]
        if not found:
            missing.append(key)
        plain.extend(found)
    return plain, derived, missing


def identity_card(
    grant: Grant, plain: list[identities.Attribute], derived: list[tuple[str, str]]
) -> bytes:
    """A vCard 4.0 of the granted attributes only, under the pairwise pseudonym: the
    persona's own name, UID and ids never appear unless a name attribute was granted."""
    attrs = [replace(a, sensitive=False) for a in plain]
    attrs += [identities.Attribute(identities.FIELD, v, k) for k, v in derived]
    name = next((a.value for a in plain if a.kind == identities.NAME), "")
    name = name or next((a.value for a in plain if a.kind == identities.NICKNAME), "")
    uid = f"urn:uuid:{uuid.UUID(hex=grant.pseudonym[:32])}"
    card = identities.Persona(grant.pseudonym, name or grant.pseudonym, uid, tuple(attrs))
    return vcard.to_vcard([card]).encode("utf-8")


Identity = tuple[bytes, tuple[str, ...], tuple[str, ...]]  # (card, keys granted, keys missing)


def granted_identity(grant: Grant, persona: identities.Persona, now: datetime) -> Identity:
    """What of the persona a grant lets leave at `now`: the vCard, the granted keys that have
    a value, and those that have none (an export token holds this, not the persona)."""
    plain, derived, missing = granted_attributes(persona, grant.scope.attributes, now)
    keys = tuple(dict.fromkeys(tuple(a.key for a in plain) + tuple(k for k, _ in derived)))
    card = identity_card(grant, plain, derived) if keys else b""
    return card, keys, tuple(missing)


def build_plan(
    vault: Vault,
    grant: Grant,
    *,
    at: datetime | None = None,
    sent: SentBefore | None = None,
    keep: dict[str, chunks.Columns] | None = None,
    identity: Identity | None = None,
) -> ExportPlan:
    """Select what the grant lets leave at `at` (now by default). At raw granularity the
    samples selected are decrypted to count them; `keep`, when given, receives them by
    metric, so an export does not decrypt them a second time. `identity` (from an export
    token) stands for the persona, which is then not read."""
    now = (at or vault.clock.now()).astimezone(UTC).replace(microsecond=0)
    rng_start, rng_end = grant.time_range.resolve(now)
    start = _ms(rng_start) if rng_start else None
    end = _ms(rng_end) if rng_end else None
    period = _PERIOD_MS.get(grant.granularity)
    if period:
        # Only whole UTC periods inside the range leave, as aggregates.
        end = min(end, _ms(now)) if end is not None else _ms(now)
        end -= end % period
        if start is not None:
            start += -start % period
    notes: list[str] = list(granularity_warnings(grant))
    selections: list[MetricSelection] = []
    for metric in grant.scope.metric_ids():
        m_start = start
        if sent and metric in sent.metric_next:
            mark = sent.metric_next[metric]
            m_start = mark if m_start is None else max(m_start, mark)
        if m_start is not None and end is not None and m_start >= end:
            continue
        sel = _select_metric(vault, grant, metric, m_start, end, keep)
        if sel is not None:
            selections.append(sel)
    items = _select_content(vault, grant, start, end, sent)
    if identity is None:
        identity = granted_identity(grant, identities.get_persona(vault, grant.persona), now)
    card, keys, missing = identity
    unchanged = bool(keys and sent and sent.identity_sha256 == hashlib.sha256(card).hexdigest())
    if unchanged:
        keys = ()
        notes.append(N_("identity attributes unchanged since the previous bundle"))
    if missing:
        notes.append(
            Text(
                N_plural(
                    "{n} granted attribute has no value in the persona",
                    "{n} granted attributes have no value in the persona",
                ),
                n=len(missing),
            )
        )
    return ExportPlan(
        grant=grant,
        at=now,
        start=start,
        end=end,
        previous_bundle=sent.last_bundle if sent else None,
        metrics=tuple(selections),
        content=tuple(items),
        attributes=tuple(dict.fromkeys(keys)),
        missing_attributes=tuple(missing),
        identity_card=card if keys else b"",
        notes=tuple(notes),
    )


def _select_metric(  # noqa: PLR0917
    vault: Vault,
    grant: Grant,
    metric: str,
    start: int | None,
    end: int | None,
    keep: dict[str, chunks.Columns] | None,
) -> MetricSelection | None:
    unit = query.unit_of(vault, grant.persona, metric)
    if grant.granularity == "raw" and metric in health_records.RECORD_KINDS:
        return _select_records(grant, vault, metric, start, end, unit)
    if grant.granularity == "raw":
        cols = query.load(vault, grant.persona, metric, start, end)
        if not len(cols):
            return None
        if keep is not None:
            keep[metric] = cols
        first, last = int(cols.start[0]), int(cols.start[-1])
        return MetricSelection(metric, len(cols), first, last, unit, start, end)
    buckets = query.aggregate(vault, grant.persona, metric, grant.granularity, start=start, end=end)
    if not buckets:
        return None
    return MetricSelection(
        metric,
        len(buckets),
        buckets[0].start,
        buckets[-1].start,
        buckets[0].unit,
        start,
        end,
        _PERIOD_MS[grant.granularity],
        counted="periods",
    )


def _select_records(  # noqa: PLR0917
    grant: Grant, vault: Vault, metric: str, start: int | None, end: int | None, unit: str
) -> MetricSelection | None:
    """ECG recordings or clinical records at raw granularity: counted from the records the
    bundle will carry (`health_records.bundle_documents`), not from their samples, so a
    clinical record without a date counts under an all-time grant as it leaves under it."""
    found = health_records.records_in(vault, grant.persona, metric, start, end)
    if not found:
        return None
    dates = sorted(
        d for d in (r.start if isinstance(r, StoredEcg) else r.date for r in found) if d is not None
    )
    # Undated records alone leave no instant: the watermark stays at the epoch, so the next
    # incremental bundle still carries every dated record, and no forget of a range finds them.
    first, last = (dates[0], dates[-1]) if dates else (0, 0)
    counted = "recordings" if metric == health_records.ECG_METRIC else "records"
    return MetricSelection(
        metric,
        len(found),
        first,
        last,
        unit,
        start,
        end,
        counted=counted,
        undated=len(found) - len(dates),
    )


def _in_range(created: str, start: int | None, end: int | None) -> bool:
    if start is None and end is None:
        return True
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = _ms(moment)
    return (start is None or ms >= start) and (end is None or ms < end)


def _select_content(
    vault: Vault, grant: Grant, start: int | None, end: int | None, sent: SentBefore | None
) -> list[ContentSelection]:
    scope = grant.scope
    if not scope.has_content:
        return []
    out = []
    for item in content.list_items(vault, persona=grant.persona):
        if not scope.covers(item):
            continue
        if not _in_range(item.created, start, end):
            continue
        if sent and sent.content_versions.get(item.id, 0) >= item.version:
            continue
        out.append(ContentSelection(item, slugify(item.title, item.id)))
    return out
