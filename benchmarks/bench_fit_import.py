"""FIT import benchmark: `coffre import garmin` on a folder of FIT activity files, against
fitdecode merely reading the same files (every frame), in the same run.

The folder is built in a temporary directory from the real activity files of
tests/corpus/fit, copied under distinct names until it holds N files (copies of one file
add nothing new to the vault: they exercise the duplicate checks, as a re-synced watch
folder does). Each side runs in its own subprocess, measured from outside: wall time
(files/s, records/s) and peak RSS. The importer's goal is at least half fitdecode's rate
(what Coffre adds to decoding: times, sessions, encryption, storage), with a peak memory
flat in the number of files (N, then 4N).

    python -m benchmarks fit_import            # N = 100, then 400
    python -m benchmarks --quick fit_import    # N = 12, then 48
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from benchmarks.fit_children import measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT / "tests" / "corpus" / "fit"
TARGETS = {"speed_ratio": 0.5, "memory_growth_ratio": 1.5}


def _activity_files() -> list[Path]:
    """The corpus's FIT activity files that import cleanly (not the refused ones)."""
    import fitdecode  # type: ignore[import-untyped]

    found = []
    for path in sorted(CORPUS.glob("*.fit")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with fitdecode.FitReader(path, check_crc=fitdecode.CrcCheck.RAISE) as reader:
                    kinds = [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
        except fitdecode.FitError:
            continue
        file_type = next((f.get_value("type") for f in kinds if f.name == "file_id"), None)
        if file_type == "activity" and any(f.name == "record" for f in kinds):
            found.append(path)
    return found


def _build(folder: Path, base: list[Path], n: int) -> None:
    folder.mkdir()
    for k in range(n):
        src = base[k % len(base)]
        shutil.copy(src, folder / f"{k:05d}-{src.name}")


def _rates(seconds: float, files: int, records: int) -> dict[str, float]:
    return {
        "seconds": round(seconds, 2),
        "files_per_s": round(files / seconds, 1),
        "records_per_s": round(records / seconds),
    }


def run(quick: bool) -> dict[str, Any]:
    """Run the benchmark; return every figure and whether each target is met."""
    base = _activity_files()
    sizes = [12, 48] if quick else [100, 400]
    out: dict[str, Any] = {"quick": quick, "base_files": [p.name for p in base], "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="coffre-bench-fit-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"fit-{n}"
            _build(folder, base, n)
            peer = measured(["--fitdecode", str(folder)])
            coffre = measured(["--coffre", str(folder), str(Path(tmp) / f"vault-{n}")])
            records = peer["records"]
            entry = {
                "files": n,
                "records": records,
                "fitdecode": {
                    **_rates(peer["seconds"], n, records),
                    "peak_rss_mb": peer["peak_rss_mb"],
                },
                "coffre": {
                    **_rates(coffre["seconds"], n, records),
                    "peak_rss_mb": coffre["peak_rss_mb"],
                    "added": coffre["added"],
                    "duplicates": coffre["duplicates"],
                    "workouts": coffre["workouts"],
                    "errors": coffre["errors"],
                },
            }
            entry["speed_ratio"] = round(peer["seconds"] / coffre["seconds"], 2)
            out["sizes"][str(n)] = entry
            shutil.rmtree(folder)
    small, large = (out["sizes"][str(n)] for n in sizes)
    out["speed_ratio"] = small["speed_ratio"]
    out["memory_growth_ratio"] = round(
        large["coffre"]["peak_rss_mb"] / small["coffre"]["peak_rss_mb"], 2
    )
    out["targets"] = TARGETS
    out["met"] = {
        "speed_ratio": min(e["speed_ratio"] for e in out["sizes"].values())
        >= TARGETS["speed_ratio"],
        "memory_growth_ratio": out["memory_growth_ratio"] <= TARGETS["memory_growth_ratio"],
    }
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
