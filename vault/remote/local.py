"""What a device keeps about sync, in records of its own (device-local kinds: never synced).

They are ordinary sealed records, so the store authenticates them like any other: a remote's
state edited or rolled back on disk is caught by the vault's digest, not trusted.

- ``sync.device``: this device's id, name and logical clock.
- ``sync.stamps``: per live record, the version this device holds and its stamp (the logical
  clock and device of the change it came from) with the stamp it replaced; per deleted
  record, the stamp of its deletion (a deleted id never comes back).
- ``sync.remote``: one per remote: its URL and credentials, the remote's keys, this device's
  objects there, what was sent, and what each other device last showed.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

from vault.core import crypto
from vault.core.errors import RecordNotFound
from vault.core.i18n import N_

if TYPE_CHECKING:
    from vault.core.store import Store
    from vault.core.txn import Txn

DEVICE: Final = "sync.device"
STAMPS: Final = "sync.stamps"
REMOTE: Final = "sync.remote"

# A stamp orders changes: (logical clock, device id). A later change of a record always has a
# higher clock than what its device had seen, so max() is "last writer wins".
Stamp = tuple[int, str]


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Device:
    id: str
    name: str
    clock: int = 0
    record: str | None = None

    def tick(self, seen: int = 0) -> int:
        """The next logical time, after everything seen."""
        self.clock = max(self.clock, seen) + 1
        return self.clock


def load_device(store: Store) -> Device | None:
    found = list(store.iter_kind(DEVICE))
    if not found:
        return None
    d = found[0].json()
    return Device(d["id"], d["name"], int(d["clock"]), found[0].id)


def save_device(txn: Txn, device: Device) -> None:
    body = _dump({"id": device.id, "name": device.name, "clock": device.clock})
    if device.record is None:
        device.record = txn.put(DEVICE, body)
    else:
        txn.update(DEVICE, device.record, body)


def new_device(name: str | None = None) -> Device:
    return Device(crypto.random_bytes(16).hex(), name or default_device_name())


def default_device_name() -> str:
    return (socket.gethostname() or "device")[:64]


@dataclass
class Stamps:
    """Per live record [version, clock, device, base clock, base device, shred]; per deleted
    record [clock, device, forget] and, for a duplicate folded into another, that one's id."""

    live: dict[str, list[Any]] = field(default_factory=dict)
    dead: dict[str, list[Any]] = field(default_factory=dict)
    record: str | None = None

    def stamp(self, rid: str) -> Stamp | None:
        s = self.live.get(rid)
        return (int(s[1]), str(s[2])) if s else None

    def set(
        self,
        rid: str,
        version: int,
        stamp: Stamp,
        base: Stamp | None = None,
        shred: bool = False,
    ) -> None:
        self.live[rid] = [version, stamp[0], stamp[1], *(base or (0, "")), shred]

    def base(self, rid: str) -> Stamp | None:
        s = self.live.get(rid)
        return (int(s[3]), str(s[4])) if s and s[4] else None

    def kill(self, rid: str, stamp: Stamp, forget: bool, into: str | None = None) -> None:
        """`into`: the record this one was folded into (a duplicate two devices created)."""
        self.live.pop(rid, None)
        self.dead[rid] = [stamp[0], stamp[1], forget, *([into] if into else [])]


def load_stamps(store: Store) -> Stamps:
    found = list(store.iter_kind(STAMPS))
    if not found:
        return Stamps()
    d = found[0].json()
    return Stamps(d["live"], d["dead"], found[0].id)


def save_stamps(txn: Txn, stamps: Stamps) -> None:
    body = _dump({"live": stamps.live, "dead": stamps.dead})
    if stamps.record is None:
        stamps.record = txn.put(STAMPS, body, compress=True)
    else:
        txn.update(STAMPS, stamps.record, body, compress=True)


@dataclass
class Peer:
    """What this device last accepted from another device's head."""

    name: str
    counter: int
    time: str
    applied: list[str] = field(default_factory=list)  # its segments already applied
    audit: int = 0  # the highest of its audit entries already merged here
    forgets: list[str] = field(default_factory=list)  # forget notes it reported applied
    revoked: bool = False


@dataclass
class RemoteState:
    """One remote, as this device knows it (sealed in the vault). Fields that hold keys or
    credentials stay out of its repr, so no traceback or log line shows them."""

    name: str
    url: str
    credentials: dict[str, Any] | None = field(default=None, repr=False)
    created: str = ""
    last_sync: str | None = None
    # The remote's keys: its passphrase key (Argon2id of the passphrase with the remote's
    # salt) and its root (names). None until the first sync creates or reads the bootstrap.
    pkey: str | None = field(default=None, repr=False)
    root: str | None = field(default=None, repr=False)
    generation: int = 0  # of the bootstrap object, which only grows
    old_pkeys: list[str] = field(default_factory=list, repr=False)  # replaced ones (recent)
    local_salt: str | None = None  # this vault's salt at the last sync: a change is a passwd
    old_roots: list[str] = field(default_factory=list, repr=False)  # replaced (recent)
    rekey: bool = False  # a device was revoked here: the next sync gives the remote a new root
    # This device's objects there.
    counter: int = 0
    head: str | None = None
    segments: list[dict[str, Any]] = field(default_factory=list, repr=False)  # name, key...
    next_seq: int = 1
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # id -> name, key
    pending: list[str] = field(default_factory=list)  # names being written (crash cleanup)
    # What was sent: record id -> stamp, deleted ids, audit entries and forget notes.
    pushed: dict[str, list[Any]] = field(default_factory=dict)
    pushed_dead: list[str] = field(default_factory=list)
    audit_pushed: int = 0
    forgets_pushed: list[str] = field(default_factory=list)
    # Blob objects other devices announced: blob id -> name, key, size.
    remote_blobs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    peers: dict[str, Peer] = field(default_factory=dict)
    record: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("record")
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], record: str | None) -> RemoteState:
        peers = {k: Peer(**v) for k, v in d.pop("peers", {}).items()}
        return cls(**d, peers=peers, record=record)


def load_remotes(store: Store) -> list[RemoteState]:
    return sorted(
        (RemoteState.from_json(r.json(), r.id) for r in store.iter_kind(REMOTE)),
        key=lambda r: r.name,
    )


def load_remote(store: Store, name: str) -> RemoteState:
    for found in store.find(REMOTE, "name", name):
        return RemoteState.from_json(found.json(), found.id)
    raise RecordNotFound(N_("no remote named {name!r}"), name=name)


def save_remote(txn: Txn, remote: RemoteState) -> None:
    body = _dump(remote.to_json())
    terms = [("name", remote.name)]
    if remote.record is None:
        remote.record = txn.put(REMOTE, body, terms=terms, compress=True)
    else:
        txn.update(REMOTE, remote.record, body, terms=terms, compress=True)


def device_list(remote: RemoteState, device: Device) -> list[dict[str, Any]]:
    """This device and every device the remote showed, with what each last reported."""
    rows = [
        {
            "id": device.id,
            "name": device.name,
            "this": True,
            "last_sync": remote.last_sync,
            "revoked": False,
            "pending_forgets": 0,
        }
    ]
    mine = set(remote.forgets_pushed)
    for dev, peer in sorted(remote.peers.items(), key=lambda kv: kv[1].name):
        rows.append(
            {
                "id": dev,
                "name": peer.name,
                "this": False,
                "last_sync": peer.time or None,
                "revoked": peer.revoked,
                "pending_forgets": 0 if peer.revoked else len(mine - set(peer.forgets)),
            }
        )
    return rows
