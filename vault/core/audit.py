"""The audit log: append-only, encrypted, hash-chained.

Each state change appends one entry (time, action, details that are ids and counts, never
plaintext). An entry is sealed with the audit key and bound to its sequence number; the chain
value after entry n is a keyed hash of the chain value before it, n and the sealed bytes. The
head and the count live in the authenticated vault state, so an edited, removed, reordered or
truncated entry is detected by `verify_chain`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from vault.core import crypto
from vault.core.errors import AuditChainBroken
from vault.core.i18n import N_
from vault.core.keys import FORMAT_TAG, KeyRing

GENESIS = bytes(32)


@dataclass(frozen=True)
class AuditEntry:
    """One decrypted entry of the log."""

    seq: int
    time: str
    action: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "action": self.action, "details": self.details}


def _aad(ring: KeyRing, seq: int) -> bytes:
    return FORMAT_TAG + b"audit\x00" + ring.vault_id + struct.pack(">Q", seq)


def chain_next(ring: KeyRing, head: bytes, seq: int, sealed: bytes) -> bytes:
    return crypto.keyed_hash(ring.audit_chain_key, head + struct.pack(">Q", seq) + sealed)


def seal_entry(
    ring: KeyRing, seq: int, head: bytes, action: str, details: dict[str, Any], *, time: str
) -> tuple[bytes, bytes]:
    """Seal entry `seq`, stamped `time` (RFC 3339 UTC); return (sealed bytes, new chain head)."""
    body = json.dumps(
        {"t": time, "a": action, "d": details}, sort_keys=True, separators=(",", ":")
    ).encode()
    sealed = crypto.seal(ring.audit_key, body, _aad(ring, seq))
    return sealed, chain_next(ring, head, seq, sealed)


def open_entry(ring: KeyRing, seq: int, sealed: bytes) -> AuditEntry:
    try:
        body = json.loads(crypto.unseal(ring.audit_key, sealed, _aad(ring, seq)))
    except crypto.CryptoFailure:
        raise AuditChainBroken(N_("entry {seq} fails authentication"), seq=seq) from None
    return AuditEntry(seq, body["t"], body["a"], body["d"])


def verify_chain(
    ring: KeyRing, rows: Iterable[tuple[int, bytes]], head: bytes, count: int
) -> Iterator[AuditEntry]:
    """Yield every entry in order while checking the chain; raise AuditChainBroken on a break.

    The final comparison with the authenticated head happens after the last row, so a caller
    must exhaust the iterator to have verified anything.
    """
    current = GENESIS
    expected = 1
    for seq, sealed in rows:
        if seq != expected:
            raise AuditChainBroken(
                N_("entry {expected} is missing or out of order"), expected=expected
            )
        if type(sealed) is not bytes:
            raise AuditChainBroken(N_("entry {seq} is damaged"), seq=seq)
        entry = open_entry(ring, seq, sealed)
        current = chain_next(ring, current, seq, sealed)
        expected += 1
        yield entry
    if expected - 1 != count:
        raise AuditChainBroken(
            N_("the log holds {found} entries, the vault expects {count}"),
            found=expected - 1,
            count=count,
        )
    if not crypto.constant_time_equal(current, head):
        raise AuditChainBroken(N_("the chain head does not match the vault state"))
