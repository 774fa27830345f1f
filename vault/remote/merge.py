"""When two devices changed the same thing: one result, the same on every device.

Most records follow "last writer wins" by stamp (logical clock, then device id). Where that
would lose something a person acknowledged, the two versions are united instead, and the
union is written canonically, so every device computes the same bytes whichever side it
starts from:

- a quantified-self day (``qs.chunk``): the union of both sets of samples, exact duplicates
  dropped (the import rule): two devices importing different files into one day keep both;
- a metric's day index (``qs.days``): the union of both maps;
- a content item (``content.item``): both sets of versions kept as versions.

Records that must be unique by a lookup term (one day index per metric, one chunk per day,
one catalogue per persona, one workout per dedup key...) can be created twice, once on each
device: `repair` keeps the one with the smaller id, folds the other into it and deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from vault.core.records import Record, pack_envelope, unpack_envelope
from vault.data import catalog, chunks

if TYPE_CHECKING:
    from vault.core.store import Store
    from vault.core.txn import Txn

CONTENT_ITEM: Final = "content.item"

# The lookup term that names at most one record of each of these kinds.
UNIQUE_TERMS: Final = {
    catalog.KIND_DAYS: "pm",
    catalog.KIND_CATALOG: "persona",
    catalog.KIND_CHUNK: "pmd",
    catalog.KIND_WORKOUT: "wk",
    catalog.KIND_SUMMARY: "psd",
    catalog.KIND_SETTINGS: "name",
}


def canonical_union(a: bytes, b: bytes) -> bytes:
    """Both chunks' samples, exact duplicates dropped, in one canonical order and string
    table (so union(a, b) and union(b, a) are the same bytes)."""
    import numpy as np

    left, right = chunks.decode(a), chunks.decode(b)
    joined = chunks.concat([left, right])
    names = sorted(set(joined.strings) - {""})
    table = np.array([0] + [names.index(s) + 1 if s else 0 for s in joined.strings[1:]])
    remap = {i: int(table[i]) for i in range(len(joined.strings))}
    mapper = np.vectorize(lambda i: remap[int(i)], otypes=[np.int64])
    src = mapper(joined.source) if len(joined) else joined.source
    dev = mapper(joined.device) if len(joined) else joined.device
    meta = mapper(joined.meta) if len(joined) else joined.meta
    # Samples that stand for records are told apart by the record they name (the import rule).
    keys = mapper(chunks.record_keys(joined)) if len(joined) else joined.meta
    order = np.lexsort(
        (meta, joined.offset, keys, joined.value, dev, src, joined.end, joined.start)
    )
    start, end, value = joined.start[order], joined.end[order], joined.value[order]
    offset, src, dev, meta = joined.offset[order], src[order], dev[order], meta[order]
    keys = keys[order]
    if len(start) > 1:
        same = (
            (start[1:] == start[:-1])
            & (end[1:] == end[:-1])
            & (value[1:] == value[:-1])
            & (src[1:] == src[:-1])
            & (dev[1:] == dev[:-1])
            & (keys[1:] == keys[:-1])
        )
        keep = np.concatenate(([True], ~same))
        start, end, value = start[keep], end[keep], value[keep]
        offset, src, dev, meta = offset[keep], src[keep], dev[keep], meta[keep]
    unit = left.unit or right.unit
    cols = chunks.Columns(start, end, value, offset, src, dev, meta, ("", *names), unit)
    return chunks.encode(cols)


def _union_days(a: bytes, b: bytes) -> bytes:
    days = dict(json.loads(a)["days"])
    for day, chunk_id in json.loads(b)["days"].items():
        days[day] = min(days.get(day, chunk_id), chunk_id)  # the repair keeps the smaller id
    return json.dumps({"days": dict(sorted(days.items()))}, separators=(",", ":")).encode()


def _union_item(winner: bytes, loser: bytes) -> bytes:
    """The winner's facts, with every version of both sides kept: a number both sides used
    for different versions stays with the smaller version id, the other is numbered after."""
    win, lose = json.loads(winner), json.loads(loser)
    by_id: dict[str, int] = {}
    for doc in (win, lose):
        for number, rid in doc.get("versions", {}).items():
            by_id.setdefault(rid, int(number))
    taken: dict[int, str] = {}
    extra: list[str] = []
    for rid, number in sorted(by_id.items(), key=lambda kv: (kv[1], kv[0])):
        if number in taken:
            extra.append(rid)
        else:
            taken[number] = rid
    for rid in sorted(extra):
        taken[max(taken) + 1] = rid
    win["versions"] = {str(n): rid for n, rid in sorted(taken.items())}
    win["version"] = max(taken) if taken else win.get("version", 1)
    if "dedup" in win or "dedup" in lose:
        win["dedup"] = sorted(set(win.get("dedup", [])) | set(lose.get("dedup", [])))
    return json.dumps(win, separators=(",", ":")).encode()


def _union_catalog(a: bytes, b: bytes) -> bytes:
    """Every metric either side lists (the stats are computed again from the chunks after)."""
    left, right = json.loads(a), json.loads(b)
    metrics = {**right.get("metrics", {}), **left.get("metrics", {})}
    left["metrics"] = dict(sorted(metrics.items()))
    return json.dumps(left, separators=(",", ":")).encode()


_UNIONS: Final[dict[str, Callable[[bytes, bytes], bytes]]] = {
    catalog.KIND_CHUNK: canonical_union,
    catalog.KIND_DAYS: _union_days,
    catalog.KIND_CATALOG: _union_catalog,
}
_COMPRESSED: Final = frozenset({catalog.KIND_CHUNK, catalog.KIND_DAYS, catalog.KIND_CATALOG})
# The quantified-self records a catalogue is computed from.
_QS_INDEXED: Final = _COMPRESSED


def merge(local: bytes, remote: bytes, remote_wins: bool) -> bytes:
    """The envelope two concurrent versions of one record become: a union where the kind
    has one, else the winner's (`remote_wins`: the remote stamp is the greater)."""
    kind, lbody, lterms, lblobs = unpack_envelope(local)
    rkind, rbody, rterms, rblobs = unpack_envelope(remote)
    if kind != rkind:
        return remote if remote_wins else local
    union = _UNIONS.get(kind)
    if union is not None:
        body = union(lbody, rbody)
    elif kind == CONTENT_ITEM:
        body = _union_item(rbody, lbody) if remote_wins else _union_item(lbody, rbody)
    else:
        return remote if remote_wins else local
    terms = tuple(sorted(set(lterms) | set(rterms)))
    blobs = rblobs if remote_wins else lblobs
    return pack_envelope(kind, body, terms, blobs, kind in _COMPRESSED)


