"""Remotes and devices, as the front ends use them: add, list, remove, sync, clone, rename.

A remote is a URL (`s3://BUCKET/PREFIX?endpoint=...`, `file:///PATH`) and, for S3, its
credentials, kept only inside the vault's sealed records. Every device of a vault syncs with
the same remotes; `clone` makes a new device (or restores a backup) from one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vault.core.clock import SYSTEM_CLOCK, Clock
from vault.core.errors import (
    AlreadyExists,
    InvalidParameter,
    RemoteEmpty,
    VaultExists,
    WrongPassphrase,
)
from vault.core.i18n import N_
from vault.core.progress import ProgressCallback
from vault.core.records import DEVICE_LOCAL_KINDS
from vault.core.vault import Replica, Vault
from vault.remote import local, storage
from vault.remote.local import RemoteState, device_list

if TYPE_CHECKING:
    from vault.remote.engine import SyncReport

NAME_RE: Final = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,31}\Z")
DEVICE_NAME_MAX: Final = 64


def _open(url: str, credentials: dict[str, Any] | None) -> storage.ObjectStore:
    return storage.open_store(url, credentials)


def credentials_for(
    url: str, *, profile: str | None = None, command: str | None = None
) -> dict[str, Any] | None:
    """The credentials an S3 remote at `url` will use, as stored (sealed) in the vault: a
    `credential_process` command (run at each use), a profile's keys, or the AWS variables'.
    A folder needs none."""
    if not url.startswith("s3:"):
        if profile or command:
            raise InvalidParameter(N_("a folder remote takes no credentials"))
        return None
    from vault.remote import credentials

    return credentials.resolve(profile=profile, command=command).to_dict()


def check_remote_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidParameter(N_("a remote's name is 1 to 32 lowercase letters, digits, - or _"))
    return name


def add_remote(
    vault: Vault, name: str, url: str, *, credentials: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Remember a remote (nothing is sent before the first sync)."""
    check_remote_name(name)
    _open(url, credentials)  # the URL is checked now, not at the first sync
    store = vault.store
    if store.find(local.REMOTE, "name", name):
        raise AlreadyExists(N_("a remote named {name!r}"), name=name)
    remote = RemoteState(name, url, credentials, created=vault.clock.iso())
    with store.write() as txn:
        device = local.load_device(store)
        if device is None:
            device = local.new_device()
            local.save_device(txn, device)
        local.save_remote(txn, remote)
        txn.audit("remote.add", remote=name)
    return describe(vault, remote)


def remove_remote(vault: Vault, name: str) -> None:
    """Forget a remote here; what it holds stays there (delete the bucket or folder)."""
    remote = local.load_remote(vault.store, name)
    with vault.store.write() as txn:
        txn.delete(local.REMOTE, remote.record or "")
        txn.audit("remote.remove", remote=name)


def pending_changes(vault: Vault, remote: RemoteState) -> int:
    """Records changed here that the remote has not received (a cheap estimate: versions
    against what was stamped and sent, no decryption)."""
    stamps = local.load_stamps(vault.store)
    count = 0
    for rid, version in vault.store.versions(skip_kinds=DEVICE_LOCAL_KINDS).items():
        s = stamps.live.get(rid.hex())
        if s is None or s[0] != version or remote.pushed.get(rid.hex()) != [s[1], s[2]]:
            count += 1
    sent = set(remote.pushed_dead)
    count += sum(1 for rid in stamps.dead if rid not in sent)
    return count


def describe(vault: Vault, remote: RemoteState) -> dict[str, Any]:
    """A remote as listed: never its credentials or keys."""
    device = local.load_device(vault.store)
    devices = device_list(remote, device) if device else []
    return {
        "name": remote.name,
        "url": remote.url,
        "credentials": bool(remote.credentials),
        "last_sync": remote.last_sync,
        "pending": pending_changes(vault, remote),
        "devices": len(devices),
        "pending_forgets": sum(d["pending_forgets"] for d in devices),
    }


def list_remotes(vault: Vault) -> list[dict[str, Any]]:
    return [describe(vault, r) for r in local.load_remotes(vault.store)]


