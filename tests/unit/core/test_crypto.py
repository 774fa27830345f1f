"""Primitives: sealing, KDF floor, blob streams, blind indexes, signatures, age."""

from __future__ import annotations

import io
import itertools
import os
import random
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core import crypto
from vault.core.errors import InvalidParameter, WeakPassphrase

KEY = bytes(range(32))


@given(st.binary(max_size=2048), st.binary(max_size=64))
def test_seal_round_trip(data: bytes, aad: bytes) -> None:
    assert crypto.unseal(KEY, crypto.seal(KEY, data, aad), aad) == data


@given(st.binary(min_size=1, max_size=256), st.data())
def test_any_flipped_bit_fails(data: bytes, draw: st.DataObject) -> None:
    sealed = bytearray(crypto.seal(KEY, data, b"ad"))
    pos = draw.draw(st.integers(0, len(sealed) - 1))
    bit = draw.draw(st.integers(0, 7))
    sealed[pos] ^= 1 << bit
    with pytest.raises(crypto.CryptoFailure):
        crypto.unseal(KEY, bytes(sealed), b"ad")


def test_wrong_aad_fails() -> None:
    with pytest.raises(crypto.CryptoFailure):
        crypto.unseal(KEY, crypto.seal(KEY, b"x", b"row-1"), b"row-2")


def test_nonces_never_repeat() -> None:
    assert len({crypto.seal(KEY, b"same", b"")[:24] for _ in range(1000)}) == 1000


