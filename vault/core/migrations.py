"""Opening a vault written in an older format: migrations, applied once, after the unlock.

They run after the passphrase opened the keys, because a migration changes sealed data and
must check what it reads: the old state is authenticated under the old format's rules before
anything is rewritten. All migrations from the vault's format to the current one run in one
transaction, so a process killed midway leaves the vault in its old format, whole.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.core import schema
from vault.core.errors import DamagedDatabase
from vault.core.i18n import N_
from vault.core.lookups import TABLE_QUERIES, Names, seal_posting, table_digest
from vault.core.state import open_state, seal_state

if TYPE_CHECKING:
    from vault.core.store import Store


def _v1_to_v2(store: Store) -> None:
    """Format 2: one sealed posting list per lookup term instead of one plaintext row per
    (term, record), keyed by the epoch; the blob tables derived from the sealed records; and
    the lookup tables' digests in the sealed state."""
    conn, ring = store._conn, store.ring
    meta = dict(conn.execute("SELECT name, CAST(value AS BLOB) FROM meta").fetchall())
    state = open_state(ring, meta["state"], format=1)
    ring.load_epoch(state.epoch_no, meta["epoch"])
    postings: dict[Names, set[bytes]] = {}
    live: dict[bytes, tuple[int, int]] = {}  # blob id -> (chunks, size), from sealed records
    for row in conn.execute(f"SELECT {store._COLS} FROM records NOT INDEXED").fetchall():
        rec = store._decrypt(None, row)
        for label, value in rec.terms:
            postings.setdefault((rec.kind, label, value), set()).add(row[0])
        for ref in rec.blobs:
            live[ref.id] = (ref.chunks, ref.size)
    conn.execute("DROP TABLE terms")
    conn.execute("CREATE TABLE terms (term BLOB PRIMARY KEY, ids BLOB NOT NULL) WITHOUT ROWID")
    rows = []
    for names, ids in postings.items():
        term = ring.term_index(*names)
        rows.append((term, seal_posting(ring, term, names, ids)))
    conn.executemany("INSERT INTO terms (term, ids) VALUES (?, ?)", rows)
    state.terms_digest = table_digest(ring, "terms", rows) or 0
    # Format 1 did not authenticate the blob tables: rebuild them from the sealed records
    # rather than seal what an attacker may have written there. A pending removal survives
    # only for a blob no record uses.
    conn.execute("DELETE FROM blobs")
    conn.executemany(
        "INSERT INTO blobs (id, chunks, size) VALUES (?, ?, ?)",
        [(blob_id, chunks, size) for blob_id, (chunks, size) in live.items()],
    )
    for (blob_id,) in conn.execute("SELECT id FROM doomed").fetchall():
        if type(blob_id) is not bytes or blob_id in live:
            conn.execute("DELETE FROM doomed WHERE id=?", (blob_id,))
    for table in ("blobs", "doomed"):
        digest = table_digest(ring, table, conn.execute(TABLE_QUERIES[table]).fetchall())
        if digest is None:
            raise DamagedDatabase(N_("a row of the {table} table is damaged"), table=table)
        setattr(state, f"{table}_digest", digest)
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (seal_state(ring, state, format=2),))


def _v2_to_v3(store: Store) -> None:
    """Format 3: the tables of export tokens (empty), and the state sealed under the new
    format number, so a header naming the old one fails authentication."""
    conn, ring = store._conn, store.ring
    (sealed,) = conn.execute("SELECT CAST(value AS BLOB) FROM meta WHERE name='state'").fetchone()
    state = open_state(ring, sealed, format=2)
    for statement in schema.TABLES_V3.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (seal_state(ring, state, format=3),))


def _v3_to_v4(store: Store) -> None:
    """Format 4: the digest of the export tokens' table in the sealed state, so a token row
    put back after it was destroyed is seen. The rows found are the ones format 3 kept."""
    from vault.core import tokens  # it builds on the store, which this module's callers open

    conn, ring = store._conn, store.ring
    (sealed,) = conn.execute("SELECT CAST(value AS BLOB) FROM meta WHERE name='state'").fetchone()
    state = open_state(ring, sealed, format=3)
    rows = conn.execute("SELECT id, control, view FROM tokens").fetchall()
    digest = tokens.rows_digest(ring, rows)
    if digest is None:
        # Not as Coffre writes them: such rows open nothing, and are not carried over.
        conn.execute("DELETE FROM tokens")
        conn.execute("DELETE FROM token_log")
    state.tokens_digest = digest or 0
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (seal_state(ring, state, format=4),))


def _v4_to_v5(store: Store) -> None:
    """Format 5: room in the sealed state for the recovery kit's keys (none yet: a vault of
    an older format never had a kit), and the state sealed under the new format number."""
    conn, ring = store._conn, store.ring
    (sealed,) = conn.execute("SELECT CAST(value AS BLOB) FROM meta WHERE name='state'").fetchone()
    state = open_state(ring, sealed, format=4)
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (seal_state(ring, state, format=5),))


# Migration from format N to N+1, by N.
MIGRATIONS: dict[int, Callable[[Store], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
}


def upgrade(store: Store, found: int) -> None:
    """Bring a vault of format `found` to the current format, all in one transaction."""
    conn = store._conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in range(found, schema.FORMAT_VERSION):
            MIGRATIONS[version](store)
        conn.execute("UPDATE meta SET value=? WHERE name='format'", (str(schema.FORMAT_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
