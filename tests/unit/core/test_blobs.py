"""Blob files: the grouped writer and reader keep the chunk format, its order and its checks."""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.core import crypto, writeback
from vault.core.blobs import GROUP_CHUNKS, SEALED_CHUNK, BlobFiles, sealed_size
from vault.core.errors import TamperedRecord
from vault.core.hashing import BackgroundSHA256

CHUNK = crypto.CHUNK_SIZE
GROUP = GROUP_CHUNKS * CHUNK
KEY = bytes(range(32))
AAD = b"coffre-test-blob"
# Around the chunk and the group boundaries, where the last-chunk flag is decided.
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, GROUP - 1, GROUP, GROUP + 1, 2 * GROUP + 3 * CHUNK]


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


class _ReadOnly:
    """A file-like source with `read` and no `readinto` (as some archive members are)."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._io.read(min(n, 5000))  # short reads, as a pipe gives


def _legacy_file(data: bytes) -> bytes:
    """The blob file as chunk-at-a-time sealing writes it (the format since the first
    version): what vaults written before the grouped writer hold."""
    sealer = crypto.BlobSealer(KEY, AAD)
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    return b"".join(sealer.seal_chunk(p, last=i == len(pieces) - 1) for i, p in enumerate(pieces))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", ["file", "pieces", "read-only"])
def test_written_blobs_read_back_with_their_digest(tmp_path: Path, size: int, shape: str) -> None:
    data = _data(size)
    source = {
        "file": lambda: io.BytesIO(data),
        "pieces": lambda: _pieces(data, 40_000),  # pieces across chunk boundaries
        "read-only": lambda: _ReadOnly(data),
    }[shape]()
    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    chunks, written, digest = blobs.write(blob_id, KEY, AAD, source)  # type: ignore[arg-type]
    assert (chunks, written, digest) == (
        sealed_size(size)[0],
        size,
        hashlib.sha256(data).hexdigest(),
    )
    assert blobs.path(blob_id).stat().st_size == sealed_size(size)[1]
    assert b"".join(blobs.read(blob_id, KEY, AAD, chunks)) == data


@pytest.mark.parametrize("size", [0, CHUNK, GROUP, GROUP + CHUNK + 5])
def test_the_file_format_is_unchanged_both_ways(tmp_path: Path, size: int) -> None:
    data = _data(size)
    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    chunks, _, _ = blobs.write(blob_id, KEY, AAD, io.BytesIO(data))
    # The grouped writer gives the very bytes of chunk-at-a-time sealing, nonce for nonce ...
    assert blobs.path(blob_id).read_bytes() == _legacy_file(data)
    # ... and a file sealed chunk at a time (an existing vault's) reads with the grouped reader.
    old = os.urandom(16)
    path = blobs.path(old)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(_legacy_file(data))
    assert b"".join(blobs.read(old, KEY, AAD, chunks)) == data


def test_damage_across_a_group_boundary_is_refused(tmp_path: Path) -> None:
    size = GROUP + 2 * CHUNK + 10  # 19 chunks: a full group, then three
    data = _data(size)
    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    chunks, _, _ = blobs.write(blob_id, KEY, AAD, io.BytesIO(data))
    path = blobs.path(blob_id)
    original = path.read_bytes()
    seal = SEALED_CHUNK
    at = GROUP_CHUNKS * seal  # where the second group starts

    def refused(content: bytes) -> None:
        path.write_bytes(content)
        with pytest.raises(TamperedRecord):
            b"".join(blobs.read(blob_id, KEY, AAD, chunks))

    refused(original[:at])  # exactly the first group: the rest dropped
    refused(original[: at - 1])  # cut inside the group's last chunk
    refused(original[:-1])  # the last chunk cut short
    refused(original[: len(original) - 10 - crypto.TAG_SIZE])  # the last chunk dropped
    refused(original + b"\0")  # extended
    swapped = original[: at - seal] + original[at : at + seal] + original[at - seal : at]
    refused(swapped + original[at + seal :])  # the chunks on each side of the boundary swapped
    flipped = bytearray(original)
    flipped[at + 3] ^= 1
    refused(bytes(flipped))
    with pytest.raises(TamperedRecord):  # a count that ends the blob early
        b"".join(blobs.read(blob_id, KEY, AAD, GROUP_CHUNKS))
    path.write_bytes(original)
    assert b"".join(blobs.read(blob_id, KEY, AAD, chunks)) == data


def test_a_failing_source_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield bytes(GROUP + 1)
        raise OSError("read error")

    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    with pytest.raises(OSError, match="read error"):
        blobs.write(blob_id, KEY, AAD, broken())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_stream_of_one_piece_is_hashed_without_a_thread() -> None:
    before = threading.active_count()
    hasher = BackgroundSHA256()
    buffer = bytearray(b"small blob")
    released = threading.Event()
    hasher.update(memoryview(buffer), released.set, last=True)
    assert released.is_set() and threading.active_count() == before  # hashed at once, here
    assert hasher.hexdigest() == hashlib.sha256(b"small blob").hexdigest()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, GROUP - 1, GROUP, GROUP + 1])
def test_blobs_given_whole_get_buffers_to_measure_and_read_back(tmp_path: Path, size: int) -> None:
    """A blob given as a list of pieces is sealed from a buffer of its own size: every size
    around the chunk and group edges reads back whole, with its hash."""
    data = os.urandom(size)
    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    chunks, written, digest = blobs.write(blob_id, KEY, AAD, [data[:7], data[7:]])
    assert (written, digest) == (size, hashlib.sha256(data).hexdigest())
    assert chunks == max(1, -(-size // CHUNK))
    assert b"".join(blobs.read(blob_id, KEY, AAD, chunks)) == data


def test_background_hash_hands_buffers_back_once_hashed() -> None:
    hasher = BackgroundSHA256()
    buffer = bytearray(b"x" * 100_000)
    released = threading.Event()
    hasher.update(memoryview(buffer), released.set)
    assert released.wait(10)
    buffer[:] = b"y" * 100_000  # reused once handed back: the digest is of what was fed
    hasher.update(b"tail")
    copied = bytearray(b"copied")
    hasher.update(copied)  # fed without a callback: copied, so a later change does not count
    copied[:] = b"zzzzzz"
    expected = hashlib.sha256(b"x" * 100_000 + b"tail" + b"copied").hexdigest()
    assert hasher.hexdigest() == expected
    with pytest.raises(ValueError):
        hasher.update(b"late")


def test_writeback_is_asked_for_as_a_large_blob_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(writeback, "EVERY", GROUP)
    monkeypatch.setattr(writeback, "advise", lambda fd, advice: asked.append(advice))
    data = _data(3 * GROUP + 5)
    blobs, blob_id = BlobFiles(tmp_path), os.urandom(16)
    chunks, _, _ = blobs.write(blob_id, KEY, AAD, io.BytesIO(data))
    # A sealed full group is a little over EVERY bytes: one request after each, none after
    # the short last group.
    sealed_groups = -(-sealed_size(len(data))[1] // (GROUP_CHUNKS * SEALED_CHUNK))
    assert asked.count("POSIX_FADV_DONTNEED") == sealed_groups - 1
    assert b"".join(blobs.read(blob_id, KEY, AAD, chunks)) == data
    assert "POSIX_FADV_WILLNEED" in asked  # the read asked for read-ahead