def same_content(a: bytes, b: bytes) -> bool:
    """Whether two envelopes say the same (their compressed bytes may differ)."""
    return a == b or unpack_envelope(a) == unpack_envelope(b)


@dataclass
class Repair:
    """What a pull touched that may need putting back together."""

    kinds: dict[str, set[str]] = field(default_factory=dict)  # kind -> unique-term values
    personas: set[str] = field(default_factory=set)  # catalogues to compute again
    folded: set[tuple[str, str]] = field(default_factory=set)  # (persona, metric) indexes to fix

    def note(self, kind: str, terms: tuple[tuple[str, str], ...], *, merged: bool) -> None:
        """A record written by a pull; `merged`: united with this device's version."""
        label = UNIQUE_TERMS.get(kind)
        if label is None:
            return
        for lab, value in terms:
            if lab == label:
                self.kinds.setdefault(kind, set()).add(value)
                if merged and kind in _QS_INDEXED:
                    self.personas.add(value.split(":", 1)[0])


def repair(
    store: Store,
    txn: Txn,
    todo: Repair,
    delete: Callable[[str, str], None],
    write: Callable[..., None],
) -> None:
    """Fold duplicates of unique records into the one with the smallest id, then compute the
    touched personas' catalogues again. `delete(id, into)` and `write(record, body)` go through the
    sync engine, which stamps them so the other devices learn of them."""
    # Day indexes first (a metric indexed twice), then the chunks they name, then the rest.
    order = [catalog.KIND_DAYS, catalog.KIND_CHUNK] + [
        k for k in UNIQUE_TERMS if k not in (catalog.KIND_DAYS, catalog.KIND_CHUNK)
    ]
    for kind in order:
        label = UNIQUE_TERMS[kind]
        for value in sorted(todo.kinds.get(kind, ())):
            if len(txn.posting(kind, label, value).ids) < 2:
                continue  # the common case: no duplicate, and nothing decrypted to know it
            if kind in _QS_INDEXED:
                todo.personas.add(value.split(":", 1)[0])
                if kind != catalog.KIND_CATALOG:
                    todo.folded.add(_persona_metric(kind, value))
            if kind == catalog.KIND_CATALOG:
                continue  # computed again below, from the chunks
            found = sorted(store.find(kind, label, value), key=lambda r: r.id)
            if len(found) < 2:
                continue
            keep, body = found[0], found[0].data
            for other in found[1:]:
                union = _UNIONS.get(kind)
                if union is not None:
                    body = union(body, other.data)
                delete(other.id, keep.id)
            if body != keep.data:
                write(keep, body)
            if kind == catalog.KIND_DAYS:
                # The chunks the united index names may be duplicates too.
                for day in json.loads(body)["days"]:
                    persona, _, metric = value.partition(":")
                    todo.kinds.setdefault(catalog.KIND_CHUNK, set()).add(
                        catalog.chunk_term(persona, metric, day)[1]
                    )
    _point_days_at_survivors(store, todo, write)
    for persona in sorted(todo.personas):
        _recompute_catalog(store, txn, persona, delete, write)


