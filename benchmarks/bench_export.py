"""Export speed: a grant covering one year of five metrics at raw granularity plus content
(full: 1 GiB of media and 500 notes; quick: one month and 64 MiB), exported to an age file,
against the `age` tool encrypting a tar of the same plaintext in the same run. The media
alone and the metrics alone (FHIR, Open mHealth and CSV of every sample) are measured the
same way, to tell the cost of moving bytes from the cost of formatting samples.

    python benchmarks/bench_export.py [--quick]

The peer's plaintext tar is obtained by decrypting Coffre's own bundle, so both encrypt the
very same bytes; both outputs are fsynced, both inputs are in the same cache state (Coffre's
blob files and the peer's tar: see `peers.settle`), and each figure is the median of three
runs (ratios: the median of each run's ratio); the peak resident memory while exporting is
reported too, and `summary` says each ratio against its target. Vaults and files go to a
temporary directory under benchmarks/out/ (git-ignored) and are removed afterwards.
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
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from benchmarks import peers
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


def _rss_mib() -> float:
    """The resident memory of this process, in MiB (0 where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def _peak_rss(action: Callable[[], T]) -> tuple[T, float]:
    """What `action` returns, and the most resident memory (MiB) seen while it ran,
    sampled every 10 ms: a bundle streams, so this stays flat whatever its size."""
    peak = _rss_mib()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.01):
            peak = max(peak, _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        return action(), peak
    finally:
        done.set()
        sampler.join()


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
        peers.settle(tar)
        return _fsynced_age(public, tar, peer), tar.stat().st_size
    finally:
        tar.unlink()
        peer.unlink(missing_ok=True)


def _settle_blobs(vault_dir: Path) -> None:
    """Coffre's blob files in the run's cache state, as the peer's tar is."""
    for path in (vault_dir / "blobs").rglob("*"):
        if path.is_file():
            peers.settle(path)


PARTS: Final = ("whole", "media", "qs")


def run(quick: bool) -> dict[str, Any]:
    days = 31 if quick else 365
    media = 64 * MIB if quick else 1024 * MIB
    notes = 50 if quick else 500
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=OUT, prefix="bench-export-"))
    times: dict[str, list[float]] = {f"{p}_{side}": [] for p in PARTS for side in ("s", "age")}
    sizes: dict[str, int] = {}
    peak_rss = dict.fromkeys(PARTS, 0.0)
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
            grants = {
                "whole": _grant(
                    v,
                    persona.id,
                    consent.ScopeRequest(metrics=metrics, content_tags="blog", attributes="email"),
                ),
                "media": _grant(v, persona.id, consent.ScopeRequest(content_kinds="video")),
                "qs": _grant(v, persona.id, consent.ScopeRequest(metrics=metrics)),
            }
            _, plan_s = _timed(lambda: bundle.prepare(v, grants["whole"]))
            for _ in range(peers.RUNS):
                for part, grant in grants.items():
                    target = work / f"{part}.age"
                    _settle_blobs(work / "vault")
                    (result, seconds), rss = _peak_rss(
                        partial(_timed, partial(bundle.export_bundle, v, grant, target))
                    )
                    peak_rss[part] = max(peak_rss[part], rss)
                    times[f"{part}_s"].append(seconds)
                    sizes[f"{part}_bundle_bytes"] = result.size
                    age_s, tar_bytes = _age_same_plaintext(target, identity, public)
                    times[f"{part}_age"].append(age_s)
                    sizes[f"{part}_tar_bytes"] = tar_bytes
                    target.unlink()
        figures: dict[str, Any] = {
            "runs": peers.RUNS,
            "cache": peers.CACHE,
            "days": days,
            "samples": samples,
            "content_media_bytes": media_size,
            "content_notes": notes,
            "fill_vault_s": round(fill_s, 2),
            "selection_dry_run_s": round(plan_s, 3),
            **sizes,
        }
        targets = {"whole": 2.0, "media": 1.5, "qs": 3.0}
        what = {
            "whole": "the whole grant (metrics, notes and media)",
            "media": f"{media // MIB} MiB of media",
            "qs": f"{days} days of five metrics",
        }
        lines = []
        for part in PARTS:
            mine, age = times[f"{part}_s"], times[f"{part}_age"]
            figures[f"{part}_export_s"] = peers.median(mine)
            figures[f"{part}_age_tool_s"] = peers.median(age)
            # Time ratios (Coffre's time over the peer's): below the target is the goal.
            figures[f"{part}_ratio_to_age"] = ratio = peers.ratio(mine, age)
            figures[f"{part}_target_ratio"] = targets[part]
            figures[f"{part}_peak_rss_mib"] = round(peak_rss[part], 1)
            verdict = "met" if ratio <= targets[part] else "NOT met"
            lines.append(
                f"{what[part]} into a bundle: {ratio}x age on the same tar "
                f"(target at most {targets[part]}x: {verdict})"
            )
        figures["qs_us_per_sample"] = round(figures["qs_export_s"] / samples * 1e6, 2)
        figures["summary"] = lines
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one month and 64 MiB of media")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))


if __name__ == "__main__":
    main()
