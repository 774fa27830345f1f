"""The forget promise against a provider that keeps deleted objects: once every device has
synced, no device still holds a key that opens a retained copy of the forgotten data."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from tests.conftest import PASSPHRASE
from vault import content, forget, remote
from vault import personas as identities
from vault.core.errors import TamperedRemote
from vault.core.vault import Vault
from vault.remote import local, objects


def held_keys(v: Vault) -> list[bytes]:
    """Every object key the device keeps about the remote."""
    state = local.load_remote(v.store, "usb")
    entries = [*state.segments, *state.blobs.values(), *state.remote_blobs.values()]
    return [bytes.fromhex(str(e["key"])) for e in entries]


def test_no_device_keeps_a_key_to_a_forgotten_blob(tmp_path: Path) -> None:
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    secret = b"the paragraph to forget " * 100
    item = content.add(a, io.BytesIO(secret), content.ItemMeta(title="Regret"),
                       persona=persona.id)  # fmt: skip
    remote.sync(a)
    b, _ = remote.clone(folder.as_uri(), tmp_path / "b", PASSPHRASE, name="usb")
    try:
        kept = tmp_path / "kept"  # what a provider with versioning still holds
        shutil.copytree(folder, kept)
        forget.forget(b, forget.Target.of_content(item.id))
        remote.sync(b)
        remote.sync(a)
        remote.sync(b)
        assert all(d["pending_forgets"] == 0 for d in remote.devices(b))
        vid = a.store.ring.vault_id
        opened = []
        for v in (a, b):
            for key in held_keys(v):
                for old in kept.iterdir():
                    try:
                        opened.append(objects.open_bytes(key, vid, old.name, old.read_bytes()))
                    except TamperedRemote:
                        continue
        assert all(secret[:40] not in p for p in opened)
    finally:
        a.close()
        b.close()
