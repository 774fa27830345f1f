"""Run the benchmarks: `python -m benchmarks [--quick] [NAME ...]` (or `make bench`).

Each `benchmarks/bench_<name>.py` exposes `run(quick: bool) -> dict`; the results are printed
as JSON and saved to benchmarks/out/results.json. Timings are noisy on shared machines: read
the ratios to the peer measured in the same run, not the absolute figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    available = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(HERE)])
        if m.name.startswith("bench_")
    )
    chosen = args.names or available
    unknown = set(chosen) - set(available)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; available: {available}")
    results: dict[str, object] = {"quick": args.quick, "started": time.strftime("%FT%TZ")}
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = module.run(args.quick)
        print(json.dumps({name: results[name]}, indent=2), flush=True)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
