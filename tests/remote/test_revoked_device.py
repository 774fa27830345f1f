"""A revoked device's thief, who keeps every key the device held: after the revocation and a
sync by the revoker, nothing the thief writes is applied, nothing it lists makes another
device delete an object that is not the revoked device's, and the revoked device's objects
(its blobs too) leave the remote."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.remote.test_sync import referenced
from vault import content, forget, remote
from vault import personas as identities
from vault.core import crypto
from vault.core.records import pack_envelope
from vault.core.vault import Vault
from vault.remote import local, objects
from vault.remote.engine import decode_entries, encode_entries
from vault.remote.remotes import replica_digest
from vault.remote.storage import BOOTSTRAP, FolderStore

NEW = "the passphrase after the phone was lost"


@pytest.fixture
def revoked(tmp_path: Path) -> Iterator[tuple[Vault, Vault, Path]]:
    """A device `a` that revoked the device `lost` and synced since; the lost device's vault
    stands for its thief (every key it held, as it was at the revocation)."""
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    content.add(a, io.BytesIO(b"# a\n" * 50), content.ItemMeta(title="A"), persona=persona.id)
    remote.sync(a)
    lost, _ = remote.clone(folder.as_uri(), tmp_path / "lost", PASSPHRASE, name="usb")
    content.add(lost, io.BytesIO(b"lost's file " * 500), content.ItemMeta(title="From lost"),
                persona=persona.id)  # fmt: skip
    remote.sync(lost)
    remote.sync(a)
    remote.revoke_device(a, device_id(lost), NEW, kdf="minimum")
    remote.sync(a, passphrase=NEW)
    yield a, lost, folder
    a.close()
    lost.close()


def device_id(v: Vault) -> str:
    device = local.load_device(v.store)
    assert device is not None
    return device.id


def forge(
    thief: Vault,
    folder: Path,
    *,
    device: str,
    counter: int,
    segments: list[dict[str, object]] | None = None,
    entries: list[tuple[dict[str, object], bytes]] | None = None,
    **fields: object,
) -> str:
    """A head (and a segment holding `entries`) written with the keys `thief` kept; return
    the head's name. `segments` are listed as they are (names of anyone's objects)."""
    state = local.load_remote(thief.store, "usb")
    assert state.root and state.pkey
    vid = thief.store.ring.vault_id
    listed = list(segments or [])
    if entries:
        name, key = objects.random_name(), crypto.new_key()
        sealed = objects.seal_bytes(key, vid, name, encode_entries(entries))
        (folder / name).write_bytes(sealed)
        listed.append({"name": name, "key": key.hex(), "size": len(sealed), "seq": 1})
    body = {
        "v": 1,
        "vault": vid.hex(),
        "device": device,
        "name": "forged",
        "counter": counter,
        "time": "",
        "clock": 10**6,
        "segments": listed,
        "seen": {},
        "revoked": [],
        "forgets": [],
        **fields,
    }
    head = objects.head_name(objects.names_key(bytes.fromhex(state.root), vid))
    wrap = objects.head_wrap_key(bytes.fromhex(state.pkey), vid)
    (folder / head).write_bytes(objects.seal_head(wrap, vid, head, json.dumps(body).encode()))
    return head


def planted_record() -> tuple[dict[str, object], bytes]:
    envelope = pack_envelope("content.item", b'{"title":"planted"}', (), (), False)
    return {"o": "put", "id": crypto.random_bytes(16).hex(), "c": [10**6, "ee" * 16]}, envelope


@pytest.mark.parametrize("who", ["a new device", "the revoker", "the revoked device"])
def test_a_thief_writing_with_the_old_keys_changes_nothing(
    revoked: tuple[Vault, Vault, Path], who: str
) -> None:
    a, lost, folder = revoked
    device = {
        "a new device": "ab" * 16,
        "the revoker": device_id(a),
        "the revoked device": device_id(lost),
    }[who]
    before = replica_digest(a)
    mine = local.load_remote(a.store, "usb")
    forge(lost, folder, device=device, counter=10**6, entries=[planted_record()])
    remote.sync(a, passphrase=NEW)
    assert replica_digest(a) == before
    after = local.load_remote(a.store, "usb")
    assert [s["name"] for s in after.segments] == [s["name"] for s in mine.segments]
    assert set(after.peers) == set(mine.peers)


def test_a_revoked_devices_head_cannot_make_others_delete_their_objects(
    revoked: tuple[Vault, Vault, Path], tmp_path: Path
) -> None:
    """The thief lists the revoker's segments and blobs as the revoked device's own: the
    revoker deletes a revoked device's objects, but never one a live device lists."""
    a, lost, folder = revoked
    state = local.load_remote(a.store, "usb")
    victims = [*state.segments]
    victims += [{**b, "seq": 9} for b in state.blobs.values()]
    victims.append({"name": BOOTSTRAP, "key": "00" * 32, "size": 1, "seq": 10})
    assert state.head and state.blobs
    victims.append({"name": state.head, "key": "00" * 32, "size": 1, "seq": 11})
    lost_id = device_id(lost)
    forge(lost, folder, device=lost_id, counter=10**6, segments=victims)
    remote.sync(a, passphrase=NEW)
    assert all((folder / v["name"]).exists() for v in victims[:-1])
    assert (folder / (local.load_remote(a.store, "usb").head or "")).exists()
    # And a new device still gets everything.
    c, _ = remote.clone(folder.as_uri(), tmp_path / "c", NEW, name="usb")
    try:
        assert replica_digest(c) == replica_digest(a)
    finally:
        c.close()


