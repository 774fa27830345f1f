"""The vault state: the authenticated, mutable facts sealed in the header's `state` row.

It carries an XOR of a keyed PRF over every live (id, version), so a record removed, added or
rolled back to an older version outside Coffre changes it, and the same kind of digest over
each lookup table (posting lists, blobs, blob files awaiting removal), so a row added, removed
or changed there is seen too (`Store.verify` checks them all); then the audit chain's head and
length, the epoch number, and the live records per kind. Format 2 added the table digests;
format 3 (export tokens) kept the layout and bound the new number; format 4 adds the digest of
the export tokens' table, so a token row put back after it was destroyed is seen; format 5
adds the recovery kit's public and authentication keys (`vault.core.recovery`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from vault.core import audit, crypto
from vault.core.crypto import CryptoFailure
from vault.core.errors import IntegrityError
from vault.core.i18n import N_
from vault.core.keys import FORMAT_TAG, KeyRing
from vault.core.schema import FORMAT_VERSION

_NO_KEY = bytes(32)  # where no recovery kit was made


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
    # XOR of `KeyRing.row_digest` over the rows of the `terms`, `blobs` and `doomed` tables.
    terms_digest: int = 0
    blobs_digest: int = 0
    doomed_digest: int = 0
    # The same over the `tokens` table (format 4): only the passphrase side writes it.
    tokens_digest: int = 0
    # The recovery kit's public key and authentication key (format 5; empty: no kit). Kept
    # here, under the state's key, so no one who cannot unlock can replace them: a public key
    # swapped in the header would make the vault seal its keys to whoever swapped it.
    recovery_public: bytes = b""
    recovery_mac: bytes = field(default=b"", repr=False)

    _FMT = ">32s32sQQQH"
    _TABLES = ">32s32s32s"
    _KIND = ">16sQ"
    _RECOVERY = ">32s32s"

    def pack(self, *, format: int = FORMAT_VERSION) -> bytes:
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
        tables = struct.pack(
            self._TABLES,
            *(d.to_bytes(32, "big") for d in self.table_digests),
        )
        if format >= 4:
            tables += self.tokens_digest.to_bytes(32, "big")
        if format >= 5:
            tables += struct.pack(
                self._RECOVERY, self.recovery_public or _NO_KEY, self.recovery_mac or _NO_KEY
            )
        return head + tables + b"".join(struct.pack(self._KIND, k, n) for k, n in kinds)

    @property
    def table_digests(self) -> tuple[int, int, int]:
        return self.terms_digest, self.blobs_digest, self.doomed_digest

    @classmethod
    def unpack(cls, raw: bytes, *, format: int = 2) -> VaultState:
        """Read a packed state; `format` 1 is the layout before the table digests, formats 2
        and 3 the one before the tokens' digest, format 4 the one before the recovery keys."""
        digest, head, count, epoch, writes, n = struct.unpack_from(cls._FMT, raw)
        offset = struct.calcsize(cls._FMT)
        tables = [0, 0, 0]
        if format >= 2:
            tables = [
                int.from_bytes(d, "big") for d in struct.unpack_from(cls._TABLES, raw, offset)
            ]
            offset += struct.calcsize(cls._TABLES)
        if format >= 4:
            (tokens,) = struct.unpack_from(">32s", raw, offset)
            tables.append(int.from_bytes(tokens, "big"))
            offset += 32
        recovery = [b"", b""]
        if format >= 5:
            public, mac = struct.unpack_from(cls._RECOVERY, raw, offset)
            if public != _NO_KEY:
                recovery = [public, mac]
            offset += struct.calcsize(cls._RECOVERY)
        kinds = {}
        for _ in range(n):
            k, c = struct.unpack_from(cls._KIND, raw, offset)
            kinds[k] = c
            offset += struct.calcsize(cls._KIND)
        if offset != len(raw):
            raise struct.error("trailing bytes")
        tables += [0] * (4 - len(tables))
        return cls(
            int.from_bytes(digest, "big"),
            head,
            count,
            epoch,
            writes,
            kinds,
            tables[0],
            tables[1],
            tables[2],
            tables[3],
            recovery[0],
            recovery[1],
        )


def _state_aad(vault_id: bytes, format: int) -> bytes:
    # The format is bound: a header claiming another format than the state's fails here.
    version = b"" if format == 1 else b"v%d\x00" % format
    return FORMAT_TAG + b"state\x00" + version + vault_id


def seal_state(ring: KeyRing, state: VaultState, *, format: int = FORMAT_VERSION) -> bytes:
    return crypto.seal(ring.state_key, state.pack(format=format), _state_aad(ring.vault_id, format))


def open_state(ring: KeyRing, sealed: bytes, *, format: int = FORMAT_VERSION) -> VaultState:
    try:
        plain = crypto.unseal(ring.state_key, sealed, _state_aad(ring.vault_id, format))
        return VaultState.unpack(plain, format=format)
    except (CryptoFailure, struct.error):
        raise IntegrityError(N_("the vault state fails authentication")) from None
