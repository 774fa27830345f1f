"""Minisign public keys and signatures, so `minisign -V` verifies what Coffre signs.

Formats (https://jedisct1.github.io/minisign/):

    public key     untrusted comment: <text>
                   base64("Ed" || key id (8 bytes) || Ed25519 public key (32 bytes))
    signature      untrusted comment: <text>
                   base64("ED" || key id || Ed25519(BLAKE2b-512(data)))
                   trusted comment: <text>
                   base64(Ed25519(signature || trusted comment))

The trusted comment is covered by the global signature; the untrusted one is not. Coffre
always signs the pre-hashed ("ED") form, so files of any size are signed in constant memory;
verification also accepts the legacy "Ed" form that signs the data itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from vault.core import crypto
from vault.core.errors import BadSignature, InvalidParameter
from vault.core.i18n import N_, Text

PUBLIC_KEY_ALG: Final = b"Ed"
PREHASHED_ALG: Final = b"ED"
LEGACY_ALG: Final = b"Ed"
KEY_ID_SIZE: Final = 8
UNTRUSTED_PREFIX: Final = "untrusted comment: "
TRUSTED_PREFIX: Final = "trusted comment: "


@dataclass(frozen=True)
class PublicKey:
    """A minisign public key: its 8-byte key id and 32-byte Ed25519 key."""

    key_id: bytes
    key: bytes

    @property
    def key_id_hex(self) -> str:
        """The key id as minisign prints it (little-endian 64-bit, upper-case hex)."""
        return f"{int.from_bytes(self.key_id, 'little'):016X}"


@dataclass(frozen=True)
class Signature:
    """A parsed minisign signature file."""

    algorithm: bytes
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes
    untrusted_comment: str


def key_id_for(public_key: bytes) -> bytes:
    """The key id Coffre gives an Ed25519 public key (stable, derived from the key)."""
    _check_public_key(public_key)
    return crypto.ed25519_key_id(public_key)


def _check_public_key(public_key: bytes) -> None:
    if len(public_key) != 32:
        raise InvalidParameter(N_("an Ed25519 public key is 32 bytes"))


def _check_key_id(key_id: bytes) -> None:
    if len(key_id) != KEY_ID_SIZE:
        raise InvalidParameter(N_("a minisign key id is 8 bytes"))


def _check_comment(comment: str, what: str) -> None:
    if "\n" in comment or "\r" in comment:
        raise InvalidParameter(N_("a minisign {what} must be a single line"), what=what)
    try:
        comment.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text can carry it
        raise InvalidParameter(
            N_("a minisign {what} must be valid Unicode text"), what=what
        ) from None


def public_key_line(public_key: bytes, key_id: bytes | None = None) -> str:
    """The base64 line that `minisign -P` takes."""
    _check_public_key(public_key)
    kid = key_id if key_id is not None else key_id_for(public_key)
    _check_key_id(kid)
    return base64.b64encode(PUBLIC_KEY_ALG + kid + public_key).decode("ascii")


def public_key_file(
    public_key: bytes, key_id: bytes | None = None, comment: str | None = None
) -> str:
    """A complete `.pub` file, as `minisign -G` writes it."""
    kid = key_id if key_id is not None else key_id_for(public_key)
    line = public_key_line(public_key, kid)
    default = f"minisign public key {PublicKey(kid, public_key).key_id_hex}"
    text = comment if comment is not None else default
    _check_comment(text, Text(N_("comment")))
    return f"{UNTRUSTED_PREFIX}{text}\n{line}\n"


def parse_public_key(value: str | bytes) -> PublicKey:
    """Read a public key: the base64 line, a whole `.pub` file, or the raw 32-byte key."""
    if isinstance(value, bytes) and len(value) == 32:
        return PublicKey(key_id_for(value), value)
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    lines = [ln.strip() for ln in text.strip().split("\n") if ln.strip()]
    if lines and lines[0].startswith(UNTRUSTED_PREFIX):
        lines = lines[1:]
    if len(lines) != 1:
        raise BadSignature(N_("the public key is not in minisign format"))
    raw = _b64(lines[0], Text(N_("public key")))
    if len(raw) != 2 + KEY_ID_SIZE + 32 or raw[:2] != PUBLIC_KEY_ALG:
        raise BadSignature(N_("the public key is not a minisign Ed25519 key"))
    return PublicKey(raw[2:10], raw[10:])


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(N_("the {what} is not valid base64"), what=what) from None


def _digest(data: bytes | Iterable[bytes]) -> bytes:
    return crypto.blake2b_512([data] if isinstance(data, bytes) else data)


def sign(
    seed: bytes,
    key_id: bytes | None,
    data: bytes | Iterable[bytes],
    trusted_comment: str,
    untrusted_comment: str = "signature from Coffre",
) -> str:
    """Sign `data` (bytes or a stream of chunks) with an Ed25519 seed; return the `.minisig`
    text. `key_id` None derives it from the public key, as `key_id_for` does."""
    kid = key_id if key_id is not None else key_id_for(crypto.ed25519_public_key(seed))
    return sign_with(
        lambda message: crypto.ed25519_sign(seed, message),
        kid,
        data,
        trusted_comment,
        untrusted_comment,
    )


def sign_with(
    signer: Callable[[bytes], bytes],
    key_id: bytes,
    data: bytes | Iterable[bytes],
    trusted_comment: str,
    untrusted_comment: str = "signature from Coffre",
) -> str:
    """Like `sign`, for a key held elsewhere: `signer` returns the Ed25519 signature of a
    message (a persona's `Signer.sign`), so the seed never has to leave its owner."""
    _check_comment(trusted_comment, Text(N_("trusted comment")))
    _check_comment(untrusted_comment, Text(N_("untrusted comment")))
    _check_key_id(key_id)
    signature = signer(_digest(data))
    global_sig = signer(signature + trusted_comment.encode("utf-8"))
    return (
        f"{UNTRUSTED_PREFIX}{untrusted_comment}\n"
        f"{base64.b64encode(PREHASHED_ALG + key_id + signature).decode('ascii')}\n"
        f"{TRUSTED_PREFIX}{trusted_comment}\n"
        f"{base64.b64encode(global_sig).decode('ascii')}\n"
    )


def parse_signature(sig_text: str | bytes) -> Signature:
    """Parse a `.minisig` file (raises BadSignature when it is not one)."""
    if isinstance(sig_text, bytes):
        try:
            sig_text = sig_text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadSignature(N_("the signature file is not valid UTF-8")) from None
    # minisign separates lines with LF only; other Unicode line breaks are comment text.
    lines = [line.removesuffix("\r") for line in sig_text.split("\n")]
    if len(lines) < 4 or not lines[0].startswith(UNTRUSTED_PREFIX):
        raise BadSignature(N_("the signature file is not in minisign format"))
    if not lines[2].startswith(TRUSTED_PREFIX):
        raise BadSignature(N_("the signature file has no trusted comment"))
    raw = _b64(lines[1], Text(N_("signature")))
    if len(raw) != 2 + KEY_ID_SIZE + 64 or raw[:2] not in (PREHASHED_ALG, LEGACY_ALG):
        raise BadSignature(N_("the signature uses an unknown algorithm"))
    global_sig = _b64(lines[3], Text(N_("global signature")))
    if len(global_sig) != 64:
        raise BadSignature(N_("the global signature has the wrong length"))
    return Signature(
        algorithm=raw[:2],
        key_id=raw[2:10],
        signature=raw[10:],
        trusted_comment=lines[2][len(TRUSTED_PREFIX) :],
        global_signature=global_sig,
        untrusted_comment=lines[0][len(UNTRUSTED_PREFIX) :],
    )


def verify(public_key: str | bytes | PublicKey, data: bytes, sig_text: str | bytes) -> str:
    """Verify a minisign signature of `data`; return the trusted comment.

    Raises BadSignature when the key id differs, the signature or the trusted comment does
    not verify, or either text is not in minisign format.
    """
    pk = public_key if isinstance(public_key, PublicKey) else parse_public_key(public_key)
    sig = parse_signature(sig_text)
    if not crypto.constant_time_equal(sig.key_id, pk.key_id):
        raise BadSignature(N_("it was made with another key (the key ids differ)"))
    message = _digest(data) if sig.algorithm == PREHASHED_ALG else data
    if not crypto.ed25519_verify(pk.key, message, sig.signature):
        raise BadSignature(N_("the signature of the data is invalid"))
    trusted = sig.trusted_comment.encode("utf-8")
    if not crypto.ed25519_verify(pk.key, sig.signature + trusted, sig.global_signature):
        raise BadSignature(N_("the trusted comment's signature is invalid"))
    return sig.trusted_comment
