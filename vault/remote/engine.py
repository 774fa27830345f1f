"""Sync: pull the other devices' changes from a remote, merge them, push this device's.

The remote holds, besides one bootstrap object, only objects each written by one device and
never changed: its segments (record changes, deletions, audit entries, forget notes), its
blobs, and its head (the list of its live segments with their keys, its counter, and the
counters it has seen of every other device). A device never writes another's objects, so
no lock and no conditional write is needed. A sync:

1. stamps this device's changes since the last sync with its logical clock;
2. reads every head, checks them against what it saw before (a head older than one seen is a
   rollback, a device or head missing is withholding) and applies, in one transaction, the
   segments it has not applied yet: merge rules in `vault.remote.merge`, forgets applied as
   forgets (records deleted, the epoch rotated);
3. writes its own new segment and blobs, then its new head, then deletes its old head; after
   a forget, or when its segments pile up, it rewrites them into one snapshot and deletes
   the old ones, so no object of it keeps forgotten data.

A process killed at any point leaves the vault as it was before a step, and the remote with
at most some objects no head lists (this device remembers their names and removes them at
its next sync).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vault.core import crypto, recovery
from vault.core.crypto import CryptoFailure
from vault.core.errors import (
    IntegrityError,
    PassphraseChangedElsewhere,
    PassphraseUnavailable,
    RemoteError,
    RemoteRolledBack,
    RemoteWithheld,
    TamperedRecord,
    TamperedRemote,
    UnsafeVaultFile,
    VaultBusy,
    WrongRecoveryCode,
)
from vault.core.i18n import N_
from vault.core.keys import FORMAT_TAG
from vault.core.progress import Progress, ProgressCallback
from vault.core.records import (
    DEVICE_LOCAL_KINDS,
    SHRED_KIND,
    BlobRef,
    Record,
    body_within,
    envelope_blobs,
    unpack_envelope,
)
from vault.remote import local, merge, objects, storage
from vault.remote.local import Device, Peer, RemoteState, Stamp, Stamps

if TYPE_CHECKING:
    from vault.core.txn import Txn
    from vault.core.vault import Vault

FORMAT: Final = 1
SEGMENT_TARGET: Final = 16 << 20  # payload bytes per segment before a new one is started
COMPACT_AFTER: Final = 32  # segments of one device before they are rewritten into one
# Bounds on what is read whole into memory, far above anything the engine writes: a remote
# (or a device gone wrong) must not make a device fill its memory with one object or record.
MAX_BOOTSTRAP: Final = 64 << 10
MAX_HEAD: Final = 16 << 20
MAX_RECORD: Final = 64 << 20  # one synced record's body, inflated
# A segment is cut once it passes SEGMENT_TARGET, so it holds at most that and one record.
MAX_SEGMENT: Final = objects.sealed_size(SEGMENT_TARGET + MAX_RECORD + (1 << 20))
_U32 = struct.Struct(">I")


# --- the bootstrap object ----------------------------------------------------------------


def _root_aad(vault_id: bytes, generation: int, kdf_json: str, salt: bytes) -> bytes:
    return (
        FORMAT_TAG
        + b"remote-root\x00"
        + vault_id
        + generation.to_bytes(8, "big")
        + kdf_json.encode()
        + salt
    )


def _recovery_aad(vault_id: bytes, generation: int) -> bytes:
    return FORMAT_TAG + b"remote-recovery\x00" + vault_id + generation.to_bytes(8, "big")


@dataclass(frozen=True)
class Bootstrap:
    """The one object a new device finds by name: which vault, the remote's KDF parameters and
    salt, the remote's root sealed under the passphrase key those derive, and (once a recovery
    kit exists) the root sealed to the kit, with the kit's public key sealed under the root:
    that is how a code's key pair is known to be the kit's."""

    vault_id: bytes
    generation: int
    kdf_json: str
    salt: bytes
    sealed_root: bytes
    recovery: tuple[bytes, bytes] | None = None  # (public key sealed, root sealed to the kit)

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {
            "coffre": "remote",
            "format": FORMAT,
            "vault": self.vault_id.hex(),
            "generation": self.generation,
            "kdf": self.kdf_json,
            "salt": self.salt.hex(),
            "root": self.sealed_root.hex(),
            "recovery": None,
        }
        if self.recovery:
            body["recovery"] = {"key": self.recovery[0].hex(), "root": self.recovery[1].hex()}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes) -> Bootstrap:
        try:
            d = json.loads(data)
            if d.get("coffre") != "remote":
                raise ValueError
            if d["format"] != FORMAT:
                raise RemoteError(N_("the remote was written by a newer Coffre"))
            rec = d.get("recovery")
            return cls(
                bytes.fromhex(d["vault"]),
                int(d["generation"]),
                str(d["kdf"]),
                bytes.fromhex(d["salt"]),
                bytes.fromhex(d["root"]),
                (bytes.fromhex(rec["key"]), bytes.fromhex(rec["root"])) if rec else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TamperedRemote(N_("the remote's bootstrap object is damaged")) from None

    def open_root(self, pkey: bytes) -> bytes | None:
        aad = _root_aad(self.vault_id, self.generation, self.kdf_json, self.salt)
        try:
            return crypto.unseal(pkey, self.sealed_root, aad)
        except CryptoFailure:
            return None

    def recovery_key(self, root: bytes) -> bytes | None:
        """The recovery kit's public key (None without a kit), authenticated by the root."""
        if self.recovery is None:
            return None
        key = crypto.derive_key(root, "remote-recovery", self.vault_id)
        aad = _recovery_aad(self.vault_id, self.generation)
        try:
            return crypto.unseal(key, self.recovery[0], aad)
        except CryptoFailure:
            raise TamperedRemote(N_("the remote's recovery kit entry was changed")) from None

    def open_root_with_code(self, code: str) -> bytes:
        """The root, opened with a recovery kit's code and checked against the kit's key."""
        if self.recovery is None:
            raise RemoteError(N_("no recovery kit was made for the vault this remote holds"))
        opened = recovery.open_with_recovery_code(code, self.recovery[1])
        if len(opened) != 16 + crypto.KEY_SIZE or opened[:16] != self.vault_id:
            raise TamperedRemote(N_("the remote's recovery kit entry is damaged"))
        root = opened[16:]
        if self.recovery_key(root) != recovery.kit_keys(recovery.parse_code(code)).public:
            raise TamperedRemote(N_("the remote's recovery kit entry was changed"))
        return root

    @classmethod
    def make(
        cls,
        vault_id: bytes,
        generation: int,
        kdf_json: str,
        *,
        salt: bytes,
        pkey: bytes,
        root: bytes,
        recovery_key: bytes | None = None,
    ) -> Bootstrap:
        sealed = crypto.seal(pkey, root, _root_aad(vault_id, generation, kdf_json, salt))
        entry = None
        if recovery_key is not None:
            key = crypto.derive_key(root, "remote-recovery", vault_id)
            entry = (
                crypto.seal(key, recovery_key, _recovery_aad(vault_id, generation)),
                recovery.seal_for_recovery(recovery_key, vault_id + root),
            )
        return cls(vault_id, generation, kdf_json, salt, sealed, entry)

    def passphrase_key(self, passphrase: str | bytes) -> bytes:
        profile = crypto.profile_from_header(json.loads(self.kdf_json))
        return crypto.passphrase_key(passphrase, self.salt, profile)


