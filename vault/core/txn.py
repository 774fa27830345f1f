"""Writing to the store: `Txn`, one write transaction, obtained from `Store.write()`.

A transaction seals new record versions under fresh record keys, keeps the lookup posting lists
it touches in memory and seals each once at commit, keeps the record-set and table digests of
the sealed state current, appends audit entries, rotates the epoch (a forget) and re-keys the
whole vault. Nothing here commits: `Store.write()` does, or rolls everything back.
"""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from vault.core import audit, crypto, recovery
from vault.core.clock import Clock
from vault.core.crypto import CryptoFailure
from vault.core.errors import DamagedDatabase, IntegrityError, RecordNotFound, TamperedRecord
from vault.core.i18n import N_
from vault.core.keys import KeyRing
from vault.core.lookups import (
    TABLE_NAMES,
    TABLE_QUERIES,
    Names,
    open_posting,
    row_digest,
    seal_posting,
    table_digest,
)
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import (
    BlobRef,
    Term,
    normalize_terms,
    pack_envelope,
    record_id_bytes,
    unpack_envelope,
)
from vault.core.state import VaultState, seal_state

if TYPE_CHECKING:
    from vault.core.store import Store

RECORD_COLUMNS: Final = "id, kind, version, rkey, data"
_INSERT_RECORD: Final = "INSERT INTO records (id, kind, version, rkey, data) VALUES (?, ?, 1, ?, ?)"
BATCH: Final = 512  # rows per query when scanning a table


@dataclass
class Posting:
    """The ids one lookup term lists, as a transaction changes them (written at commit)."""

    names: Names  # (kind, label, value)
    ids: set[bytes]
    stored: bytes | None  # the sealed row as read, for the table digest
    changed: bool = False


