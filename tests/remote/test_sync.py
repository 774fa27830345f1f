"""Sync between devices through a folder remote: convergence, merges, forgets that reach the
copies, and restores with `clone`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.builders import HOURS, MARK, _csv, build_world
from tests.conftest import PASSPHRASE
from tests.remote.conftest import BUCKET
from vault import content, forget, remote
from vault import personas as identities
from vault.core.errors import TamperedRemote
from vault.core.vault import Vault
from vault.data.csvfmt import import_csv_text
from vault.data.query import samples as query_samples
from vault.remote import local, objects, storage
from vault.remote.remotes import replica_digest
from vault.remote.s3 import S3Location


@dataclass(frozen=True)
class Where:
    """A remote: its URL, the credentials it takes, and the folder holding its bytes."""

    url: str
    credentials: dict[str, Any] | None
    folder: Path


WHERE: dict[Path, Where] = {}


@pytest.fixture(params=["folder", "s3"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A working folder; its remote is a plain folder, or a bucket on a real S3 server."""
    if request.param == "folder":
        folder = tmp_path / "remote"
        folder.mkdir()
        WHERE[tmp_path] = Where(folder.as_uri(), None, folder)
    else:
        server = request.getfixturevalue("s3_server")
        prefix, folder = request.getfixturevalue("s3_prefix")
        keys = request.getfixturevalue("s3_keys")
        url = S3Location(BUCKET, prefix, server.endpoint).url()
        WHERE[tmp_path] = Where(url, keys.to_dict(), folder)
    return tmp_path


@pytest.fixture
def first(place: Path) -> Iterator[Vault]:
    v = Vault.create(place / "a", PASSPHRASE, kdf="minimum")
    where = WHERE[place]
    remote.add_remote(v, "usb", where.url, credentials=where.credentials)
    yield v
    v.close()


def clone(place: Path, name: str) -> Vault:
    where = WHERE[place]
    v, _report = remote.clone(where.url, place / name, PASSPHRASE, credentials=where.credentials)
    return v


def sync_all(*vaults: Vault, rounds: int = 2) -> None:
    for _ in range(rounds):
        for v in vaults:
            remote.sync(v, passphrase=PASSPHRASE)


def counts(v: Vault) -> dict[str, int]:
    """Rows per table; each device's audit log also holds its own entries (its creation)."""
    found: dict[str, int] = v.status()["counts"]
    return {k: n for k, n in found.items() if k != "audit_entries"}


def remote_objects(place: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in WHERE[place].folder.iterdir()}


def test_a_clone_equals_the_original(place: Path, first: Vault) -> None:
    build_world(first, place)
    (report,) = remote.sync(first)
    assert report.created and report.pushed > 0
    second = clone(place, "b")
    try:
        assert replica_digest(second) == replica_digest(first)
        assert counts(second) == counts(first)
        # Media arrive whole and open: every item's body reads back the same.
        for item in content.list_items(first):
            assert b"".join(content.read(second, item.id)) == b"".join(content.read(first, item.id))
        # Every entry of the original is in the clone's log, whose chain verifies.
        theirs = [(e.time, e.action) for e in second.audit_log() if "device" in e.details]
        assert theirs == [(e.time, e.action) for e in first.audit_log()]
        assert {e.action for e in second.audit_log()} >= {"vault.clone", "content.add"}
    finally:
        second.close()


def test_changes_flow_both_ways(place: Path, first: Vault) -> None:
    world = build_world(first, place)
    remote.sync(first)
    second = clone(place, "b")
    try:
        content.add(
            second, io.BytesIO(b"# From the laptop\n"), content.ItemMeta(title="Laptop"),
            persona=world.persona.id,
        )  # fmt: skip
        identities.update_persona(first, world.persona.id, name="Work self")
        sync_all(second, first)
        assert replica_digest(second) == replica_digest(first)
        titles = {i.title for i in content.list_items(first)}
        assert "Laptop" in titles
        assert identities.get_persona(second, world.persona.id).name == "Work self"
    finally:
        second.close()


