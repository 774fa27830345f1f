"""Forgetting a persona that holds one million samples and 1,000 content items.

Reports the forget's wall time and the vault's size before and after (target: under 10 s).
There is no peer tool that crypto-shreds a vault; the figure stands on its own.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

from vault import content
from vault import personas as identities
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.forget import Target, forget

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway vault
T0 = 1_700_000_000_000


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(quick: bool) -> dict[str, object]:
    samples = 100_000 if quick else 1_000_000
    items = 100 if quick else 1_000
    work = Path(tempfile.mkdtemp(prefix="coffre-bench-"))
    try:
        with Vault.create(work / "v", PASSPHRASE, kdf="minimum") as v:
            ana = identities.add_persona(v, "Ana")
            bo = identities.add_persona(v, "Bo")
            t = time.perf_counter()
            for persona, n in ((ana, samples), (bo, samples // 10)):
                with QSWriter(v, persona.id) as w:
                    for i in range(n):
                        ts = T0 + i * 30_000  # one sample every 30 s
                        w.add(Sample("heart_rate", ts, ts, 60 + i % 40, "/min", source="Watch"))
            fill_s = time.perf_counter() - t
            for i in range(items):
                content.add(
                    v,
                    io.BytesIO(f"note {i} ".encode() * 200),
                    content.ItemMeta(title=f"note {i}"),
                    persona=ana.id,
                )
            v.store.checkpoint()
            before = _size(v.path)
            t = time.perf_counter()
            result = forget(v, Target.of_persona(ana.id))
            forget_s = time.perf_counter() - t
            after = _size(v.path)
        return {
            "samples_forgotten": result.plan.counts.get("samples", 0),
            "content_items_forgotten": result.plan.counts.get("content_items", 0),
            "forget_s": round(forget_s, 2),
            "target_s": 10,
            "vault_bytes_before": before,
            "vault_bytes_after": after,
            "fill_s": round(fill_s, 1),
            "wal_truncated": result.wal_truncated,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
