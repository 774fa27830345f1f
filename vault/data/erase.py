"""Removing quantified-self data: a metric over a time range, or all of a persona's.

These delete records and keep the day indexes and the catalogue consistent, inside the
caller's transaction when there is one (forgetting and retention rules build on them; the
epoch rotation and WAL truncation that make a forget final are theirs to do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault.data import catalog, chunks, query

if TYPE_CHECKING:
    from vault.core.vault import Vault


@dataclass(frozen=True)
class Erased:
    """What a removal took away (counts only)."""

    samples: int = 0
    chunks: int = 0
    workouts: int = 0
    summaries: int = 0


def erase_range(
    vault: Vault, persona_id: str, metric: str, start: int | None = None, end: int | None = None
) -> Erased:
    """Delete a metric's samples whose start is in [start, end) (None: unbounded)."""
    import numpy as np

    query.check_metric(metric)
    store = vault.store
    removed = 0
    touched = 0
    with store.write() as txn:
        days_id, days = catalog.load_days(store, persona_id, metric)
        cat_id, stats = catalog.load_catalog(store, persona_id)
        if days_id is None or metric not in stats:
            return Erased()
        lo = chunks.utc_day(start) if start is not None else ""
        hi = chunks.utc_day(end - 1) if end is not None else "9999"
        st = stats[metric]
        for day in sorted(d for d in days if lo <= d <= hi):
            rid = days[day]
            cols = chunks.decode(store.get(catalog.KIND_CHUNK, rid).data)
            gone = np.ones(len(cols), dtype=bool)
            if start is not None:
                gone &= cols.start >= start
            if end is not None:
                gone &= cols.start < end
            n = int(gone.sum())
            if not n:
                continue
            for i, c in enumerate(np.bincount(cols.source[gone]).tolist()):
                if c:
                    name = cols.strings[i]
                    st.sources[name] = st.sources.get(name, 0) - c
            removed += n
            touched += 1
            if n == len(cols):
                txn.delete(catalog.KIND_CHUNK, rid)
                del days[day]
            else:
                kept, _ = chunks.merge(None, cols.take(~gone))
                terms = [catalog.chunk_term(persona_id, metric, day)]
                txn.update(catalog.KIND_CHUNK, rid, chunks.encode(kept), terms=terms, compress=True)
        if not removed:
            return Erased()
        st.samples -= removed
        st.sources = {k: v for k, v in st.sources.items() if v > 0}
        _refresh_span(vault, st, days)
        if days:
            catalog.save_days(txn, persona_id, metric, days_id, days)
        else:
            txn.delete(catalog.KIND_DAYS, days_id)
            del stats[metric]
        catalog.save_catalog(txn, persona_id, cat_id, stats)
        txn.audit("qs.erase", persona=persona_id, samples=removed, chunks=touched)
    return Erased(samples=removed, chunks=touched)


def _refresh_span(vault: Vault, st: catalog.MetricStats, days: dict[str, str]) -> None:
    """Recompute first and last from the first and the last two remaining chunks."""
    if not days:
        st.first = st.last = None
        return
    ordered = sorted(days)
    first = chunks.decode(vault.store.get(catalog.KIND_CHUNK, days[ordered[0]]).data)
    st.first = int(first.start[0])
    last = 0
    for day in ordered[-2:]:  # a sample lasts less than a day, so its end is in these
        cols = chunks.decode(vault.store.get(catalog.KIND_CHUNK, days[day]).data)
        last = max(last, int(cols.end.max()))
    st.last = last


def erase_persona(vault: Vault, persona_id: str) -> Erased:
    """Delete every QS record of a persona: chunks, day indexes, catalogue, workouts and
    daily summaries (joining the thread's open transaction, if any)."""
    store = vault.store
    n_samples = n_chunks = 0
    with store.write() as txn:
        cat_id, stats = catalog.load_catalog(store, persona_id)
        for metric, st in stats.items():
            days_id, days = catalog.load_days(store, persona_id, metric)
            for rid in days.values():
                txn.delete(catalog.KIND_CHUNK, rid)
            n_chunks += len(days)
            n_samples += st.samples
            if days_id is not None:
                txn.delete(catalog.KIND_DAYS, days_id)
        if cat_id is not None:
            txn.delete(catalog.KIND_CATALOG, cat_id)
        workouts = store.find(catalog.KIND_WORKOUT, "persona", persona_id)
        for rec in workouts:
            txn.delete(catalog.KIND_WORKOUT, rec.id)
        summaries = store.find(catalog.KIND_SUMMARY, "persona", persona_id)
        for rec in summaries:
            txn.delete(catalog.KIND_SUMMARY, rec.id)
        erased = Erased(n_samples, n_chunks, len(workouts), len(summaries))
        txn.audit(
            "qs.erase",
            persona=persona_id,
            samples=erased.samples,
            chunks=erased.chunks,
            workouts=erased.workouts,
            summaries=erased.summaries,
        )
    return erased