def _persona_metric(kind: str, value: str) -> tuple[str, str]:
    """(persona, metric) of a day index's `pm` or a chunk's `pmd` value."""
    if kind == catalog.KIND_CHUNK:
        value = value.rsplit(":", 1)[0]
    persona, _, metric = value.partition(":")
    return persona, metric


def _point_days_at_survivors(store: Store, todo: Repair, write: Callable[..., None]) -> None:
    """A day index naming a chunk that was folded into another names the survivor."""
    for persona, metric in sorted(todo.folded):
        days_id, days = catalog.load_days(store, persona, metric)
        if days_id is None:
            continue
        fixed = dict(days)
        for day in days:
            found = sorted(
                r.id for r in store.find(catalog.KIND_CHUNK, "pmd", f"{persona}:{metric}:{day}")
            )
            if found:
                fixed[day] = found[0]
            else:
                fixed.pop(day)
        if fixed != days:
            rec = store.get(catalog.KIND_DAYS, days_id)
            write(
                rec,
                json.dumps({"days": dict(sorted(fixed.items()))}, separators=(",", ":")).encode(),
            )


def _recompute_catalog(
    store: Store,
    txn: Txn,
    persona: str,
    delete: Callable[[str, str], None],
    write: Callable[..., None],
) -> None:
    """The persona's catalogue computed from its day indexes and chunks: the same on every
    device that holds the same chunks."""
    found = sorted(store.find(catalog.KIND_CATALOG, "persona", persona), key=lambda r: r.id)
    if not found:
        return
    keep = found[0]
    units: dict[str, str] = {}
    for rec in found:
        for metric, stats in rec.json()["metrics"].items():
            units.setdefault(metric, stats["unit"])
    for other in found[1:]:
        delete(other.id, keep.id)
    fresh: dict[str, catalog.MetricStats] = {}
    for metric in sorted(units):
        _days_id, days = catalog.load_days(store, persona, metric)
        stats = catalog.stats_from_chunks(store, units[metric], days.values())
        if stats.samples:
            fresh[metric] = stats
    body = json.dumps(
        {"persona": persona, "metrics": {m: s.to_json() for m, s in sorted(fresh.items())}},
        separators=(",", ":"),
    ).encode()
    if body != keep.data:
        write(keep, body)


def record_body(rec: Record, body: bytes) -> bytes:
    """The envelope of `rec` with a new body (same kind, terms and blobs)."""
    return pack_envelope(rec.kind, body, rec.terms, rec.blobs, rec.kind in _COMPRESSED)


def fold_union(kind: str, survivor: bytes, folded: bytes) -> bytes | None:
    """The survivor's body with what a folded duplicate held (None: the kind has no union)."""
    union = _UNIONS.get(kind)
    return union(survivor, folded) if union is not None else None