def test_a_revoked_devices_blobs_leave_the_remote(revoked: tuple[Vault, Vault, Path]) -> None:
    """What the revoked device uploaded (its blob objects too) is deleted: only what the
    live devices list stays."""
    a, lost, folder = revoked
    lost_state = local.load_remote(lost.store, "usb")
    vid = lost.store.ring.vault_id
    store = FolderStore(folder)
    lost_blobs = {
        str(meta["name"])
        for seg in lost_state.segments
        for meta, _ in decode_entries(
            objects.open_bytes(bytes.fromhex(seg["key"]), vid, seg["name"], store.get(seg["name"]))
            if (folder / seg["name"]).exists()
            else encode_entries([])
        )
        if meta.get("o") == "blob"
    } | {b["name"] for b in lost_state.blobs.values()}
    assert lost_blobs  # the lost device had uploaded a file
    remote.sync(a, passphrase=NEW)
    assert not any((folder / n).exists() for n in lost_blobs)
    assert {p.name for p in folder.iterdir()} == referenced(a, folder.parent)


def test_a_thief_cannot_revoke_a_live_device_or_claim_it_was_withheld(tmp_path: Path) -> None:
    """With the old keys, the thief names the revoker as revoked and claims to have seen
    more of it than the remote shows: a device that followed the revocation (and so still
    recognises heads named under the old root) ignores both."""
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    identities.add_persona(a, "Me", [])
    remote.sync(a)
    b, _ = remote.clone(folder.as_uri(), tmp_path / "b", PASSPHRASE, name="usb")
    lost, _ = remote.clone(folder.as_uri(), tmp_path / "lost", PASSPHRASE, name="usb")
    try:
        remote.sync(a)
        remote.revoke_device(a, device_id(lost), NEW, kdf="minimum")
        remote.sync(a, passphrase=NEW)
        b.change_passphrase(NEW, kdf="minimum")
        remote.sync(b, passphrase=NEW)
        remote.sync(a, passphrase=NEW)
        a_id = device_id(a)
        forge(lost, folder, device="ab" * 16, counter=1, revoked=[a_id], seen={a_id: 10**6})
        remote.sync(b, passphrase=NEW)  # no RemoteWithheld, and a is not revoked
        assert not next(d for d in remote.devices(b) if d["id"] == a_id)["revoked"]
        content.add(a, io.BytesIO(b"later"), content.ItemMeta(title="Later"),
                    persona=identities.list_personas(a)[0].id)  # fmt: skip
        remote.sync(a, passphrase=NEW)
        remote.sync(b, passphrase=NEW)
        assert replica_digest(b) == replica_digest(a)
    finally:
        for v in (a, b, lost):
            v.close()


def test_a_blob_the_revoked_device_only_announced_again_stays(tmp_path: Path) -> None:
    """A snapshot names every blob its records need, its device's own or not: once that device
    is revoked, a blob object a live device uploaded is not its to delete."""
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    doomed = content.add(a, io.BytesIO(b"x"), content.ItemMeta(title="X"), persona=persona.id)
    remote.sync(a)
    b, _ = remote.clone(folder.as_uri(), tmp_path / "b", PASSPHRASE, name="usb")
    lost, _ = remote.clone(folder.as_uri(), tmp_path / "lost", PASSPHRASE, name="usb")
    try:
        content.add(b, io.BytesIO(b"b's file " * 500), content.ItemMeta(title="B"),
                    persona=persona.id)  # fmt: skip
        remote.sync(b)
        remote.sync(a)
        remote.sync(lost)
        forget.forget(lost, forget.Target.of_content(doomed.id))
        remote.sync(lost)  # its snapshot names b's blob object again
        remote.sync(a)
        remote.revoke_device(a, device_id(lost), NEW, kdf="minimum")
        remote.sync(a, passphrase=NEW)
        listed = referenced(b, tmp_path)
        assert all((folder / n).exists() for n in listed)
        b.change_passphrase(NEW, kdf="minimum")
        remote.sync(b, passphrase=NEW)
        remote.sync(a, passphrase=NEW)
        c, _ = remote.clone(folder.as_uri(), tmp_path / "c", NEW, name="usb")
        try:
            assert replica_digest(c) == replica_digest(a) == replica_digest(b)
        finally:
            c.close()
    finally:
        for v in (a, b, lost):
            v.close()
