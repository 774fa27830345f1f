"""The right to be forgotten, inside the vault: preview, then crypto-shred.

`preview(vault, targets)` says what and how much would go, and which recipients already hold
copies; it changes nothing. `forget(vault, targets)` does it in ONE transaction: the records
and their blobs are deleted, quantified-self chunks that straddle a forgotten range are
rewritten under fresh keys, the epoch key is rotated (every surviving record key re-wrapped,
the old epoch key destroyed), one audit entry records that a forget happened (target kinds
and counts, never what), and then the WAL is checkpointed and truncated. With SQLite's
`secure_delete` the freed space is zeroed, so no byte of the forgotten plaintext, ciphertext
or wrapped keys remains in the vault directory. A process killed midway leaves either the
whole forget or nothing.

What it cannot reach is said in the result: copies a recipient already received (they get
erasure requests, see `vault.sharing.revocation`), and copies of the vault made before (backups).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from vault.core.errors import InvalidParameter
from vault.core.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from vault.core.store import Txn
    from vault.core.vault import Vault

TargetKind = Literal["persona", "metric", "content", "recipient", "everything"]


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
            raise InvalidParameter("the range to forget ends before it starts")
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


@dataclass
class Holding:
    """A recipient that received data now being forgotten, and under which bundles."""

    recipient_id: str
    recipient: str
    grants: list[str] = field(default_factory=list)
    bundles: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipient_id": self.recipient_id,
            "recipient": self.recipient,
            "grants": self.grants,
            "bundles": self.bundles,
        }


@dataclass
class _Rewrite:
    """A QS day chunk that keeps some samples: rewritten without the forgotten ones."""

    persona: str
    metric: str
    day: str
    chunk_id: str
    keep_mask: Any  # numpy boolean array over the chunk's rows


@dataclass
class Plan:
    """What a forget removes. `counts` and `label` are for people; the rest for `forget`."""

    targets: tuple[Target, ...]
    labels: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deletes: dict[str, str] = field(default_factory=dict)  # record id -> kind
    rewrites: list[_Rewrite] = field(default_factory=list)
    # (persona, metric) whose day index and catalogue entry must be recomputed
    touched_metrics: set[tuple[str, str]] = field(default_factory=set)
    wipe_all: bool = False
    holders: dict[str, Holding] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        if n:
            self.counts[what] = self.counts.get(what, 0) + n

    def delete(self, kind: str, record_id: str) -> None:
        self.deletes[record_id] = kind

    @property
    def empty(self) -> bool:
        return not (self.deletes or self.rewrites or self.wipe_all)

    def as_dict(self) -> dict[str, Any]:
        return {
            "targets": [t.kind for t in self.targets],
            "what": self.labels,
            "counts": dict(sorted(self.counts.items())),
            "records": len(self.deletes) + len(self.rewrites),
            "recipients_holding_copies": [h.as_dict() for h in self.holders.values()],
        }


@dataclass(frozen=True)
class ForgetResult:
    """What a forget did, and what it could not do."""

    plan: Plan
    epoch: int
    seconds: float
    wal_truncated: bool
    notices: tuple[Any, ...] = ()  # erasure requests produced for recipients holding copies

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "epoch": self.epoch,
            "seconds": round(self.seconds, 3),
            "wal_truncated": self.wal_truncated,
            "erasure_requests": [getattr(n, "id", str(n)) for n in self.notices],
            "cannot_reach": [
                "copies recipients already received (erasure requests were produced)"
                if self.plan.holders
                else "",
                "copies of the vault made before now (backups, synced folders)",
            ],
        }


# --- planning --------------------------------------------------------------------------------

# Domain hooks: the consent module registers how a target reaches grants, receipts and the
# ledger (and who holds copies), so this module does not depend on its internals.
PlanHook = Callable[["Vault", Target, Plan], None]
NoticeHook = Callable[["Vault", "Txn", Plan], Sequence[Any]]
_PLAN_HOOKS: list[PlanHook] = []
_NOTICE_HOOKS: list[NoticeHook] = []


def register_plan_hook(hook: PlanHook) -> None:
    if hook not in _PLAN_HOOKS:
        _PLAN_HOOKS.append(hook)


def register_notice_hook(hook: NoticeHook) -> None:
    if hook not in _NOTICE_HOOKS:
        _NOTICE_HOOKS.append(hook)


def _load_domain_hooks() -> None:
    # Importing the consent module registers its hooks; it may not exist in every build.
    with contextlib.suppress(ImportError):
        import vault.sharing.revocation  # noqa: F401  (registers the consent hooks)


def _plan_content_item(vault: Vault, plan: Plan, ref: str) -> None:
    from vault import content

    item = content.get(vault, ref)
    for version in content.versions(vault, item.id):
        plan.delete(content.VERSION, version.record_id)
        plan.count("content_versions")
        plan.count("content_bytes", version.size)
    plan.delete(content.ITEM, item.id)
    plan.count("content_items")


def _plan_metric_days(
    vault: Vault, plan: Plan, persona_id: str, metric: str, span: tuple[int | None, int | None]
) -> None:
    import numpy as np

    from vault.data import catalog, chunks

    days_id, days = catalog.load_days(vault.store, persona_id, metric)
    if days_id is None:
        return
    lo = span[0] if span[0] is not None else -(1 << 62)
    hi = span[1] if span[1] is not None else 1 << 62
    for day, chunk_id in sorted(days.items()):
        first = chunks.day_start_ms(day)
        last = first + chunks.DAY_MS
        if last <= lo or first >= hi:
            continue
        if lo <= first and last <= hi:
            cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, chunk_id).data)
            plan.delete(catalog.KIND_CHUNK, chunk_id)
            plan.count("samples", len(cols))
            plan.count("days")
            continue
        cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, chunk_id).data)
        gone = (cols.start >= lo) & (cols.start < hi)
        n = int(np.count_nonzero(gone))
        if n == len(cols):
            plan.delete(catalog.KIND_CHUNK, chunk_id)
            plan.count("days")
        elif n:
            plan.rewrites.append(_Rewrite(persona_id, metric, day, chunk_id, ~gone))
        plan.count("samples", n)
    plan.touched_metrics.add((persona_id, metric))


def _plan_qs_persona(vault: Vault, plan: Plan, persona_id: str) -> None:
    from vault.data import catalog

    catalog_id, stats = catalog.load_catalog(vault.store, persona_id)
    for metric, st in stats.items():
        days_id, days = catalog.load_days(vault.store, persona_id, metric)
        for chunk_id in days.values():
            plan.delete(catalog.KIND_CHUNK, chunk_id)
        if days_id:
            plan.delete(catalog.KIND_DAYS, days_id)
        plan.count("samples", st.samples)
        plan.count("metrics")
    if catalog_id:
        plan.delete(catalog.KIND_CATALOG, catalog_id)
    for kind, what in ((catalog.KIND_WORKOUT, "workouts"), (catalog.KIND_SUMMARY, "summaries")):
        for rec in vault.store.find(kind, "persona", persona_id):
            plan.delete(kind, rec.id)
            plan.count(what)


def _persona_ids(vault: Vault) -> list[str]:
    from vault import personas as identities

    return [p.id for p in identities.list_personas(vault)]


def _plan_target(vault: Vault, plan: Plan, target: Target) -> None:
    from vault import content
    from vault import personas as identities

    if target.kind == "everything":
        plan.wipe_all = True
        plan.labels.append("everything in the vault")
        plan.count("records", vault.store.counts()["records"])
        return
    if target.kind == "persona":
        persona = identities.get_persona(vault, target.ref or "")
        plan.labels.append(f"persona {persona.name}")
        plan.delete(identities.KIND, persona.id)
        plan.count("personas")
        for item in content.list_items(vault, persona=persona.id):
            _plan_content_item(vault, plan, item.id)
        _plan_qs_persona(vault, plan, persona.id)
    elif target.kind == "content":
        item = content.get(vault, target.ref or "")
        plan.labels.append(f"content {item.title!r}")
        _plan_content_item(vault, plan, item.id)
    elif target.kind == "metric":
        from vault.data import query

        metric = query.check_metric(target.ref or "")
        if target.persona:
            personas = [identities.get_persona(vault, target.persona).id]
        else:
            personas = _persona_ids(vault)
        for pid in personas:
            _plan_metric_days(vault, plan, pid, metric, (target.start, target.end))
        span = ""
        if target.start is not None or target.end is not None:
            span = f" from {_day(target.start, 'the start')} to {_day(target.end, 'now')}"
        plan.labels.append(f"metric {metric}{span}")
    elif target.kind != "recipient":
        raise InvalidParameter(f"unknown forget target {target.kind!r}")
    for hook in _PLAN_HOOKS:
        hook(vault, target, plan)


def _day(ms: int | None, default: str) -> str:
    from vault.data import chunks

    return default if ms is None else chunks.utc_day(ms)


def preview(vault: Vault, targets: Target | Sequence[Target]) -> Plan:
    """What forgetting `targets` would remove, and who holds copies; changes nothing."""
    _load_domain_hooks()
    chosen = (targets,) if isinstance(targets, Target) else tuple(targets)
    if not chosen:
        raise InvalidParameter("nothing to forget: name a target")
    plan = Plan(chosen)
    for target in chosen:
        _plan_target(vault, plan, target)
    return plan


# --- doing it ----------------------------------------------------------------------------------


def _rewrite_chunks(vault: Vault, txn: Txn, plan: Plan) -> None:
    from vault.data import catalog, chunks

    for rw in plan.rewrites:
        cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, rw.chunk_id).data)
        kept = cols.take(rw.keep_mask)
        # `update` seals a new version under a fresh record key; the old version's bytes are
        # overwritten in place (secure_delete), so the forgotten samples do not survive.
        txn.update(
            catalog.KIND_CHUNK,
            rw.chunk_id,
            chunks.encode(kept),
            terms=[catalog.chunk_term(rw.persona, rw.metric, rw.day)],
            compress=True,
        )


def _refresh_qs_indexes(vault: Vault, txn: Txn, plan: Plan) -> None:
    """Recompute the day index and catalogue entry of every metric a forget touched."""
    from vault.data import catalog, chunks

    for persona_id, metric in sorted(plan.touched_metrics):
        days_id, days = catalog.load_days(vault.store, persona_id, metric)
        remaining = {d: c for d, c in days.items() if c not in plan.deletes}
        cat_id, stats = catalog.load_catalog(vault.store, persona_id)
        if cat_id is None or cat_id in plan.deletes:
            continue
        unit = stats[metric].unit if metric in stats else ""
        fresh = catalog.MetricStats(unit)
        for chunk_id in remaining.values():
            cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, chunk_id).data)
            if not len(cols):
                continue
            fresh.samples += len(cols)
            first, last = int(cols.start.min()), int(cols.end.max())
            fresh.first = first if fresh.first is None else min(fresh.first, first)
            fresh.last = last if fresh.last is None else max(fresh.last, last)
            for name in cols.source_names():
                fresh.sources[name] = fresh.sources.get(name, 0) + 1
        if days_id is not None and days_id not in plan.deletes:
            if remaining:
                catalog.save_days(txn, persona_id, metric, days_id, remaining)
            else:
                txn.delete(catalog.KIND_DAYS, days_id)
        if fresh.samples:
            stats[metric] = fresh
        else:
            stats.pop(metric, None)
        catalog.save_catalog(txn, persona_id, cat_id, stats)


def forget(
    vault: Vault, targets: Target | Sequence[Target], progress: ProgressCallback | None = None
) -> ForgetResult:
    """Forget `targets` for good (see the module docstring). Preview first with `preview`."""
    began = time.monotonic()
    report = Progress("forget", progress)
    notices: list[Any] = []
    with vault.store.write() as txn:
        # Planned again under the write lock, so what is forgotten is what is there now.
        plan = preview(vault, targets)
        if plan.empty:
            raise InvalidParameter("there is nothing to forget for that target")
        report.start(len(plan.deletes) + len(plan.rewrites) + 1)
        for hook in _NOTICE_HOOKS:
            notices.extend(hook(vault, txn, plan))
        if plan.wipe_all:
            txn.wipe_all()
        else:
            _rewrite_chunks(vault, txn, plan)
            report.advance(len(plan.rewrites))
            _refresh_qs_indexes(vault, txn, plan)
            for record_id, kind in plan.deletes.items():
                txn.delete(kind, record_id)
                report.advance()
        epoch = txn.rotate_epoch()
        txn.audit(
            "forget",
            targets=[t.kind for t in plan.targets],
            **{k: v for k, v in plan.counts.items() if k != "content_bytes"},
        )
    vault.store.collect_garbage()  # leftovers of any interrupted write go too
    wal_truncated = vault.store.reclaim()
    report.advance()
    report.finish()
    return ForgetResult(plan, epoch, time.monotonic() - began, wal_truncated, tuple(notices))