def test_two_devices_importing_into_one_day_keep_both(place: Path, first: Vault) -> None:
    persona = identities.add_persona(first, "Me", [])
    remote.sync(first)
    second = clone(place, "b")
    try:
        day = ["2026-10-10"]
        # Different readings of the same day, one import on each device before any sync.
        import_csv_text(first, persona.id, _csv("heart_rate", "/min", 60, day))
        import_csv_text(second, persona.id, _csv("heart_rate", "/min", 90, day))
        expected = {60.0 + h for h in HOURS} | {90.0 + h for h in HOURS}
        sync_all(first, second)
        for v in (first, second):
            values = [s.value for s in query_samples(v, persona.id, "heart_rate")]
            assert sorted(values) == sorted(expected)
        assert replica_digest(second) == replica_digest(first)
        cat_a = json.dumps(remote_devices_view(first), sort_keys=True)
        assert "heart_rate" not in cat_a  # device listings say nothing of content
    finally:
        second.close()


def remote_devices_view(v: Vault) -> list[dict[str, object]]:
    return remote.devices(v)


def test_a_forget_reaches_the_other_device_and_the_remote(place: Path, first: Vault) -> None:
    world = build_world(first, place)
    secret = b"The forgotten paragraph nobody must read again"
    item = content.add(
        first, io.BytesIO(secret), content.ItemMeta(title="Regret"), persona=world.persona.id
    )
    remote.sync(first)
    second = clone(place, "b")
    try:
        assert any(i.id == item.id for i in content.list_items(second))
        blob_file = second.store.blobs.path(content.get_version(second, item.id).body.id)
        sealed = blob_file.read_bytes()
        forget.forget(first, forget.Target.of_content(item.id))
        remote.sync(first)
        pending = [d for d in remote.devices(first) if not d["this"]]
        assert pending and pending[0]["pending_forgets"] == 1
        remote.sync(second)
        assert all(i.id != item.id for i in content.list_items(second))
        remote.sync(first)
        assert all(d["pending_forgets"] == 0 for d in remote.devices(first))
        assert replica_digest(second) == replica_digest(first)
        # Every object left on the remote, opened with every key the devices hold, is free
        # of the forgotten text; and no file of the second device holds it in clear.
        assert secret not in b"".join(open_everything(first, place))
        assert set(remote_objects(place)) == referenced(first, place)
        assert not blob_file.exists()
        for path in (place / "b").rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert secret not in data
                assert sealed[:64] not in data  # nor its sealed bytes
    finally:
        second.close()


def remote_contents(v: Vault, place: Path) -> Iterator[tuple[str, bytes]]:
    """Every object the live heads reach, by name, opened with the keys a device holds: the
    heads, the segments they list and the blobs those name (the bootstrap is plaintext)."""
    from vault.remote.engine import decode_entries

    state = local.load_remote(v.store, "usb")
    assert state.pkey and state.root
    vid = v.store.ring.vault_id
    names_key = objects.names_key(bytes.fromhex(state.root), vid)
    wrap = objects.head_wrap_key(bytes.fromhex(state.pkey), vid)
    folder = storage.FolderStore(WHERE.get(place, Where("", None, place / "remote")).folder)
    present = folder.list()
    for name in present:
        if not objects.is_head_name(names_key, name):
            continue
        payload = objects.open_head(wrap, vid, name, folder.get(name))
        assert payload is not None
        yield name, payload
        for seg in json.loads(payload)["segments"]:
            body = objects.open_bytes(
                bytes.fromhex(seg["key"]), vid, seg["name"], folder.get(seg["name"])
            )
            yield seg["name"], body
            for meta, _ in decode_entries(body):
                if meta.get("o") == "blob" and meta["name"] in present:
                    blob = folder.get(meta["name"])
                    yield (
                        meta["name"],
                        objects.open_bytes(bytes.fromhex(meta["key"]), vid, meta["name"], blob),
                    )


def open_everything(v: Vault, place: Path) -> Iterator[bytes]:
    """Every payload the remote holds, decrypted with the keys a device has."""
    return (payload for _name, payload in remote_contents(v, place))


def referenced(v: Vault, place: Path) -> set[str]:
    """The bootstrap, the live heads and every object they list: nothing else may remain."""
    return {storage.BOOTSTRAP} | {name for name, _payload in remote_contents(v, place)}


