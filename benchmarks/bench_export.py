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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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
PLATFORM = "Bench platform"
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
            title=f"Note {i}",
            kind="post",
            tags=("blog",),
            created="2025-06-01T10:00:00Z",
            audience=content.PUBLIC,  # what a grant shares unless it names other audiences
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
            audience=content.PUBLIC,
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


T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[T, float]:
    """What `action` returns, and the seconds it took."""
    t = time.perf_counter()
    result = action()
    return result, time.perf_counter() - t


def _grant(vault: Vault, persona_id: str, scope: consent.ScopeRequest) -> str:
    """A grant of `scope` to the bench platform; returns its id."""
    return consent.create_grant(
        vault,
        recipient=PLATFORM,
        persona=persona_id,
        scope=scope,
        purpose="dpv:ServiceProvision",
        valid_until="2099-01-01",
    ).id


def _age_same_plaintext(bundle_path: Path, identity: Path, public: str) -> tuple[float, int]:
    """The peer: `age` encrypting the very tar inside a Coffre bundle, its output fsynced:
    (seconds, size of the tar). The tar and the peer's output are removed afterwards."""
    tar, peer = bundle_path.with_suffix(".tar"), bundle_path.with_suffix(".peer.age")
    subprocess.run(["age", "-d", "-i", str(identity), "-o", str(tar), str(bundle_path)], check=True)
    try:
        return _fsynced_age(public, tar, peer), tar.stat().st_size
    finally:
        tar.unlink()
        peer.unlink(missing_ok=True)


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
            consent.add_recipient(v, PLATFORM, public)
            metrics = ",".join(m[0] for m in METRICS)
            everything = _grant(
                v,
                persona.id,
                consent.ScopeRequest(metrics=metrics, content_tags="blog", attributes="email"),
            )
            media_only = _grant(v, persona.id, consent.ScopeRequest(content_kinds="video"))
            result, export_s = _timed(
                lambda: bundle.export_bundle(v, everything, work / "bundle.age")
            )
            _, plan_s = _timed(lambda: bundle.prepare(v, everything))
            qs_only = _grant(v, persona.id, consent.ScopeRequest(metrics=metrics))
            media_result, media_s = _timed(
                lambda: bundle.export_bundle(v, media_only, work / "media.age")
            )
            qs_result, qs_s = _timed(lambda: bundle.export_bundle(v, qs_only, work / "qs.age"))
        age_s, tar_bytes = _age_same_plaintext(work / "bundle.age", identity, public)
        media_age_s, _ = _age_same_plaintext(work / "media.age", identity, public)
        qs_age_s, _ = _age_same_plaintext(work / "qs.age", identity, public)
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
