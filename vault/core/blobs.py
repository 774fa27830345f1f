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

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from vault.core import crypto
from vault.core.crypto import CryptoFailure
from vault.core.errors import TamperedRecord
from vault.core.hashing import BackgroundSHA256
from vault.core.progress import Progress, ProgressCallback

DIR_NAME: Final = "blobs"
SEALED_CHUNK: Final = crypto.CHUNK_SIZE + crypto.TAG_SIZE
_WRITE_BUFFER: Final = 1 << 20


def sealed_size(size: int) -> tuple[int, int]:
    """(chunks, file bytes) of a blob of `size` plaintext bytes; an empty blob is one chunk."""
    chunks = max(1, -(-size // crypto.CHUNK_SIZE))
    return chunks, size + chunks * crypto.TAG_SIZE


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rechunk(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """Exactly CHUNK_SIZE pieces (the last may be shorter) from a file or an iterable."""
    size = crypto.CHUNK_SIZE
    if hasattr(source, "read"):
        reader: BinaryIO = source  # type: ignore[assignment]
        buf = b""
        while True:
            data = reader.read(size - len(buf))
            if not data:
                break
            buf += data
            if len(buf) == size:
                yield buf
                buf = b""
        if buf:
            yield buf
        return
    acc = bytearray()
    for piece in source:
        acc += piece
        while len(acc) >= size:
            yield bytes(acc[:size])
            del acc[:size]
    if acc:
        yield bytes(acc)


class BlobFiles:
    """The `blobs/` directory of one vault."""

    def __init__(self, vault_dir: Path) -> None:
        self.root = vault_dir / DIR_NAME

    def path(self, blob_id: bytes) -> Path:
        name = blob_id.hex()
        return self.root / name[:2] / name

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
        final = self.path(blob_id)
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = final.with_suffix(".tmp")
        sealer = crypto.BlobSealer(key, aad)
        hasher = BackgroundSHA256()
        report = Progress("write", progress)
        report.start(total)
        size = chunks = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as out:
                pending: bytes | None = None
                for piece in _rechunk(source):
                    hasher.update(piece)
                    if pending is not None:
                        out.write(sealer.seal_chunk(pending, last=False))
                        chunks += 1
                    pending = piece
                    size += len(piece)
                    report.advance(len(piece))
                # An empty blob is one empty last chunk, so truncation to nothing shows.
                out.write(sealer.seal_chunk(pending or b"", last=True))
                chunks += 1
                out.flush()
                os.fsync(out.fileno())
            os.rename(tmp, final)
            _fsync_dir(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            digest = hasher.hexdigest()
        report.finish()
        return chunks, size, digest

    def read(self, blob_id: bytes, key: bytes, aad: bytes, chunks: int) -> Iterator[bytes]:
        """Yield the authenticated plaintext chunks in order, in constant memory."""
        path = self.path(blob_id)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise TamperedRecord("a blob file is missing") from None
        opener = crypto.BlobOpener(key, aad)
        with handle:
            for index in range(chunks):
                data = handle.read(SEALED_CHUNK)
                last = index == chunks - 1
                if len(data) < crypto.TAG_SIZE or (not last and len(data) != SEALED_CHUNK):
                    raise TamperedRecord("a blob file is truncated")
                try:
                    yield opener.open_chunk(index, data, last=last)
                except CryptoFailure:
                    raise TamperedRecord("blob chunk") from None
            if handle.read(1):
                raise TamperedRecord("a blob file has extra bytes")

    def remove(self, blob_id: bytes) -> None:
        """Overwrite the file with zeros, sync, and unlink it (missing files are fine)."""
        path = self.path(blob_id)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            remaining = os.fstat(fd).st_size
            zeros = bytes(min(remaining, _WRITE_BUFFER))
            while remaining > 0:
                remaining -= os.write(fd, zeros[: min(remaining, len(zeros))])
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def present(self) -> Iterator[tuple[bytes | None, Path]]:
        """Every file under blobs/: (blob id, path), id None for leftovers of a crash."""
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not shard.is_dir():
                yield None, shard
                continue
            for f in sorted(shard.iterdir()):
                try:
                    blob_id = bytes.fromhex(f.name) if len(f.name) == 32 else None
                except ValueError:
                    blob_id = None
                yield blob_id, f

    def discard(self, path: Path) -> None:
        """Remove a leftover file (an orphan or a temporary file of a crashed write)."""
        if path.is_dir():
            return
        try:
            blob_id = bytes.fromhex(path.name)
        except ValueError:
            blob_id = None
        if blob_id is not None and len(blob_id) == 16:
            self.remove(blob_id)
        else:
            path.unlink(missing_ok=True)
