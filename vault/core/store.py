"""The encrypted store: SQLite holding only ciphertext, random ids, blind indexes and sizes.

`Store` reads (records, lookups, blobs, checks) over one connection shared between threads;
`Txn` writes. The file's tables and connection settings are in `schema`, what a record holds in
`records`, the sealed vault state in `state`.

Writes happen in `Store.write()` transactions (BEGIN IMMEDIATE): other processes wait, the
state is re-read under the lock so no update is lost, and an exception rolls everything back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

from vault.core import audit, crypto
from vault.core.blobs import BlobFiles
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.crypto import CryptoFailure
from vault.core.errors import (
    AuditChainBroken,
    DamagedDatabase,
    IntegrityError,
    RecordNotFound,
    TamperedRecord,
    VaultBusy,
    WrongPassphrase,
)
from vault.core.keys import KeyRing
from vault.core.lookups import (
    TABLE_NAMES,
    TABLE_QUERIES,
    Names,
    open_posting,
    posting_ids,
    row_digest,
    seal_posting,
    table_digest,
)
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import (
    BlobRef,
    Record,
    Term,
    normalize_terms,
    pack_envelope,
    record_id_bytes,
    unpack_envelope,
)
from vault.core.schema import DB_NAME
from vault.core.state import VaultState, open_state, seal_state

_BATCH: Final = 512


@dataclass(frozen=True)
class Problem:
    """One finding of `Store.check`: what kind of thing, and what is wrong with it."""

    where: str
    what: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "what": self.what}


class Store:
    """Encrypted records and blobs over one SQLite connection, safe to share between threads."""

    def __init__(
        self, conn: sqlite3.Connection, ring: KeyRing, path: Path, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._conn = conn
        self._ring = ring
        self.path = path
        self.clock = clock  # the vault's clock: audit entries are stamped with it
        self.blobs = BlobFiles(path.parent)
        self._lock = threading.RLock()
        self._txn: Txn | None = None
        self._txn_thread: int | None = None
        self._root_seen = self.header("root")  # the wrapped root these keys came from
        self._data_version = -1  # SQLite's count of other connections' commits, as last seen

    @property
    def ring(self) -> KeyRing:
        return self._ring

    def use_ring(self, ring: KeyRing) -> None:
        """Read and write with `ring` from now on (after a re-key, or to undo a failed one)."""
        self._ring = ring
        self._root_seen = self.header("root")

    def header(self, name: str) -> bytes:
        """One row of the plaintext header (salt, KDF parameters, wrapped keys)."""
        rows = self._query("SELECT CAST(value AS BLOB) FROM meta WHERE name=?", (name,))
        if not rows:
            raise DamagedDatabase(f"the header has lost its {name} row")
        return bytes(rows[0][0])

    # --- transactions ---

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction: all of it is committed, or none of it.

        Re-entrant: a nested call on the same thread joins the outer transaction.
        """
        with self._lock:
            if self._txn is not None and self._txn_thread == threading.get_ident():
                yield self._txn
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise VaultBusy from exc
            doomed = False
            try:
                state = self._load_state()
                txn = Txn(self, state)
                self._txn, self._txn_thread = txn, threading.get_ident()
                yield txn
                txn.flush()
                self._conn.execute("COMMIT")
                doomed = bool(txn_doomed(txn))
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                # The transaction may have rotated the in-memory epoch: reload it from disk.
                self._ring.forget_epoch()
                for blob_id in txn_created(self._txn):
                    with contextlib.suppress(OSError):
                        self.blobs.remove(blob_id)
                raise
            finally:
                self._txn, self._txn_thread = None, None
            # Files go only once nothing refers to them any more. The same commit listed
            # them in `doomed`, so a crash before they are gone is finished at next open.
            if doomed:
                self.finish_removals()

    def _load_state(self) -> VaultState:
        try:
            meta = dict(
                self._conn.execute(
                    "SELECT name, CAST(value AS BLOB) FROM meta "
                    "WHERE name IN ('state', 'epoch', 'epoch_no')"
                ).fetchall()
            )
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise DamagedDatabase("the header cannot be read") from exc
        if len(meta) != 3:
            raise DamagedDatabase("the header is incomplete")
        try:
            state = open_state(self._ring, meta["state"])
        except IntegrityError:
            if self.header("root") != self._root_seen:
                # Another process re-keyed the vault: these keys are simply out of date.
                raise WrongPassphrase("the vault was re-keyed; unlock it again") from None
            raise
        try:
            header_epoch = int(meta["epoch_no"])
        except ValueError:
            header_epoch = -1
        if state.epoch_no != header_epoch:
            raise IntegrityError("the epoch in the header does not match the vault state")
        if state.epoch_no != self._ring.epoch_no or not self._ring.epoch_key:
            try:
                self._ring.load_epoch(state.epoch_no, meta["epoch"])
            except CryptoFailure:
                # Either the header was tampered with, or another process changed the
                # passphrase since this one unlocked: both need a fresh unlock.
                raise WrongPassphrase(
                    "the epoch key does not unwrap; unlock the vault again"
                ) from None
        return state

    def _follow_other_writers(self) -> bool:
        """Reload the state (and the epoch's keys) if another connection committed since the
        last look; True if the epoch changed (lookup terms depend on it)."""
        seen = self._query("PRAGMA data_version")[0][0]
        if seen == self._data_version:
            return False
        self._data_version = seen
        epoch = self._ring.epoch_no, self._ring.epoch_key
        self._load_state()
        return (self._ring.epoch_no, self._ring.epoch_key) != epoch

    def state(self) -> VaultState:
        """The current authenticated state (reloads the epoch key if another process rotated it)."""
        with self._lock:
            if self._txn is not None:
                return self._txn.state
            return self._load_state()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                raise DamagedDatabase(type(exc).__name__) from exc

    # --- reading records ---

    def _decrypt(self, kind: str | None, row: tuple[Any, ...], *, retried: bool = False) -> Record:
        rid, kind_ix, version, rkey, data = row
        label = kind or "unknown"
        if not (
            _well_formed(rid, kind_ix, version) and type(rkey) is bytes and type(data) is bytes
        ):
            raise TamperedRecord(f"a {label} record row is damaged")
        if kind is not None and kind_ix != self._ring.kind_index(kind):
            raise TamperedRecord(f"a {label} record is filed under another kind")
        try:
            key = self._ring.unwrap_record_key(kind_ix, rid, version, rkey)
        except CryptoFailure:
            if not retried and self._epoch_changed():
                return self._decrypt(kind, row, retried=True)
            raise TamperedRecord(f"{label} record key") from None
        try:
            plain = crypto.unseal(key, data, self._ring.record_aad(kind_ix, rid, version))
            found_kind, body, terms, blobs = unpack_envelope(plain)
        except (CryptoFailure, ValueError, KeyError, struct.error, zlib.error):
            raise TamperedRecord(f"{label} record") from None
        if kind is not None and found_kind != kind:
            raise TamperedRecord(f"a {label} record holds another kind")
        return Record(rid.hex(), found_kind, version, body, terms, blobs)

    def _epoch_changed(self) -> bool:
        """Reload the epoch from the header; True if the key in use was stale."""
        with self._lock:
            before = (self._ring.epoch_no, self._ring.epoch_key)
            self._load_state()
            return (self._ring.epoch_no, self._ring.epoch_key) != before

    _COLS = "id, kind, version, rkey, data"

    def get(self, kind: str, record_id: str | bytes) -> Record:
        rid = record_id_bytes(record_id)
        rows = self._query(f"SELECT {self._COLS} FROM records WHERE id=?", (rid,))
        if not rows:
            raise RecordNotFound(kind)
        return self._decrypt(kind, rows[0])

    def exists(self, kind: str, record_id: str | bytes) -> bool:
        rid = record_id_bytes(record_id)
        rows = self._query(
            "SELECT 1 FROM records WHERE id=? AND kind=?", (rid, self._ring.kind_index(kind))
        )
        return bool(rows)

    def iter_kind(self, kind: str) -> Iterator[Record]:
        """Every record of a kind, in insertion order, read in bounded batches."""
        kix = self._ring.kind_index(kind)
        before = self.state()
        last = 0
        seen: set[bytes] = set()
        while True:
            rows = self._query(
                f"SELECT rowid, {self._COLS} FROM records WHERE kind=? AND rowid>? "
                "ORDER BY rowid LIMIT ?",
                (kix, last, _BATCH),
            )
            for row in rows:
                if row[1] in seen or row[0] <= last:
                    raise IntegrityError(f"the {kind} listing repeats a record (damaged index)")
                seen.add(row[1])
                yield self._decrypt(kind, row[1:])
            if len(rows) < _BATCH:
                break
            last = rows[-1][0]
        # Compare with the authenticated count, unless a write happened meanwhile.
        after = self.state()
        expected = after.kinds.get(kix, 0)
        if after.writes == before.writes and len(seen) != expected:
            raise IntegrityError(f"{expected - len(seen)} {kind} record(s) missing from a listing")

    def count(self, kind: str) -> int:
        """How many records of `kind` exist (from the authenticated state: no scan)."""
        return self.state().kinds.get(self._ring.kind_index(kind), 0)

    def find(self, kind: str, label: str, value: str) -> list[Record]:
        """Records of `kind` carrying the lookup term (label, value), in insertion order."""
        with self._lock:
            if self._txn is not None and self._txn_thread == threading.get_ident():
                return self._found(
                    kind, label, value, set(self._txn.posting(kind, label, value).ids)
                )
            try:
                return self._found(kind, label, value, self._lookup(kind, label, value))
            except TamperedRecord:
                # Another process may have changed the list between the two reads: read both
                # again from one snapshot before calling it tampering.
                with self._snapshot():
                    return self._found(kind, label, value, self._lookup(kind, label, value))

    def _lookup(self, kind: str, label: str, value: str) -> set[bytes]:
        ids = self.read_posting(self._ring.term_index(kind, label, value))[0]
        # A term from an epoch another process rotated away matches no row: only a miss
        # needs the (cheap) check for other writers, then one more try.
        if not ids and self._follow_other_writers():
            ids = self.read_posting(self._ring.term_index(kind, label, value))[0]
        return ids

    def _found(self, kind: str, label: str, value: str, ids: set[bytes]) -> list[Record]:
        rows = self._rows_of(ids)
        if len(rows) != len(ids):
            raise TamperedRecord(f"{kind} lookup index (a record it names is missing)")
        out = []
        for row in rows:
            rec = self._decrypt(kind, row)
            # A posting list names ids only: the sealed record must carry the term itself.
            if (label, value) not in rec.terms:
                raise TamperedRecord(f"{kind} lookup index")
            out.append(rec)
        return out

    def _rows_of(self, ids: set[bytes]) -> list[Any]:
        """The rows of these records, in insertion order."""
        if len(ids) == 1:  # the most common lookup: a name, a uid, a dedup key
            return self._query(f"SELECT {self._COLS} FROM records WHERE id=?", tuple(ids))
        wanted = sorted(ids)
        rows: list[Any] = []
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            rows += self._query(
                f"SELECT rowid, {self._COLS} FROM records WHERE id IN ({marks})", tuple(batch)
            )
        return [row[1:] for row in sorted(rows, key=lambda r: r[0])]

    def read_posting(self, term: bytes) -> tuple[set[bytes], bytes | None]:
        """The ids a lookup term lists, and its sealed row as stored (None: no row)."""
        rows = self._query("SELECT ids FROM terms WHERE term=?", (term,))
        if not rows:
            return set(), None
        sealed = rows[0][0]
        return posting_ids(self._ring, term, sealed), sealed

    def find_prefix(self, kind: str, prefix: str) -> list[Record]:
        """Records of `kind` whose hex id starts with `prefix` (for short ids typed by people)."""
        prefix = prefix.lower()
        if not prefix or len(prefix) > 32 or any(c not in "0123456789abcdef" for c in prefix):
            return []
        if len(prefix) == 32:
            return [self.get(kind, prefix)] if self.exists(kind, prefix) else []
        padded = prefix + "0" * (32 - len(prefix))
        lo = bytes.fromhex(padded)
        hi = bytes.fromhex(prefix + "f" * (32 - len(prefix)))
        rows = self._query(
            f"SELECT {self._COLS} FROM records WHERE id BETWEEN ? AND ? AND kind=?",
            (lo, hi, self._ring.kind_index(kind)),
        )
        return [self._decrypt(kind, row) for row in rows]

    # --- blobs ---

    def read_blob(self, ref: BlobRef) -> Iterator[bytes]:
        """Yield the plaintext chunks of a blob, each authenticated, in constant memory."""
        return self.blobs.read(ref.id, ref.key, self._ring.blob_aad(ref.id), ref.chunks)

    def finish_removals(self) -> None:
        """Remove the blob files of committed deletions (`doomed`), then forget the list.

        The list is believed only when its sealed digest matches, and a blob still listed as
        live is never removed: an edited `doomed` table cannot destroy live data.
        """
        with self._lock:
            if not self._query("SELECT 1 FROM doomed LIMIT 1"):
                return
            with self.write() as txn:
                doomed = txn.verified_ids("doomed")
                if doomed & txn.verified_ids("blobs"):
                    raise IntegrityError("a blob listed for removal is still in use")
                for blob_id in sorted(doomed):
                    self.blobs.remove(blob_id)
                txn.clear_doomed()

    def _discard_unreferenced(self, txn: Txn, referenced: set[bytes]) -> int:
        """Remove the files under blobs/ that neither a record, the (authenticated) blobs
        table nor a pending removal names: residue of a write that never committed."""
        keep = referenced | txn.verified_ids("blobs") | txn.verified_ids("doomed")
        removed = 0
        for blob_id, path in list(self.blobs.present()):
            if blob_id is None or blob_id not in keep:
                self.blobs.discard(path)
                removed += 1
        return removed

    def collect_garbage(self) -> int:
        """Remove blob files no record refers to (left by a crash); return how many.

        Runs under the write lock, so no other process is between writing a blob file and
        committing the record that refers to it.
        """
        with self.write() as txn:
            return self._discard_unreferenced(txn, set())

    # --- integrity ---

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: the state and the tables read inside come from one commit,
        so another process's write between two reads cannot look like tampering."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("COMMIT")

    def verify(self) -> None:
        """Compare the live records and every lookup table with their sealed digests."""
        with self._snapshot():
            self.verify_records()
            state = self.state()
            for table, query in TABLE_QUERIES.items():
                if table_digest(self._ring, table, self._query(query)) != getattr(
                    state, f"{table}_digest"
                ):
                    raise IntegrityError(f"{TABLE_NAMES[table]} changed outside Coffre")

    def verify_records(self) -> None:
        """Compare the set of live (id, version) with the authenticated digest."""
        state = self.state()
        acc = 0
        digest = self._ring.record_digest
        kinds: dict[bytes, int] = {}
        # NOT INDEXED: read the table itself, not an index that could disagree with it.
        for rid, version, kix in self._query("SELECT id, version, kind FROM records NOT INDEXED"):
            if not _well_formed(rid, kix, version):
                raise IntegrityError("a record row is damaged")
            acc ^= digest(rid, version)
            kinds[kix] = kinds.get(kix, 0) + 1
        if acc != state.digest or kinds != {k: n for k, n in state.kinds.items() if n}:
            raise IntegrityError("records were added, removed or rolled back outside Coffre")

    def audit_entries(self) -> Iterator[audit.AuditEntry]:
        """Every audit entry, verifying the whole chain (raises AuditChainBroken at the end)."""
        state = self.state()
        rows = self._query("SELECT seq, data FROM audit ORDER BY seq")
        yield from audit.verify_chain(self._ring, rows, state.audit_head, state.audit_count)

    def check(self, progress: ProgressCallback | None = None) -> list[Problem]:
        """Decrypt and verify everything; return what is wrong (empty when all is well)."""
        problems: list[Problem] = []
        report = Progress("check", progress)
        damage = [str(r[0]) for r in self._query("PRAGMA quick_check(5)") if r[0] != "ok"]
        if damage:
            # SQLite's own structural check: pages and indexes, not contents (those follow).
            problems.append(Problem("database", f"{len(damage)} structural problem(s) in vault.db"))
        try:
            self.verify()
        except IntegrityError as exc:
            problems.append(Problem("records", exc.message))
        expected: dict[bytes, set[bytes]] = {}
        kind_of: dict[bytes, str] = {}
        total = self._query("SELECT count(*) FROM records")[0][0]
        report.start(total)
        kinds: dict[bytes, str] = {}
        referenced: set[bytes] = set()
        last = 0
        while True:
            rows = self._query(
                f"SELECT rowid, {self._COLS} FROM records WHERE rowid>? ORDER BY rowid LIMIT ?",
                (last, _BATCH),
            )
            for row in rows:
                rid, kind_ix = row[1], row[2]
                try:
                    rec = self._decrypt(None, row[1:])
                except TamperedRecord:
                    name = kinds.get(kind_ix, "unknown-kind")
                    problems.append(Problem(name, f"record {rid.hex()[:8]} fails authentication"))
                    report.advance()
                    continue
                kinds[kind_ix] = rec.kind
                kind_of[rid] = rec.kind
                for label, value in rec.terms:
                    term = self._ring.term_index(rec.kind, label, value)
                    expected.setdefault(term, set()).add(rid)
                for ref in rec.blobs:
                    referenced.add(ref.id)
                    try:
                        for _ in self.read_blob(ref):
                            pass
                    except TamperedRecord as exc:
                        problems.append(Problem(rec.kind, f"record {rid.hex()[:8]}: {exc.detail}"))
                report.advance()
            if len(rows) < _BATCH:
                break
            last = rows[-1][0]
        problems.extend(self._check_terms(expected, kind_of))
        listed = {b for (b,) in self._query("SELECT id FROM blobs") if _is_id(b)}
        if listed - referenced:
            problems.append(
                Problem("blobs", f"{len(listed - referenced)} blob(s) belong to no record")
            )
        if not problems:
            # Every record opened, so a file none of them refers to is the residue of an
            # interrupted write (sealed under a key that was never stored): clear it away.
            with self.write() as txn:
                self._discard_unreferenced(txn, referenced)
        else:
            leftovers = [p for b, p in self.blobs.present() if b not in referenced]
            if leftovers:
                problems.append(Problem("blobs", f"{len(leftovers)} unreferenced blob file(s)"))
        try:
            for _ in self.audit_entries():
                pass
        except AuditChainBroken as exc:
            problems.append(Problem("audit", exc.message))
        report.finish()
        return problems

    def _check_terms(
        self, expected: dict[bytes, set[bytes]], kind_of: dict[bytes, str]
    ) -> list[Problem]:
        """Every record's terms list it, and every posting list names exactly those."""
        stored: dict[bytes, set[bytes]] = {}
        problems = []
        for term, sealed in self._query("SELECT term, ids FROM terms"):
            try:
                stored[term] = open_posting(self._ring, term, sealed)[1]
            except TamperedRecord:
                problems.append(Problem("lookup index", "a posting list fails authentication"))
        damaged: set[bytes] = set()
        for term in expected.keys() | stored.keys():
            damaged |= expected.get(term, set()) ^ stored.get(term, set())
        for rid in sorted(damaged):
            name = kind_of.get(rid, "lookup index")
            problems.append(Problem(name, f"record {rid.hex()[:8]} has a damaged lookup index"))
        return problems

    # --- housekeeping ---

    def checkpoint(self) -> bool:
        """Fold the WAL into the database and truncate it to zero bytes.

        Returns False when another process's open read kept part of the WAL alive (it is
        then folded in and truncated by a later checkpoint).
        """
        with self._lock:
            busy, _log, _done = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(busy) == 0

    def reclaim(self) -> bool:
        """Give freed pages back to the file system, then checkpoint and truncate the WAL.

        Freed pages are already zeroed (secure_delete); this only shrinks the file.
        """
        with self._lock:
            if self._txn is not None:
                return False  # never inside a transaction: executescript would commit it
            # executescript steps the pragma to the end; execute() frees one page per call.
            self._conn.executescript("PRAGMA incremental_vacuum;")
        return self.checkpoint()

    def sizes(self) -> dict[str, int]:
        out = {}
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            out[DB_NAME + suffix] = p.stat().st_size if p.exists() else 0
        return out

    def counts(self) -> dict[str, int]:
        """Row counts per table (sizes, no metadata)."""
        return {
            "records": self._query("SELECT count(*) FROM records")[0][0],
            "blobs": self._query("SELECT count(*) FROM blobs")[0][0],
            "blob_chunks": self._query("SELECT coalesce(sum(chunks), 0) FROM blobs")[0][0],
            "audit_entries": self._query("SELECT count(*) FROM audit")[0][0],
        }

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()


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

    def _seal(
        self,
        kind_ix: bytes,
        rid: bytes,
        version: int,
        kind: str,
        data: bytes,
        *,
        terms: tuple[Term, ...],
        blobs: tuple[BlobRef, ...],
        compress: bool,
    ) -> tuple[bytes, bytes]:
        key = crypto.new_key()
        wrapped = self._ring.wrap_record_key(kind_ix, rid, version, key)
        envelope = pack_envelope(kind, data, terms, blobs, compress)
        return wrapped, crypto.seal(key, envelope, self._ring.record_aad(kind_ix, rid, version))

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
            raise IntegrityError(f"{TABLE_NAMES[table]} changed outside Coffre")
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
        rid = crypto.random_bytes(16)
        kix = self._ring.kind_index(kind)
        norm = normalize_terms(terms)
        wrapped, sealed = self._seal(
            kix, rid, 1, kind, data, terms=norm, blobs=tuple(blobs), compress=compress
        )
        self._exec(
            "INSERT INTO records (id, kind, version, rkey, data) VALUES (?, ?, 1, ?, ?)",
            (rid, kix, wrapped, sealed),
        )
        self.state.kinds[kix] = self.state.kinds.get(kix, 0) + 1
        if norm:
            self._index(kind, rid, (), norm)
        self.state.digest ^= self._ring.record_digest(rid, 1)
        self._dirty = True
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
        row = self._exec(f"SELECT {Store._COLS} FROM records WHERE id=?", (rid,)).fetchone()
        if row is None or row[1] != kix:
            raise RecordNotFound(kind)
        before = self.store._decrypt(kind, row)  # its terms leave their posting lists
        old = before.version
        new = old + 1
        norm = normalize_terms(terms)
        wrapped, sealed = self._seal(
            kix, rid, new, kind, data, terms=norm, blobs=tuple(blobs), compress=compress
        )
        self._exec(
            "UPDATE records SET version=?, rkey=?, data=? WHERE id=?", (new, wrapped, sealed, rid)
        )
        self._index(kind, rid, before.terms, norm)
        self.state.digest ^= self._ring.record_digest(rid, old) ^ self._ring.record_digest(rid, new)
        self._dirty = True
        return new

    def delete(self, kind: str, record_id: str | bytes, *, with_blobs: bool = True) -> None:
        """Delete a record, its lookup terms and (by default) the blobs it references."""
        rid = record_id_bytes(record_id)
        rows = self._exec(f"SELECT {Store._COLS} FROM records WHERE id=?", (rid,)).fetchall()
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
        seq = self.state.audit_count + 1
        sealed, head = audit.seal_entry(
            self._ring, seq, self.state.audit_head, action, details, time=self.clock.iso()
        )
        self._exec("INSERT INTO audit (seq, data) VALUES (?, ?)", (seq, sealed))
        self.state.audit_count, self.state.audit_head = seq, head
        self._dirty = True

    def wipe_all(self) -> int:
        """Delete every record, lookup term and blob chunk (the audit log stays)."""
        (n,) = self._exec("SELECT count(*) FROM records").fetchone()
        for blob_id in self.verified_ids("blobs"):
            self._doom(blob_id)
            self._doomed.append(blob_id)
        for table in ("records", "terms", "blobs"):
            self._exec(f"DELETE FROM {table}")
        self._postings.clear()
        self.state.digest = self.state.terms_digest = self.state.blobs_digest = 0
        self.state.kinds.clear()
        self._dirty = True
        return int(n)

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
                raise TamperedRecord("a record key, while rotating the epoch") from None
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
        self._flush_postings()
        postings = [
            open_posting(old, term, sealed)
            for term, sealed in self._exec("SELECT term, ids FROM terms").fetchall()
        ]
        report = Progress("rekey", progress)
        report.start(self._exec("SELECT count(*) FROM records").fetchone()[0])
        digest, last = 0, 0
        kinds: dict[bytes, int] = {}
        while True:
            rows = self._exec(
                f"SELECT rowid, {Store._COLS} FROM records WHERE rowid>? ORDER BY rowid LIMIT ?",
                (last, _BATCH),
            ).fetchall()
            updates = []
            for _rowid, rid, kix, version, rkey, data in rows:
                try:
                    key = old.unwrap_record_key(kix, rid, version, rkey)
                    plain = crypto.unseal(key, data, old.record_aad(kix, rid, version))
                    kind = unpack_envelope(plain)[0]
                except (CryptoFailure, ValueError, KeyError, struct.error, zlib.error):
                    raise TamperedRecord("a record, while re-keying") from None
                new_kix, fresh = new.kind_index(kind), crypto.new_key()
                updates.append(
                    (
                        new_kix,
                        new.wrap_record_key(new_kix, rid, version, fresh),
                        crypto.seal(fresh, plain, new.record_aad(new_kix, rid, version)),
                        rid,
                    )
                )
                digest ^= new.record_digest(rid, version)
                kinds[new_kix] = kinds.get(new_kix, 0) + 1
            self._conn.executemany("UPDATE records SET kind=?, rkey=?, data=? WHERE id=?", updates)
            report.advance(len(rows))
            if len(rows) < _BATCH:
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
        self._dirty = True
        report.finish()

    def set_meta(self, name: str, value: bytes | str) -> None:
        """Replace one header row (key material and KDF parameters only)."""
        self._exec("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def flush(self) -> None:
        """Seal the updated state into the header; called once at commit."""
        self._flush_postings()
        if self._dirty:
            self.state.writes += 1
            self._exec(
                "UPDATE meta SET value=? WHERE name='state'", (seal_state(self._ring, self.state),)
            )
            self._dirty = False


def _is_id(value: object) -> bool:
    return type(value) is bytes and len(value) == 16


def _well_formed(rid: object, kind_ix: object, version: object) -> bool:
    """Column types as Coffre writes them (a damaged row can change SQLite's types)."""
    return (
        type(rid) is bytes
        and len(rid) == 16
        and type(kind_ix) is bytes
        and type(version) is int
        and 1 <= version < 1 << 62
    )


def txn_created(txn: Txn | None) -> list[bytes]:
    return list(txn._created) if txn is not None else []


def txn_doomed(txn: Txn | None) -> list[bytes]:
    return list(txn._doomed) if txn is not None else []
