"""Cryptographic primitives: the only module that touches them.

Everything else in Coffre calls these small, choice-free functions: `seal`/`unseal` for
records and wrapped keys, `BlobSealer`/`BlobOpener` for large streams, `derive_key` for
purpose keys, `blind_index` for lookups, `passphrase_key` for the KDF, Ed25519 helpers for
signatures, and `box_seal`/`box_open` for what is sealed to a public key. Failures raise
`CryptoFailure`, deliberately vague (like `InvalidTag`): the caller turns it into an error
that names what failed, never what was compared.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import queue
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from vault.core.errors import InvalidParameter, WeakPassphrase
from vault.core.i18n import N_

KEY_SIZE: Final = 32
SALT_SIZE: Final = 16
XNONCE_SIZE: Final = 24
TAG_SIZE: Final = 16
SEAL_OVERHEAD: Final = XNONCE_SIZE + TAG_SIZE
BLIND_INDEX_SIZE: Final = 16
CHUNK_SIZE: Final = 64 * 1024

MIB: Final = 1024 * 1024


class CryptoFailure(Exception):
    """Authentication failed. Carries no detail on purpose."""


# --- passphrase KDF -------------------------------------------------------------------------


@dataclass(frozen=True)
class KdfProfile:
    """Argon2id cost parameters (libsodium uses one lane)."""

    name: str
    opslimit: int
    memlimit: int

    def as_header(self) -> dict[str, object]:
        return {"alg": "argon2id13", "profile": self.name, "t": self.opslimit, "m": self.memlimit}


PROFILES: Final[dict[str, KdfProfile]] = {
    "minimum": KdfProfile("minimum", 2, 19 * MIB),
    "interactive": KdfProfile("interactive", 2, 64 * MIB),
    "moderate": KdfProfile("moderate", 3, 256 * MIB),
    "sensitive": KdfProfile("sensitive", 4, 1024 * MIB),
}
DEFAULT_PROFILE: Final = "moderate"
# The OWASP floor for Argon2id; a header asking for less is refused, not trusted. The ceiling
# stops a tampered header from making unlock allocate absurd memory.
FLOOR = PROFILES["minimum"]
CEILING_MEM: Final = 4096 * MIB
CEILING_OPS: Final = 16


def profile_from_header(fields: dict[str, object]) -> KdfProfile:
    """Validate KDF parameters read from a vault header (they are not authenticated yet)."""
    try:
        ops = int(fields["t"])  # type: ignore[call-overload]
        mem = int(fields["m"])  # type: ignore[call-overload]
        name = str(fields.get("profile", "custom"))
        alg = fields["alg"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(N_("the vault header's KDF parameters are unreadable")) from exc
    if alg != "argon2id13":
        raise InvalidParameter(N_("the vault header names an unknown KDF"))
    if ops < FLOOR.opslimit or mem < FLOOR.memlimit:
        raise InvalidParameter(N_("the vault header's KDF parameters are below the safe floor"))
    if ops > CEILING_OPS or mem > CEILING_MEM:
        raise InvalidParameter(N_("the vault header's KDF parameters are out of range"))
    return KdfProfile(name, ops, mem)


def normalize_passphrase(passphrase: str | bytes) -> bytes:
    """NFC-normalise and encode, so the same passphrase typed elsewhere opens the vault."""
    if isinstance(passphrase, bytes):
        try:
            passphrase = passphrase.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WeakPassphrase(N_("it is not valid UTF-8")) from exc
    if not passphrase:
        raise WeakPassphrase(N_("it is empty"))
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def passphrase_key(passphrase: str | bytes, salt: bytes, profile: KdfProfile) -> bytes:
    """Argon2id(passphrase, salt) -> 32-byte key."""
    return bytes(
        nacl.pwhash.argon2id.kdf(
            KEY_SIZE,
            normalize_passphrase(passphrase),
            salt,
            opslimit=profile.opslimit,
            memlimit=profile.memlimit,
        )
    )


# --- randomness and derivation ---
# A record write needs a fresh id, key and two nonces: four calls to the system's generator
# cost more than both ciphers on a small record. Random bytes are therefore drawn a batch at a
# time and handed out in fixed slots, each slot once. The slot is reserved by `next` on an
# iterator of offsets, a single step of the interpreter: a thread never shares its batch
# (`threading.local`), and not even code that interrupts a draw (a signal handler) can be
# handed the offset it was given. A forked child drops the batch it inherited, so parent and
# child never draw the same bytes.

SLOT: Final = 80  # bytes per draw at most: a record key and two nonces
_SLOTS: Final = 16  # slots per call to the system (1,280 bytes: the cheapest per byte)


class _Batch(threading.local):
    """This thread's batch of random bytes and the offsets of its slots not yet handed out."""

    def __init__(self) -> None:
        self.current: tuple[bytes, Iterator[int]] = (b"", iter(()))


