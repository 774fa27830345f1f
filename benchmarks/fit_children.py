"""The measured sides of the FIT benchmarks (fit_import, garmin_export), each run in its own
subprocess so that its peak RSS is its own: fitdecode reading every frame of a folder's FIT
files, and Coffre importing a folder or an export into a fresh vault.

`measured(args)` runs this file with ARGS (`--fitdecode FOLDER` or `--coffre PATH VAULT_DIR
[MODE]`) under a wrapper that reports the child's peak RSS with what the child printed. MODE
is how the FIT files are decoded: `auto` (the import's default), `helpers` (two helper
processes, whatever the machine's load) or `serial`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PERSONA = "0123456789abcdef0123456789abcdef"


def measured(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run this file with ARGS under a wrapper that reports the child's peak RSS."""
    wrapper = (
        "import json, resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'code': p.returncode, 'peak_rss_kb': rss,"
        " 'out': p.stdout.decode(errors='replace')}))\n"
    )
    cmd = [sys.executable, "-c", wrapper, sys.executable, __file__, *args]
    done = subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT, env=env)
    result: dict[str, Any] = json.loads(done.stdout)
    if result["code"] != 0:
        raise RuntimeError(f"{args[0]} failed ({result['code']}): {done.stderr[-2000:]!r}")
    inner: dict[str, Any] = json.loads(result["out"].strip().splitlines()[-1])
    return {**inner, "peak_rss_mb": round(result["peak_rss_kb"] / 1024, 1)}


def _child_fitdecode(folder: str) -> None:
    """Read every frame of every file; count the files, frames and `record` messages."""
    import fitdecode  # type: ignore[import-untyped]

    t = time.perf_counter()
    files = frames = records = 0
    for path in sorted(Path(folder).iterdir()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fitdecode.FitReader(path) as reader:
                for frame in reader:
                    frames += 1
                    if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                        records += 1
        files += 1
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "files": files, "frames": frames, "records": records}))


_MODES = {"auto": None, "helpers": True, "serial": False}


def _child_coffre(path: str, vault_dir: str, mode: str = "auto") -> None:
    """A fresh vault, then `import garmin` of PATH (a folder of files or an export)."""
    sys.path.insert(0, str(ROOT))
    from vault.core.vault import Vault
    from vault.data.importers import import_garmin

    v = Vault.create(Path(vault_dir), "benchmark passphrase", kdf="minimum")
    t = time.perf_counter()
    summary = import_garmin(v, PERSONA, path, parallel=_MODES[mode])
    seconds = time.perf_counter() - t
    v.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "added": summary.added,
                "duplicates": summary.duplicates,
                "workouts": summary.workouts,
                "errors": len(summary.errors),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fitdecode"]:
        _child_fitdecode(sys.argv[2])
    elif sys.argv[1:2] == ["--coffre"]:
        _child_coffre(*sys.argv[2:5])
    else:
        sys.exit("usage: fit_children.py --fitdecode FOLDER | --coffre PATH VAULT_DIR [MODE]")
