"""Hints to the kernel for large files written once and synced: start writing them early.

A file written in full and then fsynced keeps every byte in the page cache until the fsync,
which then waits for the disk to take all of it. Asking the kernel, every few MiB, to drop
the pages (Linux starts their writeback on this, and drops them once written) lets the disk
work while the next bytes are sealed, so the final fsync has little left to do; it also keeps
a large blob or bundle from pushing everything else out of the cache. A read of a whole file
asks for read-ahead instead. Where the system takes no hints (macOS), these do nothing.
"""

from __future__ import annotations

import os
from typing import Final

EVERY: Final = 16 << 20  # bytes written between two writeback requests


def advise(fd: int, advice: str) -> None:
    """A hint about the whole file (`POSIX_FADV_*`), where the system takes hints."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, getattr(os, advice))


class Writeback:
    """Counts the bytes written to `fd` and asks for their writeback every `EVERY` bytes."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = 0

    def wrote(self, n: int) -> None:
        self._pending += n
        if self._pending >= EVERY:
            advise(self._fd, "POSIX_FADV_DONTNEED")
            self._pending = 0
