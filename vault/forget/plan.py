"""What a forget would remove: targets, and one planner per kind of target.

`preview(vault, targets)` says what and how much would go, and which recipients already hold
copies; it changes nothing. Each kind of target has its planner: the records and blobs of the
target itself, the quantified-self chunks to delete or rewrite, and, asked of
`vault.sharing`, the consent records that go with it and the bundles that carried what is
forgotten (an `Erasure` each: what of that bundle to ask its recipient to erase). Only data
actually forgotten reaches a bundle: a metric's samples over a range reach the bundles that
carried that metric of that persona over a span overlapping the range; a content item, the
bundles that carried it; a persona, or everything, every bundle of it.
`vault.forget.apply` carries a plan out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from vault import content
from vault import personas as identities
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_, Text
from vault.data import catalog, chunks, health_records, query
from vault.sharing import get_recipient, ledger, overview
from vault.sharing import recipients as recipient_records
from vault.sharing.ledger import BundleRecord, Holding
from vault.sharing.revocation import Erasure, MetricErased

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from vault.core.vault import Vault

TargetKind = Literal["persona", "metric", "content", "recipient", "everything"]


# What a plan counts, by its JSON name, as people read it (marked for the catalogue; front
# ends translate them where shown, and an unlisted count shows its JSON name).
COUNT_NAMES: Final = {
    "content_bytes": N_("content bytes"),
    "content_items": N_("content items"),
    "content_versions": N_("content versions"),
    "grants": N_("grants"),
    "ledger_entries": N_("ledger entries"),
    "metrics": N_("metrics"),
    "personas": N_("personas"),
    "samples": N_("samples"),
    "days": N_("days"),
    "recipients": N_("recipients"),
    "receipts": N_("receipts"),
    "rules": N_("rules"),
}


def count_label(key: str) -> str:
    """How people read a count of a plan (marked: translate it where it is shown)."""
    return COUNT_NAMES.get(key, key.replace("_", " "))


@dataclass(frozen=True)
class Target:
    """One thing to forget. Build with the class methods."""

    kind: TargetKind
    ref: str | None = None  # persona, content or recipient reference; metric id
    persona: str | None = None  # for a metric: one persona (None: every persona)
    start: int | None = None  # for a metric: UTC ms, inclusive (None: from the beginning)
    end: int | None = None  # for a metric: UTC ms, exclusive (None: to the end)

    @classmethod
    def of_persona(cls, ref: str) -> Target:
        return cls("persona", ref)

    @classmethod
    def of_metric(
        cls,
        metric: str,
        *,
        persona: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Target:
        if start is not None and end is not None and start >= end:
            raise InvalidParameter(N_("the range to forget ends before it starts"))
        return cls("metric", metric, persona, start, end)

    @classmethod
    def of_content(cls, ref: str) -> Target:
        return cls("content", ref)

    @classmethod
    def of_recipient(cls, ref: str) -> Target:
        return cls("recipient", ref)

    @classmethod
    def everything(cls) -> Target:
        return cls("everything")


# Arrays have no single truth value, so rewrites compare by identity (eq=False).
@dataclass(frozen=True, eq=False)
class Rewrite:
    """A QS day chunk that keeps some samples: rewritten without the forgotten ones."""

    persona: str
    metric: str
    day: str
    chunk_id: str
    keep_mask: npt.NDArray[np.bool_]  # over the chunk's rows: True for the samples kept


@dataclass(frozen=True)
class Plan:
    """What a forget removes. `labels`, `counts` and `holders` are for people; the rest is
    for `vault.forget.apply`."""

    targets: tuple[Target, ...]
    labels: tuple[str, ...]
    counts: Mapping[str, int]
    deletes: Mapping[str, str]  # record id -> kind
    rewrites: tuple[Rewrite, ...]
    # (persona, metric) whose day index and catalogue entry must be recomputed
    touched_metrics: frozenset[tuple[str, str]]
    wipe_all: bool
    holders: tuple[Holding, ...]  # one per recipient holding copies, the earliest first
    erasures: tuple[Erasure, ...]  # one per bundle that carried forgotten data, oldest first

    @property
    def empty(self) -> bool:
        return not (self.deletes or self.rewrites or self.wipe_all)

    def check_not_empty(self) -> None:
        """Raise InvalidParameter when this plan would forget nothing: the one verdict a
        forget and its preview (`--dry-run`) give alike."""
        if self.empty:
            raise InvalidParameter(N_("there is nothing to forget for that target"))

    def as_dict(self) -> dict[str, Any]:
        """The JSON of a forget preview (`coffre forget --dry-run --json`)."""
        return {
            "targets": [t.kind for t in self.targets],
            "what": list(self.labels),
            "counts": dict(sorted(self.counts.items())),
            "records": len(self.deletes) + len(self.rewrites),
            "recipients_holding_copies": [
                {
                    "id": h.recipient,
                    "name": h.name,
                    "grants": list(h.grants),
                    "bundles": list(h.bundles),
                }
                for h in self.holders
            ],
        }


@dataclass
class _Draft:
    """A plan being put together, target by target."""

    labels: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deletes: dict[str, str] = field(default_factory=dict)
    rewrites: list[Rewrite] = field(default_factory=list)
    touched_metrics: set[tuple[str, str]] = field(default_factory=set)
    wipe_all: bool = False
    erasures: dict[str, Erasure] = field(default_factory=dict)  # by bundle id

    def count(self, what: str, n: int = 1) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n

    def delete(self, kind: str, record_id: str) -> None:
        self.deletes[record_id] = kind

    def delete_consent(self, records: overview.ConsentRecords) -> None:
        for kind, what, ids in records.by_kind():
            for record_id in ids:
                self.delete(kind, record_id)
            self.count(what, len(ids))

    def reach(self, erasures: Iterable[Erasure]) -> None:
        """Note what to ask of bundles that carried forgotten data, one entry per bundle
        across targets."""
        for e in erasures:
            held = self.erasures.get(e.bundle.bundle_id)
            self.erasures[e.bundle.bundle_id] = e if held is None else held.merge(e)

    def freeze(self, vault: Vault, targets: tuple[Target, ...]) -> Plan:
        erasures = sorted(self.erasures.values(), key=lambda e: (e.bundle.time, e.bundle.seq))
        return Plan(
            targets,
            tuple(self.labels),
            dict(self.counts),
            dict(self.deletes),
            tuple(self.rewrites),
            frozenset(self.touched_metrics),
            self.wipe_all,
            tuple(ledger.holdings(vault, (e.bundle for e in erasures))),
            tuple(erasures),
        )


def _whole(bundles: Iterable[BundleRecord]) -> list[Erasure]:
    return [Erasure(b, whole=True) for b in bundles]


def _plan_content_item(vault: Vault, draft: _Draft, item: content.Item) -> None:
    for version in content.versions(vault, item.id):
        draft.delete(content.VERSION, version.record_id)
        draft.count("content_versions")
        draft.count("content_bytes", version.size)
    draft.delete(content.ITEM, item.id)
    draft.count("content_items")


def _plan_metric_days(
    vault: Vault, draft: _Draft, persona_id: str, metric: str, span: tuple[int | None, int | None]
) -> int:
    """Plan forgetting the samples of one persona's metric whose start is in `span`; how many
    that is."""
    import numpy as np

    days_id, days = catalog.load_days(vault.store, persona_id, metric)
    if days_id is None:
        return 0
    forgotten = 0
    lo = span[0] if span[0] is not None else -(1 << 62)
    hi = span[1] if span[1] is not None else 1 << 62
    for day, chunk_id in sorted(days.items()):
        first = chunks.day_start_ms(day)
        last = first + chunks.DAY_MS
        if last <= lo or first >= hi:
            continue
        cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, chunk_id).data)
        if lo <= first and last <= hi:
            n = len(cols)
            draft.delete(catalog.KIND_CHUNK, chunk_id)
            draft.count("days")
        else:
            gone = (cols.start >= lo) & (cols.start < hi)
            n = int(np.count_nonzero(gone))
            if n == len(cols):
                draft.delete(catalog.KIND_CHUNK, chunk_id)
                draft.count("days")
            elif n:
                draft.rewrites.append(Rewrite(persona_id, metric, day, chunk_id, ~gone))
        draft.count("samples", n)
        forgotten += n
    if forgotten:
        draft.touched_metrics.add((persona_id, metric))
    return forgotten


def _plan_qs_persona(vault: Vault, draft: _Draft, persona_id: str) -> None:
    catalog_id, stats = catalog.load_catalog(vault.store, persona_id)
    for metric, st in stats.items():
        days_id, days = catalog.load_days(vault.store, persona_id, metric)
        for chunk_id in days.values():
            draft.delete(catalog.KIND_CHUNK, chunk_id)
        if days_id:
            draft.delete(catalog.KIND_DAYS, days_id)
        draft.count("samples", st.samples)
        draft.count("metrics")
    if catalog_id:
        draft.delete(catalog.KIND_CATALOG, catalog_id)
    for kind, what in (
        (catalog.KIND_WORKOUT, "workouts"),
        (catalog.KIND_SUMMARY, "summaries"),
        (health_records.KIND_ECG, "ecg_recordings"),
        (health_records.KIND_CLINICAL, "clinical_records"),
    ):
        for rec in vault.store.find(kind, "persona", persona_id):
            draft.delete(kind, rec.id)
            draft.count(what)


# What a forget counts the records behind a metric's samples as (health_records.RECORD_KINDS).
_COUNTED_AS = {
    health_records.KIND_ECG: "ecg_recordings",
    health_records.KIND_CLINICAL: "clinical_records",
}


def _plan_metric_records(
    vault: Vault, draft: _Draft, persona_id: str, metric: str, span: tuple[int | None, int | None]
) -> int:
    """Plan forgetting the records behind a metric's samples in `span`; how many."""
    kind = health_records.RECORD_KINDS.get(metric)
    if kind is None:
        return 0
    what = _COUNTED_AS[kind]
    ids = list(health_records.record_ids(vault, kind, persona_id, *span))
    for record_id in ids:
        draft.delete(kind, record_id)
    draft.count(what, len(ids))
    return len(ids)