_batch = _Batch()


def _forget_batch() -> None:
    _batch.current = (b"", iter(()))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_batch)


def _slot() -> tuple[bytes, int]:
    """(batch, offset) of SLOT random bytes handed out to no one else."""
    data, offsets = _batch.current
    start = next(offsets, -1)
    if start < 0:
        data = os.urandom(SLOT * _SLOTS)
        offsets = iter(range(SLOT, SLOT * _SLOTS, SLOT))
        _batch.current = (data, offsets)
        start = 0
    return data, start


def random_bytes(n: int) -> bytes:
    """`n` fresh random bytes (from a batch up to SLOT bytes, straight from the system above)."""
    if n > SLOT:
        return os.urandom(n)
    data, start = _slot()
    return data[start : start + n]


def new_key() -> bytes:
    """A fresh random 32-byte key."""
    return random_bytes(KEY_SIZE)


def derive_key(root: bytes, purpose: str, context: bytes = b"") -> bytes:
    """HKDF-SHA256: one independent key per purpose (and optional context)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=None,
        info=b"coffre/v1/" + purpose.encode() + b"\x00" + context,
    ).derive(root)


def blind_index(key: bytes, label: str, value: str | bytes) -> bytes:
    """HMAC-SHA256 of (label, value), truncated: equal inputs match, nothing else leaks."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    msg = label.encode("utf-8") + b"\x00" + raw
    return hmac.new(key, msg, hashlib.sha256).digest()[:BLIND_INDEX_SIZE]


def keyed_hash(key: bytes, data: bytes) -> bytes:
    """Keyed BLAKE2b-256: a fast PRF for digests and hash chains."""
    return hashlib.blake2b(data, key=key, digest_size=32).digest()


def keyed_hasher(key: bytes) -> Callable[[bytes], bytes]:
    """`keyed_hash` with the key schedule done once, for hashing many small inputs."""
    base = hashlib.blake2b(key=key, digest_size=32)

    def digest(data: bytes) -> bytes:
        h = base.copy()
        h.update(data)
        return h.digest()

    return digest


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# --- records: XChaCha20-Poly1305 ------------------------------------------------------------


# libsodium is called through PyNaCl's own cffi handle rather than its Python wrappers: the
# wrappers' argument checks cost more than the cipher on small records (measured 7.4 us
# against 2.8 us for a 250-byte record). Lengths are checked here instead.


_new = _ffi.new
_buffer = _ffi.buffer
_from_buffer = _ffi.from_buffer
_memmove = _ffi.memmove
_NULL = _ffi.NULL
_encrypt = _lib.crypto_aead_xchacha20poly1305_ietf_encrypt
_decrypt = _lib.crypto_aead_xchacha20poly1305_ietf_decrypt


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate: random 24-byte nonce || ciphertext || tag."""
    if len(key) != KEY_SIZE:
        raise ValueError("key size")
    nonce = random_bytes(XNONCE_SIZE)
    size = len(plaintext)
    out = _new("unsigned char[]", size + TAG_SIZE)
    _encrypt(out, _NULL, plaintext, size, aad, len(aad), _NULL, nonce, key)
    return nonce + _buffer(out)[:]  # type: ignore[no-any-return]


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Inverse of `seal`; raises `CryptoFailure` on any mismatch."""
    size = len(sealed) - SEAL_OVERHEAD
    if size < 0 or len(key) != KEY_SIZE:
        raise CryptoFailure
    out = _new("unsigned char[]", size or 1)
    # Nonce and ciphertext are read in place (no slice copies): a view, then an offset.
    src = _from_buffer("unsigned char[]", sealed)
    if _decrypt(out, _NULL, _NULL, src + XNONCE_SIZE, size + TAG_SIZE, aad, len(aad), src, key):
        raise CryptoFailure
    return _buffer(out, size)[:]  # type: ignore[no-any-return]


