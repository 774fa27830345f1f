"""The key hierarchy: passphrase key -> root key -> purpose keys and the epoch key.

    passphrase --Argon2id(salt)--> passphrase key --wraps--> root key (random)
                                                  --wraps--> epoch key (random; every forget
                                                             rotates it)
    root key --HKDF--> kind index, digest, audit, state and token-control keys
    epoch key --wraps--> record key (random, one per version of every record)
              --HKDF--> lookup-term and posting-list keys

Changing the passphrase re-wraps only the root and epoch keys, so its cost does not grow with
the vault. Rotating the epoch makes every record key wrapped under the old epoch unreadable
once the old epoch key is gone: that is what crypto-shredding rests on. The lookup terms are
keyed by the epoch too, so after a forget nothing keyed by a live key matches a term of an
older copy: a forgotten name cannot be confirmed by computing its term. The epoch key is
wrapped by the passphrase key rather than by a key derived from the root, so that a copy of
the vault taken before a forget cannot be opened up to the forgotten records with the live
vault's root and epoch keys: only the passphrase still opens such a copy, as a whole.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from vault.core import crypto
from vault.core.crypto import KdfProfile
from vault.core.errors import PassphraseUnavailable, WrongPassphrase
from vault.core.i18n import N_

FORMAT_TAG = b"coffre/v1/"
_Q = struct.Struct(">Q").pack
_QQ = struct.Struct(">QQ").pack


@dataclass(frozen=True)
class WrappedRoot:
    """What the header stores to recover the root key from a passphrase."""

    kdf: KdfProfile
    salt: bytes
    wrapped: bytes

    def kdf_json(self) -> str:
        return json.dumps(self.kdf.as_header(), sort_keys=True, separators=(",", ":"))


def _root_aad(vault_id: bytes, kdf_json: str, salt: bytes) -> bytes:
    # Binding the KDF parameters and salt means a header edited to weaker parameters fails.
    return FORMAT_TAG + b"root\x00" + vault_id + kdf_json.encode() + salt


def wrap_root(
    vault_id: bytes, root: bytes, passphrase: str | bytes, kdf: KdfProfile
) -> tuple[WrappedRoot, bytes]:
    """Wrap `root` under a fresh salt; return the header fields and the passphrase key."""
    salt = crypto.random_bytes(crypto.SALT_SIZE)
    draft = WrappedRoot(kdf, salt, b"")
    pkey = crypto.passphrase_key(passphrase, salt, kdf)
    wrapped = crypto.seal(pkey, root, _root_aad(vault_id, draft.kdf_json(), salt))
    return WrappedRoot(kdf, salt, wrapped), pkey


def wrap_root_with(
    vault_id: bytes, root: bytes, pkey: bytes, kdf: KdfProfile, salt: bytes
) -> WrappedRoot:
    """Wrap `root` under a passphrase key already derived with `salt` (a device cloned from a
    remote keeps the remote's salt, so one Argon2id run serves both)."""
    draft = WrappedRoot(kdf, salt, b"")
    return WrappedRoot(
        kdf, salt, crypto.seal(pkey, root, _root_aad(vault_id, draft.kdf_json(), salt))
    )


def unwrap_root(
    vault_id: bytes, passphrase: str | bytes, stored: WrappedRoot, kdf_json: str
) -> tuple[bytes, bytes]:
    """Recover (root key, passphrase key); WrongPassphrase if it does not unwrap."""
    pkey = crypto.passphrase_key(passphrase, stored.salt, stored.kdf)
    try:
        root = crypto.unseal(pkey, stored.wrapped, _root_aad(vault_id, kdf_json, stored.salt))
    except crypto.CryptoFailure:
        raise WrongPassphrase from None
    return root, pkey


@dataclass
class KeyRing:
    """The unlocked keys of one vault. Lives in memory only."""

    vault_id: bytes
    root: bytes
    passphrase_key: bytes
    epoch_no: int = 0
    epoch_key: bytes = b""
    terms_key: bytes = field(init=False, default=b"")
    postings_key: bytes = field(init=False, default=b"")
    index_key: bytes = field(init=False)
    digest_key: bytes = field(init=False)
    audit_key: bytes = field(init=False)
    audit_chain_key: bytes = field(init=False)
    state_key: bytes = field(init=False)
    tokens_key: bytes = field(init=False)
    _kinds: dict[str, bytes] = field(init=False, default_factory=dict)
    _digest: Callable[[bytes], bytes] = field(init=False)
    _rkey_prefix: bytes = field(init=False)
    _rec_prefix: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.index_key = crypto.derive_key(self.root, "blind-index", self.vault_id)
        self.digest_key = crypto.derive_key(self.root, "record-digest", self.vault_id)
        self.audit_key = crypto.derive_key(self.root, "audit", self.vault_id)
        self.audit_chain_key = crypto.derive_key(self.root, "audit-chain", self.vault_id)
        self.state_key = crypto.derive_key(self.root, "state", self.vault_id)
        self.tokens_key = crypto.derive_key(self.root, "export-tokens", self.vault_id)
        self._digest = crypto.keyed_hasher(self.digest_key)
        # Associated-data prefixes, built once: they are on the path of every record read.
        self._rkey_prefix = FORMAT_TAG + b"rkey\x00" + self.vault_id
        self._rec_prefix = FORMAT_TAG + b"rec\x00" + self.vault_id
        if self.epoch_key:
            self.set_epoch(self.epoch_no, self.epoch_key)

    # --- epoch ---

    def _epoch_aad(self, epoch_no: int) -> bytes:
        return FORMAT_TAG + b"epoch\x00" + self.vault_id + struct.pack(">Q", epoch_no)

    def wrap_epoch(self, epoch_no: int, epoch_key: bytes, pkey: bytes | None = None) -> bytes:
        """Wrap an epoch key under the passphrase key (or `pkey`, during a passphrase change)."""
        key = self.passphrase_key if pkey is None else pkey
        if not key:
            # Opened with the recovery code: nothing may be wrapped before a new passphrase.
            raise PassphraseUnavailable(
                N_("the vault was opened with its recovery code: set a new passphrase first")
            )
        return crypto.seal(key, epoch_key, self._epoch_aad(epoch_no))

    def load_epoch(self, epoch_no: int, wrapped: bytes) -> None:
        """Unwrap the epoch key stored in the header; raises CryptoFailure if it fails."""
        key = crypto.unseal(self.passphrase_key, wrapped, self._epoch_aad(epoch_no))
        self.set_epoch(epoch_no, key)

    def set_epoch(self, epoch_no: int, epoch_key: bytes) -> None:
        """Make `epoch_key` current, with the lookup keys derived from it."""
        self.epoch_no, self.epoch_key = epoch_no, epoch_key
        context = self.vault_id + struct.pack(">Q", epoch_no)
        self.terms_key = crypto.derive_key(epoch_key, "lookup-terms", context)
        self.postings_key = crypto.derive_key(epoch_key, "posting-lists", context)

    def forget_epoch(self) -> None:
        """Drop the epoch key in memory, so the next read reloads it from the header."""
        self.epoch_key = self.terms_key = self.postings_key = b""

    # --- record keys ---

    def _record_key_aad(self, epoch_no: int, kind_ix: bytes, rid: bytes, version: int) -> bytes:
        return self._rkey_prefix + _QQ(epoch_no, version) + kind_ix + rid

    def wrap_record_key(
        self,
        kind_ix: bytes,
        rid: bytes,
        version: int,
        key: bytes,
        epoch: tuple[int, bytes] | None = None,
    ) -> bytes:
        """Wrap a record key under the current epoch (or the given (number, key) epoch)."""
        epoch_no, epoch_key = epoch or (self.epoch_no, self.epoch_key)
        aad = self._record_key_aad(epoch_no, kind_ix, rid, version)
        return crypto.seal(epoch_key, key, aad)

    def unwrap_record_key(self, kind_ix: bytes, rid: bytes, version: int, wrapped: bytes) -> bytes:
        aad = self._record_key_aad(self.epoch_no, kind_ix, rid, version)
        return crypto.unseal(self.epoch_key, wrapped, aad)

    def record_opener(self, kind_ix: bytes) -> Callable[[bytes, int, bytes, bytes], bytes]:
        """`open_record` for records of one kind under the current epoch, taking (id, version,
        wrapped key, sealed envelope), the fixed parts of both associated data joined once:
        for bulk reads."""
        epoch_key = self.epoch_key
        rkey_head = self._rkey_prefix + _Q(self.epoch_no)
        rec_head = self._rec_prefix
        open_record = crypto.open_record

        def open_one(rid: bytes, version: int, wrapped: bytes, sealed: bytes) -> bytes:
            tail = _Q(version) + kind_ix + rid
            return open_record(epoch_key, wrapped, rkey_head + tail, sealed, rec_head + tail)

        return open_one

    def record_aad(self, kind_ix: bytes, rid: bytes, version: int) -> bytes:
        return self._rec_prefix + _Q(version) + kind_ix + rid

    def seal_record(
        self, kind_ix: bytes, rid: bytes, version: int, envelope: bytes
    ) -> tuple[bytearray, bytearray]:
        """(wrapped key, sealed envelope) of one record version, under a fresh record key
        wrapped under the current epoch: `wrap_record_key` and `seal` in one call."""
        return crypto.seal_record(
            self.epoch_key,
            self._rkey_prefix + _QQ(self.epoch_no, version) + kind_ix + rid,
            envelope,
            self._rec_prefix + _Q(version) + kind_ix + rid,
        )

    def open_record(
        self, kind_ix: bytes, rid: bytes, version: int, wrapped: bytes, sealed: bytes
    ) -> bytes:
        """The envelope of a record version (`seal_record` inverted). WrappedKeyFailure if
        its key does not unwrap under the current epoch, CryptoFailure if it does not open."""
        return crypto.open_record(
            self.epoch_key,
            wrapped,
            self._rkey_prefix + _QQ(self.epoch_no, version) + kind_ix + rid,
            sealed,
            self._rec_prefix + _Q(version) + kind_ix + rid,
        )

    def blob_aad(self, blob_id: bytes) -> bytes:
        return blob_aad(self.vault_id, blob_id)

    # --- lookups and digests ---

    def kind_index(self, kind: str) -> bytes:
        found = self._kinds.get(kind)
        if found is None:
            found = self._kinds[kind] = crypto.blind_index(self.index_key, "kind", kind)
        return found

    def term_index(self, kind: str, label: str, value: str) -> bytes:
        """The lookup term of (kind, label, value) in the current epoch: one row per term."""
        return crypto.blind_index(self.terms_key, f"term:{kind}:{label}", value)

    def postings_aad(self, term: bytes) -> bytes:
        return FORMAT_TAG + b"postings\x00" + self.vault_id + term

    def record_digest(self, rid: bytes, version: int) -> int:
        """PRF of one live (record id, version); the XOR over all of them is the state digest."""
        return int.from_bytes(self._digest(rid + version.to_bytes(8, "big")), "big")

    def row_digest(self, table: bytes, row: bytes) -> int:
        """PRF of one row of a lookup table; the XOR over a table's rows is sealed in the
        state, so a row added, removed or changed outside Coffre is seen."""
        return int.from_bytes(self._digest(table + b"\x00" + row), "big")

    def wipe(self) -> None:
        """Drop references to key material (Python cannot zero immutable bytes)."""
        for name in (
            "root",
            "epoch_key",
            "terms_key",
            "postings_key",
            "index_key",
            "digest_key",
            "audit_key",
            "audit_chain_key",
            "state_key",
            "tokens_key",
            "passphrase_key",
        ):
            setattr(self, name, b"")
        self._kinds.clear()


def record_aad(vault_id: bytes, kind_ix: bytes, rid: bytes, version: int) -> bytes:
    """The associated data of a record's body (`KeyRing.record_aad`, for holders of a token)."""
    return FORMAT_TAG + b"rec\x00" + vault_id + _Q(version) + kind_ix + rid


def blob_aad(vault_id: bytes, blob_id: bytes) -> bytes:
    return FORMAT_TAG + b"blob\x00" + vault_id + blob_id


def token_key(vault_id: bytes, token_id: bytes, secret: bytes) -> bytes:
    """The key a token's secret opens its view with: HKDF only, the secret is random."""
    return crypto.derive_key(secret, "export-token", vault_id + token_id)


def token_aad(part: str, vault_id: bytes, token_id: bytes, seq: int = 0) -> bytes:
    """Associated data of a token's control row, view or log entry: each is bound to its
    vault, its token and (log entries) its place, so no row can stand in for another."""
    return FORMAT_TAG + b"token-" + part.encode() + b"\x00" + vault_id + token_id + _Q(seq)
