"""What a record is once decrypted, and the envelope its ciphertext holds: the record's kind,
its lookup terms, references to its blobs and its (optionally compressed) body. Only the
store seals and opens envelopes; domain code sees `Record` and `BlobRef` values.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, NamedTuple, cast

from vault.core.errors import RecordNotFound
from vault.core.i18n import N_

_ENVELOPE_VERSION: Final = 1
_FLAG_COMPRESSED: Final = 1

Term = tuple[str, str]

# Kinds that belong to one device: never sent to a remote, and kept by a forget of everything
# (a device's sync bookkeeping and its note of what a forget removed: ids, never content).
SYNC_DEVICE_KIND: Final = "sync.device"  # present once the vault has a remote
SHRED_KIND: Final = "forget.shred"  # the ids a forget removed, for sync to carry
DEVICE_LOCAL_KINDS: Final = frozenset({SYNC_DEVICE_KIND, "sync.stamps", "sync.remote", SHRED_KIND})


@dataclass(frozen=True)
class BlobRef:
    """Where a blob's chunks are and the key that opens them. Lives inside a sealed record."""

    id: bytes
    key: bytes
    chunks: int
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id.hex(),
            "key": self.key.hex(),
            "n": self.chunks,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BlobRef:
        return cls(bytes.fromhex(d["id"]), bytes.fromhex(d["key"]), d["n"], d["size"], d["sha256"])


class Record(NamedTuple):
    """A decrypted record (a named tuple: millions are built on bulk reads)."""

    id: str
    kind: str
    version: int
    data: bytes
    terms: tuple[Term, ...] = ()
    blobs: tuple[BlobRef, ...] = ()

    def json(self) -> Any:
        return json.loads(self.data)


# `Record(...)` runs the named tuple's Python-level __new__; bulk reads build the same tuple
# from its six fields in one C call (all fields given: the defaults do not apply).
RecordFields = tuple[str, str, int, bytes, tuple[Term, ...], tuple[BlobRef, ...]]
make_record = cast(Callable[[RecordFields], Record], partial(tuple.__new__, Record))


def pack_envelope(
    kind: str, body: bytes, terms: tuple[Term, ...], blobs: tuple[BlobRef, ...], compress: bool
) -> bytes:
    flags = 0
    if compress:
        body = zlib.compress(body, 6)
        flags |= _FLAG_COMPRESSED
    if not terms and not blobs:
        return simple_head(kind, flags) + body
    meta: dict[str, Any] = {"k": kind}
    if terms:
        meta["t"] = [list(t) for t in terms]
    if blobs:
        meta["b"] = [b.to_json() for b in blobs]
    return _envelope_head(meta, flags) + body


_SIMPLE_HEADS: dict[tuple[str, int], bytes] = {}


def simple_head(kind: str, flags: int = 0) -> bytes:
    """The head of an envelope that holds only its kind (no terms, no blobs), built once per
    kind: what most records are, so writers prepend it and readers recognise it whole."""
    head = _SIMPLE_HEADS.get((kind, flags))
    if head is None:
        head = _SIMPLE_HEADS[(kind, flags)] = _envelope_head({"k": kind}, flags)
    return head


def _envelope_head(meta: dict[str, Any], flags: int) -> bytes:
    meta_raw = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()
    return struct.pack(">BBI", _ENVELOPE_VERSION, flags, len(meta_raw)) + meta_raw


def unpack_envelope(raw: bytes) -> tuple[str, bytes, tuple[Term, ...], tuple[BlobRef, ...]]:
    version, flags, meta_len = struct.unpack_from(">BBI", raw)
    if version != _ENVELOPE_VERSION:
        raise ValueError("envelope version")
    meta_raw = raw[6 : 6 + meta_len]
    body = raw[6 + meta_len :]
    if flags & _FLAG_COMPRESSED:
        body = zlib.decompress(body)
    # Fast path for the common envelope that holds only the kind (no terms, no blobs).
    if meta_raw.startswith(b'{"k":"') and meta_raw.count(b'"') == 4:
        return meta_raw[6:-2].decode(), body, (), ()
    meta = json.loads(meta_raw)
    terms = tuple((str(a), str(b)) for a, b in meta.get("t", ()))
    blobs = tuple(BlobRef.from_json(b) for b in meta.get("b", ()))
    return meta["k"], body, terms, blobs


def body_within(raw: bytes, limit: int) -> bool:
    """Whether an envelope's body, inflated, holds at most `limit` bytes (False if it does
    not inflate). Inflated in pieces and never kept, so an envelope from elsewhere (a synced
    record) is judged before `unpack_envelope` inflates it whole."""
    if len(raw) < 6:
        return False
    _version, flags, meta_len = struct.unpack_from(">BBI", raw)
    body = raw[6 + meta_len :]
    if not flags & _FLAG_COMPRESSED:
        return len(body) <= limit
    inflate = zlib.decompressobj()
    total = 0
    try:
        while True:
            out = inflate.decompress(body, 1 << 20)
            total += len(out)
            if total > limit:
                return False
            body = inflate.unconsumed_tail
            if not body and not out:
                return True
    except zlib.error:
        return False


def envelope_blobs(raw: bytes) -> tuple[BlobRef, ...]:
    """The blob refs of an envelope, read from its meta alone (the body, maybe compressed,
    is not inflated). ValueError if the envelope is malformed."""
    version, _flags, meta_len = struct.unpack_from(">BBI", raw)
    if version != _ENVELOPE_VERSION or 6 + meta_len > len(raw):
        raise ValueError("envelope")
    meta = json.loads(raw[6 : 6 + meta_len])
    return tuple(BlobRef.from_json(b) for b in meta.get("b", ()))


def normalize_terms(terms: Iterable[Term] | dict[str, str] | None) -> tuple[Term, ...]:
    if terms is None:
        return ()
    items = terms.items() if isinstance(terms, dict) else terms
    return tuple(sorted({(str(k), str(v)) for k, v in items}))


def record_id_bytes(record_id: str | bytes) -> bytes:
    if isinstance(record_id, bytes):
        return record_id
    try:
        raw = bytes.fromhex(record_id)
    except ValueError:
        raise RecordNotFound(N_("ids are hexadecimal")) from None
    if len(raw) != 16:
        raise RecordNotFound(N_("ids are 32 hexadecimal digits"))
    return raw