def _day(ms: int | None, default: str) -> str:
    return default if ms is None else chunks.utc_day(ms)


# --- one planner per kind of target ------------------------------------------------------------


def _plan_persona(vault: Vault, draft: _Draft, target: Target) -> None:
    """A persona, its content, its quantified-self data, its grants and their ledger entries;
    recipients that received any of it hold copies."""
    persona = identities.get_persona(vault, target.ref or "")
    draft.labels.append(Text(N_("persona {name}"), name=persona.name))
    draft.delete(identities.KIND, persona.id)
    draft.count("personas")
    for item in content.list_items(vault, persona=persona.id):
        _plan_content_item(vault, draft, item)
    _plan_qs_persona(vault, draft, persona.id)
    draft.delete_consent(overview.tied_to_persona(vault, persona.id))
    draft.reach(_whole(ledger.bundles_carrying(vault, persona_id=persona.id)))


def _plan_metric(vault: Vault, draft: _Draft, target: Target) -> None:
    """A metric's samples in a range (of one persona or every one); bundles that carried that
    metric of a persona whose samples go, over a span overlapping the range, are reached."""
    metric = query.check_metric(target.ref or "")
    if target.persona:
        chosen = [identities.get_persona(vault, target.persona).id]
    else:
        chosen = [p.id for p in identities.list_personas(vault)]
    erased = MetricErased(metric, target.start, target.end)
    for pid in chosen:
        window = (target.start, target.end)
        records = _plan_metric_records(vault, draft, pid, metric, window)
        if _plan_metric_days(vault, draft, pid, metric, window) or records:
            sent = ledger.bundles_carrying(
                vault, persona_id=pid, metric=metric, start=target.start, end=target.end
            )
            draft.reach(Erasure(b, metrics=(erased,)) for b in sent)
    if target.start is None and target.end is None:
        draft.labels.append(Text(N_("metric {metric}"), metric=metric))
        return
    # The end is exclusive: `--to 2024-12-31` ends at 2025-01-01 00:00 and is shown as the day
    # typed, the last one it covers.
    first = _day(target.start, Text(N_("the start")))
    last = Text(N_("now")) if target.end is None else chunks.utc_day(target.end - 1)
    label = N_("metric {metric} from {first} to {last}")
    draft.labels.append(Text(label, metric=metric, first=first, last=last))


