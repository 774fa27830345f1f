"""The vault facade: create, open (unlock), inspect, change the passphrase, check.

A vault is one directory (mode 0700) holding `vault.db` (mode 0600) and SQLite's `-wal` and
`-shm` companions. Everything about the person lives in the encrypted store; the facade only
wires the header, the keys and the store together and hands the store to the domain modules.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from vault.core import crypto, keys, migrations, process, recovery, tokens
from vault.core.audit import AuditEntry
from vault.core.blobs import DIR_NAME as BLOBS_DIR
from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.errors import (
    DamagedDatabase,
    InvalidParameter,
    UnsafeVaultFile,
    VaultBusy,
    VaultExists,
    VaultNotFound,
    WrongRecoveryCode,
)
from vault.core.i18n import N_
from vault.core.keys import KeyRing, WrappedRoot
from vault.core.progress import ProgressCallback
from vault.core.schema import (
    DB_NAME,
    FORMAT_VERSION,
    SCHEMA,
    check_format,
    check_schema,
    connect,
    read_meta,
)
from vault.core.state import VaultState, seal_state
from vault.core.store import Problem, Store

__all__ = ["DEFAULT_KDF", "KDF_PROFILES", "AuditEntry", "HeaderInfo", "Vault"]

# The KDF profiles a person may choose (front ends list them; only `crypto` defines them).
KDF_PROFILES: Final = crypto.PROFILES
DEFAULT_KDF: Final = crypto.DEFAULT_PROFILE

_HEADER_KEYS = ("format", "vault_id", "kdf", "salt", "root", "epoch_no", "epoch", "state")


@contextmanager
def _closed_on_failure(conn: sqlite3.Connection) -> Iterator[None]:
    """Around an opening: CONN is closed if anything fails (no half-open vault keeps the file
    open), and SQLite's "database is locked" becomes VaultBusy."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        conn.close()
        raise VaultBusy from exc
    except BaseException:
        conn.close()
        raise


def _database(path: Path) -> Path:
    """The vault's database file (VaultNotFound if there is none)."""
    db = path / DB_NAME
    if not db.is_file():
        raise VaultNotFound(str(path))
    return db


@contextmanager
def _opening(path: Path, db: Path) -> Iterator[sqlite3.Connection]:
    """What every way of opening a vault does first: modes tightened and links refused, the
    process hardened before any key is in memory, the schema checked; the connection is
    closed if the opening fails."""
    _tighten_modes(path)
    process.harden()
    conn = connect(db)
    with _closed_on_failure(conn):
        check_schema(conn)
        yield conn


def _ready(store: Store, *, strict: bool) -> None:
    """Read the authenticated state; with `strict`, verify the digests, and only then finish
    pending blob removals (they act on the authenticated lists)."""
    store.state()
    if strict:
        store.verify()
        store.finish_removals()


@dataclass(frozen=True)
class HeaderInfo:
    """What anyone can read from a vault without the passphrase (and nothing more)."""

    path: Path
    format: int
    vault_id: str
    kdf: crypto.KdfProfile


def _profile(name: str) -> crypto.KdfProfile:
    try:
        return crypto.PROFILES[name]
    except KeyError:
        raise InvalidParameter(
            N_("unknown KDF profile {name!r}; choose one of {known}"),
            name=name,
            known=", ".join(crypto.PROFILES),
        ) from None


def _tighten_modes(path: Path) -> None:
    """Keep the directory 0700 and every vault file 0600, whatever the umask was.

    A link (symbolic, or a hard link: a file with another name) where a vault file or `blobs/`
    belongs is refused: SQLite and the blob store would follow it and write outside the vault
    (the vault directory itself may be a link).
    """
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    for name, kind in [(DB_NAME + s, stat.S_ISREG) for s in ("", "-wal", "-shm", "-journal")] + [
        (BLOBS_DIR, stat.S_ISDIR)
    ]:
        try:
            st = os.lstat(path / name)
        except FileNotFoundError:
            continue
        # A hard link is a regular file too, but with another name elsewhere SQLite would
        # write (and chmod would change) a file outside the vault.
        if not kind(st.st_mode) or (kind is stat.S_ISREG and st.st_nlink != 1):
            raise UnsafeVaultFile(
                N_("{name} in {path} is a link or not what Coffre made"), name=name, path=path
            )
        if name != BLOBS_DIR and stat.S_IMODE(st.st_mode) != 0o600:
            os.chmod(path / name, 0o600, follow_symlinks=False)


