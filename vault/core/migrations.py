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
from vault.core.lookups import TABLE_QUERIES, Names, seal_posting, table_digest
from vault.core.state import open_state, seal_state

if TYPE_CHECKING:
    from vault.core.store import Store


def _v1_to_v2(store: Store) -> None:
    """Format 2: one sealed posting list per lookup term instead of one plaintext row per
    (term, record), keyed by the epoch; and the lookup tables' digests in the sealed state."""
    conn, ring = store._conn, store.ring
    meta = dict(conn.execute("SELECT name, CAST(value AS BLOB) FROM meta").fetchall())
    state = open_state(ring, meta["state"], format=1)
    ring.load_epoch(state.epoch_no, meta["epoch"])
    postings: dict[Names, set[bytes]] = {}
    for row in conn.execute(f"SELECT {store._COLS} FROM records NOT INDEXED").fetchall():
        rec = store._decrypt(None, row)
        for label, value in rec.terms:
            postings.setdefault((rec.kind, label, value), set()).add(row[0])
    conn.execute("DROP TABLE terms")
    conn.execute("CREATE TABLE terms (term BLOB PRIMARY KEY, ids BLOB NOT NULL) WITHOUT ROWID")
    rows = []
    for names, ids in postings.items():
        term = ring.term_index(*names)
        rows.append((term, seal_posting(ring, term, names, ids)))
    conn.executemany("INSERT INTO terms (term, ids) VALUES (?, ?)", rows)
    state.terms_digest = table_digest(ring, "terms", rows) or 0
    for table in ("blobs", "doomed"):
        digest = table_digest(ring, table, conn.execute(TABLE_QUERIES[table]).fetchall())
        if digest is None:
            raise DamagedDatabase(f"a row of the {table} table is damaged")
        setattr(state, f"{table}_digest", digest)
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (seal_state(ring, state),))


# Migration from format N to N+1, by N.
MIGRATIONS: dict[int, Callable[[Store], None]] = {1: _v1_to_v2}


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
