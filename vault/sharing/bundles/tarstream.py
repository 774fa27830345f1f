"""A streaming tar writer and a push-driven tar reader for bundles.

The writer turns entries (name, size, chunks) into POSIX ustar bytes lazily, so a bundle
flows from the vault through tar into the age writer without ever being whole in memory or
on disk. The reader is fed plaintext as age authenticates it and accepts only what a bundle
may hold: regular files with safe relative names (checked with vault/core/archive.py's rules),
each once, within a size limit. Anything else (a link, a device, `..`, an absolute path, a
PAX or GNU extension) refuses the bundle.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

from vault.core.archive import safe_name
from vault.core.errors import TamperedBundle, UnsafeArchive
from vault.core.hashing import BackgroundSHA256
from vault.core.i18n import N_

BLOCK: Final = 512
RECORD: Final = 20 * BLOCK
_NUL_BLOCK: Final = b"\0" * BLOCK


@dataclass(frozen=True)
class Entry:
    """One file to write: its path inside the tar, exact size and a chunk producer.

    `sha256` (hex), when given, is the known hash of exactly those bytes, such as a blob's,
    recorded when it was stored and bound to its authenticated chunks: the writer lists it
    instead of hashing the file again (media are most of a bundle's bytes)."""

    name: str
    size: int
    chunks: Callable[[], Iterable[bytes]]
    sha256: str | None = None


@dataclass(frozen=True)
class Written:
    """What was written for one entry: path, size and SHA-256 (hex) of its bytes."""

    name: str
    size: int
    sha256: str


def ustar_header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    info.uname = info.gname = ""
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def tar_stream(
    entries: Iterable[Entry], mtime: int, on_written: Callable[[Written], None]
) -> Iterator[bytes]:
    """The bytes of a ustar archive of `entries`; `on_written` learns each file's hash.

    A large file without a known hash is hashed on a second thread while it streams (the
    hash of a rendered document would otherwise cost about as much as rendering it)."""
    total = 0
    for entry in entries:
        header = ustar_header(entry.name, entry.size, mtime)
        total += len(header)
        yield header
        digest: _Digest | None = None
        if entry.sha256 is None:
            digest = BackgroundSHA256() if entry.size >= _BACKGROUND else hashlib.sha256()
        try:
            n = yield from _checked(entry, digest)
        finally:
            if isinstance(digest, BackgroundSHA256):
                digest.hexdigest()  # the thread stops, whatever happened
        pad = -n % BLOCK
        total += n + pad
        if pad:
            yield b"\0" * pad
        sha256 = digest.hexdigest() if digest is not None else str(entry.sha256)
        on_written(Written(entry.name, n, sha256))
    total += 2 * BLOCK
    # End-of-archive marker, padded to a whole record as tar(1) writes it.
    yield _NUL_BLOCK * 2 + b"\0" * (-total % RECORD)


_BACKGROUND: Final = 1 << 20  # files from this size are hashed on a second thread


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def _checked(entry: Entry, digest: _Digest | None) -> Generator[bytes, None, int]:
    """The entry's bytes, hashed into `digest` and checked against its announced size;
    returns how many."""
    n = 0
    for chunk in entry.chunks():
        if not chunk:
            continue
        n += len(chunk)
        if n > entry.size:
            # The writer's own invariant, for a developer: its parts stay apart, not a sentence.
            raise ValueError(entry.name, "more bytes than announced")
        if digest is not None:
            digest.update(chunk)
        yield chunk
    if n != entry.size:
        raise ValueError(entry.name, n, "bytes instead of", entry.size)
    return n


class MemberSink(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class TarReader:
    """Push-driven tar reader: `write` it plaintext, it calls `open_member(name, size)` for
    each file and streams the file's bytes into the sink returned. `finished` is True once
    the end-of-archive marker was read."""

    def __init__(
        self,
        label: str,
        open_member: Callable[[str, int], MemberSink],
        *,
        max_members: int = 1_000_000,
        max_member_size: int = 64 * 1024**3,
    ) -> None:
        self.label = label
        self._open = open_member
        self._buf = bytearray()
        self._remaining = 0  # data bytes left in the current member
        self._pad = 0
        self._sink: MemberSink | None = None
        self._zero_blocks = 0
        self.finished = False
        self.names: set[str] = set()
        self._max_members = max_members
        self._max_size = max_member_size

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        total = len(view)
        while view:
            if self._sink is not None and self._remaining:
                n = min(self._remaining, len(view))
                self._sink.write(bytes(view[:n]))
                self._remaining -= n
                view = view[n:]
                if not self._remaining:
                    self._sink.close()
                    self._sink = None
                continue
            if self._pad:
                n = min(self._pad, len(view))
                self._pad -= n
                view = view[n:]
                continue
            need = BLOCK - len(self._buf)
            self._buf += view[:need]
            view = view[need:]
            if len(self._buf) == BLOCK:
                block = bytes(self._buf)
                self._buf.clear()
                self._header(block)
        return total

    def _header(self, block: bytes) -> None:
        if self.finished:
            if block != _NUL_BLOCK:
                raise TamperedBundle(
                    N_("{label}: data after the end of the archive"), label=self.label
                )
            return
        if block == _NUL_BLOCK:
            self._zero_blocks += 1
            if self._zero_blocks == 2:
                self.finished = True
            return
        if self._zero_blocks:
            raise TamperedBundle(
                N_("{label}: a member after an end-of-archive block"), label=self.label
            )
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "strict")
        except (tarfile.HeaderError, UnicodeDecodeError):
            raise TamperedBundle(N_("{label}: a tar header is damaged"), label=self.label) from None
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
            raise UnsafeArchive(
                N_(
                    "{label}: member {member!r} is not a regular file (links, devices and tar "
                    "extensions are refused)"
                ),
                label=self.label,
                member=info.name[:200],
            )
        name = safe_name(info.name, self.label)
        if name in self.names:
            raise UnsafeArchive(
                N_("{label}: member {name} appears twice"), label=self.label, name=name
            )
        if len(self.names) >= self._max_members:
            raise UnsafeArchive(N_("{label}: too many members"), label=self.label)
        if info.size > self._max_size:
            raise UnsafeArchive(
                N_("{label}: member {name} is too large"), label=self.label, name=name
            )
        self.names.add(name)
        sink = self._open(name, info.size)
        self._pad = -info.size % BLOCK
        if info.size:
            self._sink, self._remaining = sink, info.size
        else:
            sink.close()

    def close(self) -> None:
        """Check the archive ended properly (after the age stream authenticated)."""
        if self._sink is not None or self._remaining or not self.finished:
            raise TamperedBundle(
                N_("{label}: the archive inside the bundle ends early"), label=self.label
            )
