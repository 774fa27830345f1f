"""The encrypted store: SQLite holding only ciphertext, random ids, blind indexes and sizes.

`Store` reads (records, lookups, blobs, checks) over one connection shared between threads;
`Txn` (in `txn`) writes. The file's tables and connection settings are in `schema`, what a
record holds in `records`, the sealed vault state in `state`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vault.core import audit
from vault.core.blobs import BlobFiles
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.crypto import CryptoFailure, WrappedKeyFailure
from vault.core.errors import (
    AuditChainBroken,
    DamagedDatabase,
    IntegrityError,
    RecordNotFound,
    TamperedRecord,
    VaultBusy,
    WrongPassphrase,
)
from vault.core.i18n import N_, N_plural, Text
from vault.core.keys import KeyRing
from vault.core.lookups import (
    TABLE_NAMES,
    TABLE_QUERIES,
    open_posting,
    posting_ids,
    table_digest,
)
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import (
    BlobRef,
    Record,
    make_record,
    record_id_bytes,
    simple_head,
    unpack_envelope,
)
from vault.core.schema import DB_NAME, check_no_triggers
from vault.core.state import VaultState, open_state
from vault.core.txn import BATCH, RECORD_COLUMNS, Txn, txn_created, txn_doomed

_POSTINGS_KEPT: Final = 4096  # posting lists kept open between commits, at most
# What `Store.check` finds, counted.
_STRUCTURAL: Final = N_plural(
    "{n} structural problem in vault.db", "{n} structural problems in vault.db"
)
_UNLISTED: Final = N_plural("{n} blob in use is not listed", "{n} blobs in use are not listed")
_ORPHANS: Final = N_plural("{n} blob belongs to no record", "{n} blobs belong to no record")
_LEFTOVERS: Final = N_plural("{n} unreferenced blob file", "{n} unreferenced blob files")
_MAX_VERSION: Final = 1 << 62
# What opening a record or reading its envelope raises when the record is not as written.
_UNREADABLE: Final = (CryptoFailure, ValueError, KeyError, struct.error, zlib.error)


@dataclass(frozen=True)
class Problem:
    """One finding of `Store.check`: what kind of thing, and what is wrong with it (English;
    the front ends show `what` with `i18n.localise`)."""

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
        # Posting lists opened since the last commit (ids only: random, and only while open).
        self._postings: dict[bytes, set[bytes]] = {}
        self.owner: object = None  # the Vault over this store (set by it)

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
            raise DamagedDatabase(N_("the header has lost its {name} row"), name=name)
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
            doomed = scrub = False
            try:
                check_no_triggers(self._conn)
                state = self._load_state()
                txn = Txn(self, state)
                self._txn, self._txn_thread = txn, threading.get_ident()
                yield txn
                txn.flush()
                self._conn.execute("COMMIT")
                doomed = bool(txn_doomed(txn))
                scrub = txn.scrub_wal
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
                self._postings.clear()  # this process's commit (or rollback) changes lists
            # Files go only once nothing refers to them any more. The same commit listed
            # them in `doomed`, so a crash before they are gone is finished at next open.
            if doomed:
                self.finish_removals()
            # A destroyed token's view is zeroed in the database (secure_delete) but its old
            # pages stay in the WAL until a checkpoint truncates it: do it now, not at close.
            if scrub:
                self.checkpoint()

    def _load_state(self) -> VaultState:
        try:
            meta = dict(
                self._conn.execute(
                    "SELECT name, CAST(value AS BLOB) FROM meta "
                    "WHERE name IN ('state', 'epoch', 'epoch_no')"
                ).fetchall()
            )
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise DamagedDatabase(N_("the header cannot be read")) from exc
        if len(meta) != 3:
            raise DamagedDatabase(N_("the header is incomplete"))
        try:
            state = open_state(self._ring, meta["state"])
        except IntegrityError:
            if self.header("root") != self._root_seen:
                # Another process re-keyed the vault: these keys are simply out of date.
                raise WrongPassphrase(N_("the vault was re-keyed; unlock it again")) from None
            raise
        try:
            header_epoch = int(meta["epoch_no"])
        except ValueError:
            header_epoch = -1
        if state.epoch_no != header_epoch:
            raise IntegrityError(N_("the epoch in the header does not match the vault state"))
        if state.epoch_no != self._ring.epoch_no or not self._ring.epoch_key:
            try:
                self._ring.load_epoch(state.epoch_no, meta["epoch"])
            except CryptoFailure:
                # Either the header was tampered with, or another process changed the
                # passphrase since this one unlocked: both need a fresh unlock.
                raise WrongPassphrase(
                    N_("the epoch key does not unwrap; unlock the vault again")
                ) from None
        return state

    def _follow_other_writers(self) -> bool:
        """If another connection committed since the last look: forget the posting lists read
        before, reload the state (and the epoch's keys: terms depend on them), return True."""
        seen = self._query("PRAGMA data_version")[0][0]
        if seen == self._data_version:
            return False
        self._data_version = seen
        self._postings.clear()
        self._load_state()
        return True

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
            raise TamperedRecord(N_("a {label} record row is damaged"), label=label)
        if kind is not None and kind_ix != self._ring.kind_index(kind):
            raise TamperedRecord(N_("a {label} record is filed under another kind"), label=label)
        try:
            plain = self._ring.open_record(kind_ix, rid, version, rkey, data)
            found_kind, body, terms, blobs = unpack_envelope(plain)
        except WrappedKeyFailure:
            if not retried and self._epoch_changed():
                return self._decrypt(kind, row, retried=True)
            raise TamperedRecord(N_("{label} record key"), label=label) from None
        except (CryptoFailure, ValueError, KeyError, struct.error, zlib.error):
            raise TamperedRecord(N_("{label} record"), label=label) from None
        if kind is not None and found_kind != kind:
            raise TamperedRecord(N_("a {label} record holds another kind"), label=label)
        return Record(rid.hex(), found_kind, version, body, terms, blobs)

    def _epoch_changed(self) -> bool:
        """Reload the epoch from the header; True if the key in use was stale."""
        with self._lock:
            before = (self._ring.epoch_no, self._ring.epoch_key)
            self._load_state()
            return (self._ring.epoch_no, self._ring.epoch_key) != before

    _COLS = RECORD_COLUMNS

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
        head = simple_head(kind)  # the envelope of a record with no terms and no blobs
        skip = len(head)
        before = self.state()
        last = 0
        seen: set[bytes] = set()
        while True:
            # The kind column is not read: the kind is bound into both associated data, so a
            # row of another kind (a damaged index) does not open with this one.
            rows = self._query(
                "SELECT rowid, id, version, rkey, data FROM records WHERE kind=? AND rowid>? "
                "ORDER BY rowid LIMIT ?",
                (kix, last, BATCH),
            )
            open_record = self._ring.record_opener(kix)  # per batch: the epoch may change
            for rowid, rid, version, rkey, data in rows:
                if rid in seen or rowid <= last:
                    raise IntegrityError(
                        N_("the {kind} listing repeats a record (damaged index)"), kind=kind
                    )
                seen.add(rid)
                # The common case, inline: a well-formed row that opens. Anything else goes
                # through `_decrypt`, which says what is wrong with it (or retries a stale epoch).
                rec: Record | None = None
                if (
                    type(rid) is bytes
                    and len(rid) == 16
                    and type(version) is int
                    and 1 <= version < _MAX_VERSION
                    and type(rkey) is bytes
                    and type(data) is bytes
                ):
                    try:
                        plain = open_record(rid, version, rkey, data)
                        if plain.startswith(head):
                            rec = make_record((rid.hex(), kind, version, plain[skip:], (), ()))
                        else:
                            found, body, terms, blobs = unpack_envelope(plain)
                            if found == kind:
                                rec = make_record((rid.hex(), kind, version, body, terms, blobs))
                    except _UNREADABLE:
                        pass
                if rec is None:  # as filed under this kind, like the query found it
                    rec = self._decrypt(kind, (rid, kix, version, rkey, data))
                yield rec
            if len(rows) < BATCH:
                break
            last = rows[-1][0]
        # Compare with the authenticated count, unless a write happened meanwhile.
        after = self.state()
        expected = after.kinds.get(kix, 0)
        if after.writes == before.writes and len(seen) != expected:
            raise IntegrityError(
                N_plural(
                    "{n} {kind} record missing from a listing",
                    "{n} {kind} records missing from a listing",
                ),
                n=expected - len(seen),
                kind=kind,
            )

    def versions(self, skip_kinds: Iterable[str] = ()) -> dict[bytes, int]:
        """Every live record's id and version but those of `skip_kinds` (no decryption):
        what changed since a known listing, for sync."""
        skip = {self._ring.kind_index(k) for k in skip_kinds}
        rows = self._query("SELECT id, kind, version FROM records")
        return {rid: version for rid, kix, version in rows if kix not in skip}

    def raw_record(self, record_id: bytes) -> tuple[Record, bytes] | None:
        """A record and its envelope exactly as sealed (compressed body included), or None:
        sync sends the envelope as it is."""
        rows = self._query(f"SELECT {self._COLS} FROM records WHERE id=?", (record_id,))
        if not rows:
            return None
        rid, kind_ix, version, rkey, data = rows[0]
        rec = self._decrypt(None, rows[0])  # authenticates the row and checks its envelope
        try:
            return rec, self._ring.open_record(kind_ix, rid, version, rkey, data)
        except CryptoFailure:  # the row changed between the two reads
            raise TamperedRecord(N_("{kind} record"), kind=rec.kind) from None

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
                self._postings.clear()
                with self._snapshot():
                    return self._found(kind, label, value, self._lookup(kind, label, value))

    def _lookup(self, kind: str, label: str, value: str) -> set[bytes]:
        """The ids a term lists. Posting lists opened since the last commit are kept: one of
        this process clears them itself, another's shows in SQLite's `data_version`."""
        term = self._ring.term_index(kind, label, value)
        ids = self._postings.get(term)
        if ids is not None and self._follow_other_writers():
            term, ids = self._ring.term_index(kind, label, value), None
        if ids is None:
            ids = self.read_posting(term)[0]
            # A term of an epoch another process rotated away matches no row: a miss checks
            # for other writers (and the current epoch's keys), then tries once more.
            if not ids and self._follow_other_writers():
                ids = self.read_posting(self._ring.term_index(kind, label, value))[0]
            if len(self._postings) >= _POSTINGS_KEPT:
                self._postings.clear()
            self._postings[term] = ids
        return ids

    def _found(self, kind: str, label: str, value: str, ids: set[bytes]) -> list[Record]:
        rows = self._rows_of(ids)
        if len(rows) != len(ids):
            raise TamperedRecord(
                N_("{kind} lookup index (a record it names is missing)"), kind=kind
            )
        out = []
        for row in rows:
            rec = self._decrypt(kind, row)
            # A posting list names ids only: the sealed record must carry the term itself.
            if (label, value) not in rec.terms:
                raise TamperedRecord(N_("{kind} lookup index"), kind=kind)
            out.append(rec)
        return out

    def _rows_of(self, ids: set[bytes]) -> list[Any]:
        """The rows of these records, in insertion order."""
        if len(ids) == 1:  # the most common lookup: a name, a uid, a dedup key
            return self._query(f"SELECT {self._COLS} FROM records WHERE id=?", tuple(ids))
        wanted = sorted(ids)
        rows: list[Any] = []
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
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
                    raise IntegrityError(N_("a blob listed for removal is still in use"))
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
                    raise IntegrityError(
                        N_("{table} changed outside Coffre"), table=TABLE_NAMES[table]
                    )

    def verify_records(self) -> None:
        """Compare the set of live (id, version) with the authenticated digest."""
        state = self.state()
        acc = 0
        digest = self._ring.record_digest
        kinds: dict[bytes, int] = {}
        # NOT INDEXED: read the table itself, not an index that could disagree with it.
        for rid, version, kix in self._query("SELECT id, version, kind FROM records NOT INDEXED"):
            if not _well_formed(rid, kix, version):
                raise IntegrityError(N_("a record row is damaged"))
            acc ^= digest(rid, version)
            kinds[kix] = kinds.get(kix, 0) + 1
        if acc != state.digest or kinds != {k: n for k, n in state.kinds.items() if n}:
            raise IntegrityError(N_("records were added, removed or rolled back outside Coffre"))

    def audit_entries(self) -> Iterator[audit.AuditEntry]:
        """Every audit entry, verifying the whole chain (raises AuditChainBroken at the end)."""
        state = self.state()
        rows = self._query("SELECT seq, data FROM audit ORDER BY seq")
        yield from audit.verify_chain(self._ring, rows, state.audit_head, state.audit_count)

    def check(self, progress: ProgressCallback | None = None) -> list[Problem]:
        """Decrypt and verify everything; return what is wrong (empty when all is well)."""
        problems: list[Problem] = []
        report = Progress(N_("check"), progress, unit="records")
        damage = [str(r[0]) for r in self._query("PRAGMA quick_check(5)") if r[0] != "ok"]
        if damage:
            # SQLite's own structural check: pages and indexes, not contents (those follow).
            problems.append(Problem("database", Text(_STRUCTURAL, n=len(damage))))
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
                (last, BATCH),
            )
            for row in rows:
                rid, kind_ix = row[1], row[2]
                try:
                    rec = self._decrypt(None, row[1:])
                except TamperedRecord:
                    name = kinds.get(kind_ix, "unknown-kind")
                    label = rid.hex()[:8] if type(rid) is bytes else "(damaged id)"
                    problems.append(
                        Problem(name, Text(N_("record {id} fails authentication"), id=label))
                    )
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
                        problems.append(
                            Problem(
                                rec.kind,
                                Text(
                                    N_("record {id}: {detail}"), id=rid.hex()[:8], detail=exc.detail
                                ),
                            )
                        )
                report.advance()
            if len(rows) < BATCH:
                break
            last = rows[-1][0]
        problems.extend(self._check_terms(expected, kind_of))
        listed = {b for (b,) in self._query("SELECT id FROM blobs") if _is_id(b)}
        if referenced - listed:
            problems.append(Problem("blobs", Text(_UNLISTED, n=len(referenced - listed))))
        if listed - referenced:
            problems.append(Problem("blobs", Text(_ORPHANS, n=len(listed - referenced))))
        if not problems:
            # Every record opened, so a file none of them refers to is the residue of an
            # interrupted write (sealed under a key that was never stored): clear it away.
            with self.write() as txn:
                self._discard_unreferenced(txn, referenced)
        else:
            leftovers = [p for b, p in self.blobs.present() if b not in referenced]
            if leftovers:
                problems.append(Problem("blobs", Text(_LEFTOVERS, n=len(leftovers))))
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
                problems.append(Problem("lookup index", N_("a posting list fails authentication")))
        damaged: set[bytes] = set()
        for term in expected.keys() | stored.keys():
            damaged |= expected.get(term, set()) ^ stored.get(term, set())
        for rid in sorted(damaged):
            name = kind_of.get(rid, "lookup index")
            problems.append(
                Problem(name, Text(N_("record {id} has a damaged lookup index"), id=rid.hex()[:8]))
            )
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


def _is_id(value: object) -> bool:
    return type(value) is bytes and len(value) == 16


def _well_formed(rid: object, kind_ix: object, version: object) -> bool:
    """Column types as Coffre writes them (a damaged row can change SQLite's types)."""
    return (
        type(rid) is bytes
        and len(rid) == 16
        and type(kind_ix) is bytes
        and type(version) is int
        and 1 <= version < _MAX_VERSION
    )
