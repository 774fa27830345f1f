"""The SQLite file of a vault: its tables, its format version and the migrations from older
ones, and how every connection to it is opened (WAL, `synchronous=FULL`, `secure_delete`).

Tables (docs/vault-format.md describes every field):

    meta     the header: format version, vault id, KDF parameters, salt, wrapped keys, the
             sealed vault state (record-set digest, audit head and count, epoch number), and
             the keys sealed to the recovery kit once one was made (format 5)
    records  one row per record: random id, blind index of its kind, version, wrapped record
             key, sealed envelope (kind, lookup terms, blob references, body)
    terms    one row per lookup term (a keyed hash of kind, label and value, keyed by the
             epoch): the sealed list of the ids of the records carrying it
    blobs    id, chunk count and size of every blob; the sealed chunks themselves are files
             under `blobs/` (vault/core/blobs.py), so large files are written once, not twice
    audit    the sealed, hash-chained audit entries
    tokens   one row per active export token: its control (grant, token key, expiry) sealed
             under a root-derived key, and its view (the keys of exactly the records its grant
             covers) sealed under the token's own key (format 3)
    token_log  exports made with a token, sealed under its key, until the next unlock with
             the passphrase moves them into the audit log and the ledger (format 3)
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from vault.core.errors import DamagedDatabase, UnsafeVaultFile, UnsupportedFormat
from vault.core.i18n import N_

FORMAT_VERSION: Final = 5
DB_NAME: Final = "vault.db"
BUSY_TIMEOUT_S: Final = 60.0
CACHE_KIB: Final = 16 * 1024

# The export tokens' tables, added by format 3.
TABLES_V3: Final = """
CREATE TABLE tokens (
    id BLOB PRIMARY KEY,
    control BLOB NOT NULL,
    view BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE token_log (
    id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
"""

SCHEMA: Final = (
    """
CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
    rowid INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    kind BLOB NOT NULL,
    version INTEGER NOT NULL,
    rkey BLOB NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX records_kind ON records (kind);
CREATE TABLE terms (term BLOB PRIMARY KEY, ids BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE blobs (
    id BLOB PRIMARY KEY,
    chunks INTEGER NOT NULL,
    size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE doomed (id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE audit (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
    + TABLES_V3
)


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open the SQLite file with the pragmas every connection needs."""
    if create:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        if create:
            # Before anything is written: lets a forget hand freed (zeroed) pages back.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a transaction reported committed survives power loss (WAL alone keeps the file
        # consistent, FULL also keeps the last commit).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        # 16 MiB of page cache (SQLite's default is 2): a bulk write of 100,000 records keeps
        # the pages of the id index it inserts into at random in memory, where with 2 MiB
        # they were spilled to the WAL mid-transaction and written again (measured: 10% of
        # the CPU time of such a write). A size, not a reservation: small vaults use less.
        conn.execute(f"PRAGMA cache_size={-CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        conn.close()
        raise DamagedDatabase(N_("it is not a readable SQLite database")) from exc
    return conn


def read_meta(conn: sqlite3.Connection) -> dict[str, bytes]:
    try:
        # As blobs: a damaged text value must surface as damage, not as a decoding crash.
        rows = conn.execute("SELECT CAST(name AS BLOB), CAST(value AS BLOB) FROM meta").fetchall()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise DamagedDatabase(N_("the header cannot be read")) from exc
    return {
        name.decode("utf-8", "replace"): v
        for name, v in rows
        if type(name) is bytes and type(v) is bytes
    }


def check_format(meta: dict[str, bytes]) -> int:
    """The header's format version: refuse newer ones and nonsense; older ones are migrated
    after the unlock (`vault.core.migrations`), once the keys can check what they change.

    The number itself is not authenticated: the sealed state binds the format, so a header
    claiming another format than the vault's fails authentication right after the unlock.
    """
    try:
        found = int(meta["format"])
    except (KeyError, ValueError):
        raise DamagedDatabase(N_("the header has no valid format version")) from None
    if found > FORMAT_VERSION:
        raise UnsupportedFormat(
            N_("format {found}, this Coffre reads up to {newest}"),
            found=found,
            newest=FORMAT_VERSION,
        )
    if found < 1:
        raise DamagedDatabase(
            N_("the header names format {found}, which never existed"), found=found
        )
    return found


TABLES: Final = ("meta", "records", "terms", "blobs", "doomed", "audit", "tokens", "token_log")


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a database someone added triggers to (they would run inside Coffre's own
    transactions: silently undo a deletion, or copy what a forget erases into another table),
    or where one of Coffre's tables was replaced by something else (a view)."""
    try:
        rows = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise DamagedDatabase(N_("its schema cannot be read")) from exc
    if any(kind == "trigger" for kind, _name in rows):
        raise UnsafeVaultFile(N_("the database holds a trigger Coffre did not make"))
    kinds = {name: kind for kind, name in rows}
    for table in TABLES:
        if kinds.get(table) not in (None, "table"):
            raise UnsafeVaultFile(
                N_("the {table} table was replaced by a {kind}"), table=table, kind=kinds[table]
            )


def check_no_triggers(conn: sqlite3.Connection) -> None:
    """The per-transaction part of `check_schema`: cheap, since a trigger planted while the
    vault is open must not run inside the next write either."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='trigger' LIMIT 1").fetchone():
        raise UnsafeVaultFile(N_("the database holds a trigger Coffre did not make"))
