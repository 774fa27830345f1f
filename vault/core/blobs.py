"""Large blobs as sealed chunk files beside the database.

A blob (a photo, a recording, a long text) is written once, never changed, and read in
order, so it lives in its own file `blobs/<2 hex>/<32 hex>` rather than in SQLite, where the
write-ahead log would write every byte twice. The file is the blob's chunks back to back:
64 KiB of plaintext each, sealed with ChaCha20-Poly1305 under a key used for this blob only,
the nonce carrying the chunk number and a last-chunk flag (as age's STREAM does), the blob id
bound as associated data. A truncated, extended, reordered or swapped file fails to open.

The key and the chunk count live in the sealed record that owns the blob, so a file without
its record is noise. Files appear by rename after an fsync, before the record that refers to
them commits; a crash in between leaves an orphan that `collect` removes. Removing a blob
overwrites the file with zeros before unlinking it (on file systems that write in place, the
old blocks are overwritten; copy-on-write file systems and SSDs may keep them: see
docs/threat-model.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import stat
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO, Final

from vault.core import crypto, writeback
from vault.core.crypto import CryptoFailure
from vault.core.errors import TamperedRecord, UnsafeVaultFile
from vault.core.hashing import BackgroundSHA256
from vault.core.i18n import N_
from vault.core.progress import Progress, ProgressCallback

DIR_NAME: Final = "blobs"
SEALED_CHUNK: Final = crypto.CHUNK_SIZE + crypto.TAG_SIZE
GROUP_CHUNKS: Final = 16  # chunks read, sealed or opened per system call (1 MiB)
_BUFFERS: Final = 4  # plaintext groups in flight while writing: reading, sealing, hashing
_WRITE_BUFFER: Final = 1 << 20


def sealed_size(size: int) -> tuple[int, int]:
    """(chunks, file bytes) of a blob of `size` plaintext bytes; an empty blob is one chunk."""
    chunks = max(1, -(-size // crypto.CHUNK_SIZE))
    return chunks, size + chunks * crypto.TAG_SIZE


class _Filler:
    """Fills caller-owned buffers from a file (`readinto`, no copy through Python objects) or
    from an iterable of byte pieces (copied in, whatever their sizes)."""

    def __init__(self, source: BinaryIO | Iterable[bytes]) -> None:
        self._readinto = getattr(source, "readinto", None)
        self._read = getattr(source, "read", None)
        self._pieces = None if self._read is not None else iter(source)
        self._left = memoryview(b"")
        # The whole size when the source says it (pieces given as a list or tuple), so that a
        # small blob gets small buffers: None when it is only known at the end.
        self.size: int | None = None
        if isinstance(source, list | tuple):
            self.size = sum(memoryview(piece).nbytes for piece in source)

    def fill(self, buf: memoryview) -> int:
        """Bytes put at the start of `buf`: all of it, unless the source ended."""
        n, size = 0, len(buf)
        while n < size:
            if self._readinto is not None:
                got = self._readinto(buf[n:])
            elif self._read is not None:
                data = self._read(size - n)
                got = len(data)
                buf[n : n + got] = data
            else:
                got = self._take(buf[n:])
            if not got:
                break
            n += got
        return n

    def _take(self, buf: memoryview) -> int:
        while not self._left:
            piece = next(self._pieces, None)  # type: ignore[arg-type]
            if piece is None:
                return 0
            self._left = memoryview(piece).cast("B")
        k = min(len(buf), len(self._left))
        buf[:k] = self._left[:k]
        self._left = self._left[k:]
        return k


class BlobFiles:
    """The `blobs/` directory of one vault.

    Every file is reached through directory descriptors opened with `O_NOFOLLOW`, and only
    regular files are read, overwritten or removed: a link planted under `blobs/` (to a file
    or a folder elsewhere) is never followed, so no command touches a file outside the vault.
    A file with more than one name (a hard link, possibly to a file elsewhere) is never
    overwritten: only its name under `blobs/` is removed.
    """

    def __init__(self, vault_dir: Path) -> None:
        self.root = vault_dir / DIR_NAME

    def path(self, blob_id: bytes) -> Path:
        name = blob_id.hex()
        return self.root / name[:2] / name

    def _shard_fd(self, blob_id: bytes, *, create: bool = False) -> int:
        """A descriptor of the blob's shard folder, neither it nor `blobs/` a link."""
        return self._folder_fd(blob_id.hex()[:2], create=create)

    def _folder_fd(self, shard: str | None, *, create: bool = False) -> int:
        """A descriptor of `blobs/` (shard None) or of one of its folders, no link followed."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(self.root, 0o700)
            root = os.open(self.root, flags)
            if shard is None:
                return root
            try:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(shard, 0o700, dir_fd=root)
                return os.open(shard, flags, dir_fd=root)
            finally:
                os.close(root)
        except FileNotFoundError:
            raise
        except OSError as exc:  # ELOOP or ENOTDIR: a link or a file where a folder belongs
            raise UnsafeVaultFile("/".join((DIR_NAME, shard or ""))) from exc

    def write(
        self,
        blob_id: bytes,
        key: bytes,
        aad: bytes,
        source: BinaryIO | Iterable[bytes],
        *,
        progress: ProgressCallback | None = None,
        total: int | None = None,
    ) -> tuple[int, int, str]:
        """Seal `source` into the blob's file; return (chunks, plaintext size, SHA-256 hex).

        The file is complete and synced on disk when this returns.
        """
        name = blob_id.hex()
        tmp = name + ".tmp"
        sealer = crypto.BlobSealer(key, aad)
        hasher = BackgroundSHA256()
        report = Progress(N_("write"), progress, unit="bytes")
        report.start(total)
        shard = self._shard_fd(blob_id, create=True)
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=shard
            )
            try:
                chunks, size = _seal_stream(_Filler(source), sealer, hasher, fd, report)
                os.fsync(fd)
                os.close(fd)
                fd = -1
                os.rename(tmp, name, src_dir_fd=shard, dst_dir_fd=shard)
                os.fsync(shard)
            except BaseException:
                if fd >= 0:
                    os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=shard)
                raise
            finally:
                digest = hasher.hexdigest()
        finally:
            os.close(shard)
        report.finish()
        return chunks, size, digest

    def _open(self, blob_id: bytes, flags: int) -> tuple[int, int]:
        """(shard descriptor, file descriptor) of a blob's regular file, links refused."""
        shard = self._shard_fd(blob_id)
        try:
            fd = os.open(blob_id.hex(), flags | os.O_NOFOLLOW, dir_fd=shard)
        except BaseException:
            os.close(shard)
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            os.close(shard)
            raise UnsafeVaultFile("/".join((DIR_NAME, blob_id.hex()[:2], blob_id.hex())))
        return shard, fd

    def read(self, blob_id: bytes, key: bytes, aad: bytes, chunks: int) -> Iterator[bytes]:
        """Yield the authenticated plaintext in order, in constant memory: a group of chunks
        (up to 1 MiB) at a time."""
        try:
            shard, fd = self._open(blob_id, os.O_RDONLY)
        except FileNotFoundError:
            raise TamperedRecord(N_("a blob file is missing")) from None
        except OSError:  # ELOOP: a link where the blob's file belongs
            raise TamperedRecord(N_("a blob file is a link")) from None
        os.close(shard)
        # Ask the kernel to read ahead, so the disk works while the chunks already read are
        # opened (a blob is always read whole, in order).
        writeback.advise(fd, "POSIX_FADV_SEQUENTIAL")
        writeback.advise(fd, "POSIX_FADV_WILLNEED")
        opener = crypto.BlobOpener(key, aad)
        # Whole groups of sealed chunks are read into one reused buffer (one system call and
        # no copy per chunk); each chunk is opened from a view of it.
        buf = bytearray(GROUP_CHUNKS * SEALED_CHUNK)
        view = memoryview(buf)
        plain = memoryview(bytearray(GROUP_CHUNKS * crypto.CHUNK_SIZE))
        with os.fdopen(fd, "rb", buffering=0) as handle:
            index = 0
            while index < chunks:
                count = min(GROUP_CHUNKS, chunks - index)
                got = _read_full(handle, view[: count * SEALED_CHUNK])
                final = index + count == chunks
                # Every chunk but the blob's last is full; the last holds at least its tag.
                if got < (count - 1) * SEALED_CHUNK + crypto.TAG_SIZE or (
                    not final and got != count * SEALED_CHUNK
                ):
                    raise TamperedRecord(N_("a blob file is truncated"))
                opened = 0
                for offset in range(0, got, SEALED_CHUNK):
                    last = index == chunks - 1
                    sealed = view[offset : min(offset + SEALED_CHUNK, got)]
                    try:
                        opened += opener.open_into(index, sealed, plain[opened:], last=last)
                    except CryptoFailure:
                        raise TamperedRecord(N_("blob chunk")) from None
                    index += 1
                # The group leaves only once each of its chunks authenticated, as one piece.
                yield bytes(plain[:opened])
            if handle.read(1):
                raise TamperedRecord(N_("a blob file has extra bytes"))

    def remove(self, blob_id: bytes) -> None:
        """Overwrite the file with zeros, sync, and unlink it (missing files are fine). What is
        not a regular file of this vault's alone is only unlinked, never written: a link, or a
        file with other names (a hard link); a folder in its place is left alone."""
        name = blob_id.hex()
        try:
            shard = self._shard_fd(blob_id)
        except FileNotFoundError:
            return
        try:
            self._remove_in(shard, name)
        finally:
            os.close(shard)

    def _remove_in(self, folder: int, name: str) -> None:
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            return  # not something Coffre wrote: leave it, touch nothing below it
        if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=folder)
            except FileNotFoundError:
                return
            try:
                # The file opened is the one checked (same inode, still one name): zero it.
                now = os.fstat(fd)
                if (now.st_ino, now.st_dev, now.st_nlink) == (info.st_ino, info.st_dev, 1):
                    remaining = now.st_size
                    zeros = bytes(min(remaining, _WRITE_BUFFER))
                    while remaining > 0:
                        remaining -= os.write(fd, zeros[: min(remaining, len(zeros))])
                    os.fsync(fd)
            finally:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=folder)
        os.fsync(folder)

    def present(self) -> Iterator[tuple[bytes | None, Path]]:
        """Every entry under blobs/: (blob id, path), id None for anything that is not a
        blob file in a shard folder (a crash's leftovers, or something planted). Links are
        listed, never followed."""
        try:
            shards = sorted(os.scandir(self.root), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False):
                yield None, Path(shard.path)
                continue
            for f in sorted(os.scandir(shard.path), key=lambda e: e.name):
                blob_id = _blob_id(f.name) if f.is_file(follow_symlinks=False) else None
                if blob_id is not None and blob_id.hex()[:2] != shard.name:
                    blob_id = None
                yield blob_id, Path(f.path)

    def discard(self, path: Path) -> None:
        """Remove a leftover entry that `present` listed: a blob file is zeroed first (if it
        has no other name); a link is unlinked, not followed; a folder is left alone. The entry
        is reached again through descriptors, so a folder swapped for a link meanwhile is
        refused, not followed."""
        parts = path.relative_to(self.root).parts
        if len(parts) not in (1, 2):
            return
        folder = self._folder_fd(parts[0] if len(parts) == 2 else None)
        try:
            self._remove_in(folder, parts[-1])
        finally:
            os.close(folder)


