"""Where quantified-self records live: record kinds, lookup terms, the per-persona catalogue.

Every record here is encrypted like any other; lookups go through blind indexes, so which
metrics and which days a person has is unreadable without the passphrase.

- ``qs.chunk``    one (persona, metric, UTC day) of samples (vault/qs/chunks.py), term
                  ``pmd = persona:metric:day``
- ``qs.days``     per (persona, metric): UTC day -> chunk id, term ``pm = persona:metric``
- ``qs.catalog``  per persona: per metric unit, sample count, first and last instant and
                  samples per source, term ``persona``; `data metrics` reads only this
- ``qs.workout``  one workout with events and route, terms ``persona`` and ``wk`` (dedup key)
- ``qs.summary``  one day's activity summary, terms ``persona`` and ``psd = persona:day``
- ``qs.settings`` vault-wide QS settings (the source priority), term ``name``
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from vault.core.store import Store
from vault.core.txn import Txn

KIND_CHUNK: Final = "qs.chunk"
KIND_DAYS: Final = "qs.days"
KIND_CATALOG: Final = "qs.catalog"
KIND_WORKOUT: Final = "qs.workout"
KIND_SUMMARY: Final = "qs.summary"
KIND_SETTINGS: Final = "qs.settings"


def chunk_term(persona_id: str, metric: str, day: str) -> tuple[str, str]:
    return ("pmd", f"{persona_id}:{metric}:{day}")


def days_term(persona_id: str, metric: str) -> tuple[str, str]:
    return ("pm", f"{persona_id}:{metric}")


@dataclass
class MetricStats:
    """What the catalogue knows about one metric of one persona (kept up to date by imports)."""

    unit: str
    samples: int = 0
    first: int | None = None  # UTC ms of the earliest start
    last: int | None = None  # UTC ms of the latest end
    sources: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "samples": self.samples,
            "first": self.first,
            "last": self.last,
            "sources": self.sources,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MetricStats:
        return cls(d["unit"], int(d["samples"]), d["first"], d["last"], dict(d["sources"]))


def load_catalog(store: Store, persona_id: str) -> tuple[str | None, dict[str, MetricStats]]:
    """The persona's catalogue record id (None if none yet) and its per-metric stats."""
    found = store.find(KIND_CATALOG, "persona", persona_id)
    if not found:
        return None, {}
    raw = found[0].json()
    return found[0].id, {m: MetricStats.from_json(d) for m, d in raw["metrics"].items()}


def save_catalog(
    txn: Txn, persona_id: str, record_id: str | None, stats: dict[str, MetricStats]
) -> str:
    body = json.dumps(
        {"persona": persona_id, "metrics": {m: s.to_json() for m, s in sorted(stats.items())}},
        separators=(",", ":"),
    ).encode()
    terms = [("persona", persona_id)]
    if record_id is None:
        return txn.put(KIND_CATALOG, body, terms=terms, compress=True)
    txn.update(KIND_CATALOG, record_id, body, terms=terms, compress=True)
    return record_id


def load_days(store: Store, persona_id: str, metric: str) -> tuple[str | None, dict[str, str]]:
    """The (persona, metric) day index: record id (None if none yet) and day -> chunk id."""
    label, value = days_term(persona_id, metric)
    found = store.find(KIND_DAYS, label, value)
    if not found:
        return None, {}
    return found[0].id, dict(found[0].json()["days"])


def save_days(
    txn: Txn, persona_id: str, metric: str, record_id: str | None, days: dict[str, str]
) -> str:
    body = json.dumps({"days": dict(sorted(days.items()))}, separators=(",", ":")).encode()
    terms = [days_term(persona_id, metric)]
    if record_id is None:
        return txn.put(KIND_DAYS, body, terms=terms, compress=True)
    txn.update(KIND_DAYS, record_id, body, terms=terms, compress=True)
    return record_id


def stats_from_chunks(store: Store, unit: str, chunk_ids: Iterable[str]) -> MetricStats:
    """A metric's catalogue entry computed again from its chunks (after a forget removed
    samples, or sync merged two devices' days), sources in name order."""
    from vault.data import chunks  # numpy is loaded only when chunks are read

    fresh = MetricStats(unit)
    sources: dict[str, int] = {}
    for chunk_id in chunk_ids:
        cols = chunks.decode(store.get(KIND_CHUNK, chunk_id).data)
        if not len(cols):
            continue
        fresh.samples += len(cols)
        first, last = int(cols.start.min()), int(cols.end.max())
        fresh.first = first if fresh.first is None else min(fresh.first, first)
        fresh.last = last if fresh.last is None else max(fresh.last, last)
        for name in cols.source_names():
            sources[name] = sources.get(name, 0) + 1
    fresh.sources = dict(sorted(sources.items()))
    return fresh
