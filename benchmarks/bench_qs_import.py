"""Apple Health import benchmark: Coffre against healthkit-to-sqlite on the same export.zip.

For each size, a realistic export.zip is generated (benchmarks/gen_apple_health.py), then
each side runs in its own subprocess, measured from outside: wall time (records/s), peak
RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss` of a wrapper that only waits for it) and the
bytes it added on disk. healthkit-to-sqlite stores plaintext; Coffre encrypts everything.

The head-to-head file is written without the iOS 16 quirks (broken DTD, \\x0b characters),
which healthkit-to-sqlite cannot read; Coffre's handling of those is checked on a quirky
export of the same size. Memory flatness is checked at two sizes (1M and 3M records; quick
mode: 50k and 150k).

    python benchmarks/bench_qs_import.py                 # full: 1M vs healthkit, then 3M
    python benchmarks/bench_qs_import.py --quick
    python benchmarks/bench_qs_import.py --records 200000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
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
TARGETS = {"speed_ratio": 5.0, "peak_rss_mb": 250.0, "size_ratio": 0.2}


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _measured(cmd: list[str]) -> dict[str, Any]:
    """Run `cmd` under a wrapper process that reports the peak RSS of the tree below it."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'code': p.returncode, 'seconds': dt, 'peak_rss_kb': rss,"
        " 'out': p.stdout.decode(errors='replace')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    if result["code"] != 0:
        raise RuntimeError(f"{cmd[0]} failed ({result['code']}): {done.stderr[-2000:]!r}")
    return result


def _coffre_child(zip_path: str, vault_dir: str, mode: str) -> None:
    """Inside the measured subprocess: create a vault, import, print what happened."""
    from vault.core.vault import Vault
    from vault.data.importers import import_apple_health

    v = Vault.create(Path(vault_dir), "benchmark passphrase", kdf="minimum")
    empty = _dir_bytes(Path(vault_dir))
    t = time.perf_counter()
    parallel = {"auto": None, "single": False, "helper": True}[mode]
    summary = import_apple_health(v, PERSONA, zip_path, parallel=parallel)
    seconds = time.perf_counter() - t
    v.close()
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "import_seconds": seconds,
                "added": summary.added,
                "duplicates": summary.duplicates,
                "workouts": summary.workouts,
                "errors": len(summary.errors),
                "growth_bytes": _dir_bytes(Path(vault_dir)) - empty,
                "main_rss_kb": me,
                "helper_rss_kb": helper,
            }
        )
    )


def run_coffre(zip_path: Path, work: Path, mode: str = "auto") -> dict[str, Any]:
    vault_dir = work / "vault"
    shutil.rmtree(vault_dir, ignore_errors=True)
    r = _measured([sys.executable, __file__, "--child", str(zip_path), str(vault_dir), mode])
    inner = json.loads(r["out"].strip().splitlines()[-1])
    shutil.rmtree(vault_dir, ignore_errors=True)
    return {
        "seconds": round(r["seconds"], 2),
        "import_seconds": round(inner["import_seconds"], 2),
        "peak_rss_mb": round(r["peak_rss_kb"] / 1024, 1),
        "peak_rss_both_processes_mb": round(
            (inner["main_rss_kb"] + inner["helper_rss_kb"]) / 1024, 1
        ),
        "disk_bytes": inner["growth_bytes"],
        "added": inner["added"],
        "workouts": inner["workouts"],
        "errors": inner["errors"],
    }


def run_healthkit(zip_path: Path, work: Path) -> dict[str, Any]:
    tool = shutil.which("healthkit-to-sqlite") or str(
        Path(sys.executable).parent / "healthkit-to-sqlite"
    )
    if not Path(tool).exists():
        raise SystemExit("healthkit-to-sqlite is missing: pip install -e '.[bench]'")
    db = work / "healthkit.db"
    db.unlink(missing_ok=True)
    r = _measured([tool, "-s", str(zip_path), str(db)])
    size = db.stat().st_size
    db.unlink()
    return {
        "seconds": round(r["seconds"], 2),
        "peak_rss_mb": round(r["peak_rss_kb"] / 1024, 1),
        "disk_bytes": size,
    }


def run(quick: bool, records: int | None = None) -> dict[str, Any]:
    """Run the benchmark; return every figure and whether each target is met."""
    sizes = [records] if records else ([50_000, 150_000] if quick else [1_000_000, 3_000_000])
    out: dict[str, Any] = {"quick": quick, "cpus": os.cpu_count(), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="coffre-bench-") as tmp:
        work = Path(tmp)
        for i, n in enumerate(sizes):
            entry: dict[str, Any] = {}
            plain = work / f"export-{n}.zip"
            t = time.perf_counter()
            counts = generate(plain, n, quirks=False)
            entry["generated"] = {**counts, "seconds": round(time.perf_counter() - t, 1)}
            entry["zip_bytes"] = plain.stat().st_size
            coffre = run_coffre(plain, work)
            coffre["records_per_s"] = round(n / coffre["seconds"])
            entry["coffre"] = coffre
            if i == 0:  # both modes, whatever the load made the default choose
                for mode in ("single", "helper"):
                    forced = run_coffre(plain, work, mode)
                    entry[f"coffre_{mode}"] = {
                        "seconds": forced["seconds"],
                        "records_per_s": round(n / forced["seconds"]),
                        "peak_rss_mb": forced["peak_rss_mb"],
                        "peak_rss_both_processes_mb": forced["peak_rss_both_processes_mb"],
                    }
                entry["load_average"] = os.getloadavg()[0]
                hk = run_healthkit(plain, work)
                hk["records_per_s"] = round(n / hk["seconds"])
                entry["healthkit_to_sqlite"] = hk
                entry["speed_ratio"] = round(coffre["records_per_s"] / hk["records_per_s"], 2)
                entry["size_ratio"] = round(coffre["disk_bytes"] / hk["disk_bytes"], 3)
            plain.unlink()
            if i == 0:
                quirky = work / f"export-{n}-ios16.zip"
                generate(quirky, n, quirks=True)
                q = run_coffre(quirky, work)
                entry["coffre_ios16_quirks"] = {
                    "seconds": q["seconds"],
                    "added": q["added"],
                    "errors": q["errors"],
                }
                quirky.unlink()
            out["sizes"][str(n)] = entry
    first = out["sizes"][str(sizes[0])]
    peaks = [e["coffre"]["peak_rss_mb"] for e in out["sizes"].values()]
    out["targets"] = {
        "speed_ratio": (first["speed_ratio"], first["speed_ratio"] >= TARGETS["speed_ratio"]),
        "peak_rss_mb": (max(peaks), max(peaks) < TARGETS["peak_rss_mb"]),
        "rss_growth_mb": round(peaks[-1] - peaks[0], 1),
        "size_ratio": (first["size_ratio"], first["size_ratio"] <= TARGETS["size_ratio"]),
    }
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _coffre_child(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    ap = argparse.ArgumentParser(description="Apple Health import: Coffre vs healthkit-to-sqlite")
    ap.add_argument("--quick", action="store_true", help="50k and 150k records")
    ap.add_argument("--records", type=int, default=None, help="one size only")
    args = ap.parse_args()
    print(json.dumps(run(args.quick, args.records), indent=2))


if __name__ == "__main__":
    main()
