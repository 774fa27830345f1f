"""Progress events for long operations.

The library never draws anything: a long operation takes an optional callback and calls it
with `ProgressEvent`s. The CLI turns them into a bar on stderr, the TUI into a ProgressBar.
Each event names its unit (`bytes`, or what is counted: `records`, `samples`, `files`...), so
a front end can show sizes in binary units and counts as counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """`done` units out of `total` (None when unknown) for the named stage; `unit` is
    `bytes` or the name of what is counted."""

    stage: str
    done: int
    total: int | None
    finished: bool = False
    unit: str = "items"


ProgressCallback = Callable[[ProgressEvent], None]


class Progress:
    """Rate-limited reporting helper: at most ~20 events a second, plus start and finish."""

    def __init__(
        self,
        stage: str,
        callback: ProgressCallback | None,
        interval: float = 0.05,
        *,
        unit: str = "items",
    ):
        self.stage = stage
        self.unit = unit
        self._cb = callback
        self._interval = interval
        self._done = 0
        self._total: int | None = None
        self._last = 0.0

    def start(self, total: int | None) -> None:
        self._total = total
        self._emit(force=True)

    def advance(self, n: int = 1) -> None:
        self._done += n
        if self._cb is not None:
            self._emit()

    def finish(self) -> None:
        if self._cb is not None:
            self._cb(
                ProgressEvent(self.stage, self._done, self._total, finished=True, unit=self.unit)
            )

    def _emit(self, force: bool = False) -> None:
        if self._cb is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._cb(ProgressEvent(self.stage, self._done, self._total, unit=self.unit))