class _CountingSource:
    """Stands in for os.urandom: every 8 bytes it returns are the next value of one counter,
    so a byte handed out twice shows as a value seen twice."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self._lock = threading.Lock()

    def __call__(self, n: int) -> bytes:
        assert n % 8 == 0
        with self._lock:
            return b"".join(next(self._next).to_bytes(8, "big") for _ in range(n // 8))


def _values(piece: bytes) -> list[int]:
    return [int.from_bytes(piece[i : i + 8], "big") for i in range(0, len(piece) - 7, 8)]


@pytest.fixture
def counting_source(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """os.urandom counts, and the calling thread starts without a batch."""
    monkeypatch.setattr(crypto.os, "urandom", _CountingSource())
    crypto._forget_batch()
    yield
    crypto._forget_batch()


@pytest.mark.usefixtures("counting_source")
def test_batched_random_bytes_are_never_handed_out_twice() -> None:
    drawn: list[int] = []
    # Sizes as the store draws them (ids, keys, nonces, whole slots), over several batches;
    # 40 and 8 are drawn whole so that every value they hold is checked.
    for size in [16, 32, 24, crypto.SLOT, 40, 8] * 20:
        drawn += _values(crypto.random_bytes(size))
    for _ in range(20):
        wrapped, sealed = crypto.seal_record(KEY, b"k", b"body", b"r")
        drawn += _values(wrapped[:24]) + _values(sealed[:24])  # the two nonces, in the clear
    assert len(drawn) == len(set(drawn))
    # Above a slot, the bytes come from the system directly, never from a batch.
    assert len(set(_values(crypto.random_bytes(crypto.SLOT + 8))) & set(drawn)) == 0


@pytest.mark.usefixtures("counting_source")
def test_threads_draw_from_batches_of_their_own() -> None:
    results: list[list[int]] = []

    def draw() -> None:
        mine = []
        for _ in range(200):
            mine += _values(crypto.random_bytes(crypto.SLOT))
        results.append(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [v for r in results for v in r]
    assert len(results) == 4 and len(every) == len(set(every))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_does_not_draw_its_parents_batch() -> None:
    crypto.random_bytes(16)  # this process now holds a batch with slots left
    left, _ = crypto._batch.current
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report a slot, leave at once
        os.write(write_end, crypto.random_bytes(crypto.SLOT))
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, crypto.SLOT)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child) == crypto.SLOT and child not in left
    assert crypto.random_bytes(crypto.SLOT) in left  # the parent goes on with its own


@given(st.binary(max_size=1024), st.binary(max_size=64), st.binary(max_size=64))
def test_seal_record_opens_as_two_seals(body: bytes, key_aad: bytes, aad: bytes) -> None:
    """A wrapped key and a record are what `seal` would have written: the format stays."""
    wrapped, sealed = crypto.seal_record(KEY, key_aad, body, aad)
    record_key = crypto.unseal(KEY, bytes(wrapped), key_aad)
    assert crypto.unseal(record_key, bytes(sealed), aad) == body
    assert crypto.open_record(KEY, bytes(wrapped), key_aad, bytes(sealed), aad) == body
    again = crypto.seal_record(KEY, key_aad, body, aad)
    assert crypto.unseal(KEY, bytes(again[0]), key_aad) != record_key  # a fresh key each time


def test_open_record_says_which_part_failed() -> None:
    wrapped, sealed = (bytes(b) for b in crypto.seal_record(KEY, b"key", b"body", b"rec"))
    other = bytes(32)
    for args in (
        (other, wrapped, b"key", sealed, b"rec"),  # another epoch key
        (KEY, wrapped, b"key!", sealed, b"rec"),  # another record's key
        (KEY, wrapped[:-1], b"key", sealed, b"rec"),
    ):
        with pytest.raises(crypto.WrappedKeyFailure):
            crypto.open_record(*args)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for args in (
        (KEY, wrapped, b"key", sealed, b"rec!"),  # the right key, another record's place
        (KEY, wrapped, b"key", flipped, b"rec"),
        (KEY, wrapped, b"key", sealed[:30], b"rec"),
    ):
        with pytest.raises(crypto.CryptoFailure) as failed:
            crypto.open_record(*args)
        assert not isinstance(failed.value, crypto.WrappedKeyFailure)


def test_kdf_floor_enforced() -> None:
    ok = {"alg": "argon2id13", "t": 2, "m": 19 * crypto.MIB, "profile": "minimum"}
    assert crypto.profile_from_header(ok).memlimit == 19 * crypto.MIB
    for bad in (
        {**ok, "t": 1},
        {**ok, "m": 8 * crypto.MIB},
        {**ok, "m": 1 << 40},
        {**ok, "alg": "x"},
    ):
        with pytest.raises(InvalidParameter):
            crypto.profile_from_header(bad)


def test_passphrase_normalisation() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    salt = bytes(16)
    prof = crypto.PROFILES["minimum"]
    assert crypto.passphrase_key(composed, salt, prof) == crypto.passphrase_key(
        decomposed, salt, prof
    )
    with pytest.raises(WeakPassphrase):
        crypto.normalize_passphrase("")


def test_blob_stream_detects_truncation_reorder_extension() -> None:
    sealer = crypto.BlobSealer(KEY, b"blob")
    chunks = [sealer.seal_chunk(b"a", last=False), sealer.seal_chunk(b"b", last=True)]
    opener = crypto.BlobOpener(KEY, b"blob")
    assert opener.open_chunk(0, chunks[0], last=False) == b"a"
    assert opener.open_chunk(1, chunks[1], last=True) == b"b"
    with pytest.raises(crypto.CryptoFailure):  # truncation: first chunk presented as last
        opener.open_chunk(0, chunks[0], last=True)
    with pytest.raises(crypto.CryptoFailure):  # reordering
        opener.open_chunk(0, chunks[1], last=True)
    with pytest.raises(crypto.CryptoFailure):  # another blob's chunk
        crypto.BlobOpener(KEY, b"other").open_chunk(0, chunks[0], last=False)


def test_blind_index_separates_labels() -> None:
    assert crypto.blind_index(KEY, "name", "x") != crypto.blind_index(KEY, "email", "x")
    assert crypto.blind_index(KEY, "name", "x") == crypto.blind_index(KEY, "name", "x")
    assert len(crypto.blind_index(KEY, "name", "x")) == crypto.BLIND_INDEX_SIZE


def test_ed25519_sign_verify() -> None:
    seed = crypto.signing_seed()
    pk = crypto.ed25519_public_key(seed)
    sig = crypto.ed25519_sign(seed, b"statement")
    assert crypto.ed25519_verify(pk, b"statement", sig)
    assert not crypto.ed25519_verify(pk, b"statement!", sig)


def test_derive_key_separates_purposes() -> None:
    assert crypto.derive_key(KEY, "audit") != crypto.derive_key(KEY, "blind-index")


AGE_SIZES = [0, 1, 65535, 65536, 65537, 16 * 65536, 16 * 65536 + 1, 17 * 65536 + 3]


def _age_encrypted(data: bytes, recipient: str, piece: int = 40_000) -> bytes:
    out = io.BytesIO()
    writer = crypto.AgeWriter(out, recipient)
    for i in range(0, len(data), piece):
        writer.write(data[i : i + piece])
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("size", AGE_SIZES)
def test_the_age_writer_is_read_by_pyrage_and_by_age(size: int, tmp_path: Path) -> None:
    secret, public = crypto.age_keygen()
    data = random.Random(size).randbytes(size)
    sealed = _age_encrypted(data, public)
    back = io.BytesIO()
    crypto.age_decrypt_stream(io.BytesIO(sealed), back, [secret])
    assert back.getvalue() == data
    age = shutil.which("age")
    if age is not None:  # the reference implementation, when installed
        key = tmp_path / "key.txt"
        key.write_text(secret + "\n")
        run = subprocess.run(
            [age, "-d", "-i", str(key)], input=sealed, capture_output=True, check=False
        )
        assert run.returncode == 0 and run.stdout == data


class _Handover:
    """An `OwnedSink` that keeps the buffers it is handed and gives each back only when the
    writer needs one more than it has: what it finally holds must still be intact."""

    def __init__(self) -> None:
        self.pieces: list[tuple[memoryview, object]] = []
        self.out = io.BytesIO()

    def write(self, data: bytes) -> int:
        self._drain()
        return self.out.write(data)

    def write_owned(self, data: memoryview, done: object) -> None:
        self.pieces.append((data, done))
        if len(self.pieces) == crypto.AgeWriter.BUFFERS:
            self._drain()

    def _drain(self) -> None:
        for data, done in self.pieces:
            self.out.write(data)
            done()  # type: ignore[operator]
        self.pieces.clear()

    def value(self) -> bytes:
        self._drain()
        return self.out.getvalue()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 5 * 65536 + 7),
    st.lists(st.integers(1, 3 * 65536), min_size=1, max_size=8),
    st.booleans(),
)
def test_the_age_writer_takes_any_pieces_into_any_sink(
    size: int, cuts: list[int], handed: bool
) -> None:
    secret, public = crypto.age_keygen()
    data = random.Random(size).randbytes(size)
    sink = _Handover() if handed else io.BytesIO()
    writer = crypto.AgeWriter(sink, public)
    at, i = 0, 0
    while at < size:  # pieces of the drawn sizes in turn, as bytes and as views
        piece = data[at : at + cuts[i % len(cuts)]]
        writer.write(memoryview(piece) if i % 2 else piece)
        at, i = at + len(piece), i + 1
    writer.close()
    sealed = sink.value() if isinstance(sink, _Handover) else sink.getvalue()
    back = io.BytesIO()
    crypto.age_decrypt_stream(io.BytesIO(sealed), back, [secret])
    assert back.getvalue() == data


def test_the_age_writer_flags_its_last_chunk_and_uses_fresh_keys() -> None:
    secret, public = crypto.age_keygen()
    data = bytes(3 * 65536)  # three full chunks: the last one full, flagged last
    sealed = _age_encrypted(data, public)
    assert _age_encrypted(data, public) != sealed  # a fresh file key and nonce every time
    header_end = sealed.index(b"\n---") + 1
    payload = sealed.index(b"\n", header_end) + 1 + 16  # after the MAC line and the nonce
    chunk = 65536 + crypto.TAG_SIZE
    for damaged in (
        sealed[: payload + 2 * chunk],  # the last chunk dropped: the second is not flagged last
        sealed[:-1],
        sealed + b"\0",
        sealed[:payload] + sealed[payload + chunk : payload + 2 * chunk] + sealed[payload:],
    ):
        with pytest.raises(crypto.AgeFailure):
            crypto.age_decrypt_stream(io.BytesIO(damaged), io.BytesIO(), [secret])


def test_the_age_writer_refuses_what_is_not_a_recipient() -> None:
    _, public = crypto.age_keygen()
    flipped = public[:-1] + ("q" if public[-1] != "q" else "p")  # checksum broken
    for bad in (flipped, "age1", public.replace("age1", "agf1"), "AGE-SECRET-KEY-1XYZ"):
        with pytest.raises(crypto.CryptoFailure):
            crypto.AgeWriter(io.BytesIO(), bad)
