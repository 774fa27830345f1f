"""Sealed remote objects: what a remote stores is noise of a few sizes.

Every object (a segment of record changes, a blob, a device's head) is sealed the same way:
the payload's length (u64), the payload and zero padding, cut into 64 KiB chunks sealed with
ChaCha20-Poly1305 under a key of that object alone, the nonce carrying the chunk number and a
last-chunk flag (age's STREAM), the vault id and the object's name bound as associated data.
So an object moved to another name, truncated, extended or spliced fails to open, and its size
is padded (Padmé: at most 12 % larger, at least 4 KiB) so the remote sees few distinct sizes.

A head is the one object found without a key from elsewhere: its name is 8 random bytes and a
keyed hash of them under the names key (derived from the root), so a device recognises heads
in a listing and the remote cannot; its first bytes are its object key sealed under a key
derived from the passphrase key (and, for the recovery kit, sealed to the kit's public key).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from vault.core import crypto
from vault.core.crypto import CryptoFailure
from vault.core.errors import TamperedRemote
from vault.core.i18n import N_
from vault.core.keys import FORMAT_TAG

CHUNK: Final = crypto.CHUNK_SIZE
SEALED_CHUNK: Final = CHUNK + crypto.TAG_SIZE
MIN_PADDED: Final = 4096
_LEN = struct.Struct(">Q")
HEAD_WRAP: Final = crypto.SEAL_OVERHEAD + crypto.KEY_SIZE  # the object key sealed (72 bytes)
RECOVERY_WRAP: Final = 80  # the object key sealed to the recovery kit (X25519 sealed box)


def padded_size(length: int) -> int:
    """Padmé (Nikitin et al., PETS 2019): the size a payload of `length` bytes is padded to.
    It leaks O(log log n) bits of the length, with at most 12 % overhead."""
    length = max(length, MIN_PADDED)
    exponent = length.bit_length() - 1
    bits = exponent.bit_length()
    mask = (1 << max(exponent - bits, 0)) - 1
    return (length + mask) & ~mask


def sealed_size(payload_size: int) -> int:
    """The size on the remote of an object holding `payload_size` bytes."""
    plain = padded_size(_LEN.size + payload_size)
    chunks = -(-plain // CHUNK)
    return plain + chunks * crypto.TAG_SIZE


def _aad(vault_id: bytes, name: str) -> bytes:
    return FORMAT_TAG + b"remote\x00" + vault_id + name.encode()


class _Window:
    """Bytes fed in pieces and taken out in fixed sizes, without moving what is left at each
    take (a 1 MiB piece cut into 64 KiB chunks is copied once, not sixteen times)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._at = 0

    def __len__(self) -> int:
        return len(self._buf) - self._at

    def feed(self, piece: bytes | memoryview) -> None:
        if self._at and self._at >= len(self._buf) // 2:
            del self._buf[: self._at]
            self._at = 0
        self._buf += piece

    def take(self, n: int) -> memoryview:
        """The next `n` bytes (valid until the next `feed`)."""
        view = memoryview(self._buf)[self._at : self._at + n]
        self._at += n
        return view


