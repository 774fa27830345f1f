"""Export speed: a grant covering one year of five metrics at raw granularity plus content
(full: 1 GiB of media and 500 notes; quick: one month and 16 MiB), exported to an age file,
against the `age` tool encrypting a tar of the same plaintext in the same run. The media
alone and the metrics alone (FHIR, Open mHealth and CSV of every sample) are measured the
same way, to tell the cost of moving bytes from the cost of formatting samples.

    python benchmarks/bench_export.py [--quick]

The peer's plaintext tar is obtained by decrypting Coffre's own bundle, so both encrypt the
very same bytes; both outputs are fsynced. Vaults and files go to a temporary directory under
benchmarks/out/ (git-ignored) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.core import crypto
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.sharing import bundles as bundle

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
PASSPHRASE = "bench-export-passphrase"  # noqa: S105  # a throwaway benchmark vault
MIB = 1024 * 1024
DAY_MS = 86_400_000
# (metric, unit, seconds between samples, value range, interval length in seconds)
METRICS = (
    ("heart_rate", "/min", 300, (50, 160), 0),
    ("steps", "count", 900, (0, 1500), 900),
    ("active_energy", "kcal", 900, (0, 60), 900),
    ("distance", "m", 900, (0, 1200), 900),
    ("body_mass", "kg", 86_400, (60, 80), 0),
)


def _fill_qs(vault: Vault, persona_id: str, days: int) -> int:
    rng = random.Random(7)
    start = 1_735_689_600_000  # 2025-01-01T00:00:00Z
    n = 0
    with QSWriter(vault, persona_id) as writer:
        for metric, unit, every, (lo, hi), span in METRICS:
            step = every * 1000
            for t in range(start, start + days * DAY_MS, step):
                value = round(rng.uniform(lo, hi), 1)
                writer.add(Sample(metric, t, t + span * 1000, value, unit, "Watch"))
                n += 1
    return n


def _fill_content(vault: Vault, persona_id: str, media_bytes: int, notes: int) -> int:
    for i in range(notes):
        body = (f"# Note {i}\n\n" + "Some words about the day. " * 40).encode()
        meta = content.ItemMeta(
            title=f"Note {i}", kind="post", tags=("blog",), created="2025-06-01T10:00:00Z"
        )
        content.add(vault, io.BytesIO(body), meta, persona=persona_id)
    files = 16
    per = media_bytes // files
    for i in range(files):
        meta = content.ItemMeta(
            title=f"Video {i}",
            kind="video",
            tags=("blog",),
            created="2025-07-01T10:00:00Z",
            media_type="video/mp4",
            filename=f"clip-{i}.mp4",
        )

        def chunks(n: int = per) -> Any:
            left = n
            while left:
                k = min(left, 4 * MIB)
                yield os.urandom(k)
                left -= k

        content.add(vault, chunks(), meta, persona=persona_id, size_hint=per)
    return files * per


def _fsynced_age(key: str, src: Path, dst: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["age", "-r", key, "-o", str(dst), str(src)], check=True)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t


def run(quick: bool) -> dict[str, Any]:
    days = 31 if quick else 365
    media = 16 * MIB if quick else 1024 * MIB
    notes = 50 if quick else 500
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=OUT, prefix="bench-export-"))
    try:
        with Vault.create(work / "vault", PASSPHRASE, kdf="minimum") as v:
            persona = identities.add_persona(
                v, "Bench", [identities.parse_attribute("email", "b@example.org")]
            )
            t = time.perf_counter()
            samples = _fill_qs(v, persona.id, days)
            media_size = _fill_content(v, persona.id, media, notes)
            fill_s = time.perf_counter() - t
            secret, public = crypto.age_keygen()
            identity = work / "id.key"
            identity.write_text(consent.recipients.identity_file_text(secret, public))
            consent.add_recipient(v, "Bench platform", public)
            g = consent.create_grant(
                v,
                recipient="Bench platform",
                persona=persona.id,
                scope=consent.ScopeRequest(
                    metrics=",".join(m[0] for m in METRICS),
                    content_tags="blog",
                    attributes="email",
                ),
                purpose="dpv:ServiceProvision",
                valid_until="2099-01-01",
            )
            media_only = consent.create_grant(
                v,
                recipient="Bench platform",
                persona=persona.id,
                scope=consent.ScopeRequest(content_kinds="video"),
                purpose="dpv:ServiceProvision",
                valid_until="2099-01-01",
            )
            t = time.perf_counter()
            result = bundle.export_bundle(v, g.id, work / "bundle.age")
            export_s = time.perf_counter() - t
            t = time.perf_counter()
            bundle.prepare(v, g.id)
            plan_s = time.perf_counter() - t
            qs_only = consent.create_grant(
                v,
                recipient="Bench platform",
                persona=persona.id,
                scope=consent.ScopeRequest(metrics=",".join(m[0] for m in METRICS)),
                purpose="dpv:ServiceProvision",
                valid_until="2099-01-01",
            )
            t = time.perf_counter()
            media_result = bundle.export_bundle(v, media_only.id, work / "media.age")
            media_s = time.perf_counter() - t
            t = time.perf_counter()
            qs_result = bundle.export_bundle(v, qs_only.id, work / "qs.age")
            qs_s = time.perf_counter() - t
        tar = work / "plain.tar"
        subprocess.run(
            ["age", "-d", "-i", str(identity), "-o", str(tar), str(work / "bundle.age")],
            check=True,
        )
        age_s = _fsynced_age(public, tar, work / "peer.age")
        tar_bytes = tar.stat().st_size
        (work / "peer.age").unlink()
        tar.unlink()
        subprocess.run(
            ["age", "-d", "-i", str(identity), "-o", str(tar), str(work / "media.age")],
            check=True,
        )
        media_age_s = _fsynced_age(public, tar, work / "peer.age")
        (work / "peer.age").unlink()
        tar.unlink()
        subprocess.run(
            ["age", "-d", "-i", str(identity), "-o", str(tar), str(work / "qs.age")],
            check=True,
        )
        qs_age_s = _fsynced_age(public, tar, work / "peer.age")
        return {
            "days": days,
            "samples": samples,
            "content_media_bytes": media_size,
            "content_notes": notes,
            "fill_vault_s": round(fill_s, 2),
            "plaintext_tar_bytes": tar_bytes,
            "bundle_bytes": result.size,
            "bundle_files": len(result.manifest["files"]) + 2,
            "coffre_export_s": round(export_s, 3),
            "age_tool_same_plaintext_s": round(age_s, 3),
            "ratio_to_age": round(export_s / age_s, 2),
            "target_ratio": 2.0,
            "selection_dry_run_s": round(plan_s, 3),
            "media_only_bundle_bytes": media_result.size,
            "media_only_export_s": round(media_s, 3),
            "media_only_age_tool_s": round(media_age_s, 3),
            "media_only_ratio_to_age": round(media_s / media_age_s, 2),
            "qs_only_bundle_bytes": qs_result.size,
            "qs_only_export_s": round(qs_s, 3),
            "qs_only_us_per_sample": round(qs_s / samples * 1e6, 2),
            "qs_only_age_tool_s": round(qs_age_s, 3),
            "qs_only_ratio_to_age": round(qs_s / qs_age_s, 2),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one month and 16 MiB of media")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