def test_samples_added_to_a_day_another_device_folded_away_are_kept(
    place: Path, first: Vault
) -> None:
    """Both devices start the same day (two chunks for one day); one device folds the other's
    chunk into its own and deletes it, while the other adds samples to the chunk being
    folded away: those samples reach the survivor, on both devices."""
    from vault.data import catalog

    persona = identities.add_persona(first, "Me", []).id
    remote.sync(first)
    second = clone(place, "b")
    try:
        day = ["2026-10-10"]
        import_csv_text(first, persona, _csv("heart_rate", "/min", 60, day))
        import_csv_text(second, persona, _csv("heart_rate", "/min", 90, day))
        term = catalog.chunk_term(persona, "heart_rate", day[0])[1]
        (mine,) = first.store.find(catalog.KIND_CHUNK, "pmd", term)
        (theirs,) = second.store.find(catalog.KIND_CHUNK, "pmd", term)
        # The device whose chunk has the larger id loses it in the fold: let it add samples
        # after the other device folded, before it syncs again.
        loser, winner = (first, second) if mine.id > theirs.id else (second, first)
        remote.sync(loser)
        remote.sync(winner)  # folds the loser's chunk into its own and deletes it
        import_csv_text(loser, persona, _csv("heart_rate", "/min", 120, day))
        sync_all(loser, winner)
        expected = sorted(
            {60.0 + h for h in HOURS} | {90.0 + h for h in HOURS} | {120.0 + h for h in HOURS}
        )
        for v in (first, second):
            assert sorted(s.value for s in query_samples(v, persona, "heart_rate")) == expected
            assert len(v.store.find(catalog.KIND_CHUNK, "pmd", term)) == 1
        assert replica_digest(second) == replica_digest(first)
    finally:
        second.close()


def test_a_pull_downloads_before_it_holds_the_vault(
    place: Path, first: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments and blobs are read before the pull's transaction: another command can write
    to the vault while a large download runs, and a refused pull leaves no blob file."""
    import sqlite3

    persona = identities.add_persona(first, "Me", []).id
    remote.sync(first)
    second = clone(place, "b")
    try:
        content.add(
            first, io.BytesIO(b"x" * 300_000), content.ItemMeta(title="Film"), persona=persona
        )
        remote.sync(first)
        locked: list[bool] = []
        original = storage.FolderStore.stream

        def watching(self: storage.FolderStore, name: str) -> Iterator[bytes]:
            probe = sqlite3.connect(second.path / "vault.db", timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                locked.append(False)
            except sqlite3.OperationalError:
                locked.append(True)
            finally:
                probe.close()
            return original(self, name)

        if WHERE[place].credentials is None:  # the folder engine is the one watched here
            monkeypatch.setattr(storage.FolderStore, "stream", watching)
        (report,) = remote.sync(second)
        assert report.blobs_received == 1
        assert locked == [] or not any(locked)
        assert replica_digest(second) == replica_digest(first)
        # A blob changed on the remote: refused, and nothing of it stays in blobs/.
        monkeypatch.undo()
        content.add(
            first, io.BytesIO(b"y" * 300_000), content.ItemMeta(title="Two"), persona=persona
        )
        remote.sync(first)
        state = local.load_remote(first.store, "usb")
        (newest,) = [b["name"] for h, b in state.blobs.items() if h not in seen_blobs(second)]
        victim = WHERE[place].folder / newest
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 1
        victim.write_bytes(bytes(data))
        before = sorted(p.name for p in (second.path / "blobs").rglob("*") if p.is_file())
        with pytest.raises(TamperedRemote):
            remote.sync(second)
        assert sorted(p.name for p in (second.path / "blobs").rglob("*") if p.is_file()) == before
    finally:
        second.close()


def seen_blobs(v: Vault) -> set[str]:
    return {bytes(row[0]).hex() for row in v.store._query("SELECT id FROM blobs")}


def test_forgetting_everything_reaches_the_other_device(place: Path, first: Vault) -> None:
    build_world(first, place)
    remote.sync(first)
    second = clone(place, "b")
    try:
        assert content.list_items(second)
        forget.forget(first, forget.Target.everything())
        remote.sync(first)
        remote.sync(second)
        remote.sync(first)
        assert content.list_items(second) == []
        assert identities.list_personas(second) == []
        assert second.status()["counts"]["blobs"] == 0
        assert replica_digest(second) == replica_digest(first)
        assert set(remote_objects(place)) == referenced(first, place)
        # No object left, opened with every key, holds anything of what was forgotten.
        opened = b"".join(open_everything(first, place))
        assert MARK.encode() not in opened and b"Ada Lovelace" not in opened
    finally:
        second.close()
