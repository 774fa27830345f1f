"""Lookups by value that show nothing to whoever reads the file: sealed posting lists.

A lookup term is a keyed hash of (kind, label, value) under a key derived from the epoch key,
and the `terms` table holds ONE row per term: the term, then the sealed list of the ids of the
records carrying it (with the kind, label and value, so a rotation can re-key the row without
opening any record). No two rows share a value, so the file does not tell which records have
something in common (two personas with one tag, two grants to one recipient); the epoch key
changes at every forget and re-key, so a term computed with a live key matches nothing in an
older copy of the vault.

The rows of `terms`, `blobs` and `doomed` are each folded into a digest sealed in the vault
state (`table_digest`), so a row added, removed or changed outside Coffre is seen before any
decision rests on it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from typing import Any, Final

from vault.core import crypto
from vault.core.crypto import CryptoFailure
from vault.core.errors import TamperedRecord
from vault.core.i18n import N_, Text
from vault.core.keys import KeyRing

ID_SIZE: Final = 16
_HEAD = struct.Struct(">I")

# The tables whose rows are authenticated by a digest in the sealed state, and how to read
# each one's rows in the form `row_bytes` takes.
TABLE_QUERIES: Final = {
    "terms": "SELECT term, ids FROM terms",
    "blobs": "SELECT id, chunks, size FROM blobs",
    "doomed": "SELECT id FROM doomed",
}
# For messages: each said in the person's language with the message that names it.
TABLE_NAMES: Final = {
    "terms": Text(N_("the lookup index")),
    "blobs": Text(N_("the blob list")),
    "doomed": Text(N_("the list of blob files to remove")),
}


Names = tuple[str, str, str]  # (kind, label, value) of a lookup term


def seal_posting(ring: KeyRing, term: bytes, names: Names, ids: Iterable[bytes]) -> bytes:
    """The sealed row of one lookup term (its names, then the ids in a fixed order)."""
    head = json.dumps(list(names), ensure_ascii=False, separators=(",", ":")).encode()
    plain = _HEAD.pack(len(head)) + head + b"".join(sorted(ids))
    return crypto.seal(ring.postings_key, plain, ring.postings_aad(term))


def _unseal_posting(ring: KeyRing, term: bytes, sealed: object) -> tuple[bytes, bytes]:
    """(names JSON, ids bytes) of a sealed row; TamperedRecord if it does not open."""
    if type(sealed) is not bytes:
        raise TamperedRecord(N_("a lookup index row is damaged"))
    try:
        plain = crypto.unseal(ring.postings_key, sealed, ring.postings_aad(term))
        (size,) = _HEAD.unpack_from(plain)
    except (CryptoFailure, struct.error):
        raise TamperedRecord(N_("lookup index")) from None
    ids = plain[_HEAD.size + size :]
    if len(ids) % ID_SIZE:
        raise TamperedRecord(N_("lookup index"))
    return plain[_HEAD.size : _HEAD.size + size], ids


def posting_ids(ring: KeyRing, term: bytes, sealed: object) -> set[bytes]:
    """The record ids a sealed row lists (what a lookup needs: the names are not parsed)."""
    ids = _unseal_posting(ring, term, sealed)[1]
    return {ids[i : i + ID_SIZE] for i in range(0, len(ids), ID_SIZE)}


def open_posting(ring: KeyRing, term: bytes, sealed: object) -> tuple[Names, set[bytes]]:
    """((kind, label, value), ids) of a sealed row; TamperedRecord if it does not open."""
    head, ids = _unseal_posting(ring, term, sealed)
    try:
        names = json.loads(head)
    except ValueError:
        raise TamperedRecord(N_("lookup index")) from None
    if not (isinstance(names, list) and len(names) == 3):
        raise TamperedRecord(N_("lookup index"))
    kind, label, value = (str(n) for n in names)
    return (kind, label, value), {ids[i : i + ID_SIZE] for i in range(0, len(ids), ID_SIZE)}


def row_bytes(table: str, row: tuple[Any, ...]) -> bytes | None:
    """One row of an authenticated table as the digest covers it (None: not as Coffre
    writes rows, so it can only be damage)."""
    if table == "terms":
        term, sealed = row
        if type(term) is bytes and type(sealed) is bytes:
            return term + sealed
        return None
    if table == "blobs":
        blob_id, chunks, size = row
        if type(blob_id) is bytes and type(chunks) is int and type(size) is int and size >= 0:
            return blob_id + struct.pack(">QQ", chunks, size)
        return None
    (blob_id,) = row
    return blob_id if type(blob_id) is bytes else None


def row_digest(ring: KeyRing, table: str, row: tuple[Any, ...]) -> int:
    raw = row_bytes(table, row)
    if raw is None:
        raise TamperedRecord(N_("a row of {table} is damaged"), table=TABLE_NAMES[table])
    return ring.row_digest(table.encode(), raw)


def table_digest(ring: KeyRing, table: str, rows: Iterable[tuple[Any, ...]]) -> int | None:
    """XOR of the row digests of a whole table (None when a row is damaged)."""
    acc = 0
    for row in rows:
        raw = row_bytes(table, row)
        if raw is None:
            return None
        acc ^= ring.row_digest(table.encode(), raw)
    return acc
