"""Quantified-self storage benchmark: writer throughput, query speed, size on disk, memory.

Generates a year of heart rate (one reading a minute: 525,600 samples) and of steps from two
overlapping sources, writes them through QSWriter into a fresh vault, then times:

- the writer, end to end (samples/s, generation of the samples subtracted);
- one year of heart rate as daily aggregates (target: under 0.5 s);
- raw samples decrypted and decoded into columns (target: at least 1,000,000 samples/s);
- a year of steps as daily totals under the source priority;
- bytes on disk per sample, and peak RSS (also of 1M- and 3M-sample imports, to show it flat).

Run: `.venv/bin/python benchmarks/bench_qs_query.py [--quick]`.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.data.model import Sample

PERSONA = "0123456789abcdef0123456789abcdef"
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MIN = 60_000


def heart_rate(n: int) -> Iterator[Sample]:
    """A reading a minute or so, jittered, as a random walk: compresses like real data."""
    rng = random.Random(1)
    bpm = 70.0
    for i in range(n):
        t = T0 + i * MIN + rng.randrange(20_000)
        bpm = min(190.0, max(40.0, bpm + rng.choice((-2.0, -1.0, 0.0, 0.0, 1.0, 2.0))))
        yield Sample("heart_rate", t, t, bpm, "count/min", "Apple Watch", "Watch6,1", 60)


def steps(n: int) -> Iterator[Sample]:
    """Ten-minute step counts from a watch, and a phone overlapping half of them."""
    rng = random.Random(2)
    for i in range(n):
        t = T0 + i * 10 * MIN
        yield Sample("steps", t, t + 10 * MIN, float(rng.randrange(1200)), "count", "Apple Watch")
        if i % 2 == 0:
            s = t + 2 * MIN
            yield Sample("steps", s, s + 10 * MIN, float(rng.randrange(900)), "count", "iPhone")


def writer_peak_rss_mb(n: int) -> float:
    """Peak RSS of a fresh process streaming `n` samples through one QSWriter."""
    code = (
        "import tempfile; from pathlib import Path\n"
        "from benchmarks.bench_qs_query import PERSONA, heart_rate\n"
        "from vault.core import Vault\n"
        "from vault.qs.ingest import QSWriter\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    v = Vault.create(Path(d) / 'v', 'benchmark passphrase', kdf='minimum')\n"
        "    with QSWriter(v, PERSONA) as w:\n"
        f"        for s in heart_rate({n}): w.add(s)\n"
        "    v.close()\n"
        # VmHWM, not ru_maxrss: a child's ru_maxrss starts from its parent's at fork.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(hwm.split()[1]) / 1024)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return round(float(done.stdout.strip()), 1)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(quick: bool = False) -> dict[str, float | int]:
    """Run the benchmark; return the figures (quick: a tenth of the data)."""
    n_hr = 52_560 if quick else 525_600
    n_steps = 5_256 if quick else 52_560
    out: dict[str, float | int] = {"heart_rate_samples": n_hr}
    with tempfile.TemporaryDirectory() as tmp:
        vault = Vault.create(Path(tmp) / "v", "benchmark passphrase", kdf="minimum")
        try:
            t = time.perf_counter()
            for _ in heart_rate(n_hr):
                pass
            for _ in steps(n_steps):
                pass
            gen = time.perf_counter() - t
            t = time.perf_counter()
            with QSWriter(vault, PERSONA) as w:
                for s in heart_rate(n_hr):
                    w.add(s)
                for s in steps(n_steps):
                    w.add(s)
            total = time.perf_counter() - t
            written = w.summary.added
            out["samples_written"] = written
            out["write_samples_per_s"] = round(written / max(total - gen, 1e-9))
            out["write_end_to_end_samples_per_s"] = round(written / total)

            vault.store.checkpoint()
            size = sum(vault.store.sizes().values())
            out["bytes_on_disk_per_sample"] = round(size / written, 2)

            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                days = query.aggregate(vault, PERSONA, "heart_rate", "day")
                best = min(best, time.perf_counter() - t)
            out["hr_year_daily_aggregates_s"] = round(best, 4)
            out["hr_days"] = len(days)

            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                cols = query.load(vault, PERSONA, "heart_rate")
                best = min(best, time.perf_counter() - t)
            out["raw_decode_samples_per_s"] = round(len(cols) / best)

            t = time.perf_counter()
            totals = query.aggregate(vault, PERSONA, "steps", "day")
            out["steps_year_daily_totals_with_priority_s"] = round(time.perf_counter() - t, 4)
            out["steps_days"] = len(totals)

            t = time.perf_counter()
            with QSWriter(vault, PERSONA) as again:
                for s in heart_rate(n_hr // 10):
                    again.add(s)
            out["reimport_duplicates_per_s"] = round(
                again.summary.duplicates / (time.perf_counter() - t)
            )
            out["peak_rss_mb"] = round(_rss_mb(), 1)
        finally:
            vault.close()
    if not quick:  # memory stays flat as an import grows: 1M then 3M samples
        out["writer_peak_rss_mb_1M"] = writer_peak_rss_mb(1_000_000)
        out["writer_peak_rss_mb_3M"] = writer_peak_rss_mb(3_000_000)
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