def _read_full(handle: io.RawIOBase, buf: memoryview) -> int:
    """Read until `buf` is full or the file ends; the bytes read."""
    n = 0
    while n < len(buf):
        got = handle.readinto(buf[n:])
        if not got:
            break
        n += got
    return n


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _seal_stream(
    filler: _Filler, sealer: crypto.BlobSealer, hasher: BackgroundSHA256, fd: int, report: Progress
) -> tuple[int, int]:
    """Seal everything `filler` yields into `fd`: (chunks, plaintext bytes).

    The plaintext is read a group of chunks at a time into a few reused buffers, one group
    ahead, so the group being sealed knows whether it holds the blob's last chunk. Each group
    is hashed on the hashing thread while the next is read and sealed, and is given back to
    the free list only when both are done with it; the sealed group goes to the file in one
    write from one reused output buffer. Buffers are made as they are needed, and a blob of
    known size under a group gets one of its own size (rounded up to whole chunks, with room
    for the short read that shows the end): a small blob costs no MiB of zeroed memory.
    """
    group = GROUP_CHUNKS * crypto.CHUNK_SIZE
    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    made = 0

    def take() -> bytearray:
        nonlocal made
        if made < _BUFFERS and free.empty():
            made += 1
            return bytearray(group)
        return free.get()

    def give_back(buffer: bytearray) -> None:
        if len(buffer) == group:  # a first buffer made to measure is not reused
            free.put(buffer)

    first = group
    if filler.size is not None:
        first = min(group, (filler.size // crypto.CHUNK_SIZE + 1) * crypto.CHUNK_SIZE)
    current = take() if first == group else bytearray(first)
    out = memoryview(bytearray(len(current) // crypto.CHUNK_SIZE * SEALED_CHUNK))
    chunks = size = 0
    early = writeback.Writeback(fd)  # the disk writes while the rest is sealed
    filled = filler.fill(memoryview(current))
    while True:
        following, ahead = None, 0
        if filled == len(current):
            following = take()
            ahead = filler.fill(memoryview(following))
            if len(out) < GROUP_CHUNKS * SEALED_CHUNK:
                out = memoryview(bytearray(GROUP_CHUNKS * SEALED_CHUNK))
        end = 0
        plain = memoryview(current)[:filled]
        # An empty blob is one empty last chunk, so truncation to nothing shows.
        for offset in range(0, max(filled, 1), crypto.CHUNK_SIZE):
            piece = plain[offset : offset + crypto.CHUNK_SIZE]
            last = not ahead and offset + crypto.CHUNK_SIZE >= filled
            end += sealer.seal_into(piece, out[end:], last=last)
            chunks += 1
        hasher.update(plain, partial(give_back, current), last=following is None or not ahead)
        _write_all(fd, out[:end])
        early.wrote(end)
        size += filled
        report.advance(filled)
        if following is None or not ahead:
            if following is not None:
                give_back(following)
            return chunks, size
        current, filled = following, ahead


def _blob_id(name: str) -> bytes | None:
    if len(name) != 32:
        return None
    try:
        return bytes.fromhex(name)
    except ValueError:
        return None
