"""Export tokens, the part that knows no domain: the token secret, its sealed control row and
view, the read-only store a token opens, and the log of exports made with it.

A token is a random 32-byte secret (and an 8-byte id) written once to a file. HKDF turns it
into the token key; no Argon2 is on this path, the secret has full entropy. The `tokens` table
holds one row per active token:

- `control`, sealed under the root's token-control key: the grant, the token key, when it was
  made and when it expires. Only the passphrase side reads it, to re-seal the view.
- `view`, sealed under the token key: the id, kind, version and record key of exactly the
  records the grant covers, plus what the domain adds (`extra`: the pairwise signing seed, the
  granted attributes). A token holder decrypts these records and nothing else: the record
  keys of every other record are wrapped under the epoch key, which the token never sees.

Integrity without the root's digest keys: the view is authenticated by the token key and lists
each record's exact (id, kind, version); a record row missing, of another version or altered
fails to open with the key the view holds for it, so the token path sees a record removed,
rolled back or changed as damage. What the token path cannot see is the whole view replaced
by an older one it also opened (a rollback of the file): docs/threat-model.md says so.

Whoever writes records with the passphrase keeps the views current: a transaction that
changed records calls the refresher the sharing layer registers (`register`), which computes
each token's in-scope set again and re-seals its view, in the same transaction. If no refresher
is registered in the process, the transaction ends every token instead, audited: a token is
never left holding a view that no longer matches its grant.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import sqlite3
import stat
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from vault.core import crypto, keys
from vault.core.blobs import BlobFiles
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.errors import (
    DamagedDatabase,
    IntegrityError,
    RecordNotFound,
    TamperedRecord,
    TokenOnlyExports,
    VaultBusy,
    WrongToken,
)
from vault.core.i18n import N_
from vault.core.records import BlobRef, Record, record_id_bytes, unpack_envelope
from vault.core.state import VaultState
from vault.core.store import Store

if TYPE_CHECKING:
    from vault.core.txn import Txn

PREFIX: Final = "coffre-token-v1"
ID_SIZE: Final = 8


@dataclass(frozen=True)
class TokenSecret:
    """What a token file holds: the token's id and its secret."""

    token_id: bytes
    secret: bytes = field(repr=False)

    def text(self) -> str:
        encoded = base64.urlsafe_b64encode(self.secret).decode("ascii").rstrip("=")
        return f"{PREFIX}:{self.token_id.hex()}:{encoded}\n"

    @classmethod
    def new(cls) -> TokenSecret:
        return cls(crypto.random_bytes(ID_SIZE), crypto.new_key())

    @classmethod
    def parse(cls, text: str) -> TokenSecret:
        """Read a token file's text; WrongToken (saying nothing of its content) if it is not one."""
        parts = text.strip().split(":")
        try:
            if len(parts) != 3 or parts[0] != PREFIX:
                raise ValueError
            token_id = bytes.fromhex(parts[1])
            secret = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except (ValueError, binascii.Error):
            raise WrongToken(N_("the token file does not hold a Coffre token")) from None
        if len(token_id) != ID_SIZE or len(secret) != crypto.KEY_SIZE:
            raise WrongToken(N_("the token file does not hold a Coffre token"))
        return cls(token_id, secret)


# A token file holds one line of about 80 characters; a file read to its end could be a
# device or a pipe that never ends.
MAX_FILE: Final = 1024


def read_token_file(path: Path) -> str:
    """The text of a token file: a regular file, read up to `MAX_FILE` bytes; WrongToken
    (naming the path, never its content) for anything else."""
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise WrongToken(N_("cannot read the token file {path}"), path=path) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WrongToken(N_("the token file {path} is not a regular file"), path=path)
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FILE + 1)
    except OSError as exc:
        raise WrongToken(N_("cannot read the token file {path}"), path=path) from exc
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE:
        raise WrongToken(N_("the token file does not hold a Coffre token"))
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise WrongToken(N_("the token file does not hold a Coffre token")) from None


