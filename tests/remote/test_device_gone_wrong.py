"""A device gone wrong (malicious or buggy) holds the remote's keys: it is trusted for the
content it writes, but it cannot make another device change its own device-local records or
inflate a record into more memory than any record may take."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.remote.test_revoked_device import device_id, forge
from vault import content, forget, remote
from vault import personas as identities
from vault.core import crypto
from vault.core.errors import TamperedRemote
from vault.core.records import pack_envelope
from vault.core.vault import Vault
from vault.forget.apply import SHRED_KIND
from vault.remote import engine, local
from vault.remote.remotes import replica_digest
from vault.remote.storage import FolderStore


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Vault, Vault, Path]]:
    """`a` forgot an item and synced; `bad` is another device of the vault, in step."""
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    item = content.add(a, io.BytesIO(b"# gone\n"), content.ItemMeta(title="Gone"),
                       persona=persona.id)  # fmt: skip
    remote.sync(a)
    bad, _ = remote.clone(folder.as_uri(), tmp_path / "bad", PASSPHRASE, name="usb")
    forget.forget(a, forget.Target.of_content(item.id))
    remote.sync(a)
    remote.sync(bad)
    yield a, bad, folder
    a.close()
    bad.close()


def local_records(v: Vault) -> dict[str, set[str]]:
    return {
        kind: {r.id for r in v.store.iter_kind(kind)}
        for kind in (SHRED_KIND, local.DEVICE, local.STAMPS, local.REMOTE)
    }


def test_a_device_cannot_delete_another_devices_own_records(
    pair: tuple[Vault, Vault, Path],
) -> None:
    """The id of a forget note travels to every device (it says which forget was applied):
    a deletion naming it, or any device-local record, is refused."""
    a, bad, folder = pair
    before, digest = local_records(a), replica_digest(a)
    note = next(iter(before[SHRED_KIND]))
    for rid in [note, *before[local.REMOTE]]:
        deletion = {"o": "del", "id": rid, "c": [10**6, "cd" * 16], "f": 0}
        forge(bad, folder, device="cd" * 16, counter=1, entries=[(deletion, b"")])
        with pytest.raises(TamperedRemote):
            remote.sync(a)
        assert local_records(a) == before
        assert replica_digest(a) == digest
        for p in folder.iterdir():  # the forged head goes: a's next sync is clean again
            if p.name not in {local.load_remote(a.store, "usb").head, *_listed(a, bad)}:
                p.unlink()


def _listed(*vaults: Vault) -> set[str]:
    from tests.remote.test_sync import referenced

    return set().union(*(referenced(v, Path(v.path).parent) for v in vaults))


def test_a_decompression_bomb_in_a_record_is_refused(pair: tuple[Vault, Vault, Path]) -> None:
    """A record whose compressed body inflates past what any record may hold is refused
    before it is inflated whole."""
    a, bad, folder = pair
    digest = replica_digest(a)
    bomb = zlib.compress(bytes(engine.MAX_RECORD + 1), 9)
    envelope = pack_envelope("qs.chunk", b"", (), (), False)
    envelope = envelope[:1] + b"\x01" + envelope[2:] + bomb  # the compressed flag, the bomb
    rid = crypto.random_bytes(16).hex()
    forge(bad, folder, device="cd" * 16, counter=1,
          entries=[({"o": "put", "id": rid, "c": [10**6, "cd" * 16]}, envelope)])  # fmt: skip
    inflated: list[int] = []
    original = zlib.decompress

    def watched(data: bytes, *args: int) -> bytes:
        out = original(data, *args)
        inflated.append(len(out))
        return out

    zlib_module = engine.zlib if hasattr(engine, "zlib") else zlib
    pytest.MonkeyPatch.context  # noqa: B018 - keeps the import of pytest's helpers explicit
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zlib_module, "decompress", watched)
        with pytest.raises(TamperedRemote):
            remote.sync(a)
    assert all(n <= engine.MAX_RECORD for n in inflated)
    assert replica_digest(a) == digest


def test_a_segment_larger_than_any_the_engine_writes_is_refused_unread(
    pair: tuple[Vault, Vault, Path],
) -> None:
    """A device lists a segment of any size it likes (a sparse file here): one past what a
    segment can hold is refused before it is read into memory."""
    a, bad, folder = pair
    digest = replica_digest(a)
    name = crypto.random_bytes(16).hex()
    size = engine.MAX_SEGMENT + (1 << 20)
    with (folder / name).open("wb") as f:
        f.truncate(size)
    listed = {"name": name, "key": "00" * 32, "size": size, "seq": 1}
    forge(bad, folder, device="cd" * 16, counter=1, segments=[listed])
    opened: list[str] = []
    original = FolderStore.stream

    def watched(self: FolderStore, object_name: str) -> Iterator[bytes]:
        opened.append(object_name)
        return original(self, object_name)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(FolderStore, "stream", watched)
        with pytest.raises(TamperedRemote):
            remote.sync(a)
    assert name not in opened
    assert replica_digest(a) == digest


def test_a_head_in_another_devices_name_cannot_make_it_delete_a_third_devices_objects(
    pair: tuple[Vault, Vault, Path], tmp_path: Path
) -> None:
    """A device that writes a head in `a`'s name is trusted for content (`a` takes the head as
    its own), but the segments and blobs of a third device it lists there are not `a`'s to
    delete when `a` rewrites its objects."""
    a, bad, folder = pair
    c, _ = remote.clone(folder.as_uri(), tmp_path / "c", PASSPHRASE, name="usb")
    try:
        persona = identities.list_personas(c)[0].id
        content.add(c, io.BytesIO(b"c's file " * 500), content.ItemMeta(title="C"),
                    persona=persona)  # fmt: skip
        remote.sync(c)
        remote.sync(a)
        state = local.load_remote(c.store, "usb")
        assert state.blobs
        blobs = [
            ({"o": "blob", "id": crypto.random_bytes(16).hex(), **b}, b"")
            for b in state.blobs.values()
        ]
        victims = [*state.segments, *(meta for meta, _ in blobs)]
        mine = local.load_remote(a.store, "usb")
        forge(bad, folder, device=device_id(a), counter=mine.counter + 1,
              segments=[*mine.segments, *state.segments], entries=blobs)  # fmt: skip
        remote.sync(a)  # taken as a's own
        item = content.add(a, io.BytesIO(b"soon gone"), content.ItemMeta(title="Soon"),
                           persona=persona)  # fmt: skip
        remote.sync(a)
        forget.forget(a, forget.Target.of_content(item.id))
        remote.sync(a)  # a rewrites its objects
        assert all((folder / v["name"]).exists() for v in victims)
    finally:
        c.close()
