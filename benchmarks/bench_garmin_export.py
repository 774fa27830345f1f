"""Garmin account export benchmark: `coffre import garmin` on a generated export (zips of FIT
activity files inside the export's zip, as Garmin nests them), against fitdecode reading
every frame of the same FIT files, in the same run.

The export is built in a temporary directory: DI_CONNECT/DI-Connect-Uploaded-Files/
UploadedFiles_0-_Part<k>.zip, each a zip written to a stream (sizes after the data, as
Garmin's are) of about 16 MB of the corpus's real activity files (tests/corpus/fit) copied
under distinct names, plus a year of daily summaries. Copies of one file add nothing new to
the vault: they exercise the duplicate checks, as a re-uploaded activity does. The same FIT
files are also written to a folder for fitdecode. Each side runs in its own subprocess,
measured from outside: wall time (files/s, MB/s of FIT data) and peak RSS; the import runs
with TMPDIR set to an empty folder, checked empty afterwards (no temporary plaintext).

The import decodes with fitdecode itself, so it can be faster than fitdecode alone only by
decoding on two cores: two helper processes decode the FIT files while the importing process
stores what they decoded. It runs here with its helpers whatever the machine's load (on a
shared machine, the load average would have the import decode alone: `auto` mode);
the peak RSS reported is that of its largest process (the importing one, or a helper),
and the two helpers add theirs to it (each holds one FIT file and its decoded items).

The issue's goal: a 2 GB export under 250 MB of memory, at least as fast as fitdecode. It is
measured here at S and 4S MB of FIT data, so that memory growth shows:

    python -m benchmarks garmin_export            # S = 64 MB
    python -m benchmarks --quick garmin_export    # S = 4 MB
    COFFRE_BENCH_GARMIN_MB=512 python -m benchmarks garmin_export
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from benchmarks.fit_children import measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PART_BYTES = 16 << 20  # FIT data per zip of uploaded files
TARGETS = {"speed_ratio": 1.0, "peak_rss_mb": 250.0}


class _Sink(io.RawIOBase):
    """A write-only file that is not seekable, so zipfile writes data descriptors."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("wb")

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return self._f.write(b)

    def close(self) -> None:
        self._f.close()
        super().close()


def _build(tmp: Path, target: int) -> tuple[Path, Path, int, int]:
    """The export zip and the folder of the same FIT files; (files, FIT bytes)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_fit_import import _activity_files

    base = [(p.name, p.read_bytes()) for p in _activity_files()]
    folder = tmp / "fit"
    folder.mkdir()
    parts = tmp / "parts"
    parts.mkdir()
    n = size = part = 0
    while size < target:
        part += 1
        sink = _Sink(parts / f"UploadedFiles_0-_Part{part}.zip")
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
            in_part = 0
            while in_part < PART_BYTES and size < target:
                name, data = base[n % len(base)]
                member = f"ana@example.org_{n:06d}_{name}"
                zf.writestr(member, data)
                (folder / member).write_bytes(data)
                n += 1
                size += len(data)
                in_part += len(data)
        sink.close()
    days = [
        {
            "calendarDate": f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}",
            "wellnessStartTimeGmt": f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}T00:00:00.0",
            "wellnessEndTimeGmt": f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}T23:59:59.0",
            "totalSteps": 8000 + d,
            "restingHeartRate": 55,
        }
        for d in range(336)
    ]
    export = tmp / "garmin-export.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("DI_CONNECT/DI-Connect-Aggregator/UDSFile_2024.json", json.dumps(days))
        for p in sorted(parts.iterdir()):
            # already compressed: stored, as a zip of zips mostly is
            zf.write(p, f"DI_CONNECT/DI-Connect-Uploaded-Files/{p.name}", zipfile.ZIP_STORED)
    shutil.rmtree(parts)
    return export, folder, n, size


def run(quick: bool) -> dict[str, Any]:
    """Run the benchmark; return every figure and whether each target is met."""
    base_mb = float(os.environ.get("COFFRE_BENCH_GARMIN_MB", "4" if quick else "64"))
    sizes = [base_mb, 4 * base_mb]
    out: dict[str, Any] = {"quick": quick, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="coffre-bench-garmin-") as tmp:
        for mb in sizes:
            work = Path(tmp) / f"run-{mb:g}"
            work.mkdir()
            export, folder, files, fit_bytes = _build(work, int(mb * (1 << 20)))
            peer = measured(["--fitdecode", str(folder)])
            shutil.rmtree(folder)  # the import must not find the FIT files anywhere else
            scratch = work / "tmpdir"
            scratch.mkdir()
            env = {**os.environ, "TMPDIR": str(scratch), "TEMP": str(scratch), "TMP": str(scratch)}
            coffre = measured(["--coffre", str(export), str(work / "vault"), "helpers"], env)
            left_in_tmp = sorted(p.name for p in scratch.rglob("*"))
            fit_mb = fit_bytes / (1 << 20)
            entry = {
                "fit_files": files,
                "fit_mb": round(fit_mb, 1),
                "export_mb": round(export.stat().st_size / (1 << 20), 1),
                "fitdecode": {
                    "seconds": round(peer["seconds"], 2),
                    "files_per_s": round(files / peer["seconds"], 1),
                    "mb_per_s": round(fit_mb / peer["seconds"], 2),
                    "peak_rss_mb": peer["peak_rss_mb"],
                },
                "coffre": {
                    "seconds": round(coffre["seconds"], 2),
                    "files_per_s": round(files / coffre["seconds"], 1),
                    "mb_per_s": round(fit_mb / coffre["seconds"], 2),
                    "peak_rss_mb": coffre["peak_rss_mb"],
                    "added": coffre["added"],
                    "duplicates": coffre["duplicates"],
                    "workouts": coffre["workouts"],
                    "errors": coffre["errors"],
                },
                "speed_ratio": round(peer["seconds"] / coffre["seconds"], 2),
                "temporary_files_left": left_in_tmp,
            }
            out["sizes"][f"{mb:g}"] = entry
            shutil.rmtree(work)
    entries = list(out["sizes"].values())
    out["memory_growth_ratio"] = round(
        entries[-1]["coffre"]["peak_rss_mb"] / entries[0]["coffre"]["peak_rss_mb"], 2
    )
    out["targets"] = TARGETS
    out["met"] = {
        "speed_ratio": min(e["speed_ratio"] for e in entries) >= TARGETS["speed_ratio"],
        "peak_rss_mb": max(e["coffre"]["peak_rss_mb"] for e in entries) <= TARGETS["peak_rss_mb"],
        "no_temporary_files": not any(e["temporary_files_left"] for e in entries),
    }
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
