"""Apple Health import with ECGs and beat-to-beat lists against the same export without them.

Two export.zip files come from one seed (benchmarks/gen_apple_health.py): the same records,
workouts and routes, one with a beat list in every heart rate variability record (60 beats,
about a minute of Apple Watch reading) and 30 s ECG files at 512 Hz, one without. Full size:
500,000 records, which the generator's mix makes about 10,000 SDNN records, and 100 ECGs;
quick: 50,000 records and 10 ECGs. Each export is imported into a fresh vault in one process
(no helper process, so the figure is the work itself), alternately, `ROUNDS` times; the best
CPU time of each is compared (the machine is shared, so CPU time is steadier than wall
time, which is reported too).

    python -m benchmarks health_records [--quick]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from gen_apple_health import generate  # noqa: E402

PERSONA = "0123456789abcdef0123456789abcdef"
BEATS = 60
ROUNDS = 3
TARGET_RATIO = 1.2


def _import(zip_path: Path, vault_dir: Path) -> dict[str, Any]:
    from vault.core.vault import Vault
    from vault.data import health_records, query
    from vault.data.importers import import_apple_health

    vault = Vault.create(vault_dir, "benchmark passphrase", kdf="minimum")
    cpu, wall = time.process_time(), time.perf_counter()
    summary = import_apple_health(vault, PERSONA, zip_path, parallel=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    samples = {m.metric: m.samples for m in query.list_metrics(vault, PERSONA)}
    ecgs = len(health_records.list_ecgs(vault, PERSONA))
    vault.close()
    shutil.rmtree(vault_dir)
    return {
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "added": summary.added,
        "errors": len(summary.errors),
        "beats": samples.get("heart_rate_beat", 0),
        "ecgs": ecgs,
    }


def run(quick: bool) -> dict[str, Any]:
    records, ecgs = (50_000, 10) if quick else (500_000, 100)
    with tempfile.TemporaryDirectory(prefix="coffre-bench-") as tmp:
        work = Path(tmp)
        plain, full = work / "plain.zip", work / "full.zip"
        held = generate(plain, records)
        generate(full, records, beats=BEATS, ecgs=ecgs)
        best: dict[str, dict[str, Any]] = {}
        for i in range(ROUNDS):
            for name, path in (("without", plain), ("with", full)):
                got = _import(path, work / f"vault-{name}-{i}")
                kept = best.get(name)
                if kept is None or got["cpu_seconds"] < kept["cpu_seconds"]:
                    best[name] = got
        sizes = {"without": plain.stat().st_size, "with": full.stat().st_size}
    ratio = best["with"]["cpu_seconds"] / best["without"]["cpu_seconds"]
    wall_ratio = best["with"]["wall_seconds"] / best["without"]["wall_seconds"]
    return {
        "records": records,
        "hrv_records_with_beat_lists": held["hrv"],
        "beats_per_list": BEATS,
        "ecgs": ecgs,
        "zip_bytes": sizes,
        "without": {
            k: round(v, 2) if isinstance(v, float) else v for k, v in best["without"].items()
        },
        "with": {k: round(v, 2) if isinstance(v, float) else v for k, v in best["with"].items()},
        "cpu_ratio": round(ratio, 3),
        "wall_ratio": round(wall_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