def read_bootstrap(store: storage.ObjectStore) -> Bootstrap | None:
    if storage.BOOTSTRAP not in store.list():
        return None
    return Bootstrap.parse(read_within(store, storage.BOOTSTRAP, MAX_BOOTSTRAP))


def read_within(store: storage.ObjectStore, name: str, limit: int) -> bytes:
    """An object read whole, refused as soon as it passes `limit` bytes (whatever a listing
    said of its size)."""
    out = bytearray()
    for piece in store.stream(name):
        out += piece
        if len(out) > limit:
            raise TamperedRemote(N_("an object is larger than it may be"))
    return bytes(out)


# --- segments ------------------------------------------------------------------------------


def encode_entries(entries: Iterable[tuple[dict[str, Any], bytes]]) -> bytes:
    """Entries as length-prefixed (JSON meta, body) frames."""
    out = bytearray()
    for meta, body in entries:
        raw = json.dumps(meta, separators=(",", ":")).encode()
        out += _U32.pack(len(raw)) + raw + _U32.pack(len(body)) + body
    return bytes(out)


def decode_entries(payload: bytes) -> Iterator[tuple[dict[str, Any], bytes]]:
    view, pos = memoryview(payload), 0
    try:
        while pos < len(payload):
            (n,) = _U32.unpack_from(view, pos)
            meta = json.loads(bytes(view[pos + 4 : pos + 4 + n]))
            pos += 4 + n
            (m,) = _U32.unpack_from(view, pos)
            body = bytes(view[pos + 4 : pos + 4 + m])
            if len(body) != m or not isinstance(meta, dict):
                raise ValueError
            pos += 4 + m
            yield meta, body
    except (struct.error, ValueError):
        raise TamperedRemote(N_("a segment is malformed")) from None


# --- the report ----------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync did."""

    remote: str
    pulled: int = 0  # records written from other devices
    deleted: int = 0  # records deleted because another device deleted or forgot them
    merged: int = 0  # records two devices had changed, united or decided by stamp
    blobs_received: int = 0
    pushed: int = 0
    tombstones: int = 0
    blobs_sent: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    forgets_applied: int = 0
    compacted: bool = False
    created: bool = False  # the remote was empty: this sync made it
    devices: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "created": self.created,
            "pulled": {
                "records": self.pulled,
                "deleted": self.deleted,
                "merged": self.merged,
                "blobs": self.blobs_received,
                "bytes": self.bytes_received,
                "forgets": self.forgets_applied,
            },
            "pushed": {
                "records": self.pushed,
                "deleted": self.tombstones,
                "blobs": self.blobs_sent,
                "bytes": self.bytes_sent,
            },
            "compacted": self.compacted,
            "devices": self.devices,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Head:
    name: str
    device: str
    counter: int
    body: dict[str, Any]


def _checked_head(body: Any, vault_id: bytes) -> dict[str, Any]:
    """A head's payload, its every field of the expected type (ValueError otherwise): a head
    authenticated is still checked before anything acts on it."""

    def ints(d: Any) -> bool:
        return isinstance(d, dict) and all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in d.items()
        )

    def strs(items: Any) -> bool:
        return isinstance(items, list) and all(isinstance(i, str) for i in items)

    segment_ok = all(
        isinstance(seg, dict)
        and storage.NAME_RE.match(str(seg.get("name", "")))
        and isinstance(seg.get("key"), str)
        and len(seg["key"]) == 2 * crypto.KEY_SIZE
        and type(seg.get("size")) is int
        and type(seg.get("seq")) is int
        for seg in (body.get("segments") if isinstance(body, dict) else None) or [None]
        if seg is not None
    )
    if not (
        isinstance(body, dict)
        and body.get("vault") == vault_id.hex()
        and isinstance(body.get("device"), str)
        and len(body["device"]) == 32
        and type(body.get("counter")) is int
        and isinstance(body.get("segments"), list)
        and segment_ok
        and isinstance(body.get("name", ""), str)
        and type(body.get("clock", 0)) is int
        and ints(body.get("seen", {}))
        and strs(body.get("revoked", []))
        and strs(body.get("forgets", []))
    ):
        raise ValueError("malformed head")
    return body


LOCK_NAME: Final = "sync.lock"


