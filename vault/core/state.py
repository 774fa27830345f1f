"""The vault state: the authenticated, mutable facts sealed in the header's `state` row.

It carries an XOR of a keyed PRF over every live (id, version), so a record removed, added or
rolled back to an older version outside Coffre changes it (`Store.verify_records` detects
that), the audit chain's head and length, the epoch number, and the live records per kind.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from vault.core import audit, crypto
from vault.core.crypto import CryptoFailure
from vault.core.errors import IntegrityError
from vault.core.keys import FORMAT_TAG, KeyRing


@dataclass
class VaultState:
    """The authenticated mutable state, sealed in the header's `state` row."""

    digest: int = 0
    audit_head: bytes = audit.GENESIS
    audit_count: int = 0
    epoch_no: int = 0
    writes: int = 0
    # Live records per kind (by blind index): a damaged SQLite index that hides rows from a
    # listing is caught by comparing with this.
    kinds: dict[bytes, int] = field(default_factory=dict)

    _FMT = ">32s32sQQQH"
    _KIND = ">16sQ"

    def pack(self) -> bytes:
        kinds = sorted((k, n) for k, n in self.kinds.items() if n)
        head = struct.pack(
            self._FMT,
            self.digest.to_bytes(32, "big"),
            self.audit_head,
            self.audit_count,
            self.epoch_no,
            self.writes,
            len(kinds),
        )
        return head + b"".join(struct.pack(self._KIND, k, n) for k, n in kinds)

    @classmethod
    def unpack(cls, raw: bytes) -> VaultState:
        digest, head, count, epoch, writes, n = struct.unpack_from(cls._FMT, raw)
        offset = struct.calcsize(cls._FMT)
        kinds = {}
        for _ in range(n):
            k, c = struct.unpack_from(cls._KIND, raw, offset)
            kinds[k] = c
            offset += struct.calcsize(cls._KIND)
        if offset != len(raw):
            raise struct.error("trailing bytes")
        return cls(int.from_bytes(digest, "big"), head, count, epoch, writes, kinds)


def _state_aad(vault_id: bytes) -> bytes:
    return FORMAT_TAG + b"state\x00" + vault_id


def seal_state(ring: KeyRing, state: VaultState) -> bytes:
    return crypto.seal(ring.state_key, state.pack(), _state_aad(ring.vault_id))


def open_state(ring: KeyRing, sealed: bytes) -> VaultState:
    try:
        return VaultState.unpack(crypto.unseal(ring.state_key, sealed, _state_aad(ring.vault_id)))
    except (CryptoFailure, struct.error):
        raise IntegrityError("the vault state fails authentication") from None