class WrappedKeyFailure(CryptoFailure):
    """A record's wrapped key did not open (the record itself was not tried)."""


_WRAPPED_SIZE: Final = XNONCE_SIZE + KEY_SIZE + TAG_SIZE


def seal_record(
    wrap_key: bytes, key_aad: bytes, plaintext: bytes, aad: bytes
) -> tuple[bytearray, bytearray]:
    """Seal `plaintext` under a fresh key and wrap that key under `wrap_key`: (wrapped key,
    sealed record), each laid out as `seal` lays it out (nonce || ciphertext || tag) and bound
    to its own associated data. One call for what a record write needs, the key and both
    nonces from one slot. Bytearrays, sealed in place: SQLite binds them as they are, where
    `bytes` go through its adapter lookup first (3.11: a third of the cost of an insert)."""
    if len(wrap_key) != KEY_SIZE:
        raise ValueError("key size")
    data, start = _slot()
    fresh = _from_buffer("unsigned char[]", data) + start  # the key, then the two nonces
    wrapped = bytearray(_WRAPPED_SIZE)
    w = _from_buffer("unsigned char[]", wrapped)
    _memmove(w, fresh + KEY_SIZE, XNONCE_SIZE)
    _encrypt(w + XNONCE_SIZE, _NULL, fresh, KEY_SIZE, key_aad, len(key_aad), _NULL, w, wrap_key)
    size = len(plaintext)
    sealed = bytearray(size + SEAL_OVERHEAD)
    o = _from_buffer("unsigned char[]", sealed)
    _memmove(o, fresh + KEY_SIZE + XNONCE_SIZE, XNONCE_SIZE)
    _encrypt(o + XNONCE_SIZE, _NULL, plaintext, size, aad, len(aad), _NULL, o, fresh)
    return wrapped, sealed


def open_record(
    wrap_key: bytes, wrapped: bytes, key_aad: bytes, sealed: bytes, aad: bytes
) -> bytes:
    """Inverse of `seal_record`: unwrap the key, open the record with it. WrappedKeyFailure
    if the key does not unwrap, CryptoFailure if the record does not open."""
    size = len(sealed) - SEAL_OVERHEAD
    if len(wrapped) != _WRAPPED_SIZE or len(wrap_key) != KEY_SIZE:
        raise WrappedKeyFailure
    if size < 0:
        raise CryptoFailure
    # One allocation for the record key and the plaintext after it: the key never becomes a
    # Python object. The nonces are read in place, the ciphertexts from slices (a copy of a
    # small record costs less than a pointer into it).
    buf = _new("unsigned char[]", KEY_SIZE + size)
    plain, n, k = buf + KEY_SIZE, XNONCE_SIZE, wrap_key
    if _decrypt(
        buf, _NULL, _NULL, wrapped[n:], _WRAPPED_SIZE - n, key_aad, len(key_aad), wrapped, k
    ):
        raise WrappedKeyFailure
    if _decrypt(plain, _NULL, _NULL, sealed[n:], size + TAG_SIZE, aad, len(aad), sealed, buf):
        raise CryptoFailure
    return _buffer(plain, size)[:]  # type: ignore[no-any-return]


# --- large blobs: chunked AEAD stream ----------------------------------------------------------
# A fresh key per blob, so the nonce can be the chunk counter (11 bytes) plus a last-chunk flag
# (1 byte), as in age's STREAM: truncation, reordering and extension all fail.