@contextlib.contextmanager
def _one_sync_at_a_time(vault_dir: Path) -> Iterator[None]:
    """Hold the vault's sync lock (a file lock on `sync.lock`, released by the system if the
    process dies): two syncs of one device at once would write two heads with one counter."""
    try:
        fd = os.open(
            vault_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeVaultFile(
                N_("{name} in {folder} is a link"), name=LOCK_NAME, folder=vault_dir
            ) from None
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaultBusy(N_("another sync of this vault is running")) from None
        yield
    finally:
        os.close(fd)


def _current(new: str, current: str | None, older: list[str]) -> tuple[str, list[str]]:
    """(`new`, the keys it replaced): the one it replaces first, the four most recent kept."""
    if current and current != new:
        older = [current, *(k for k in older if k != current)][:4]
    return new, [k for k in older if k != new]


# What a pull reads before its transaction: per device, its head, what this device knows of
# it and the entries of its new segments; and the highest logical clock the heads show.
_Fetched = tuple[list[tuple[str, "_Head", "Peer", list[tuple[dict[str, Any], bytes]]]], int]


# --- the engine ----------------------------------------------------------------------------


class Session:
    """One sync of one vault with one remote."""

    def __init__(
        self,
        vault: Vault,
        remote: RemoteState,
        objstore: storage.ObjectStore,
        *,
        passphrase: str | bytes | None,
        progress: ProgressCallback | None = None,
        recovery_code: str | None = None,
    ) -> None:
        self.vault = vault
        self.recovery_code = recovery_code
        self.recovery_pk: bytes | None = None
        self.store = vault.store
        self.remote = remote
        self.objects = objstore
        self.passphrase = passphrase
        self.progress = progress
        self.vault_id = self.store.ring.vault_id
        self.report = SyncReport(remote.name)
        self.device: Device = local.load_device(self.store) or local.new_device()
        self.stamps: Stamps = local.load_stamps(self.store)
        self.root = b""
        self.pkey = b""
        self.shred = False
        self.stale_heads: list[str] = []
        self._seen_in_head: dict[str, int] = {}
        self._txn: Txn | None = None
        self._doomed_ids: set[str] = set()  # deleted by a segment of this pull
        self._folds: list[tuple[str, str, bytes]] = []  # (survivor, kind, body) to fold in
        self._planned: dict[str, tuple[str, bytes]] = {}  # blob id -> (object name, key)
        self._prefetched: set[str] = set()  # blob files written before the pull's transaction
        self.rekeyed = False  # this sync gave the remote a new root (a device was revoked)
        self.newly_revoked: set[str] = set()  # devices this sync learned were revoked
        self._sent_blobs: set[str] = set()  # blobs the segments written by this push name
        self.old_heads: set[str] = set()  # heads named under a root a revocation replaced
        self.all_heads: dict[str, list[str]] = {}  # every head read, by the device it names
        self.revoked_objects: list[str] = []  # revoked devices' objects, to delete
        self.revoked_blobs: list[str] = []  # the blob objects among them

    # -- keys --

    def _keys(self, boot: Bootstrap | None) -> None:
        """The remote's keys, from its bootstrap object. A new bootstrap is written when the
        remote is empty; when this device's passphrase changed since it last synced (the
        remote follows it, and the other devices then need the new passphrase); after a
        restore with the recovery kit; or when this vault's kit is not the one the remote
        knows."""
        r = self.remote
        ring = self.store.ring
        local_salt = self.store.header("salt")
        local_kdf = self.store.header("kdf").decode()
        local_kit = self.vault.recovery_public_key()
        if boot is None:
            if r.root is not None:
                raise RemoteWithheld(N_("the remote lost its bootstrap object"))
            self._publish(
                1, local_kdf, local_salt, ring.passphrase_key, crypto.new_key(), kit=local_kit
            )
            self.report.created = True
            r.local_salt = local_salt.hex()
            return
        if boot.vault_id != self.vault_id:
            raise RemoteError(N_("the remote holds another vault"))
        if boot.generation < r.generation:
            raise RemoteRolledBack(N_("the remote's bootstrap object is older than one seen"))
        candidates = [bytes.fromhex(k) for k in [r.pkey, *r.old_pkeys] if k]
        if boot.salt == local_salt:
            candidates.append(ring.passphrase_key)
        found: tuple[bytes, bytes] | None = None
        for pkey in candidates:
            opened = boot.open_root(pkey)
            if opened is not None:
                found = (opened, pkey)
                break
        if found is None and self.passphrase is not None:
            pkey = boot.passphrase_key(self.passphrase)
            opened = boot.open_root(pkey)
            if opened is not None:
                found = (opened, pkey)
        if found is None and self.recovery_code is not None:
            found = (boot.open_root_with_code(self.recovery_code), b"")
        if found is None:
            if self.passphrase is None:
                raise PassphraseUnavailable(
                    N_("the remote's keys changed; sync needs the passphrase")
                )
            raise PassphraseChangedElsewhere
        root, pkey = found
        if boot.generation == r.generation and r.root and root.hex() != r.root:
            raise TamperedRemote(N_("the remote's bootstrap object was replaced"))
        kit = boot.recovery_key(root)
        self._remember_pkey(pkey)
        self._remember_root(root)
        self.root, self.pkey, self.recovery_pk = root, pkey, local_kit or kit
        r.generation = boot.generation
        moved = r.local_salt is not None and r.local_salt != local_salt.hex()
        if r.rekey:
            # A device was revoked: a new root (so new head names and keys) under this
            # device's passphrase key, which the revocation changed.
            self._publish(
                boot.generation + 1,
                local_kdf,
                local_salt,
                ring.passphrase_key,
                crypto.new_key(),
                kit=local_kit or kit,
            )
            r.rekey = False
            self.rekeyed = True
        elif moved or not pkey:
            self._publish(
                boot.generation + 1,
                local_kdf,
                local_salt,
                ring.passphrase_key,
                root,
                kit=local_kit or kit,
            )
        elif local_kit is not None and local_kit != kit:
            self._publish(boot.generation + 1, boot.kdf_json, boot.salt, pkey, root, kit=local_kit)
        r.local_salt = local_salt.hex()

    def _publish(
        self,
        generation: int,
        kdf_json: str,
        salt: bytes,
        pkey: bytes,
        root: bytes,
        *,
        kit: bytes | None,
    ) -> None:
        """Write the bootstrap object: the remote's root under `pkey`, and for `kit`."""
        boot = Bootstrap.make(
            self.vault_id, generation, kdf_json, salt=salt, pkey=pkey, root=root, recovery_key=kit
        )
        self.objects.put(storage.BOOTSTRAP, boot.to_bytes())
        self._remember_pkey(pkey)
        self._remember_root(root)
        self.root, self.pkey, self.recovery_pk = root, pkey, kit
        self.remote.generation = generation

    def _remember_root(self, root: bytes) -> None:
        """Note the remote's root; the last few it replaced are kept, to recognise heads
        written before a revocation gave the remote a new one."""
        self.remote.root, self.remote.old_roots = _current(
            root.hex(), self.remote.root, self.remote.old_roots
        )

    def _remember_pkey(self, pkey: bytes) -> None:
        """Note the remote's passphrase key; the last few it replaced are kept (sealed in
        the vault) to read heads that other devices wrote before following a change."""
        if pkey:
            self.remote.pkey, self.remote.old_pkeys = _current(
                pkey.hex(), self.remote.pkey, self.remote.old_pkeys
            )

    def _names_keys(self) -> list[bytes]:
        roots = [self.root] + [bytes.fromhex(k) for k in self.remote.old_roots]
        return [objects.names_key(root, self.vault_id) for root in roots]

    @property
    def names_key(self) -> bytes:
        return objects.names_key(self.root, self.vault_id)

    @property
    def wrap_key(self) -> bytes:
        return objects.head_wrap_key(self.pkey, self.vault_id)

    # -- step 1: stamp local changes --

    def stamp_local(self, txn: Txn) -> None:
        """Give every record changed here since the last look a stamp of this device's clock,
        and every record gone since a deletion stamp."""
        versions = self.store.versions(skip_kinds=DEVICE_LOCAL_KINDS)
        notes = self._shred_notes()
        rewritten = {i for n in notes for i in n["rewritten"]}
        forgotten = {i for n in notes for i in n["deleted"]}
        wiped = any(n["all"] for n in notes)
        live = self.stamps.live
        changed = self.device.record is None
        for rid, version in versions.items():
            hexid = rid.hex()
            known = live.get(hexid)
            if known is None or known[0] != version:
                base = self.stamps.stamp(hexid)
                stamp = (self.device.tick(), self.device.id)
                self.stamps.set(hexid, version, stamp, base, shred=hexid in rewritten)
                changed = True
        present = {rid.hex() for rid in versions}
        for hexid in [i for i in live if i not in present]:
            stamp = (self.device.tick(), self.device.id)
            self.stamps.kill(hexid, stamp, forget=wiped or hexid in forgotten)
            changed = True
        if changed:
            local.save_stamps(txn, self.stamps)
            local.save_device(txn, self.device)

    def _shred_notes(self) -> list[dict[str, Any]]:
        return [{"id": r.id, **r.json()} for r in self.store.iter_kind(SHRED_KIND)]

    # -- step 2: pull --

    def read_heads(self, listing: dict[str, int]) -> dict[str, _Head]:
        """The newest authentic head of every device; stale heads of this device are noted.

        A head named under a root a revocation replaced (`old_heads`) may be the revoked
        device's thief writing with the keys it kept: it is read (a device that has not yet
        synced since still shows its last state there), but a head under the current root
        always comes first, and an old one only confirms what was seen: it brings nothing."""
        found: dict[str, _Head] = {}
        current, *replaced = self._names_keys()
        for name in sorted(listing):
            old = not objects.is_head_name(current, name)
            if old and not any(objects.is_head_name(k, name) for k in replaced):
                continue
            if listing[name] > MAX_HEAD:
                raise TamperedRemote(N_("an object is larger than it may be"))
            data = read_within(self.objects, name, MAX_HEAD)
            self.report.bytes_received += len(data)
            payload = self._open_head(name, data)
            if payload is None:
                raise PassphraseChangedElsewhere(
                    N_("a device's head is sealed under another passphrase")
                )
            try:
                body = _checked_head(json.loads(payload), self.vault_id)
                head = _Head(name, body["device"], body["counter"], body)
            except (ValueError, KeyError, TypeError):
                raise TamperedRemote(N_("a device's head is malformed")) from None
            if old:
                self.old_heads.add(name)
            self.all_heads.setdefault(head.device, []).append(name)
            other = found.get(head.device)
            rank = (not old, head.counter)
            if other is None or rank > (other.name not in self.old_heads, other.counter):
                if other is not None and other.device == self.device.id:
                    self.stale_heads.append(other.name)
                found[head.device] = head
            elif head.counter == other.counter and old == (other.name in self.old_heads):
                raise TamperedRemote(N_("two heads of one device carry the same counter"))
            elif head.device == self.device.id:
                self.stale_heads.append(head.name)
        return found

    def _open_head(self, name: str, data: bytes) -> bytes | None:
        """A head's payload, under the remote's passphrase key, one it replaced, or the
        recovery kit's code; None if none of them opens it."""
        for pkey in [self.pkey] + [bytes.fromhex(k) for k in self.remote.old_pkeys]:
            if not pkey:
                continue
            wrap = objects.head_wrap_key(pkey, self.vault_id)
            payload = objects.open_head(wrap, self.vault_id, name, data)
            if payload is not None:
                return payload
        if self.recovery_code is not None:
            try:
                key = recovery.open_with_recovery_code(
                    self.recovery_code, objects.recovery_part(data)
                )
            except WrongRecoveryCode:
                return None
            return objects.open_head_with(key, self.vault_id, name, data)
        return None

    def check_heads(self, heads: dict[str, _Head]) -> set[str]:
        """Refuse a remote that rolled back or withholds what a device wrote; return the
        revoked devices."""
        r = self.remote
        revoked = {d for d, p in r.peers.items() if p.revoked}
        for head in heads.values():
            if head.name not in self.old_heads:  # a thief's old keys revoke nobody
                revoked |= set(head.body.get("revoked", []))
        for dev, peer in r.peers.items():
            if dev in revoked:
                continue
            latest = heads.get(dev)
            if latest is None:
                raise RemoteWithheld(
                    N_("the latest changes of device {device!r} are missing"), device=peer.name
                )
            if latest.counter < peer.counter:
                raise RemoteRolledBack(
                    N_("device {device!r} shows an older state than seen"), device=peer.name
                )
        mine = heads.get(self.device.id)
        if r.counter:
            if mine is None:
                raise RemoteWithheld(N_("this device's own latest changes are missing"))
            if mine.counter < r.counter:
                raise RemoteRolledBack(N_("this device's own head is older than the one it wrote"))
        for head in heads.values():
            if head.device in revoked or head.name in self.old_heads:
                continue
            for dev, counter in head.body.get("seen", {}).items():
                if dev in revoked:
                    continue
                shown = heads.get(dev)
                if dev == self.device.id:
                    shown_counter = max(r.counter, shown.counter if shown else 0)
                else:
                    shown_counter = shown.counter if shown else 0
                if shown_counter < int(counter):
                    raise RemoteWithheld(N_("a device has seen changes the remote no longer shows"))
        return revoked

    def _fetch_object(self, entry: dict[str, Any], listing: dict[str, int]) -> bytes:
        name = storage.check_name(str(entry["name"]))
        size = listing.get(name)
        if size is None:
            raise RemoteWithheld(N_("an object a device listed is missing"))
        if size != int(entry["size"]):
            raise TamperedRemote(N_("an object has the wrong size"))
        if size > MAX_SEGMENT:
            raise TamperedRemote(N_("an object is larger than it may be"))
        data = read_within(self.objects, name, size)
        self.report.bytes_received += len(data)
        return objects.open_bytes(bytes.fromhex(entry["key"]), self.vault_id, name, data)

    def _segments_of(
        self, head: _Head, listing: dict[str, int], skip: set[str]
    ) -> Iterator[tuple[dict[str, Any], bytes]]:
        for seg in sorted(head.body["segments"], key=lambda s: int(s["seq"])):
            if seg["name"] in skip:
                continue
            yield from decode_entries(self._fetch_object(seg, listing))

    def fetch(
        self, heads: dict[str, _Head], revoked: set[str], listing: dict[str, int]
    ) -> _Fetched:
        """Read, outside any transaction, what the pull will apply: the segments not applied
        yet, then the blobs their records need (written to `blobs/` as the vault writes them,
        registered only by the pull's transaction), so other commands are not kept waiting
        while a large download runs."""
        r = self.remote
        seen_clock = 0
        batches: list[tuple[str, _Head, Peer, list[tuple[dict[str, Any], bytes]]]] = []
        for dev in sorted(heads):
            head = heads[dev]
            if head.name in self.old_heads and dev not in revoked:
                continue  # confirms what was seen (checked above); brings nothing
            if dev == self.device.id:
                if head.counter > r.counter:
                    self._adopt_own_head(head, listing)
                continue
            if dev in revoked:
                continue
            peer = r.peers.get(dev)
            if peer is None:
                peer = r.peers[dev] = Peer(str(head.body.get("name", "?")), 0, "")
            seen_clock = max(seen_clock, int(head.body.get("clock", 0)))
            if head.counter == peer.counter:
                continue
            batches.append(
                (dev, head, peer, list(self._segments_of(head, listing, set(peer.applied))))
            )
        # Deletions first: a record another device deleted is not written here on the way
        # (its blob may already be gone from the remote).
        for _dev, _head, _peer, entries in batches:
            for meta, _body in entries:
                if meta.get("o") == "del":
                    self._doomed_ids.add(str(meta.get("id")))
        self._prefetch(batches)
        return batches, seen_clock

    def _prefetch(
        self, batches: list[tuple[str, _Head, Peer, list[tuple[dict[str, Any], bytes]]]]
    ) -> None:
        """Download and seal, before the transaction, every blob the records to be written
        need and this vault lacks; each is checked against its record as it is written."""
        announced: dict[str, dict[str, Any]] = {}
        for _dev, _head, _peer, entries in batches:
            for meta, body in entries:
                if meta.get("o") == "blob" and isinstance(meta.get("id"), str):
                    announced[meta["id"]] = meta
                elif meta.get("o") != "put":
                    continue
                rid = str(meta.get("id"))
                if rid in self.stamps.dead or rid in self._doomed_ids:
                    continue
                try:
                    refs = envelope_blobs(body)
                except Exception:  # noqa: S112 - the pull refuses it with its own error
                    continue
                for ref in refs:
                    hexid = ref.id.hex()
                    if hexid in self._prefetched or self.store._query(
                        "SELECT 1 FROM blobs WHERE id=?", (ref.id,)
                    ):
                        continue
                    entry = (
                        announced.get(hexid)
                        or self.remote.remote_blobs.get(hexid)
                        or self.remote.blobs.get(hexid)
                    )
                    if entry is None:
                        continue  # the pull says what is missing
                    self._download_blob(ref, entry)

    def _download_blob(self, ref: BlobRef, entry: dict[str, Any]) -> None:
        name = storage.check_name(str(entry["name"]))
        key = bytes.fromhex(str(entry["key"]))
        plain = objects.open_stream(
            key, self.vault_id, name, self._counting(self.objects.stream(name))
        )
        aad = self.store.ring.blob_aad(ref.id)
        written = self.store.blobs.write(ref.id, ref.key, aad, plain)
        self._prefetched.add(ref.id.hex())
        if written != (ref.chunks, ref.size, ref.sha256):
            raise TamperedRemote(N_("a blob does not match its record"))

    def _drop_prefetched(self) -> None:
        """Remove the blob files a pull wrote and no transaction registered."""
        for hexid in self._prefetched:
            blob_id = bytes.fromhex(hexid)
            if not self.store._query("SELECT 1 FROM blobs WHERE id=?", (blob_id,)):
                with contextlib.suppress(OSError):
                    self.store.blobs.remove(blob_id)

    def pull(self, txn: Txn, fetched: _Fetched, revoked: set[str]) -> None:
        r = self.remote
        todo = merge.Repair()
        batches, seen_clock = fetched
        for dev, head, peer, entries in batches:
            for entry in entries:
                self._apply(txn, dev, peer, entry, todo)
            peer.applied = [s["name"] for s in head.body["segments"]]
            peer.counter = head.counter
            peer.name = str(head.body.get("name", peer.name))[:64]
            peer.time = str(head.body.get("time", ""))
            peer.forgets = [str(f) for f in head.body.get("forgets", [])]
        for dev in revoked:
            known = r.peers.get(dev)
            if known is not None and not known.revoked:
                known.revoked = True
                self.newly_revoked.add(dev)
        # Blobs known only through a revoked device's objects are sent again by this one:
        # those objects go.
        dead = {d for d, p in r.peers.items() if p.revoked}
        for hexid in [h for h, b in r.remote_blobs.items() if b.get("dev") in dead]:
            self.revoked_blobs.append(str(r.remote_blobs.pop(hexid)["name"]))
        self.device.tick(seen_clock)
        self._fold_in(todo)
        merge.repair(self.store, txn, todo, self._local_delete, self._local_write)

    def _apply(
        self,
        txn: Txn,
        dev: str,
        peer: Peer,
        entry: tuple[dict[str, Any], bytes],
        todo: merge.Repair,
    ) -> None:
        meta, body = entry
        op = meta.get("o")
        try:
            if op == "blob":
                self.remote.remote_blobs[str(meta["id"])] = {
                    "name": storage.check_name(str(meta["name"])),
                    "key": str(meta["key"]),
                    "size": int(meta["size"]),
                    "dev": dev,
                }
            elif op == "put":
                self._apply_put(txn, meta, body, todo)
            elif op == "del":
                self._apply_del(txn, meta)
            elif op == "audit":
                seq = int(meta["n"])
                if seq > peer.audit:
                    details = dict(meta["d"])
                    details["device"] = dev[:8]
                    txn.audit_at(str(meta["t"]), str(meta["a"]), details)
                    peer.audit = seq
            elif op == "forget":
                fid = str(meta["id"])
                if fid not in self.remote.forgets_pushed:
                    self.report.forgets_applied += 1
                    self.shred = True
                    self.remote.forgets_pushed.append(fid)  # known here: not to be sent back
            else:
                raise ValueError
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise TamperedRemote(N_("a segment entry is malformed")) from None

    def _stamp_of(self, value: Any) -> Stamp:
        clock, dev = value
        return int(clock), str(dev)

    def _apply_put(
        self, txn: Txn, meta: dict[str, Any], envelope: bytes, todo: merge.Repair
    ) -> None:
        rid = str(meta["id"])
        bytes.fromhex(rid)
        stamp = self._stamp_of(meta["c"])
        base = self._stamp_of(meta["b"]) if meta.get("b") else None
        shred = bool(meta.get("s"))
        self.remote.pushed[rid] = list(stamp)  # this remote holds it: never sent back
        if rid in self.stamps.dead or rid in self._doomed_ids:
            return
        mine = self.stamps.stamp(rid)
        if not body_within(envelope, MAX_RECORD):
            raise TamperedRemote(N_("a synced record is too large or malformed"))
        try:
            kind, _body, terms, blobs = unpack_envelope(envelope)
        except Exception:
            raise TamperedRemote(N_("a synced record is malformed")) from None
        if kind in DEVICE_LOCAL_KINDS:
            raise TamperedRemote(N_("a synced record claims a device's own kind"))
        if mine == stamp:
            return
        if mine is not None and self.stamps.base(rid) == stamp:
            return  # this device already holds a change made on top of that version
        merged = False
        if mine is None or shred or base == mine:
            self._write_remote(txn, rid, envelope, blobs, stamp=stamp, base=base, shred=shred)
            self.report.pulled += 1
        else:
            merged = True
            raw = self.store.raw_record(bytes.fromhex(rid))
            if raw is None:  # pragma: no cover - stamps follow the records
                raise IntegrityError(N_("sync bookkeeping names a record that is gone"))
            local_env = raw[1]
            united = merge.merge(local_env, envelope, remote_wins=stamp > mine)
            self.report.merged += 1
            version = raw[0].version
            if merge.same_content(united, local_env):
                if merge.same_content(united, envelope) or mine > stamp:
                    # Both hold the same, or this device's version wins and is sent as it is.
                    self.stamps.set(rid, version, max(stamp, mine), self.stamps.base(rid))
                else:
                    # This device's version holds the other's and more: a new change made on
                    # top of the other's, so that device takes it whole.
                    new = (self.device.tick(), self.device.id)
                    self.stamps.set(rid, version, new, stamp)
            elif merge.same_content(united, envelope):
                self._write_remote(txn, rid, envelope, blobs, stamp=stamp, base=base, shred=False)
            else:
                _k, _b, _t, mblobs = unpack_envelope(united)
                new = (self.device.tick(), self.device.id)
                self._write_remote(txn, rid, united, mblobs, stamp=new, base=stamp, shred=False)
        todo.note(kind, terms, merged=merged)

    def _write_remote(
        self,
        txn: Txn,
        rid: str,
        envelope: bytes,
        blobs: tuple[BlobRef, ...],
        *,
        stamp: Stamp,
        base: Stamp | None,
        shred: bool,
    ) -> None:
        for ref in blobs:
            self._receive_blob(txn, ref)
        try:
            version = txn.put_replica(bytes.fromhex(rid), envelope)
        except ValueError:
            raise TamperedRemote(N_("a synced record is malformed")) from None
        self.stamps.set(rid, version, stamp, base, shred)

    def _receive_blob(self, txn: Txn, ref: BlobRef) -> None:
        if self.store._query("SELECT 1 FROM blobs WHERE id=?", (ref.id,)):
            return
        if ref.id.hex() in self._prefetched and self.store.blobs.path(ref.id).is_file():
            txn.register_blob(ref)  # written and checked before the transaction
            self.report.blobs_received += 1
            return
        entry = self.remote.remote_blobs.get(ref.id.hex()) or self.remote.blobs.get(ref.id.hex())
        if entry is None:
            raise RemoteWithheld(N_("a blob a record needs is not on the remote"))
        name = storage.check_name(entry["name"])
        key = bytes.fromhex(entry["key"])
        counted = self._counting(self.objects.stream(name))
        plain = objects.open_stream(key, self.vault_id, name, counted)
        try:
            txn.adopt_blob(ref, plain)
        except TamperedRecord:
            raise TamperedRemote(N_("a blob does not match its record")) from None
        self.report.blobs_received += 1

    def _counting(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.report.bytes_received += len(piece)
            yield piece

    def _apply_del(self, txn: Txn, meta: dict[str, Any]) -> None:
        rid = str(meta["id"])
        stamp = self._stamp_of(meta["c"])
        forget = bool(meta.get("f"))
        if rid not in self.remote.pushed_dead:
            self.remote.pushed_dead.append(rid)
        self.remote.pushed.pop(rid, None)
        if rid in self.stamps.dead:
            return
        if self._is_device_local(rid):
            raise TamperedRemote(N_("a synced deletion names a device's own record"))
        into = meta.get("i")
        if isinstance(into, str) and not forget:
            # Another device folded this duplicate into `into`; what this device added to it
            # meanwhile goes into the survivor, not away with the duplicate.
            raw = self.store.raw_record(bytes.fromhex(rid))
            if raw is not None:
                if not self.store._query(
                    "SELECT 1 FROM records WHERE id=?", (bytes.fromhex(into),)
                ):
                    return  # the survivor is not here yet: a later pull folds this one itself
                self._folds.append((into, raw[0].kind, raw[0].data))
        if txn.delete_any(bytes.fromhex(rid)) is not None:
            self.report.deleted += 1
        self.stamps.kill(rid, stamp, forget, into if isinstance(into, str) else None)
        if forget:
            self.shred = True

    def _fold_in(self, todo: merge.Repair) -> None:
        """Unite what this device held in duplicates another device folded away with their
        survivors (the union is idempotent: what the survivor has already changes nothing)."""
        for into, kind, body in self._folds:
            if into in self.stamps.dead:
                continue  # the survivor itself went (a forget): so does what it held
            raw = self.store.raw_record(bytes.fromhex(into))
            if raw is None or raw[0].kind != kind:
                continue
            united = merge.fold_union(kind, raw[0].data, body)
            if united is not None and united != raw[0].data:
                self._local_write(raw[0], united)
                todo.note(kind, raw[0].terms, merged=True)

    def _is_device_local(self, rid: str) -> bool:
        """Whether this vault holds `rid` as a record of a device-local kind (a forget
        note's id travels to every device; no other device may delete the note)."""
        local_ix = {self.store.ring.kind_index(k) for k in DEVICE_LOCAL_KINDS}
        found = self.store._query("SELECT kind FROM records WHERE id=?", (bytes.fromhex(rid),))
        return bool(found) and found[0][0] in local_ix

    def _local_delete(self, rid: str, into: str) -> None:
        """A repair's deletion of a duplicate folded into `into`: stamped here, sent as a
        tombstone that names the survivor."""
        txn = self._txn
        if txn is None:  # pragma: no cover - called only inside pull
            raise RuntimeError("repair outside a transaction")
        txn.delete_any(bytes.fromhex(rid))
        self.stamps.kill(rid, (self.device.tick(), self.device.id), False, into)

    def _local_write(self, rec: Record, body: bytes) -> None:
        """A repair's new version of a record: stamped here, sent with the next push."""
        if self._txn is None:  # pragma: no cover - called only inside pull
            raise RuntimeError("repair outside a transaction")
        envelope = merge.record_body(rec, body)
        base = self.stamps.stamp(rec.id)
        version = self._txn.put_replica(bytes.fromhex(rec.id), envelope)
        self.stamps.set(rec.id, version, (self.device.tick(), self.device.id), base)

    def _adopt_own_head(self, head: _Head, listing: dict[str, int]) -> None:
        """This device wrote a head and was stopped before it noted so: take it as written."""
        r = self.remote
        r.counter, r.head = head.counter, head.name
        r.segments = list(head.body["segments"])
        r.next_seq = max([int(s["seq"]) for s in r.segments] + [r.next_seq - 1]) + 1
        for meta, _body in self._segments_of(head, listing, set()):
            if meta.get("o") == "blob":
                r.blobs[str(meta["id"])] = {
                    "name": str(meta["name"]),
                    "key": str(meta["key"]),
                    "size": int(meta["size"]),
                }

    # -- step 3: push --

    def _changes(self, everything: bool) -> tuple[list[str], list[str]]:
        """Records to send (changed since this remote saw them, or all) and deletions."""
        r = self.remote
        puts = [
            rid
            for rid, s in self.stamps.live.items()
            if everything or r.pushed.get(rid) != [s[1], s[2]]
        ]
        sent_dead = set(r.pushed_dead)
        dels = [rid for rid in self.stamps.dead if everything or rid not in sent_dead]
        return sorted(puts), sorted(dels)

    def _blob_entry(self, ref: BlobRef) -> dict[str, Any]:
        """Upload a blob unless the remote has it; return its blob entry."""
        r = self.remote
        hexid = ref.id.hex()
        known = r.blobs.get(hexid) or r.remote_blobs.get(hexid)
        if known is None:
            planned = self._planned.pop(hexid, None)
            if planned is None:  # a blob written after the plan: noted on its own
                planned = objects.random_name(), crypto.new_key()
                r.pending.append(planned[0])
                self._note_pending()
            name, key = planned
            sealed = objects.seal(key, self.vault_id, name, self.store.read_blob(ref), ref.size)
            size = objects.sealed_size(ref.size)
            self.objects.put(name, self._sent(sealed))
            known = r.blobs[hexid] = {"name": name, "key": key.hex(), "size": size}
            self.report.blobs_sent += 1
        self._sent_blobs.add(hexid)
        return {"o": "blob", "id": hexid, **{k: v for k, v in known.items() if k != "dev"}}

    def _plan_blobs(self) -> None:
        """Name every blob of the vault the remote does not hold yet, and note the names in
        one transaction before the first is written (a note per blob would rewrite this
        remote's state once per photo). Read from the blobs table, no record decrypted; a
        name planned and not used is removed with the leftovers at the next sync."""
        r = self.remote
        for (blob_id,) in self.store._query("SELECT id FROM blobs"):
            hexid = bytes(blob_id).hex()
            if hexid not in r.blobs and hexid not in r.remote_blobs:
                self._planned[hexid] = (objects.random_name(), crypto.new_key())
        if self._planned:
            r.pending.extend(name for name, _key in self._planned.values())
            self._note_pending()

    def _sent(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.report.bytes_sent += len(piece)
            yield piece

    def _note_pending(self) -> None:
        """Remember names about to be written, so a crash leaves nothing unaccounted for."""
        with self.store.write() as txn:
            state = local.load_remote(self.store, self.remote.name)
            state.pending = list(self.remote.pending)
            local.save_remote(txn, state)

    def _entries(
        self, puts: list[str], dels: list[str], everything: bool
    ) -> Iterator[tuple[dict[str, Any], bytes]]:
        r = self.remote
        for rid in puts:
            raw = self.store.raw_record(bytes.fromhex(rid))
            if raw is None:
                continue  # deleted meanwhile: the next sync sends the deletion
            rec, envelope = raw
            s = self.stamps.live[rid]
            if s[0] != rec.version:
                continue  # changed meanwhile: the next sync stamps and sends it
            for ref in rec.blobs:
                yield self._blob_entry(ref), b""
            meta: dict[str, Any] = {"o": "put", "id": rid, "c": [s[1], s[2]]}
            if s[4]:
                meta["b"] = [s[3], s[4]]
            if s[5]:
                meta["s"] = 1
            yield meta, envelope
            r.pushed[rid] = [s[1], s[2]]
            self.report.pushed += 1
        for rid in dels:
            clock, dev, forget, *into = self.stamps.dead[rid]
            tomb: dict[str, Any] = {
                "o": "del",
                "id": rid,
                "c": [clock, dev],
                "f": 1 if forget else 0,
            }
            if into:
                tomb["i"] = into[0]
            yield tomb, b""
            if rid not in r.pushed_dead:
                r.pushed_dead.append(rid)
            r.pushed.pop(rid, None)
            self.report.tombstones += 1
        start = 0 if everything else r.audit_pushed
        for entry in self.store.audit_entries():
            if entry.seq <= start or "device" in entry.details:
                continue
            yield (
                {
                    "o": "audit",
                    "n": entry.seq,
                    "t": entry.time,
                    "a": entry.action,
                    "d": entry.details,
                },
                b"",
            )
            r.audit_pushed = max(r.audit_pushed, entry.seq)
        for note in self._shred_notes():
            if everything or note["id"] not in r.forgets_pushed:
                yield {"o": "forget", "id": note["id"], "t": note["time"]}, b""
                if note["id"] not in r.forgets_pushed:
                    r.forgets_pushed.append(note["id"])

    def push(self, heads: dict[str, _Head], compact: bool) -> list[str]:
        """Write this device's new segments, blobs and head; return the names to delete once
        the new state is noted (its old head; with `compact`, its old segments and unused
        blobs)."""
        r = self.remote
        old_segments = list(r.segments)
        if compact:
            r.segments = []
        puts, dels = self._changes(everything=compact)
        self._plan_blobs()
        new_segments: list[dict[str, Any]] = []
        frames: list[tuple[dict[str, Any], bytes]] = []
        size = 0

        def flush() -> None:
            nonlocal frames, size
            if not frames:
                return
            payload = encode_entries(frames)
            name, key = objects.random_name(), crypto.new_key()
            r.pending.append(name)
            self._note_pending()
            sealed = objects.seal_bytes(key, self.vault_id, name, payload)
            self.objects.put(name, sealed)
            self.report.bytes_sent += len(sealed)
            new_segments.append(
                {"name": name, "key": key.hex(), "size": len(sealed), "seq": r.next_seq}
            )
            r.next_seq += 1
            frames, size = [], 0

        for meta, body in self._entries(puts, dels, compact):
            frames.append((meta, body))
            size += len(body) + 64
            if size >= SEGMENT_TARGET:
                flush()
        flush()
        seen = {d: p.counter for d, p in r.peers.items() if not p.revoked}
        changed = bool(new_segments) or compact
        head_seen = self._seen_in_head
        if not changed and head_seen == seen and r.head is not None:
            return []
        r.segments = r.segments + new_segments
        r.counter += 1
        forgets_applied = sorted({*r.forgets_pushed})
        head_body = {
            "v": FORMAT,
            "vault": self.vault_id.hex(),
            "device": self.device.id,
            "name": self.device.name,
            "counter": r.counter,
            "time": self.vault.clock.iso(),
            "clock": self.device.clock,
            "segments": r.segments,
            "seen": seen,
            "revoked": sorted(d for d, p in r.peers.items() if p.revoked),
            "forgets": forgets_applied,
        }
        name = objects.head_name(self.names_key)
        r.pending.append(name)
        if compact:
            # What the new head drops, noted before it is written: a sync killed after it
            # adopts the new head at the next, and deletes these then.
            r.pending += [s["name"] for s in old_segments]
            r.pending += [b["name"] for h, b in r.blobs.items() if h not in self._sent_blobs]
        self._note_pending()
        kit = self.recovery_pk
        data = objects.seal_head(
            self.wrap_key,
            self.vault_id,
            name,
            json.dumps(head_body, separators=(",", ":")).encode(),
            (lambda key: recovery.seal_for_recovery(kit, key)) if kit else None,
        )
        self.objects.put(name, data)
        self.report.bytes_sent += len(data)
        gone = [n for n in [r.head, *self.stale_heads] if n and n != name]
        r.head = name
        if compact:
            kept = {s["name"] for s in r.segments}
            gone += [s["name"] for s in old_segments if s["name"] not in kept]
            # This device's blob objects that no live record needs any more go too.
            for hexid in [h for h in r.blobs if h not in self._sent_blobs]:
                gone.append(r.blobs.pop(hexid)["name"])
            self.report.compacted = True
        return gone

    # -- the whole sync --

    def run(self) -> SyncReport:
        with _one_sync_at_a_time(self.vault.path):
            return self._run()

    def _run(self) -> SyncReport:
        began = time.monotonic()
        report = Progress(N_("sync"), self.progress, unit="steps")
        report.start(4)
        r = self.remote
        with self.store.write() as txn:
            self.stamp_local(txn)
        report.advance()
        self._keys(read_bootstrap(self.objects))
        listing = self.objects.list()
        heads = self.read_heads(listing)
        revoked = self.check_heads(heads)
        mine = heads.get(self.device.id)
        self._seen_in_head = dict(mine.body.get("seen", {})) if mine else {}
        report.advance()
        try:
            fetched = self.fetch(heads, revoked, listing)
            with self.store.write() as txn:
                self._txn = txn
                self.pull(txn, fetched, revoked)
                # Names noted as being written but that no head of this device lists are the
                # leftovers of an interrupted push: nobody reads them.
                listed = {s["name"] for s in r.segments} | {b["name"] for b in r.blobs.values()}
                leftovers = [n for n in r.pending if n not in listed and n != r.head]
                r.pending = []
                if self.shred:
                    txn.rotate_epoch()
                local.save_stamps(txn, self.stamps)
                local.save_device(txn, self.device)
                local.save_remote(txn, r)
        except BaseException:
            self._drop_prefetched()  # what the refused pull wrote to blobs/ goes
            raise
        if self.shred:
            self.store.reclaim()
        for name in leftovers:
            self.objects.delete(name)
        report.advance()
        compact = (
            self.shred
            or self.rekeyed
            or bool(self.newly_revoked)
            or bool(self._shred_notes_unsent())
            or len(r.segments) >= COMPACT_AFTER
        )
        if compact:
            # Another device's blob that no record here needs any more (forgotten, deleted)
            # is no longer named here: its key would open a copy a provider kept.
            held = {bytes(row[0]).hex() for row in self.store._query("SELECT id FROM blobs")}
            r.remote_blobs = {h: b for h, b in r.remote_blobs.items() if h in held}
        gone = self.push(heads, compact)
        for dev in sorted(revoked | self.newly_revoked):
            head = heads.get(dev)
            if head is not None and dev != self.device.id:
                self.revoked_objects += self.all_heads.get(dev, [])
                self.revoked_objects += [str(seg["name"]) for seg in head.body["segments"]]
        # A revoked device's head lists what it likes: what a live device holds stays.
        live = self._live_names(heads, revoked)
        blobs = [n for n in self.revoked_blobs if n not in live]
        if blobs:
            # A snapshot names again the blob objects its records need, whoever wrote them:
            # one the revoked device announced may be a live device's. (Read once: the
            # entries are dropped here.)
            live |= self._blobs_listed(heads, revoked, listing)
        gone += [n for n in dict.fromkeys(self.revoked_objects + blobs) if n not in live]
        # And what this device drops is never what another device lists: a head written in
        # this device's name (which it then took as its own) may have listed anyone's.
        gone = [n for n in gone if n not in live]
        r.pending = list(dict.fromkeys(gone))  # until deleted: a kill leaves them noted
        r.last_sync = self.vault.clock.iso()
        with self.store.write() as txn:
            local.save_remote(txn, r)
            local.save_device(txn, self.device)
            local.save_stamps(txn, self.stamps)
            if compact:
                self._drop_sent_notes(txn)
        for name in list(r.pending):
            with contextlib.suppress(RemoteError):
                self.objects.delete(name)
                r.pending.remove(name)
        if gone:
            with self.store.write() as txn:
                local.save_remote(txn, r)  # what failed to go is deleted at the next sync
        report.advance()
        report.finish()
        self.report.devices = local.device_list(self.remote, self.device)
        self.report.seconds = time.monotonic() - began
        return self.report

    def _live_names(self, heads: dict[str, _Head], revoked: set[str]) -> set[str]:
        """The bootstrap and every object this device (as it now stands) or another device
        not revoked lists."""
        r = self.remote
        live = {storage.BOOTSTRAP, *(n for n in [r.head] if n)}
        live |= {str(s["name"]) for s in r.segments} | {str(b["name"]) for b in r.blobs.values()}
        live |= {str(b["name"]) for b in r.remote_blobs.values()}
        for dev, head in heads.items():
            if dev not in revoked and dev != self.device.id:
                live.add(head.name)
                live |= {str(seg["name"]) for seg in head.body["segments"]}
        return live

    def _blobs_listed(
        self, heads: dict[str, _Head], revoked: set[str], listing: dict[str, int]
    ) -> set[str]:
        """The blob objects the segments of the devices not revoked name (every name there
        is, if one of them cannot be read: then nothing of a revoked device is deleted)."""
        names: set[str] = set()
        try:
            for dev, head in heads.items():
                if dev in revoked or dev == self.device.id:
                    continue
                for meta, _body in self._segments_of(head, listing, set()):
                    if meta.get("o") == "blob":
                        names.add(str(meta.get("name")))
        except (RemoteError, TamperedRemote, RemoteWithheld):
            return set(listing)
        return names

    def _shred_notes_unsent(self) -> list[str]:
        return [n["id"] for n in self._shred_notes() if n["id"] not in self.remote.forgets_pushed]

    def _drop_sent_notes(self, txn: Txn) -> None:
        """A forget note sent to every remote keeps only its id and time: the ids it named
        were needed once, to mark the deletions as a forget; the note itself is sent again
        with every snapshot, so a device that missed it still learns of the forget."""
        remotes = local.load_remotes(self.store)
        for note in self._shred_notes():
            if (note["deleted"] or note["rewritten"] or note["all"]) and all(
                note["id"] in r.forgets_pushed for r in remotes
            ):
                body = {"time": note["time"], "all": False, "deleted": [], "rewritten": []}
                txn.update(SHRED_KIND, note["id"], json.dumps(body).encode())