SUMMARY_KEYS: Final = ("name", "url", "last_sync", "pending", "devices", "pending_forgets")


def summary(vault: Vault) -> list[dict[str, Any]]:
    """The remotes as an overview shows them (`coffre status`, the dashboard): each one's
    name, URL, last sync, changes waiting to be sent, devices and forgets other devices have
    not applied yet; an empty list when the vault syncs nowhere."""
    return [{k: row[k] for k in SUMMARY_KEYS} for row in list_remotes(vault)]


def sync(
    vault: Vault,
    name: str | None = None,
    *,
    passphrase: str | bytes | None = None,
    progress: ProgressCallback | None = None,
) -> list[SyncReport]:
    """Sync with one remote, or with every remote in name order."""
    from vault.remote.engine import Session  # the engine loads only when it runs

    remotes = [local.load_remote(vault.store, name)] if name else local.load_remotes(vault.store)
    if not remotes:
        raise InvalidParameter(N_("no remote: add one with `coffre remote add NAME URL`"))
    reports = []
    for remote in remotes:
        objstore = _open(remote.url, remote.credentials)
        reports.append(
            Session(vault, remote, objstore, passphrase=passphrase, progress=progress).run()
        )
    return reports


def devices(vault: Vault, name: str | None = None) -> list[dict[str, Any]]:
    """This device and every device the remotes showed at their last sync."""
    device = local.load_device(vault.store)
    if device is None:
        return []
    rows: dict[str, dict[str, Any]] = {}
    for remote in local.load_remotes(vault.store):
        if name and remote.name != name:
            continue
        for row in device_list(remote, device):
            seen = rows.setdefault(row["id"], {**row, "remotes": []})
            seen["remotes"].append(remote.name)
            seen["pending_forgets"] = max(seen["pending_forgets"], row["pending_forgets"])
            if (row["last_sync"] or "") > (seen["last_sync"] or ""):
                seen["last_sync"] = row["last_sync"]
    if not rows:
        rows[device.id] = {
            "id": device.id,
            "name": device.name,
            "this": True,
            "last_sync": None,
            "revoked": False,
            "pending_forgets": 0,
            "remotes": [],
        }
    return sorted(rows.values(), key=lambda r: (not r["this"], r["name"]))


def rename_device(vault: Vault, new_name: str) -> None:
    """Rename this device (the others see it at their next sync)."""
    new_name = new_name.strip()
    if not new_name or len(new_name) > DEVICE_NAME_MAX or not new_name.isprintable():
        raise InvalidParameter(
            N_("a device's name is 1 to {limit} printable characters"), limit=DEVICE_NAME_MAX
        )
    with vault.store.write() as txn:
        device = local.load_device(vault.store) or local.new_device()
        device.name = new_name
        local.save_device(txn, device)
        txn.audit("device.rename")