def _chunk_nonce(index: int, last: bool) -> bytes:
    if index >= 1 << 88:
        raise InvalidParameter(N_("blob too large"))
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class BlobSealer:
    """Seals the chunks of one blob, in order."""

    def __init__(self, key: bytes, aad: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._aad = aad
        self._index = 0

    def seal_chunk(self, data: bytes, *, last: bool) -> bytes:
        out = self._aead.encrypt(_chunk_nonce(self._index, last), data, self._aad)
        self._index += 1
        return out

    def seal_into(self, data: bytes | memoryview, out: memoryview, *, last: bool) -> int:
        """Seal the next chunk into `out` (at least TAG_SIZE bytes longer than `data`);
        return the sealed length. Same bytes as `seal_chunk`, without a new object per chunk:
        bulk writers reuse one buffer."""
        size = len(data) + TAG_SIZE
        self._aead.encrypt_into(_chunk_nonce(self._index, last), data, self._aad, out[:size])
        self._index += 1
        return size


class BlobOpener:
    """Opens the chunks of one blob; the caller enforces the order and the last flag."""

    def __init__(self, key: bytes, aad: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._aad = aad

    def open_chunk(self, index: int, sealed: bytes | memoryview, *, last: bool) -> bytes:
        try:
            return self._aead.decrypt(_chunk_nonce(index, last), sealed, self._aad)
        except InvalidTag as exc:
            raise CryptoFailure from exc

    def open_into(
        self, index: int, sealed: bytes | memoryview, out: memoryview, *, last: bool
    ) -> int:
        """Open a chunk into `out` (at least its plaintext's size); return that size. As
        `open_chunk`, without a new object per chunk; `out` is not to be trusted (nor kept)
        when this raises."""
        size = len(sealed) - TAG_SIZE
        if size < 0:
            raise CryptoFailure
        try:
            self._aead.decrypt_into(_chunk_nonce(index, last), sealed, self._aad, out[:size])
        except InvalidTag as exc:
            raise CryptoFailure from exc
        return size


# --- signatures: Ed25519 --------------------------------------------------------------------


def signing_seed() -> bytes:
    """A fresh Ed25519 seed (32 bytes)."""
    return os.urandom(KEY_SIZE)


def ed25519_public_key(seed: bytes) -> bytes:
    pk, _sk = sodium.crypto_sign_seed_keypair(seed)
    return bytes(pk)


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """Detached 64-byte signature."""
    _pk, sk = sodium.crypto_sign_seed_keypair(seed)
    return bytes(sodium.crypto_sign(message, sk)[:64])


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        sodium.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


def x25519_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """Deterministic X25519 (secret, public) from a 32-byte seed."""
    secret = hashlib.sha512(b"coffre/v1/x25519\x00" + seed).digest()[:32]
    return secret, bytes(sodium.crypto_scalarmult_base(secret))


# --- anonymous public-key boxes: X25519 (libsodium's crypto_box_seal) -------------------------
# What the recovery kit rests on: the unlocked vault holds only the kit's public key, so it
# can seal its keys to the kit at every rotation without the kit's secret being present.

SEALED_BOX_OVERHEAD: Final = 48  # the ephemeral public key (32) and the tag (16)


def box_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """Deterministic X25519 (secret, public) for sealed boxes, from a 32-byte seed."""
    if len(seed) != KEY_SIZE:
        raise ValueError("seed size")
    public, secret = sodium.crypto_box_seed_keypair(seed)
    return bytes(secret), bytes(public)


def box_seal(public_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt to `public_key` with a fresh ephemeral key (anonymous: the box says nothing
    of who sealed it, so whoever opens one must authenticate what it holds)."""
    if len(public_key) != KEY_SIZE:
        raise ValueError("public key size")
    return bytes(sodium.crypto_box_seal(plaintext, public_key))


def box_open(secret: bytes, public_key: bytes, sealed: bytes) -> bytes:
    """Inverse of `box_seal`; raises `CryptoFailure` on any mismatch."""
    if len(sealed) < SEALED_BOX_OVERHEAD or len(secret) != KEY_SIZE:
        raise CryptoFailure
    try:
        return bytes(sodium.crypto_box_seal_open(sealed, public_key, secret))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, ValueError, TypeError):
        raise CryptoFailure from None


def ed25519_key_id(public_key: bytes) -> bytes:
    """A stable 8-byte key id for an Ed25519 public key (minisign's key number)."""
    return hashlib.blake2b(b"coffre/v1/key-id\x00" + public_key, digest_size=8).digest()


def blake2b_512(chunks: Iterable[bytes]) -> bytes:
    """BLAKE2b-512 of a stream of chunks (what minisign signs)."""
    h = hashlib.blake2b(digest_size=64)
    for chunk in chunks:
        h.update(chunk)
    return h.digest()


# --- age v1 (bundles): X25519 keys and decryption through pyrage, the writer here -------------


class AgeFailure(CryptoFailure):
    """An age file could not be decrypted; `reason` says which stage failed, nothing more:
    `identity` (no identity given opens the header), `header` (not a valid age header) or
    `payload` (the encrypted stream is damaged, truncated or extended)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def age_keygen() -> tuple[str, str]:
    """A fresh age X25519 identity: (secret `AGE-SECRET-KEY-1...`, public `age1...`)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def age_check_recipient(text: str) -> str:
    """The canonical form of an age X25519 recipient; CryptoFailure when it is not one."""
    from pyrage import RecipientError, x25519

    try:
        return str(x25519.Recipient.from_str(text.strip()))
    except (RecipientError, ValueError) as exc:
        raise CryptoFailure from exc


def age_identity_public(secret: str) -> str:
    """The recipient (`age1...`) of an identity (`AGE-SECRET-KEY-1...`); CryptoFailure if bad."""
    from pyrage import IdentityError, x25519

    try:
        return str(x25519.Identity.from_str(secret.strip()).to_public())
    except (IdentityError, ValueError) as exc:
        raise CryptoFailure from exc


def age_encrypt_stream(source: Any, sink: Any, recipient: str) -> None:
    """Encrypt what `source.readinto` yields to one X25519 recipient, writing age v1 to
    `sink.write` as it goes (constant memory)."""
    import pyrage
    from pyrage import x25519

    try:
        pyrage.encrypt_io(source, sink, [x25519.Recipient.from_str(recipient)])
    except (pyrage.EncryptError, pyrage.RecipientError) as exc:
        raise CryptoFailure from exc


_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_AGE_CHUNK: Final = 64 * 1024


def bech32_polymod(values: list[int]) -> int:
    """BIP 173's checksum over 5-bit values: 1 when a bech32 checksum holds. Any error in up
    to 4 characters of a string under 90 is detected (the recovery code uses it too)."""
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    return chk


def _age_recipient_key(recipient: str) -> bytes:
    """The 32-byte X25519 key of an `age1...` recipient (bech32, checksum checked)."""
    text = recipient.strip().lower()
    hrp, _, data = text.rpartition("1")
    if hrp != "age" or any(c not in _BECH32 for c in data) or len(data) < 7:
        raise CryptoFailure
    values = [_BECH32.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if bech32_polymod(expanded + values) != 1:
        raise CryptoFailure
    acc = bits = 0
    out = bytearray()
    for v in values[:-6]:
        acc, bits = acc << 5 | v, bits + 5
        if bits >= 8:
            bits -= 8
            out.append(acc >> bits & 0xFF)
    if len(out) != KEY_SIZE or acc & ((1 << bits) - 1):
        raise CryptoFailure
    return bytes(out)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info).derive(ikm)


class AgeWriter:
    """age v1 encryption to one X25519 recipient, streamed (age-encryption.org/v1): the
    header with its X25519 stanza and MAC, then the payload in 64 KiB STREAM chunks. What
    `age -d` and pyrage read; written here rather than through pyrage so a bundle's bytes
    are sealed in large calls without a Python callback per 8 KiB.

    `write` what to encrypt, in any pieces; `close` seals the last chunk (a chunk is held
    back until more data shows it is not the last, as the format requires). Whole chunks of
    a piece are sealed from the piece itself; only a chunk's worth at its ends is copied.
    Sealed chunks go to `sink` about a MiB at a time. A sink with `write_owned(data, done)`
    (an `OwnedSink`) is handed each buffer, which it gives back by calling `done`, so it may
    write and hash on another thread while the next chunks are sealed; any other sink's
    `write(data)` must be done with `data` when it returns."""

    GROUP: Final = 16  # chunks sealed into one output buffer (about a MiB)
    BUFFERS: Final = 4  # output buffers an `OwnedSink` may hold at once

    def __init__(self, sink: Any, recipient: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.x25519 import (
            X25519PrivateKey,
            X25519PublicKey,
        )

        their = _age_recipient_key(recipient)
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(their))
        if not any(shared):
            raise CryptoFailure
        file_key = os.urandom(16)
        wrap = _hkdf(shared, share + their, b"age-encryption.org/v1/X25519")
        body = ChaCha20Poly1305(wrap).encrypt(bytes(12), file_key, None)
        header = b"age-encryption.org/v1\n-> X25519 " + _b64(share) + b"\n" + _b64(body) + b"\n---"
        mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
        nonce = os.urandom(16)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._sink = sink
        self._owned = getattr(sink, "write_owned", None)
        self._held = bytearray(_AGE_CHUNK)  # the chunk that may be the last
        self._filled = 0
        self._index = 0
        size = self.GROUP * (_AGE_CHUNK + TAG_SIZE)
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(self.BUFFERS if self._owned is not None else 1):
            self._free.put(bytearray(size))
        self._out: bytearray | None = None
        self._end = 0
        sink.write(header + b" " + _b64(mac) + b"\n" + nonce)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            if self._filled == _AGE_CHUNK:  # more data follows: the held chunk is not last
                self._seal(memoryview(self._held), last=False)
                self._filled = 0
            if not self._filled and len(view) > _AGE_CHUNK:
                # Whole chunks with more data after them are sealed in place.
                whole = (len(view) - 1) // _AGE_CHUNK * _AGE_CHUNK
                for at in range(0, whole, _AGE_CHUNK):
                    self._seal(view[at : at + _AGE_CHUNK], last=False)
                view = view[whole:]
            n = min(_AGE_CHUNK - self._filled, len(view))
            self._held[self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]

    def close(self) -> None:
        """Seal what is held, the final chunk flagged last (one empty chunk if nothing), and
        pass the rest of the sealed bytes to the sink."""
        self._seal(memoryview(self._held)[: self._filled], last=True)
        self._flush()

    def _seal(self, piece: memoryview, *, last: bool) -> None:
        if self._out is None:
            self._out, self._end = self._free.get(), 0
        size = len(piece) + TAG_SIZE
        out = memoryview(self._out)[self._end : self._end + size]
        self._aead.encrypt_into(_chunk_nonce(self._index, last), piece, None, out)
        self._index += 1
        self._end += size
        if self._end + _AGE_CHUNK + TAG_SIZE > len(self._out):
            self._flush()

    def _flush(self) -> None:
        """Pass the sealed bytes of the current buffer on."""
        buf, self._out = self._out, None
        if buf is None:
            return
        sealed = memoryview(buf)[: self._end]
        if self._owned is not None:
            self._owned(sealed, partial(self._free.put, buf))
        else:
            self._sink.write(sealed)
            self._free.put(buf)


class OwnedSink(Protocol):
    """A sink that takes buffers over: `done` is called once it no longer needs `data`."""

    def write(self, data: bytes) -> Any: ...

    def write_owned(self, data: memoryview, done: Callable[[], None]) -> None: ...


def age_decrypt_stream(source: Any, sink: Any, identities: Iterable[str]) -> None:
    """Decrypt an age v1 stream with X25519 identities, writing plaintext to `sink.write` as
    each chunk authenticates. A failure raises AgeFailure *after* earlier chunks were written,
    so callers must treat what they received as unverified until this returns."""
    import pyrage
    from pyrage import x25519

    try:
        ids = [x25519.Identity.from_str(s.strip()) for s in identities]
    except (pyrage.IdentityError, ValueError) as exc:
        raise CryptoFailure from exc
    try:
        pyrage.decrypt_io(source, sink, ids)
    except pyrage.DecryptError as exc:
        text = str(exc).lower()
        raise AgeFailure("identity" if "no matching keys" in text else "header") from exc
    except OSError as exc:
        raise AgeFailure("payload") from exc