@dataclass
class Txn:
    """One write transaction; obtained from `Store.write()`."""

    store: Store
    state: VaultState
    _dirty: bool = field(default=False)
    _created: list[bytes] = field(default_factory=list)  # blob files to drop on rollback
    _doomed: list[bytes] = field(default_factory=list)  # blob files to drop after commit
    # Posting lists touched by this transaction, by term: each is sealed once, at commit.
    _postings: dict[bytes, Posting] = field(default_factory=dict)
    # Whether records were written or deleted: export tokens' views follow at commit.
    _records_changed: bool = field(default=False)
    # Whether this transaction rotated the epoch (a forget): tokens whose records it removed die.
    rotated: bool = field(default=False)
    # Whether it destroyed an export token: its view must leave the WAL after the commit too.
    scrub_wal: bool = field(default=False)

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.store._conn

    @property
    def _ring(self) -> KeyRing:
        return self.store.ring

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise DamagedDatabase(type(exc).__name__) from exc

    def posting(self, kind: str, label: str, value: str) -> Posting:
        """The posting list of a term as this transaction sees it."""
        term = self._ring.term_index(kind, label, value)
        found = self._postings.get(term)
        if found is None:
            ids, stored = self.store.read_posting(term)
            found = self._postings[term] = Posting((kind, label, value), ids, stored)
        return found

    def _index(self, kind: str, rid: bytes, old: tuple[Term, ...], new: tuple[Term, ...]) -> None:
        for label, value in set(old) - set(new):
            posting = self.posting(kind, label, value)
            posting.ids.discard(rid)
            posting.changed = self._dirty = True
        for label, value in set(new) - set(old):
            posting = self.posting(kind, label, value)
            posting.ids.add(rid)
            posting.changed = self._dirty = True

    def _flush_postings(self) -> None:
        ring, table = self._ring, "terms"
        for term, p in self._postings.items():
            if not p.changed:
                continue
            if p.stored is not None:
                self.state.terms_digest ^= row_digest(ring, table, (term, p.stored))
            if p.ids:
                p.stored = seal_posting(ring, term, p.names, p.ids)
                self._exec(
                    "INSERT OR REPLACE INTO terms (term, ids) VALUES (?, ?)", (term, p.stored)
                )
                self.state.terms_digest ^= row_digest(ring, table, (term, p.stored))
            else:
                p.stored = None
                self._exec("DELETE FROM terms WHERE term=?", (term,))
            p.changed = False

    def verified_ids(self, table: str) -> set[bytes]:
        """The ids of the `blobs` or `doomed` table, once its sealed digest matches."""
        rows = self._exec(TABLE_QUERIES[table]).fetchall()
        if table_digest(self._ring, table, rows) != getattr(self.state, f"{table}_digest"):
            raise IntegrityError(N_("{table} changed outside Coffre"), table=TABLE_NAMES[table])
        return {row[0] for row in rows}

    def clear_doomed(self) -> None:
        """Forget the list of removed blob files (they are gone)."""
        self._exec("DELETE FROM doomed")
        self.state.doomed_digest = 0
        self._dirty = True

    def _doom(self, blob_id: bytes) -> None:
        if self._exec("INSERT OR IGNORE INTO doomed (id) VALUES (?)", (blob_id,)).rowcount:
            self.state.doomed_digest ^= row_digest(self._ring, "doomed", (blob_id,))

    def put(
        self,
        kind: str,
        data: bytes,
        *,
        terms: Iterable[Term] | dict[str, str] | None = None,
        blobs: Iterable[BlobRef] = (),
        compress: bool = False,
    ) -> str:
        """Store a new record; return its id (32 hex digits)."""
        # The path of every bulk import: the ring, the state and the connection are looked up
        # once, and the statement runs without the `_exec` wrapper (same error mapping).
        ring, state = self.store._ring, self.state
        rid = crypto.random_bytes(16)
        kix = ring.kind_index(kind)
        norm = normalize_terms(terms) if terms else ()
        envelope = pack_envelope(kind, data, norm, tuple(blobs), compress)
        wrapped, sealed = ring.seal_record(kix, rid, 1, envelope)
        try:
            self.store._conn.execute(_INSERT_RECORD, (rid, kix, wrapped, sealed))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise DamagedDatabase(type(exc).__name__) from exc
        kinds = state.kinds
        kinds[kix] = kinds.get(kix, 0) + 1
        if norm:
            self._index(kind, rid, (), norm)
        state.digest ^= ring.record_digest(rid, 1)
        self._dirty = self._records_changed = True
        return rid.hex()

    def update(
        self,
        kind: str,
        record_id: str | bytes,
        data: bytes,
        *,
        terms: Iterable[Term] | dict[str, str] | None = None,
        blobs: Iterable[BlobRef] = (),
        compress: bool = False,
    ) -> int:
        """Replace a record's content with a new version (fresh key); return the version."""
        rid = record_id_bytes(record_id)
        kix = self._ring.kind_index(kind)
        row = self._exec(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=?", (rid,)).fetchone()
        if row is None or row[1] != kix:
            raise RecordNotFound(kind)
        before = self.store._decrypt(kind, row)  # its terms leave their posting lists
        old = before.version
        new = old + 1
        norm = normalize_terms(terms)
        envelope = pack_envelope(kind, data, norm, tuple(blobs), compress)
        wrapped, sealed = self._ring.seal_record(kix, rid, new, envelope)
        self._exec(
            "UPDATE records SET version=?, rkey=?, data=? WHERE id=?", (new, wrapped, sealed, rid)
        )
        self._index(kind, rid, before.terms, norm)
        self.state.digest ^= self._ring.record_digest(rid, old) ^ self._ring.record_digest(rid, new)
        self._dirty = self._records_changed = True
        return new

    def delete(self, kind: str, record_id: str | bytes, *, with_blobs: bool = True) -> None:
        """Delete a record, its lookup terms and (by default) the blobs it references."""
        rid = record_id_bytes(record_id)
        rows = self._exec(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=?", (rid,)).fetchall()
        if not rows:
            raise RecordNotFound(kind)
        rec = self.store._decrypt(kind, rows[0])
        if with_blobs:
            for ref in rec.blobs:
                self.delete_blob(ref)
        self._exec("DELETE FROM records WHERE id=?", (rid,))
        self._index(kind, rid, rec.terms, ())
        self.state.digest ^= self._ring.record_digest(rid, rec.version)
        kix = rows[0][1]
        self.state.kinds[kix] = self.state.kinds.get(kix, 0) - 1
        self._dirty = self._records_changed = True

    def put_replica(self, rid: bytes, envelope: bytes) -> int:
        """Write a record as another device wrote it: its id and its envelope (kind, body,
        terms, blob refs), sealed here under a fresh record key. An id new to this vault is
        inserted at version 1, a known one gets the next version; return the version.
        ValueError if the envelope is malformed, IntegrityError if the id belongs to a record
        of another kind."""
        kind, _body, terms, _blobs = unpack_envelope(envelope)
        kix = self._ring.kind_index(kind)
        row = self._exec(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=?", (rid,)).fetchone()
        old_terms: tuple[Term, ...] = ()
        if row is None:
            version = 1
        else:
            if row[1] != kix:
                raise IntegrityError(N_("a synced record would change the kind of another"))
            old_terms = self.store._decrypt(kind, row).terms
            version = row[2] + 1
        wrapped, sealed = self._ring.seal_record(kix, rid, version, envelope)
        if row is None:
            self._exec(_INSERT_RECORD, (rid, kix, wrapped, sealed))
            self.state.kinds[kix] = self.state.kinds.get(kix, 0) + 1
        else:
            self._exec(
                "UPDATE records SET version=?, rkey=?, data=? WHERE id=?",
                (version, wrapped, sealed, rid),
            )
            self.state.digest ^= self._ring.record_digest(rid, version - 1)
        self._index(kind, rid, old_terms, normalize_terms(terms))
        self.state.digest ^= self._ring.record_digest(rid, version)
        self._dirty = self._records_changed = True
        return version

    def delete_any(self, rid: bytes, *, with_blobs: bool = True) -> str | None:
        """Delete a record whatever its kind (a synced deletion names only the id); return
        its kind, or None if this vault does not hold it."""
        row = self._exec(f"SELECT {RECORD_COLUMNS} FROM records WHERE id=?", (rid,)).fetchone()
        if row is None:
            return None
        kind = self.store._decrypt(None, row).kind
        self.delete(kind, rid, with_blobs=with_blobs)
        return kind

    def adopt_blob(self, ref: BlobRef, source: Iterable[bytes]) -> None:
        """Store a blob another device wrote, under its own id and key, from its plaintext:
        sealed here exactly as there. The size, chunk count and SHA-256 must be those its
        record states, or nothing is kept (TamperedRecord)."""
        if self._exec("SELECT 1 FROM blobs WHERE id=?", (ref.id,)).fetchone():
            return
        self._created.append(ref.id)
        chunks, size, sha = self.store.blobs.write(
            ref.id, ref.key, self._ring.blob_aad(ref.id), source
        )
        if (chunks, size, sha) != (ref.chunks, ref.size, ref.sha256):
            raise TamperedRecord(N_("a synced blob does not match its record"))
        self._exec("INSERT INTO blobs (id, chunks, size) VALUES (?, ?, ?)", (ref.id, chunks, size))
        self.state.blobs_digest ^= row_digest(self._ring, "blobs", (ref.id, chunks, size))
        self._dirty = True

    def register_blob(self, ref: BlobRef) -> None:
        """Make the blob file a sync wrote and checked before this transaction (sealed under
        the blob's own key, as `adopt_blob` writes it) part of the vault; on rollback the
        file goes."""
        if self._exec("SELECT 1 FROM blobs WHERE id=?", (ref.id,)).fetchone():
            return
        self._created.append(ref.id)
        row = (ref.id, ref.chunks, ref.size)
        self._exec("INSERT INTO blobs (id, chunks, size) VALUES (?, ?, ?)", row)
        self.state.blobs_digest ^= row_digest(self._ring, "blobs", row)
        self._dirty = True

    def write_blob(
        self,
        source: BinaryIO | Iterable[bytes],
        progress: ProgressCallback | None = None,
        total: int | None = None,
    ) -> BlobRef:
        """Stream a blob into sealed 64 KiB chunks; memory stays constant whatever its size.

        The blob's file is on disk when this returns; it belongs to the vault once the
        transaction commits (on rollback it is removed).
        """
        blob_id = crypto.random_bytes(16)
        key = crypto.new_key()
        self._created.append(blob_id)
        chunks, size, sha = self.store.blobs.write(
            blob_id, key, self._ring.blob_aad(blob_id), source, progress=progress, total=total
        )
        self._exec("INSERT INTO blobs (id, chunks, size) VALUES (?, ?, ?)", (blob_id, chunks, size))
        self.state.blobs_digest ^= row_digest(self._ring, "blobs", (blob_id, chunks, size))
        self._dirty = True
        return BlobRef(blob_id, key, chunks, size, sha)

    def delete_blob(self, ref: BlobRef) -> None:
        """Forget a blob: its row now, its file (zeroed, then unlinked) after the commit."""
        row = self._exec("SELECT id, chunks, size FROM blobs WHERE id=?", (ref.id,)).fetchone()
        if row is not None:
            self._exec("DELETE FROM blobs WHERE id=?", (ref.id,))
            self.state.blobs_digest ^= row_digest(self._ring, "blobs", tuple(row))
        self._doom(ref.id)
        self._doomed.append(ref.id)
        self._dirty = True

    @property
    def clock(self) -> Clock:
        """The vault's clock (code that holds a transaction and no Vault stamps times with it)."""
        return self.store.clock

    def audit(self, action: str, **details: Any) -> None:
        """Append an audit entry (ids and counts only, never plaintext), stamped now."""
        self.audit_at(self.clock.iso(), action, details)

    def audit_at(self, time: str, action: str, details: dict[str, Any]) -> None:
        """Append an audit entry stamped `time` (an entry another device made, that sync
        brings here)."""
        seq = self.state.audit_count + 1
        sealed, head = audit.seal_entry(
            self._ring, seq, self.state.audit_head, action, details, time=time
        )
        self._exec("INSERT INTO audit (seq, data) VALUES (?, ?)", (seq, sealed))
        self.state.audit_count, self.state.audit_head = seq, head
        self._dirty = True

    def wipe_all(self, keep: Iterable[str] = ()) -> int:
        """Delete every record, lookup term and blob chunk (the audit log stays), but the
        records of the kinds in `keep` (a device's own bookkeeping, which holds no content);
        return how many records went."""
        keep_ix = {self._ring.kind_index(k): k for k in keep}
        kept = [
            self.store._decrypt(keep_ix[row[1]], row)
            for row in self._exec(f"SELECT {RECORD_COLUMNS} FROM records").fetchall()
            if row[1] in keep_ix
        ]
        (n,) = self._exec("SELECT count(*) FROM records").fetchone()
        for blob_id in self.verified_ids("blobs"):
            self._doom(blob_id)
            self._doomed.append(blob_id)
        marks = ",".join("?" * len(keep_ix))
        self._exec(f"DELETE FROM records WHERE kind NOT IN ({marks})", tuple(keep_ix))
        for table in ("terms", "blobs"):
            self._exec(f"DELETE FROM {table}")
        self._postings.clear()
        self.state.digest = self.state.terms_digest = self.state.blobs_digest = 0
        self.state.kinds.clear()
        for rec in kept:
            rid, kix = bytes.fromhex(rec.id), self._ring.kind_index(rec.kind)
            self.state.digest ^= self._ring.record_digest(rid, rec.version)
            self.state.kinds[kix] = self.state.kinds.get(kix, 0) + 1
            self._index(rec.kind, rid, (), rec.terms)
        self._dirty = self._records_changed = True
        return int(n) - len(kept)

    def rotate_epoch(self) -> int:
        """Replace the epoch key: re-wrap every surviving record key under a new one.

        The old epoch key exists only in memory from here on and in the header row this
        overwrites (zeroed by secure_delete), so record keys wrapped under it, in this file or
        any older copy, can no longer be unwrapped with the vault's current keys.
        """
        ring = self._ring
        self._flush_postings()  # under the old keys, then re-keyed with every other row
        new_no, new_key = ring.epoch_no + 1, crypto.new_key()
        updates = []
        rows = self._exec("SELECT id, kind, version, rkey FROM records").fetchall()
        for rid, kix, version, rkey in rows:
            try:
                key = ring.unwrap_record_key(kix, rid, version, rkey)
            except CryptoFailure:
                raise TamperedRecord(N_("a record key, while rotating the epoch")) from None
            updates.append(
                (ring.wrap_record_key(kix, rid, version, key, epoch=(new_no, new_key)), rid)
            )
        self._conn.executemany("UPDATE records SET rkey=? WHERE id=?", updates)
        postings = [
            (open_posting(ring, term, sealed), sealed)
            for term, sealed in self._exec("SELECT term, ids FROM terms").fetchall()
        ]
        self.set_meta("epoch", ring.wrap_epoch(new_no, new_key))
        self.set_meta("epoch_no", str(new_no))
        ring.set_epoch(new_no, new_key)
        self.state.epoch_no = new_no
        recovery.reseal(self)  # the kit opens the new epoch, and no longer the old one
        self.rotated = True
        self._rewrite_postings([(names, ids) for (names, ids), _ in postings])
        self._dirty = True
        return new_no

    def _rewrite_postings(self, postings: list[tuple[Names, set[bytes]]]) -> None:
        """Replace the whole lookup index with these posting lists, keyed by the current keys
        (after a rotation: no term of the old epoch survives)."""
        self._exec("DELETE FROM terms")
        self._postings.clear()
        digest, rows = 0, []
        for names, ids in postings:
            term = self._ring.term_index(*names)
            sealed = seal_posting(self._ring, term, names, ids)
            rows.append((term, sealed))
            digest ^= row_digest(self._ring, "terms", (term, sealed))
        self._conn.executemany("INSERT INTO terms (term, ids) VALUES (?, ?)", rows)
        self.state.terms_digest = digest
        self._dirty = True

    def rekey(self, new: KeyRing, progress: ProgressCallback | None = None) -> None:
        """Re-seal the whole vault under `new` (a fresh root and epoch): every record under a
        fresh record key and the new kind index, the lookup index, the table digests and the
        audit log. Blob files keep their keys, which live inside the re-sealed records. From
        the end of this transaction on, nothing the old keys open is current."""
        old = self._ring
        # Every export token dies with the old keys (their views hold the old record keys);
        # what was exported with them is moved into the ledger and the audit log first, and
        # its lookup terms are flushed below with every other.
        from vault.core import tokens

        tokens.refresh(self)
        tokens.drop_all(self)
        self._flush_postings()
        self.store.verify()  # what is re-sealed below must be what Coffre wrote
        postings = [
            open_posting(old, term, sealed)
            for term, sealed in self._exec("SELECT term, ids FROM terms").fetchall()
        ]
        report = Progress(N_("rekey"), progress, unit="records")
        report.start(self._exec("SELECT count(*) FROM records").fetchone()[0])
        digest, last = 0, 0
        kinds: dict[bytes, int] = {}
        while True:
            rows = self._exec(
                f"SELECT rowid, {RECORD_COLUMNS} FROM records WHERE rowid>? ORDER BY rowid LIMIT ?",
                (last, BATCH),
            ).fetchall()
            updates = []
            for _rowid, rid, kix, version, rkey, data in rows:
                try:
                    plain = old.open_record(kix, rid, version, rkey, data)
                    kind = unpack_envelope(plain)[0]
                except (CryptoFailure, ValueError, KeyError, struct.error, zlib.error):
                    raise TamperedRecord(N_("a record, while re-keying")) from None
                new_kix = new.kind_index(kind)
                updates.append((new_kix, *new.seal_record(new_kix, rid, version, plain), rid))
                digest ^= new.record_digest(rid, version)
                kinds[new_kix] = kinds.get(new_kix, 0) + 1
            self._conn.executemany("UPDATE records SET kind=?, rkey=?, data=? WHERE id=?", updates)
            report.advance(len(rows))
            if len(rows) < BATCH:
                break
            last = rows[-1][0]
        audit_rows = self._exec("SELECT seq, data FROM audit ORDER BY seq").fetchall()
        head, resealed = audit.GENESIS, []
        for entry in audit.verify_chain(
            old, audit_rows, self.state.audit_head, self.state.audit_count
        ):
            sealed, head = audit.seal_entry(
                new, entry.seq, head, entry.action, entry.details, time=entry.time
            )
            resealed.append((sealed, entry.seq))
        self._conn.executemany("UPDATE audit SET data=? WHERE seq=?", resealed)
        self.verified_ids("blobs")  # both lists are checked under the old keys, then re-digested
        doomed = self.verified_ids("doomed")
        self.store.use_ring(new)
        self._rewrite_postings([(names, ids) for names, ids in postings])
        self.state.blobs_digest = (
            table_digest(new, "blobs", self._exec(TABLE_QUERIES["blobs"]).fetchall()) or 0
        )
        self.state.doomed_digest = table_digest(new, "doomed", [(b,) for b in doomed]) or 0
        self.state.digest, self.state.kinds = digest, kinds
        self.state.audit_head, self.state.epoch_no = head, new.epoch_no
        self.set_meta("epoch", new.wrap_epoch(new.epoch_no, new.epoch_key))
        self.set_meta("epoch_no", str(new.epoch_no))
        recovery.reseal(self)  # the kit keeps opening the vault under its new keys
        self._dirty = True
        report.finish()

    def set_meta(self, name: str, value: bytes | str) -> None:
        """Replace one header row (key material and KDF parameters only)."""
        self._exec("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def flush(self) -> None:
        """Bring export tokens' views up to date, seal the updated state into the header;
        called once at commit."""
        if self._records_changed:
            from vault.core import tokens  # it builds on the store, which builds on this

            self._records_changed = False
            tokens.refresh(self)
            self._records_changed = False
        self._flush_postings()
        if self._dirty:
            self.state.writes += 1
            self._exec(
                "UPDATE meta SET value=? WHERE name='state'", (seal_state(self._ring, self.state),)
            )
            self._dirty = False


def txn_created(txn: Txn | None) -> list[bytes]:
    return list(txn._created) if txn is not None else []


def txn_doomed(txn: Txn | None) -> list[bytes]:
    return list(txn._doomed) if txn is not None else []