def clone(
    url: str,
    path: str | os.PathLike[str],
    passphrase: str | bytes,
    *,
    name: str = "origin",
    credentials: dict[str, Any] | None = None,
    device_name: str | None = None,
    recovery_code: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    progress: ProgressCallback | None = None,
) -> tuple[Vault, SyncReport]:
    """A new device of the vault a remote holds, in `path` (which must not hold a vault):
    also how a backup is restored onto a new machine. With `recovery_code` (the passphrase
    is lost), the remote is opened with the recovery kit and `passphrase` becomes the new
    one, here and, from this sync on, for the remote and the other devices. All or nothing:
    on any error the folder is left as it was."""
    from vault.core import crypto
    from vault.remote.engine import Session, read_bootstrap

    check_remote_name(name)
    target = Path(path)
    if Vault.exists(target):
        raise VaultExists(str(target))
    existed = target.exists()
    if existed and any(target.iterdir()):
        raise AlreadyExists(N_("{target} is not empty"), target=target)
    objstore = _open(url, credentials)
    boot = read_bootstrap(objstore)
    if boot is None:
        raise RemoteEmpty
    profile = crypto.profile_from_header(json.loads(boot.kdf_json))
    if recovery_code is None:
        pkey = boot.passphrase_key(passphrase)
        if boot.open_root(pkey) is None:
            raise WrongPassphrase
        replica = Replica(boot.vault_id, profile, boot.salt, pkey)
    else:
        boot.open_root_with_code(recovery_code)  # a wrong code fails before anything is made
        salt = crypto.random_bytes(crypto.SALT_SIZE)
        replica = Replica(
            boot.vault_id, profile, salt, crypto.passphrase_key(passphrase, salt, profile)
        )
    vault = Vault.create(target, passphrase, clock=clock, replica=replica)
    try:
        with vault.store.write() as txn:
            device = local.new_device(device_name)
            local.save_device(txn, device)
            remote = RemoteState(name, url, credentials, created=vault.clock.iso())
            if recovery_code is None:
                remote.local_salt = boot.salt.hex()
            local.save_remote(txn, remote)
            txn.audit(
                "vault.clone", remote=name, **({"via": "recovery-code"} if recovery_code else {})
            )
        session = Session(
            vault,
            local.load_remote(vault.store, name),
            objstore,
            passphrase=passphrase,
            progress=progress,
            recovery_code=recovery_code,
        )
        report = session.run()
    except BaseException:
        vault.close()
        with contextlib.suppress(OSError):
            if existed:
                for child in target.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            else:
                shutil.rmtree(target)
        raise
    return vault, report


def replica_digest(vault: Vault) -> str:
    """A digest of everything sync carries (every record but a device's own, by id, kind,
    content, terms and blobs): two devices that converged have the same."""
    import hashlib

    local_ix = {vault.store.ring.kind_index(k) for k in DEVICE_LOCAL_KINDS}
    h = hashlib.sha256()
    rows = sorted(vault.store._query("SELECT id, kind FROM records"))
    for rid, kix in rows:
        if kix in local_ix:
            continue
        raw = vault.store.raw_record(rid)
        if raw is None:  # pragma: no cover - read in one listing
            continue
        rec = raw[0]
        h.update(rid + rec.kind.encode() + b"\0" + hashlib.sha256(rec.data).digest())
        h.update(json.dumps([rec.terms, [b.sha256 for b in rec.blobs]]).encode())
    return h.hexdigest()


def remote_urls(vault: Vault) -> list[str]:
    """The URLs of the vault's remotes (printed on the recovery kit; no credentials)."""
    return [r.url for r in local.load_remotes(vault.store)]


def revoke_device(
    vault: Vault, ref: str, new_passphrase: str | bytes, *, kdf: str | None = None
) -> dict[str, Any]:
    """Revoke a lost device (by id, id prefix or name): the other devices ignore it from their
    next sync, and the vault gets a new passphrase here and the remote a new root at the next
    sync, so the device's keys open nothing written afterwards. Its head and segments are
    deleted from the remote. What it held before stays readable to whoever holds it."""
    remotes = local.load_remotes(vault.store)
    me = local.load_device(vault.store)
    matches = {
        dev: peer
        for r in remotes
        for dev, peer in r.peers.items()
        if dev.startswith(ref.lower()) or peer.name == ref
    }
    if me is not None and (me.id.startswith(ref.lower()) or me.name == ref) and not matches:
        raise InvalidParameter(N_("this device cannot revoke itself"))
    if not matches:
        raise InvalidParameter(N_("no device matches {ref!r}"), ref=ref)
    if len(matches) != 1:
        raise InvalidParameter(
            N_("{n} devices match {ref!r}; give more of the id (`coffre device list`)"),
            n=len(matches),
            ref=ref,
        )
    (dev, peer) = next(iter(matches.items()))
    # One transaction: the new passphrase and the revocation land together or not at all.
    with vault.store.write() as txn:
        vault.change_passphrase(new_passphrase, kdf=kdf)
        for r in remotes:
            if dev in r.peers:
                r.peers[dev].revoked = True
            r.rekey = True
            local.save_remote(txn, r)
        txn.audit("device.revoke", device=dev[:8])
    return {"id": dev, "name": peer.name, "revoked": True}
