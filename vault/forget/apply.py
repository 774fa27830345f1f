"""The right to be forgotten, inside the vault: plan again, then crypto-shred.

`forget(vault, targets)` does it in ONE transaction: erasure requests are produced for the
bundles that carried forgotten data, one per grant (`vault.sharing.revocation`; the grants
stay as they are), the records and their blobs are deleted, quantified-self chunks that
straddle a forgotten range are rewritten under fresh keys and their day indexes and
catalogue entries recomputed, the epoch key is rotated (every surviving record key
re-wrapped, the old epoch key destroyed), one audit entry records that a forget happened
(target kinds and counts, never what), and then the WAL is checkpointed and truncated. With
SQLite's `secure_delete` the freed space is zeroed, so no byte of the forgotten plaintext,
ciphertext or wrapped keys remains in the vault directory. A process killed midway leaves
either the whole forget or nothing.

What it cannot reach is said in the result: copies a recipient already received (they get
erasure requests), and copies of the vault made before (backups). Forgetting everything keeps
none of its erasure requests either (the audit log records that they were made): the result
carries them, for the front end to hand over.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vault.core.i18n import N_
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import DEVICE_LOCAL_KINDS, SHRED_KIND, SYNC_DEVICE_KIND
from vault.data import catalog, chunks
from vault.forget.plan import Plan, Target, preview
from vault.sharing import revocation
from vault.sharing.revocation import ErasureRequest

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault


@dataclass(frozen=True)
class ForgetResult:
    """What a forget did, and what it could not do."""

    plan: Plan
    epoch: int
    seconds: float
    wal_truncated: bool
    notices: tuple[ErasureRequest, ...] = ()  # one per grant whose bundles carried what went

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `coffre forget --json`."""
        return {
            **self.plan.as_dict(),
            "epoch": self.epoch,
            "seconds": round(self.seconds, 3),
            "wal_truncated": self.wal_truncated,
            "erasure_requests": [n.id for n in self.notices],
            "cannot_reach": [
                *(
                    ["copies recipients already received (erasure requests were produced)"]
                    if self.plan.holders
                    else []
                ),
                "copies of the vault made before now (backups, synced folders)",
            ],
        }


def _rewrite_chunks(vault: Vault, txn: Txn, plan: Plan) -> None:
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
    for persona_id, metric in sorted(plan.touched_metrics):
        days_id, days = catalog.load_days(vault.store, persona_id, metric)
        remaining = {d: c for d, c in days.items() if c not in plan.deletes}
        cat_id, stats = catalog.load_catalog(vault.store, persona_id)
        if cat_id is None or cat_id in plan.deletes:
            continue
        unit = stats[metric].unit if metric in stats else ""
        fresh = catalog.stats_from_chunks(vault.store, unit, remaining.values())
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
    report = Progress(N_("forget"), progress, unit="records")
    with vault.store.write() as txn:
        # Planned again under the write lock, so what is forgotten is what is there now, from
        # records and lookup lists checked again now: a list rolled back while the person read
        # the preview must not make a forget miss what it names.
        vault.store.verify()
        plan = preview(vault, targets)
        plan.check_not_empty()
        report.start(len(plan.deletes) + len(plan.rewrites) + 1)
        # Before the deletes: a request names the grant and the bundles the ledger recorded.
        # Forgetting everything then wipes the kept copies with the rest; the result has them.
        notices = revocation.requests_for_forget(vault, plan.erasures)
        # What went, by id (never content): sync tells the other devices to forget it too,
        # and rewrites every remote object that held it.
        note: dict[str, Any] = {
            "time": vault.clock.iso(),
            "all": plan.wipe_all,
            "deleted": sorted(plan.deletes),
            "rewritten": sorted({rw.chunk_id for rw in plan.rewrites}),
        }
        if plan.wipe_all:
            txn.wipe_all(keep=DEVICE_LOCAL_KINDS)
        else:
            _rewrite_chunks(vault, txn, plan)
            report.advance(len(plan.rewrites))
            _refresh_qs_indexes(vault, txn, plan)
            for record_id, kind in plan.deletes.items():
                txn.delete(kind, record_id)
                report.advance()
        if vault.store.count(SYNC_DEVICE_KIND):  # only a vault that syncs has copies to reach
            txn.put(SHRED_KIND, json.dumps(note, separators=(",", ":")).encode())
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
    return ForgetResult(plan, epoch, time.monotonic() - began, wal_truncated, notices)