def _header(path: Path, meta: dict[str, bytes]) -> tuple[HeaderInfo, WrappedRoot, str]:
    if not meta:
        raise VaultNotFound(
            N_("{path} holds an incomplete vault (its creation was interrupted)"), path=path
        )
    missing = [k for k in _HEADER_KEYS if k not in meta]
    if missing:
        # Creation writes the whole header in one transaction: a partial one is damage.
        raise DamagedDatabase(
            N_("the header has lost its {known} row(s)"), known=", ".join(missing)
        )
    try:
        kdf_json = meta["kdf"].decode("utf-8")
        profile = crypto.profile_from_header(json.loads(kdf_json))
        version = check_format(meta)
    except (InvalidParameter, ValueError, TypeError, OverflowError) as exc:
        # UnicodeDecodeError is a ValueError; 1e400 overflows; a list is not a number.
        raise DamagedDatabase(N_("the header's KDF parameters are invalid")) from exc
    vault_id = meta["vault_id"]
    if len(vault_id) != 16 or len(meta["salt"]) != crypto.SALT_SIZE:
        raise DamagedDatabase(N_("the header is damaged"))
    info = HeaderInfo(path, version, vault_id.hex(), profile)
    return info, WrappedRoot(profile, meta["salt"], meta["root"]), kdf_json


@dataclass(frozen=True)
class Replica:
    """What a new device of an existing vault starts from (see `Vault.create`)."""

    vault_id: bytes
    kdf: crypto.KdfProfile
    salt: bytes
    passphrase_key: bytes