def _plan_content(vault: Vault, draft: _Draft, target: Target) -> None:
    """A content item, every version and file; bundles that carried it are reached."""
    item = content.get(vault, target.ref or "")
    draft.labels.append(Text(N_("content {title!r}"), title=item.title))
    _plan_content_item(vault, draft, item)
    sent = ledger.bundles_carrying(vault, content_id=item.id)
    draft.reach(Erasure(b, content=tuple(c for c in b.content if c.id == item.id)) for b in sent)


def _plan_recipient(vault: Vault, draft: _Draft, target: Target) -> None:
    """A recipient, its grants, their ledger entries and its erasure requests; it is sent
    nothing."""
    recipient = get_recipient(vault, target.ref or "")
    draft.labels.append(Text(N_("recipient {name}"), name=recipient.name))
    draft.delete(recipient_records.KIND, recipient.id)
    draft.count("recipients")
    draft.delete_consent(overview.tied_to_recipient(vault, recipient.id))


def _plan_everything(vault: Vault, draft: _Draft, target: Target) -> None:
    """Every record and file; every bundle that ever left is reached."""
    draft.wipe_all = True
    draft.labels.append(N_("everything in the vault"))
    draft.count("records", vault.store.counts()["records"])
    draft.reach(_whole(ledger.bundles_carrying(vault)))


_PLANNERS: dict[TargetKind, Callable[[Vault, _Draft, Target], None]] = {
    "persona": _plan_persona,
    "metric": _plan_metric,
    "content": _plan_content,
    "recipient": _plan_recipient,
    "everything": _plan_everything,
}


def preview(vault: Vault, targets: Target | Sequence[Target]) -> Plan:
    """What forgetting `targets` would remove, and who holds copies; changes nothing."""
    chosen = (targets,) if isinstance(targets, Target) else tuple(targets)
    if not chosen:
        raise InvalidParameter(N_("nothing to forget: name a target"))
    draft = _Draft()
    for target in chosen:
        planner = _PLANNERS.get(target.kind)
        if planner is None:
            raise InvalidParameter(N_("unknown forget target {target!r}"), target=target.kind)
        planner(vault, draft, target)
    return draft.freeze(vault, chosen)
