"""A remote that tampers with, truncates, swaps, deletes, rolls back or withholds objects is
caught, and nothing it served is applied."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from vault import content, remote
from vault import personas as identities
from vault.core.errors import (
    PassphraseChangedElsewhere,
    RemoteError,
    RemoteRolledBack,
    RemoteWithheld,
    TamperedRemote,
)
from vault.core.vault import Vault
from vault.remote import engine, local, objects, storage
from vault.remote.remotes import replica_digest


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Vault, Vault, Path]]:
    """Two devices of one vault, in step, and the remote's folder; then a change on the
    first that the second has not received."""
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    remote.sync(a)
    b, _ = remote.clone(folder.as_uri(), tmp_path / "b", PASSPHRASE, name="usb")
    remote.sync(a)
    content.add(a, io.BytesIO(b"# New\n" * 200), content.ItemMeta(title="New"), persona=persona.id)
    remote.sync(a)
    yield a, b, folder
    a.close()
    b.close()


def head_of(v: Vault) -> str:
    head = local.load_remote(v.store, "usb").head
    assert head
    return head


def segments_of(v: Vault) -> list[str]:
    return [s["name"] for s in local.load_remote(v.store, "usb").segments]


def refused_untouched(b: Vault, error: type[Exception], attack: Callable[[], None]) -> None:
    """After `attack`, a sync of `b` fails with `error` and `b` holds what it held."""
    before = replica_digest(b)
    attack()
    with pytest.raises(error):
        remote.sync(b, passphrase=PASSPHRASE)
    assert replica_digest(b) == before


def test_an_untampered_remote_syncs(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, _ = pair
    remote.sync(b)
    assert replica_digest(b) == replica_digest(a)


def test_a_changed_byte_is_caught(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    seg = folder / segments_of(a)[-1]

    def flip() -> None:
        data = bytearray(seg.read_bytes())
        data[len(data) // 2] ^= 1
        seg.write_bytes(bytes(data))

    refused_untouched(b, TamperedRemote, flip)


def test_a_truncated_or_extended_object_is_caught(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    seg = folder / segments_of(a)[-1]
    whole = seg.read_bytes()
    refused_untouched(b, TamperedRemote, lambda: seg.write_bytes(whole[:-100]))
    refused_untouched(b, TamperedRemote, lambda: seg.write_bytes(whole + b"\0" * 100))
    seg.write_bytes(whole)
    remote.sync(b)  # once put back, the sync goes through
    assert replica_digest(b) == replica_digest(a)


def test_objects_swapped_between_names_are_caught(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    first, last = (
        (folder / n for n in segments_of(a)[-2:]) if len(segments_of(a)) > 1 else (None, None)
    )
    if first is None or last is None:
        pytest.skip("needs two segments")
    one, two = first.read_bytes(), last.read_bytes()

    def swap() -> None:
        first.write_bytes(two)
        last.write_bytes(one)

    refused_untouched(b, TamperedRemote, swap)


def test_a_deleted_object_is_withholding(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    refused_untouched(b, RemoteWithheld, (folder / segments_of(a)[-1]).unlink)


def test_a_deleted_head_is_withholding(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    remote.sync(b)
    # b has seen a's head: the remote cannot make a disappear.
    a_head = local.load_remote(a.store, "usb").head
    assert a_head
    refused_untouched(b, RemoteWithheld, (folder / a_head).unlink)


def test_a_rolled_back_head_is_caught(pair: tuple[Vault, Vault, Path], tmp_path: Path) -> None:
    a, b, folder = pair
    remote.sync(b)
    old_head = local.load_remote(a.store, "usb").head
    assert old_head
    kept = tmp_path / "old-head"
    shutil.copy(folder / old_head, kept)
    content.add(a, io.BytesIO(b"later"), content.ItemMeta(title="Later"),
                persona=identities.list_personas(a)[0].id)  # fmt: skip
    remote.sync(a)
    remote.sync(b)  # b has now seen a's newer head

    def roll_back() -> None:
        (folder / head_of(a)).unlink()
        shutil.copy(kept, folder / old_head)

    refused_untouched(b, RemoteRolledBack, roll_back)
    with pytest.raises(RemoteRolledBack):  # and a notices its own head went back
        remote.sync(a)


def test_withholding_is_seen_through_another_devices_head(
    pair: tuple[Vault, Vault, Path], tmp_path: Path
) -> None:
    """A third device that never saw a's newer head learns of it from b's head."""
    a, b, folder = pair
    remote.sync(b)
    c, _ = remote.clone(folder.as_uri(), tmp_path / "c", PASSPHRASE, name="usb")
    try:
        old_head = local.load_remote(a.store, "usb").head
        assert old_head
        kept = tmp_path / "old"
        shutil.copy(folder / old_head, kept)
        content.add(a, io.BytesIO(b"newer"), content.ItemMeta(title="Newer"),
                    persona=identities.list_personas(a)[0].id)  # fmt: skip
        remote.sync(a)
        remote.sync(b)  # b's head now says it saw a's newer counter

        def withhold() -> None:
            (folder / head_of(a)).unlink()
            shutil.copy(kept, folder / old_head)

        refused_untouched(c, RemoteWithheld, withhold)
    finally:
        c.close()


def test_a_replaced_bootstrap_is_caught(pair: tuple[Vault, Vault, Path], tmp_path: Path) -> None:
    _a, b, folder = pair
    other = Vault.create(tmp_path / "other", PASSPHRASE, kdf="minimum")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    remote.add_remote(other, "x", elsewhere.as_uri())
    remote.sync(other)
    other.close()
    foreign = (elsewhere / storage.BOOTSTRAP).read_bytes()
    refused_untouched(b, RemoteError, lambda: (folder / storage.BOOTSTRAP).write_bytes(foreign))


def test_a_missing_bootstrap_is_withholding(pair: tuple[Vault, Vault, Path]) -> None:
    _a, b, folder = pair
    refused_untouched(b, RemoteWithheld, (folder / storage.BOOTSTRAP).unlink)


def test_planted_and_replayed_objects_change_nothing(pair: tuple[Vault, Vault, Path]) -> None:
    """Objects no head lists (junk, a copy of a segment under a new name) are never read."""
    a, b, folder = pair
    seg = folder / segments_of(a)[-1]
    (folder / ("0" * 32)).write_bytes(seg.read_bytes())
    (folder / ("f" * 32)).write_bytes(b"junk" * 1000)
    (folder / "README").write_text("not ours")
    remote.sync(b)
    assert replica_digest(b) == replica_digest(a)


def test_a_head_under_another_passphrase_is_refused(pair: tuple[Vault, Vault, Path]) -> None:
    a, b, folder = pair
    head = local.load_remote(a.store, "usb").head
    assert head
    name_key = objects.names_key(
        bytes.fromhex(local.load_remote(a.store, "usb").root or ""), a.store.ring.vault_id
    )
    planted = objects.head_name(name_key)
    data = objects.seal_head(b"\x01" * 32, a.store.ring.vault_id, planted, b"{}")
    refused_untouched(b, PassphraseChangedElsewhere, lambda: (folder / planted).write_bytes(data))


@pytest.mark.parametrize(
    "payload",
    [
        {"counter": "1"},
        {"segments": [{"name": "../escape", "key": "00" * 32, "size": 1, "seq": 1}]},
        {"seen": {"ab" * 16: -1}},
        {"revoked": "everyone"},
    ],
)
def test_a_head_with_fields_of_the_wrong_type_is_refused(
    pair: tuple[Vault, Vault, Path], payload: dict[str, object]
) -> None:
    """Even sealed with the real keys (a device gone wrong), a head is checked field by field."""
    a, b, folder = pair
    state = local.load_remote(a.store, "usb")
    assert state.root and state.pkey
    vid = a.store.ring.vault_id
    name = objects.head_name(objects.names_key(bytes.fromhex(state.root), vid))
    body = {"vault": vid.hex(), "device": "cd" * 16, "counter": 1, "segments": [], **payload}
    wrap = objects.head_wrap_key(bytes.fromhex(state.pkey), vid)
    data = objects.seal_head(wrap, vid, name, json.dumps(body).encode())
    refused_untouched(b, TamperedRemote, lambda: (folder / name).write_bytes(data))


def test_a_huge_head_or_bootstrap_is_refused_unread(
    pair: tuple[Vault, Vault, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head or the bootstrap grown past any size the engine writes (a sparse file here) is
    refused before it is read into memory."""
    a, b, folder = pair
    remote.sync(b)
    read: list[int] = []
    original = storage.FolderStore.stream

    def counted(self: storage.FolderStore, name: str) -> Iterator[bytes]:
        for piece in original(self, name):
            read.append(len(piece))
            yield piece

    monkeypatch.setattr(storage.FolderStore, "stream", counted)
    for name, limit in [(head_of(a), engine.MAX_HEAD), (storage.BOOTSTRAP, engine.MAX_BOOTSTRAP)]:
        target = folder / name
        kept = target.read_bytes()
        read.clear()

        def grow(target: Path = target, limit: int = limit) -> None:
            with target.open("r+b") as f:
                f.truncate(limit + (2 << 20))

        refused_untouched(b, TamperedRemote, grow)
        assert sum(read) <= limit + storage.READ_PIECE
        target.write_bytes(kept)
    remote.sync(b)
