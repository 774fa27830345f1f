"""Re-keying a vault of one million samples and 1 GiB of media, and lookups by value.

The re-key replaces every key and re-seals every record and the audit log in one transaction
(target: under 60 s, memory flat). Its peer is what the person would otherwise do to get the
same guarantee: `age` re-encrypting the same media, measured in the same run. Lookups (one
posting list opened, then the records it names) are timed per call over many distinct values,
as the importers' dedup checks and the ledger's queries do them.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vault import content
from vault import personas as identities
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import Sample

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway vault
T0 = 1_700_000_000_000
MIB = 1 << 20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fill(v: Vault, samples: int, media_mib: int, notes: int) -> None:
    ana = identities.add_persona(v, "Ana")
    with QSWriter(v, ana.id) as w:
        for i in range(samples):
            ts = T0 + i * 30_000
            w.add(Sample("heart_rate", ts, ts, 60 + i % 40, "/min", source="Watch"))
    chunk = os.urandom(MIB)
    for i in range(max(1, media_mib // 64)):
        size = min(64, media_mib - 64 * i)
        content.add(
            v,
            (chunk for _ in range(size)),
            content.ItemMeta(title=f"clip {i}", kind="video", tags=("clips",)),
        )
    for i in range(notes):
        content.add(v, io.BytesIO(f"note {i} ".encode() * 50), content.ItemMeta(title=f"note {i}"))


def _age_reencrypt_s(work: Path, media_mib: int) -> float | None:
    """`age` encrypting the same amount of media (what re-encrypting the files would cost)."""
    if shutil.which("age") is None or shutil.which("age-keygen") is None:
        return None
    key = work / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    plain = work / "media.bin"
    with plain.open("wb") as f:
        chunk = os.urandom(MIB)
        for _ in range(media_mib):
            f.write(chunk)
    t = time.perf_counter()
    subprocess.run(["age", "-r", recipient, "-o", str(work / "media.age"), str(plain)], check=True)
    return time.perf_counter() - t


def run(quick: bool) -> dict[str, object]:
    samples = 100_000 if quick else 1_000_000
    media_mib = 64 if quick else 1024
    notes = 200 if quick else 2_000
    work = Path(tempfile.mkdtemp(prefix="coffre-bench-"))
    try:
        with Vault.create(work / "v", PASSPHRASE, kdf="minimum") as v:
            t = time.perf_counter()
            _fill(v, samples, media_mib, notes)
            fill_s = time.perf_counter() - t
            records = v.store.counts()["records"]
            rss_before = _rss_mib()
            t = time.perf_counter()
            v.rekey(PASSPHRASE)
            rekey_s = time.perf_counter() - t
            rss_after = _rss_mib()
            # Lookups: every note's dedup-free title is not a term; tags and personas are.
            t = time.perf_counter()
            n = 0
            for _ in range(200):
                n += len(content.list_items(v, tag="clips"))
            lookup_ms = (time.perf_counter() - t) / 200 * 1000
            problems = v.check()
        age_s = _age_reencrypt_s(work, media_mib)
        return {
            "samples": samples,
            "media_mib": media_mib,
            "records": records,
            "fill_s": round(fill_s, 1),
            "rekey_s": round(rekey_s, 2),
            "target_s": 60,
            "peak_rss_mib_before_rekey": round(rss_before, 1),
            "peak_rss_mib_after_rekey": round(rss_after, 1),
            "age_reencrypt_media_s": None if age_s is None else round(age_s, 2),
            "ratio_to_age_reencrypt": None if not age_s else round(rekey_s / age_s, 3),
            "tag_lookup_ms": round(lookup_ms, 3),
            "tag_lookup_items": n // 200,
            "check_after_rekey_ok": problems == [],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
