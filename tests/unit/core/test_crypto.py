"""Primitives: sealing, KDF floor, blob streams, blind indexes, signatures."""

from __future__ import annotations

import pytest
from hypothesis import given
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