@dataclass(frozen=True)
class Control:
    """A token as the passphrase side knows it (sealed in its row under the root)."""

    token_id: bytes
    grant: str
    key: bytes = field(repr=False)
    created: str
    expires: str | None

    def pack(self) -> bytes:
        return json.dumps(
            {
                "grant": self.grant,
                "key": self.key.hex(),
                "created": self.created,
                "expires": self.expires,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def unpack(cls, token_id: bytes, raw: bytes) -> Control:
        d = json.loads(raw)
        return cls(token_id, str(d["grant"]), bytes.fromhex(d["key"]), d["created"], d["expires"])


@dataclass(frozen=True)
class Entry:
    """One record a token may open: where it is, which version, and its record key."""

    kind: str
    rid: bytes
    version: int
    kind_ix: bytes
    key: bytes = field(repr=False)

    def pack(self) -> list[Any]:
        return [self.kind, self.rid.hex(), self.version, self.kind_ix.hex(), self.key.hex()]

    @classmethod
    def unpack(cls, raw: list[Any]) -> Entry:
        kind, rid, version, kix, key = raw
        return cls(
            str(kind), bytes.fromhex(rid), int(version), bytes.fromhex(kix), bytes.fromhex(key)
        )


def _pack_inline(rec: Record) -> list[Any]:
    body = base64.b64encode(rec.data).decode("ascii")
    return [rec.kind, rec.id, rec.version, body, [list(t) for t in rec.terms]]


def _unpack_inline(raw: list[Any]) -> Record:
    kind, rid, version, body, terms = raw
    record_id_bytes(str(rid))  # a record id, or RecordNotFound (the view is damaged)
    return Record(
        str(rid),
        str(kind),
        int(version),
        base64.b64decode(body, validate=True),
        tuple((str(label), str(value)) for label, value in terms),
    )


@dataclass(frozen=True)
class View:
    """What a token opens: its grant, expiry, the records in scope, and the domain's extras.

    `inline` holds records the domain gives the token in place of the stored ones: a copy
    cut down to the scope (a metric's day index with only the range's days), so the token
    never holds the key of a record that says more than its grant."""

    token_id: bytes
    grant: str
    expires: str | None
    entries: tuple[Entry, ...]
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    inline: tuple[Record, ...] = field(default=(), repr=False)

    def pack(self) -> bytes:
        return json.dumps(
            {
                "grant": self.grant,
                "expires": self.expires,
                "entries": [e.pack() for e in self.entries],
                "inline": [_pack_inline(r) for r in self.inline],
                "extra": self.extra,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def unpack(cls, token_id: bytes, raw: bytes) -> View:
        d = json.loads(raw)
        entries = tuple(Entry.unpack(e) for e in d["entries"])
        inline = tuple(_unpack_inline(r) for r in d.get("inline", ()))
        return cls(token_id, str(d["grant"]), d["expires"], entries, dict(d["extra"]), inline)


# --- the passphrase side: rows of the tokens table ------------------------------------------


def rows_digest(ring: keys.KeyRing, rows: list[tuple[Any, ...]]) -> int | None:
    """XOR of a keyed PRF over the `tokens` table's rows (None: a row is not as Coffre writes
    them). Sealed in the vault state: only the passphrase side writes this table."""
    acc = 0
    for row in rows:
        if len(row) != 3 or any(type(col) is not bytes for col in row):
            return None
        token_id, control, view = row
        raw = struct.pack(">QQ", len(token_id), len(control)) + token_id + control + view
        acc ^= ring.row_digest(b"tokens", raw)
    return acc


def _table_rows(txn: Txn) -> list[tuple[Any, ...]]:
    return list(txn._exec("SELECT id, control, view FROM tokens ORDER BY id").fetchall())


def _seal_digest(txn: Txn) -> None:
    """Bind the tokens table as it now stands into the state sealed at commit."""
    txn.state.tokens_digest = rows_digest(txn.store.ring, _table_rows(txn)) or 0
    txn._dirty = True


def controls(txn: Txn) -> list[Control]:
    """Every active token's control, authenticated, from a table whose digest matches the
    sealed state. A table changed outside Coffre (a destroyed token's row put back, a view
    re-sealed by its token's holder, a planted row) ends every token, audited: a row kept
    from the past can neither act as a token nor stop the vault from being written."""
    ring, out = txn.store.ring, []
    rows = _table_rows(txn)
    if rows_digest(ring, rows) != txn.state.tokens_digest:
        drop_all(txn)
        txn.audit("token.destroy", reason="the tokens table changed outside Coffre")
        return []
    for token_id, sealed, _view in rows:
        try:
            aad = keys.token_aad("control", ring.vault_id, token_id)
            out.append(Control.unpack(token_id, crypto.unseal(ring.tokens_key, sealed, aad)))
        except (crypto.CryptoFailure, ValueError, KeyError, TypeError):
            drop(txn, token_id)
            txn.audit("token.destroy", reason="a token row fails authentication")
    return out


def in_use(store: Store) -> bool:
    """Whether any export token exists (read without taking the write lock)."""
    return bool(store._query("SELECT 1 FROM tokens LIMIT 1"))


def any_active(txn: Txn) -> bool:
    return bool(txn._exec("SELECT 1 FROM tokens LIMIT 1").fetchone())


def seal_view(vault_id: bytes, control: Control, view: View) -> bytes:
    return crypto.seal(control.key, view.pack(), keys.token_aad("view", vault_id, view.token_id))


def put(txn: Txn, control: Control, view: View) -> None:
    """Store (or replace) a token's control and view."""
    ring = txn.store.ring
    sealed_control = crypto.seal(
        ring.tokens_key, control.pack(), keys.token_aad("control", ring.vault_id, control.token_id)
    )
    txn._exec(
        "INSERT OR REPLACE INTO tokens (id, control, view) VALUES (?, ?, ?)",
        (control.token_id, sealed_control, seal_view(ring.vault_id, control, view)),
    )
    _seal_digest(txn)


def replace_view(txn: Txn, control: Control, view: View) -> None:
    """Re-seal a token's view (its control is unchanged); secure_delete zeroes the old one."""
    sealed = seal_view(txn.store.ring.vault_id, control, view)
    txn._exec("UPDATE tokens SET view=? WHERE id=?", (sealed, control.token_id))
    _seal_digest(txn)


def drop(txn: Txn, token_id: bytes) -> None:
    """Destroy a token: its row, so its view and every record key in it (zeroed on disk, and
    the WAL truncated once the transaction commits)."""
    txn._exec("DELETE FROM tokens WHERE id=?", (token_id,))
    txn._exec("DELETE FROM token_log WHERE id=?", (token_id,))
    txn.scrub_wal = True
    _seal_digest(txn)


def drop_all(txn: Txn) -> None:
    if any_active(txn):
        txn.scrub_wal = True
    txn._exec("DELETE FROM tokens")
    txn._exec("DELETE FROM token_log")
    txn.state.tokens_digest = 0
    txn._dirty = True


def entries_for(txn: Txn, records: list[tuple[str, str]]) -> list[Entry]:
    """The view entries of these (kind, id) records, in the order they were first written."""
    ring = txn.store.ring
    wanted = {record_id_bytes(rid): kind for kind, rid in records}
    out: list[tuple[int, Entry]] = []
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        rows = txn._exec(
            f"SELECT rowid, id, kind, version, rkey FROM records WHERE id IN ({marks})",
            tuple(batch),
        ).fetchall()
        for rowid, rid, kix, version, rkey in rows:
            kind = wanted[rid]
            if kix != ring.kind_index(kind):
                raise TamperedRecord(N_("a {kind} record is filed under another kind"), kind=kind)
            try:
                key = ring.unwrap_record_key(kix, rid, version, rkey)
            except crypto.CryptoFailure:
                raise TamperedRecord(N_("{kind} record key"), kind=kind) from None
            out.append((rowid, Entry(kind, rid, version, kix, key)))
    if len(out) != len(wanted):
        raise RecordNotFound(N_("a record in a token's scope"))
    return [entry for _rowid, entry in sorted(out, key=lambda pair: pair[0])]


def current_view(txn: Txn, control: Control) -> View | None:
    """A token's view as stored (the passphrase side holds its key in the control); None
    when it fails authentication."""
    (sealed,) = txn._exec("SELECT view FROM tokens WHERE id=?", (control.token_id,)).fetchone()
    aad = keys.token_aad("view", txn.store.ring.vault_id, control.token_id)
    try:
        return View.unpack(control.token_id, crypto.unseal(control.key, sealed, aad))
    except (crypto.CryptoFailure, ValueError, KeyError, TypeError, RecordNotFound):
        return None


def changed(txn: Txn, view: View) -> int:
    """How many records a view lists are no longer in the vault at the version it holds
    (removed, or rewritten)."""
    held = {e.rid: e.version for e in view.entries}
    ids = list(held)
    same = 0
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        rows = txn._exec(
            f"SELECT id, version FROM records WHERE id IN ({marks})", tuple(batch)
        ).fetchall()
        same += sum(1 for rid, version in rows if held.get(rid) == version)
    return len(ids) - same


def new_control(
    txn: Txn, secret: TokenSecret, grant: str, created: str, expires: str | None
) -> Control:
    """The control of a new token: its key derived from the secret the file will hold."""
    key = keys.token_key(txn.store.ring.vault_id, secret.token_id, secret.secret)
    return Control(secret.token_id, grant, key, created, expires)


def log_entries(txn: Txn, control: Control) -> list[dict[str, Any]] | None:
    """The exports made with a token since they were last moved to the audit log; None when
    one of them fails authentication (the caller ends such a token)."""
    vault_id, out = txn.store.ring.vault_id, []
    rows = txn._exec(
        "SELECT seq, data FROM token_log WHERE id=? ORDER BY seq", (control.token_id,)
    ).fetchall()
    for seq, sealed in rows:
        try:
            aad = keys.token_aad("log", vault_id, control.token_id, int(seq))
            out.append(dict(json.loads(crypto.unseal(control.key, sealed, aad))))
        except (crypto.CryptoFailure, ValueError, TypeError):
            return None
    return out


def has_log(txn: Txn) -> bool:
    return bool(txn._exec("SELECT 1 FROM token_log LIMIT 1").fetchone())


def clear_log(txn: Txn, token_id: bytes) -> None:
    txn._exec("DELETE FROM token_log WHERE id=?", (token_id,))


# --- keeping views current: the refresher the sharing layer registers ------------------------


class Refresher(Protocol):
    def __call__(self, txn: Txn) -> None: ...


_REFRESHERS: list[Refresher] = []


def register(refresher: Refresher) -> None:
    """Called by the layer that knows what a grant covers (`vault.sharing.tokens`)."""
    if refresher not in _REFRESHERS:
        _REFRESHERS.append(refresher)


def refresh(txn: Txn) -> None:
    """Bring every token's view up to date inside `txn` (called before it commits), or drop
    every token when nothing in this process can tell what they cover."""
    if not any_active(txn):
        return
    if not _REFRESHERS:
        _end_all_unrefreshed(txn)
        return
    for refresher in _REFRESHERS:
        refresher(txn)


def _end_all_unrefreshed(txn: Txn) -> None:
    """End every token, each with an audit entry saying why and how many of its exports no
    ledger entry records (this process cannot fold them in: the ledger is a domain's)."""
    for control in controls(txn):
        logged = log_entries(txn, control)
        txn.audit(
            "token.destroy",
            grant=control.grant,
            token=control.token_id.hex(),
            reason="written by a program that does not keep tokens current",
            unrecorded_exports=len(logged) if logged is not None else 0,
        )
    drop_all(txn)


# --- the token side: a read-only store over a view -------------------------------------------


class TokenStore(Store):
    """The store as a token sees it: exactly the records of its view, read-only.

    Every read goes through the view: a record the view does not list is not found (its key
    is not here, whatever the row holds), and a listed one must open with the key and the
    exact version the view holds, or it is reported as tampered.
    """

    def __init__(  # noqa: PLR0917 - the store's own arguments, then the token's
        self,
        conn: sqlite3.Connection,
        path: Path,
        vault_id: bytes,
        key: bytes,
        view: View,
        clock: Clock = SYSTEM_CLOCK,
        sealed: bytes = b"",
    ) -> None:
        # The parent's keyed machinery (ring, state, posting lists) is not set up: a token
        # has none of those keys. Every read method below is overridden.
        self._conn = conn
        self.path = path
        self.clock = clock
        self.blobs = BlobFiles(path.parent)
        self._vault_id = vault_id
        self._key = key
        self.view = view
        self._sealed = sealed  # the view's row as opened, to tell a newer one from damage
        self._by_id = {e.rid: e for e in view.entries}
        self._by_kind: dict[str, list[Entry]] = {}
        for e in view.entries:
            self._by_kind.setdefault(e.kind, []).append(e)
        self._inline = {record_id_bytes(r.id): r for r in view.inline}
        self._inline_by_kind: dict[str, list[Record]] = {}
        for r in view.inline:
            self._inline_by_kind.setdefault(r.kind, []).append(r)
        self._lock = threading.RLock()
        self.owner = None

    @property
    def token_id(self) -> str:
        return self.view.token_id.hex()

    def _moved_on(self) -> None:
        """Raise when the vault was written since this token opened its view (a passphrase
        session re-sealed it, or ended the token): a record then differing from the view is
        that write, not damage."""
        rows = self._query("SELECT view FROM tokens WHERE id=?", (self.view.token_id,))
        if not rows:
            raise WrongToken(N_("the token was ended while it read the vault"))
        if rows[0][0] != self._sealed:
            raise VaultBusy(N_("the vault was written while the token read it; run again"))

    def _open(self, entry: Entry) -> Record:
        rows = self._query("SELECT kind, version, data FROM records WHERE id=?", (entry.rid,))
        if not rows:
            self._moved_on()
            raise TamperedRecord(
                N_("a {kind} record in the token's scope is missing"), kind=entry.kind
            )
        kix, version, data = rows[0]
        if kix != entry.kind_ix or version != entry.version or type(data) is not bytes:
            self._moved_on()
            raise TamperedRecord(
                N_("a {kind} record in the token's scope was changed"), kind=entry.kind
            )
        try:
            plain = crypto.unseal(
                entry.key, data, keys.record_aad(self._vault_id, kix, entry.rid, version)
            )
            kind, body, terms, blobs = unpack_envelope(plain)
        except (crypto.CryptoFailure, ValueError, KeyError, struct.error, zlib.error):
            self._moved_on()
            raise TamperedRecord(N_("{kind} record"), kind=entry.kind) from None
        if kind != entry.kind:
            raise TamperedRecord(N_("a {kind} record holds another kind"), kind=entry.kind)
        return Record(entry.rid.hex(), kind, version, body, terms, blobs)

    def get(self, kind: str, record_id: str | bytes) -> Record:
        rid = record_id_bytes(record_id)
        inline = self._inline.get(rid)
        if inline is not None and inline.kind == kind:
            return inline
        entry = self._by_id.get(rid)
        if entry is None or entry.kind != kind:
            raise RecordNotFound(kind)
        return self._open(entry)

    def exists(self, kind: str, record_id: str | bytes) -> bool:
        rid = record_id_bytes(record_id)
        entry, inline = self._by_id.get(rid), self._inline.get(rid)
        return (entry is not None and entry.kind == kind) or (
            inline is not None and inline.kind == kind
        )

    def iter_kind(self, kind: str) -> Iterator[Record]:
        for entry in self._by_kind.get(kind, ()):
            yield self._open(entry)
        yield from self._inline_by_kind.get(kind, ())

    def count(self, kind: str) -> int:
        return len(self._by_kind.get(kind, ())) + len(self._inline_by_kind.get(kind, ()))

    def find(self, kind: str, label: str, value: str) -> list[Record]:
        return [r for r in self.iter_kind(kind) if (label, value) in r.terms]

    def find_prefix(self, kind: str, prefix: str) -> list[Record]:
        prefix = prefix.lower()
        return [r for r in self.iter_kind(kind) if prefix and r.id.startswith(prefix)]

    def read_blob(self, ref: BlobRef) -> Iterator[bytes]:
        return self.blobs.read(ref.id, ref.key, keys.blob_aad(self._vault_id, ref.id), ref.chunks)

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        raise TokenOnlyExports(N_("it cannot change the vault"))
        yield  # pragma: no cover - a generator, for the context manager

    def state(self) -> VaultState:
        raise TokenOnlyExports(N_("the vault's state needs the passphrase"))

    def log_export(self, payload: dict[str, Any]) -> None:
        """Record an export made with this token (sealed under its key), in one transaction,
        for the next unlock with the passphrase to move into the audit log and the ledger."""
        token_id = self.view.token_id
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise VaultBusy from exc
            try:
                (last,) = self._conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM token_log WHERE id=?", (token_id,)
                ).fetchone()
                seq = int(last) + 1
                sealed = crypto.seal(
                    self._key,
                    json.dumps(payload, separators=(",", ":")).encode(),
                    keys.token_aad("log", self._vault_id, token_id, seq),
                )
                self._conn.execute(
                    "INSERT INTO token_log (id, seq, data) VALUES (?, ?, ?)",
                    (token_id, seq, sealed),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise

    def logged_exports(self) -> list[dict[str, Any]]:
        """The exports this token logged that no passphrase session has moved on yet."""
        token_id, out = self.view.token_id, []
        rows = self._query("SELECT seq, data FROM token_log WHERE id=? ORDER BY seq", (token_id,))
        for seq, sealed in rows:
            aad = keys.token_aad("log", self._vault_id, token_id, int(seq))
            try:
                out.append(dict(json.loads(crypto.unseal(self._key, sealed, aad))))
            except (crypto.CryptoFailure, ValueError, TypeError):
                raise IntegrityError(N_("the token's export log fails authentication")) from None
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self._key = b""
        self._by_id.clear()
        self._by_kind.clear()
        self._inline.clear()
        self._inline_by_kind.clear()


def open_view(
    conn: sqlite3.Connection, vault_id: bytes, token: TokenSecret
) -> tuple[bytes, View, bytes]:
    """Unseal a token's view with its secret: (token key, view, the sealed row); WrongToken
    if there is no such token in this vault or the secret does not open it."""
    try:
        rows = conn.execute("SELECT view FROM tokens WHERE id=?", (token.token_id,)).fetchall()
    except sqlite3.OperationalError:
        raise WrongToken(N_("this vault has no export tokens")) from None
    except sqlite3.DatabaseError as exc:
        raise DamagedDatabase(type(exc).__name__) from exc
    if not rows or type(rows[0][0]) is not bytes:
        raise WrongToken(N_("no active token of this vault has this id"))
    key = keys.token_key(vault_id, token.token_id, token.secret)
    try:
        plain = crypto.unseal(key, rows[0][0], keys.token_aad("view", vault_id, token.token_id))
        return key, View.unpack(token.token_id, plain), rows[0][0]
    except crypto.CryptoFailure:
        raise WrongToken(N_("the token's secret does not open it")) from None
    except (ValueError, KeyError, TypeError, RecordNotFound, binascii.Error):
        raise IntegrityError(N_("an export token's view is damaged")) from None
