"""What the benchmarks share: repeated runs against a peer, medians, and fair cache states.

Each figure is measured RUNS times, Coffre and its peer one after the other in every run, and
reported as the median; ratios are the median of each run's own ratio, so a machine that
slows down between runs (a shared one does) moves both sides of a ratio together.

Inputs are put in the same cache state on both sides before they are timed (`settle`):
warm by default (read through once, so the figures compare the work of each side), or cold
with COFFRE_BENCH_CACHE=cold (dropped from the page cache, so both read the disk).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

RUNS: Final = 3
CACHE: Final = os.environ.get("COFFRE_BENCH_CACHE", "warm")


def median(values: Sequence[float], digits: int = 3) -> float:
    return round(statistics.median(values), digits)


def ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of the per-run ratios numerator / denominator."""
    return median([a / b for a, b in zip(numerators, denominators, strict=True)], 2)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle(path: Path) -> None:
    """Put an input file in the run's cache state (`CACHE`): Coffre's blob writer drops
    what it wrote from the cache (it asks for writeback as it goes), so both sides' inputs
    are settled the same way before either is timed."""
    if CACHE == "cold":
        evict(path)
    elif CACHE == "warm":
        fsync_path(path)
        with path.open("rb", buffering=0) as f:
            while f.read(1 << 20):
                pass
    else:
        sys.exit("COFFRE_BENCH_CACHE is warm or cold")


def evict(path: Path) -> None:
    """Write the file out and drop it from the page cache, so that whoever reads it next
    reads the disk."""
    fsync_path(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