def seal(
    key: bytes, vault_id: bytes, name: str, pieces: Iterable[bytes], size: int
) -> Iterator[bytes]:
    """The sealed object of a payload given as pieces adding up to `size` bytes, yielded in
    groups of up to 16 sealed chunks (memory stays bounded whatever the payload's size)."""
    sealer = crypto.BlobSealer(key, _aad(vault_id, name))
    total = padded_size(_LEN.size + size)
    chunks = -(-total // CHUNK)
    last_size = total - (chunks - 1) * CHUNK

    def plain() -> Iterator[bytes]:
        yield _LEN.pack(size)
        fed = 0
        for piece in pieces:
            fed += len(piece)
            if fed > size:
                raise ValueError("the payload is longer than announced")
            yield piece
        if fed != size:
            raise ValueError("the payload is shorter than announced")
        padding = total - _LEN.size - size
        while padding > 0:
            n = min(padding, 1 << 20)
            yield bytes(n)
            padding -= n

    window = _Window()
    index = 0
    out = memoryview(bytearray(16 * SEALED_CHUNK))  # one group of sealed chunks, reused
    used = 0
    for piece in plain():
        window.feed(piece)
        while index < chunks:
            last = index == chunks - 1
            need = last_size if last else CHUNK
            if len(window) < need:
                break
            chunk = window.take(need)
            used += sealer.seal_into(chunk, out[used:], last=last)
            chunk.release()
            index += 1
            if used + SEALED_CHUNK > len(out):
                yield bytes(out[:used])
                used = 0
    if len(window) or index != chunks:  # pragma: no cover - the sizes above rule it out
        raise AssertionError("object sealing lost its count")
    if used:
        yield bytes(out[:used])


def seal_bytes(key: bytes, vault_id: bytes, name: str, payload: bytes) -> bytes:
    return b"".join(seal(key, vault_id, name, [payload], len(payload)))


def open_stream(key: bytes, vault_id: bytes, name: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The authenticated payload of a sealed object, in pieces; TamperedRemote if the object
    was changed, cut or extended. Nothing is yielded from a chunk before it authenticated, and
    the caller must exhaust the iterator: only the end proves nothing was cut."""
    opener = crypto.BlobOpener(key, _aad(vault_id, name))
    window = _Window()
    index = 0
    left: int | None = None  # payload bytes still to yield
    plain = bytearray(CHUNK)
    out = bytearray()

    def open_one(sealed: memoryview, last: bool) -> memoryview:
        try:
            n = opener.open_into(index, sealed, memoryview(plain), last=last)
        except CryptoFailure:
            raise TamperedRemote(N_("an object fails authentication")) from None
        return memoryview(plain)[:n]

    def emit(opened: memoryview) -> None:
        nonlocal left
        if left is None:
            if len(opened) < _LEN.size:
                raise TamperedRemote(N_("an object is too short"))
            (left,) = _LEN.unpack_from(opened)
            opened = opened[_LEN.size :]
        take = min(left, len(opened))
        out.extend(opened[:take])
        left -= take

    for piece in pieces:
        window.feed(piece)
        # Keep one chunk back: only the end of the object says which chunk is the last.
        while len(window) > SEALED_CHUNK:
            emit(open_one(window.take(SEALED_CHUNK), False))
            index += 1
        if len(out) >= 1 << 20:
            yield bytes(out)
            out.clear()
    if not len(window):
        raise TamperedRemote(N_("an object is empty"))
    emit(open_one(window.take(len(window)), True))
    if left:
        raise TamperedRemote(N_("an object is shorter than it says"))
    if out:
        yield bytes(out)


def open_bytes(key: bytes, vault_id: bytes, name: str, data: bytes) -> bytes:
    return b"".join(open_stream(key, vault_id, name, [data]))


# --- names ---------------------------------------------------------------------------------


def names_key(root: bytes, vault_id: bytes) -> bytes:
    return crypto.derive_key(root, "remote-names", vault_id)


def random_name() -> str:
    return crypto.random_bytes(16).hex()


def head_name(key: bytes) -> str:
    nonce = crypto.random_bytes(8)
    return (nonce + crypto.keyed_hash(key, b"head\x00" + nonce)[:8]).hex()


def is_head_name(key: bytes, name: str) -> bool:
    if len(name) != 32:
        return False
    try:
        raw = bytes.fromhex(name)
    except ValueError:
        return False
    return crypto.constant_time_equal(crypto.keyed_hash(key, b"head\x00" + raw[:8])[:8], raw[8:])


# --- heads ---------------------------------------------------------------------------------


def head_wrap_key(passphrase_key: bytes, vault_id: bytes) -> bytes:
    return crypto.derive_key(passphrase_key, "remote-head", vault_id)


def _head_aad(vault_id: bytes, name: str) -> bytes:
    return FORMAT_TAG + b"remote-head\x00" + vault_id + name.encode()


def seal_head(
    wrap_key: bytes,
    vault_id: bytes,
    name: str,
    payload: bytes,
    seal_for_recovery: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """A head: its object key sealed under the passphrase-derived key, then sealed for the
    recovery kit (random bytes when there is no kit, so both kinds of head look alike), then
    the sealed payload."""
    key = crypto.new_key()
    wrapped = crypto.seal(wrap_key, key, _head_aad(vault_id, name))
    recovery = seal_for_recovery(key) if seal_for_recovery else crypto.random_bytes(RECOVERY_WRAP)
    if len(recovery) != RECOVERY_WRAP:
        raise ValueError("a recovery wrap has the wrong size")
    return wrapped + recovery + seal_bytes(key, vault_id, _head_body_name(name, recovery), payload)


def _head_body_name(name: str, recovery: bytes) -> str:
    # The body is bound to the recovery part too, so no byte of a head goes unchecked (the
    # part is random filler when there is no kit).
    return f"{name}/{crypto.keyed_hash(bytes(32), recovery)[:16].hex()}"


def open_head(wrap_key: bytes, vault_id: bytes, name: str, data: bytes) -> bytes | None:
    """The payload of a head, or None if its key does not unwrap under `wrap_key` (a head
    written under another passphrase); TamperedRemote if the key unwraps but the body fails."""
    try:
        key = crypto.unseal(wrap_key, data[:HEAD_WRAP], _head_aad(vault_id, name))
    except CryptoFailure:
        return None
    return open_head_with(key, vault_id, name, data)


def open_head_with(key: bytes, vault_id: bytes, name: str, data: bytes) -> bytes:
    """The payload of a head whose object key is known (unwrapped by the recovery kit)."""
    body_name = _head_body_name(name, recovery_part(data))
    return open_bytes(key, vault_id, body_name, data[HEAD_WRAP + RECOVERY_WRAP :])


def recovery_part(data: bytes) -> bytes:
    """The part of a head that holds its object key sealed to the recovery kit."""
    return data[HEAD_WRAP : HEAD_WRAP + RECOVERY_WRAP]