class Vault:
    """An unlocked vault. Use `Vault.create` or `Vault.open`; close it (or use `with`)."""

    def __init__(self, path: Path, store: Store, info: HeaderInfo) -> None:
        self.path = path
        self.store = store
        self.info = info
        store.owner = self  # what keeps export tokens current works on the vault, not the store

    @property
    def clock(self) -> Clock:
        """Where every domain module takes "now" from: the clock given to `create` or `open`
        (the system clock by default), the one the store stamps audit entries with."""
        return self.store.clock

    # --- lifecycle ---

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        passphrase: str | bytes,
        *,
        kdf: str = "moderate",
        clock: Clock = SYSTEM_CLOCK,
        replica: Replica | None = None,
    ) -> Vault:
        """Create a new vault in `path` (made 0700) protected by `passphrase`; with `replica`,
        a new device of an existing vault (its id, and the salt and passphrase key the remote
        already derived), filled by sync afterwards."""
        path = Path(path)
        profile = _profile(kdf)
        crypto.normalize_passphrase(passphrase)  # refuse an empty one before touching disk
        process.harden()  # before any key exists in memory
        db = path / DB_NAME
        if db.exists():
            raise VaultExists(str(path))
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _tighten_modes(path)
        root = crypto.new_key()
        if replica is None:
            vault_id = crypto.random_bytes(16)
            wrapped, pkey = keys.wrap_root(vault_id, root, passphrase, profile)
        else:
            vault_id, pkey, profile = replica.vault_id, replica.passphrase_key, replica.kdf
            wrapped = keys.wrap_root_with(vault_id, root, pkey, profile, replica.salt)
        ring = KeyRing(vault_id, root, pkey)
        epoch_key = crypto.new_key()
        state = VaultState(epoch_no=1)
        ring.set_epoch(1, epoch_key)
        conn = connect(db, create=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            # DDL is transactional in SQLite: a crash here leaves an empty file, never half a vault.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            rows: list[tuple[str, bytes | str]] = [
                ("format", str(FORMAT_VERSION)),
                ("vault_id", vault_id),
                ("kdf", wrapped.kdf_json()),
                ("salt", wrapped.salt),
                ("root", wrapped.wrapped),
                ("epoch_no", "1"),
                ("epoch", ring.wrap_epoch(1, epoch_key)),
                ("state", seal_state(ring, state)),
            ]
            conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                (path / (DB_NAME + suffix)).unlink(missing_ok=True)
            raise
        (path / BLOBS_DIR).mkdir(mode=0o700, exist_ok=True)
        _tighten_modes(path)
        info = HeaderInfo(path, FORMAT_VERSION, vault_id.hex(), profile)
        vault = cls(path, Store(conn, ring, db, clock), info)
        with vault.store.write() as txn:
            txn.audit("vault.create", kdf=profile.name, format=FORMAT_VERSION)
        return vault

    @staticmethod
    def exists(path: str | os.PathLike[str]) -> bool:
        return (Path(path) / DB_NAME).is_file()

    @staticmethod
    def inspect(path: str | os.PathLike[str]) -> HeaderInfo:
        """Read the plaintext header without unlocking."""
        path = Path(path)
        conn = connect(_database(path))
        try:
            meta = read_meta(conn)
            return _header(path, meta)[0]
        finally:
            conn.close()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        passphrase: str | bytes,
        *,
        strict: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Vault:
        """Unlock the vault. `strict` (the default) also verifies the record-set and table
        digests, so a record or index row removed, added or rolled back outside Coffre is caught
        before anything is read, and then finishes pending blob removals. `strict=False` (for
        `status` and `check`) only unlocks: it decides and removes nothing."""
        path = Path(path)
        db = _database(path)
        with _opening(path, db) as conn:
            meta = read_meta(conn)
            info, wrapped, kdf_json = _header(path, meta)
            root, pkey = keys.unwrap_root(meta["vault_id"], passphrase, wrapped, kdf_json)
            store = Store(conn, KeyRing(meta["vault_id"], root, pkey), db, clock)
            if info.format < FORMAT_VERSION:
                # After the unlock: a migration changes sealed data, so it needs the keys.
                migrations.upgrade(store, info.format)
                info = HeaderInfo(path, FORMAT_VERSION, info.vault_id, info.kdf)
            _ready(store, strict=strict)
        return cls(path, store, info)

    @classmethod
    def open_with_token(
        cls, path: str | os.PathLike[str], token_text: str, *, clock: Clock = SYSTEM_CLOCK
    ) -> Vault:
        """Open the vault with an export token instead of the passphrase: no KDF runs, and
        the store that comes back opens exactly the records of the token's grant, read-only
        (`vault.core.tokens`). The grant's own checks (expiry, withdrawal) still apply."""
        path = Path(path)
        db = _database(path)
        token = tokens.TokenSecret.parse(token_text)
        with _opening(path, db) as conn:
            info, _wrapped, _kdf = _header(path, read_meta(conn))
            vault_id = bytes.fromhex(info.vault_id)
            key, view, sealed = tokens.open_view(conn, vault_id, token)
            store = tokens.TokenStore(conn, db, vault_id, key, view, clock, sealed)
        return cls(path, store, info)

    @classmethod
    def open_with_recovery_code(
        cls,
        path: str | os.PathLike[str],
        code: str,
        *,
        strict: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Vault:
        """Unlock the vault with its recovery kit's code instead of the passphrase (no KDF
        runs: the code has full entropy). The vault that comes back reads everything but
        holds no passphrase key: what wraps keys under it (a forget) is refused until
        `change_passphrase` sets a new one; `reset_passphrase_with_code` does both."""
        path = Path(path)
        db = _database(path)
        secret = recovery.parse_code(code)  # a mistyped code says so before anything is read
        with _opening(path, db) as conn:
            meta = read_meta(conn)
            info = _header(path, meta)[0]
            if info.format < FORMAT_VERSION:
                raise WrongRecoveryCode(N_("no recovery kit was made for this vault"))
            store = Store(conn, recovery.unlock(meta, secret), db, clock)
            _ready(store, strict=strict)
        return cls(path, store, info)

    @classmethod
    def reset_passphrase_with_code(
        cls,
        path: str | os.PathLike[str],
        code: str,
        new_passphrase: str | bytes,
        *,
        kdf: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Vault:
        """Open the vault with its recovery code and set NEW_PASSPHRASE, audited (without any
        secret); return it unlocked. The kit keeps working: the root and epoch keys it opens
        are the same, only their passphrase wrapping changes."""
        vault = cls.open_with_recovery_code(path, code, clock=clock)
        try:
            vault.change_passphrase(new_passphrase, kdf=kdf)
        except BaseException:
            vault.close()
            raise
        return vault

    @property
    def token(self) -> tokens.TokenStore | None:
        """The token store when the vault was opened with an export token, else None."""
        return self.store if isinstance(self.store, tokens.TokenStore) else None

    def close(self) -> None:
        self.store.close()
        if not isinstance(self.store, tokens.TokenStore):
            self.store.ring.wipe()

    def write_count(self) -> int:
        """How many write transactions the vault has committed: a front end compares two
        counts to say whether an interrupted command had saved anything."""
        return self.store.state().writes

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- operations ---

    def change_passphrase(self, new_passphrase: str | bytes, *, kdf: str | None = None) -> None:
        """Re-wrap the root and epoch keys under a new passphrase (and optionally KDF profile).

        Only those two keys are re-wrapped, so this takes the same time for any vault size.
        On a vault opened with its recovery code this sets its passphrase, audited as such.
        """
        profile = _profile(kdf) if kdf else self.info.kdf
        ring = self.store.ring
        wrapped, pkey = keys.wrap_root(ring.vault_id, ring.root, new_passphrase, profile)
        with self.store.write() as txn:
            txn.set_meta("kdf", wrapped.kdf_json())
            txn.set_meta("salt", wrapped.salt)
            txn.set_meta("root", wrapped.wrapped)
            txn.set_meta("epoch", ring.wrap_epoch(ring.epoch_no, ring.epoch_key, pkey))
            if self.recovered:  # the audit log says the passphrase was reset with the kit
                txn.audit("vault.passwd", kdf=profile.name, via="recovery-code")
            else:
                txn.audit("vault.passwd", kdf=profile.name)
        ring.passphrase_key = pkey
        self.info = HeaderInfo(self.path, self.info.format, self.info.vault_id, profile)

    def rekey(
        self,
        passphrase: str | bytes,
        *,
        kdf: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Replace every key: a new salt and so a new passphrase key (for `passphrase`, the
        same one or a new one), a new root (so new purpose and kind-index keys), a new epoch
        (so new lookup keys), every record re-sealed under a fresh record key, the audit log
        re-sealed. An old copy of the vault, or any key taken from it or from memory, opens
        nothing written afterwards. All in one transaction; blob files keep their keys, which
        live inside the re-sealed records.
        """
        profile = _profile(kdf) if kdf else self.info.kdf
        old = self.store.ring
        via = {"via": "recovery-code"} if self.recovered else {}
        root = crypto.new_key()
        wrapped, pkey = keys.wrap_root(old.vault_id, root, passphrase, profile)
        new = KeyRing(old.vault_id, root, pkey)
        try:
            with self.store.write() as txn:
                new.set_epoch(txn.state.epoch_no + 1, crypto.new_key())
                txn.rekey(new, progress)
                txn.set_meta("kdf", wrapped.kdf_json())
                txn.set_meta("salt", wrapped.salt)
                txn.set_meta("root", wrapped.wrapped)
                txn.audit("vault.rekey", kdf=profile.name, **via)
        except BaseException:
            self.store.use_ring(old)
            old.forget_epoch()
            new.wipe()
            raise
        old.wipe()
        self.store.use_ring(new)  # (already in use: this also notes the new wrapped root)
        self.store.reclaim()  # the old ciphertext's pages are zeroed; give them back, truncate
        self.info = HeaderInfo(self.path, self.info.format, self.info.vault_id, profile)

    # --- the recovery kit ---

    def make_recovery_kit(
        self,
        remotes: Sequence[str] = (),
        *,
        save: Callable[[recovery.RecoveryKit], None] | None = None,
    ) -> recovery.RecoveryKit:
        """A new recovery kit (a new code each time: the previous kit stops opening the
        vault). REMOTES are printed on it. SAVE, if given, runs before the kit is committed,
        so a kit that could not be saved never replaces the current one
        (`recovery.write_kit` writes it to a file that way)."""
        return recovery.make_kit(self, remotes, save)

    @property
    def recovered(self) -> bool:
        """Whether the vault was opened with its recovery code and no passphrase is set yet
        (nothing is wrapped under a passphrase before `change_passphrase`)."""
        return not isinstance(self.store, tokens.TokenStore) and not self.store.ring.passphrase_key

    def recovery_kit_id(self) -> str | None:
        """The current kit's id (printed on it), or None if no kit was made."""
        public = self.recovery_public_key()
        return recovery.kit_id(public) if public else None

    def recovery_public_key(self) -> bytes | None:
        """The current kit's public key (what `recovery.seal_for_recovery` seals to), or None
        if no kit was made."""
        return self.store.state().recovery_public or None

    def check(self, progress: ProgressCallback | None = None) -> list[Problem]:
        """Decrypt and verify every record, blob and audit entry; list the problems."""
        return self.store.check(progress)

    def audit_log(self) -> list[AuditEntry]:
        """The verified audit log (raises AuditChainBroken if it does not verify)."""
        return list(self.audit_entries())

    def audit_entries(self) -> Iterator[AuditEntry]:
        """The audit log entry by entry, verified as it is read: AuditChainBroken comes where
        the chain breaks, after the entries before it (a screen shows those), or after the last
        one when the log was truncated."""
        return self.store.audit_entries()

    def status(self) -> dict[str, Any]:
        """A summary for people and scripts: header facts, counts and sizes."""
        state = self.store.state()
        return {
            "path": str(self.path),
            "format": self.info.format,
            "vault_id": self.info.vault_id,
            "kdf": self.info.kdf.name,
            "epoch": state.epoch_no,
            "writes": state.writes,
            "counts": self.store.counts(),
            "files": self.store.sizes(),
        }
