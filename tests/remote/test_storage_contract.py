"""The object-store contract, run against both engines: a folder, and a real S3 server.

What the sync engine relies on: objects are read back as written, replaced whole, listed with
their sizes (however many there are), names of other shapes are not ours, a missing object is
the remote's fault, and a put that fails leaves the object as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import obstore
import pytest

from vault.core.errors import InvalidParameter, TamperedRemote
from vault.remote.s3 import S3Store
from vault.remote.storage import BOOTSTRAP, READ_PIECE, FolderStore, ObjectStore


def name() -> str:
    return secrets.token_hex(16)


def object_folder(store: ObjectStore, s3_root: Path | None) -> Path:
    """The folder on this machine that holds the store's objects (a bucket is a folder)."""
    if isinstance(store, FolderStore):
        return store.root
    assert isinstance(store, S3Store) and s3_root is not None
    return s3_root / store.location.bucket / store.location.prefix


@pytest.fixture
def s3_root(request: pytest.FixtureRequest) -> Path | None:
    if "s3_store" not in request.fixturenames:
        return None
    server = request.getfixturevalue("s3_server")
    root: Path = server.root
    return root


@pytest.fixture
def plant(store: ObjectStore, request: pytest.FixtureRequest) -> Callable[[str, bytes], None]:
    """Write a file of any name beside the objects, as someone else would (for S3, through
    the server: it serves what it wrote, not files put in its folder behind its back)."""
    if isinstance(store, FolderStore):

        def to_folder(path: str, data: bytes) -> None:
            target = store.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

        return to_folder
    raw = request.getfixturevalue("s3_raw")
    return lambda path, data: obstore.put(raw, path, data)


def test_an_object_is_read_back_as_written_and_listed_with_its_size(store: ObjectStore) -> None:
    a, b = name(), name()
    store.put(a, b"first object")
    store.put(b, b"")
    store.put(BOOTSTRAP, b"bootstrap")
    assert store.get(a) == b"first object"
    assert store.get(b) == b""
    assert b"".join(store.stream(BOOTSTRAP)) == b"bootstrap"
    assert store.list() == {a: len(b"first object"), b: 0, BOOTSTRAP: len(b"bootstrap")}


def test_the_objects_live_as_plain_files_under_the_prefix(
    store: ObjectStore, s3_root: Path | None
) -> None:
    """Where the bytes are: the server's folder (or the remote folder) holds them unchanged."""
    n, data = name(), os.urandom(3000)
    store.put(n, data)
    assert (object_folder(store, s3_root) / n).read_bytes() == data


def test_a_put_replaces_the_object_whole(store: ObjectStore) -> None:
    n = name()
    store.put(n, os.urandom(2 * READ_PIECE))
    store.put(n, b"short")
    assert store.get(n) == b"short"
    assert store.list() == {n: 5}


def test_an_iterable_is_written_as_its_pieces_joined(store: ObjectStore) -> None:
    n = name()
    pieces = [os.urandom(size) for size in (1, 0, 70_000, 3)]
    store.put(n, iter(pieces))
    assert store.get(n) == b"".join(pieces)


def test_a_large_object_streams_in_several_pieces(store: ObjectStore) -> None:
    n, data = name(), os.urandom(READ_PIECE * 5 // 2)
    store.put(n, data)
    pieces = list(store.stream(n))
    assert len(pieces) >= 2
    assert b"".join(pieces) == data


def test_a_large_object_from_an_iterator_is_written_whole(store: ObjectStore) -> None:
    """Larger than one part of a multipart upload, so the S3 engine uploads it in parts."""
    pieces = [os.urandom(READ_PIECE) for _ in range(12)]
    n = name()
    store.put(n, iter(pieces))
    assert store.list() == {n: 12 * READ_PIECE}
    assert store.get(n) == b"".join(pieces)


@pytest.mark.parametrize("size", [10, 12 * READ_PIECE])
def test_a_put_whose_data_fails_leaves_the_old_object(store: ObjectStore, size: int) -> None:
    """The caller's own error comes out as itself, and nothing of the new object is kept."""
    n = name()
    store.put(n, b"old")

    class Interrupted(Exception):
        pass

    def failing() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            yield os.urandom(min(READ_PIECE, size - sent))
            sent += READ_PIECE
        raise Interrupted

    with pytest.raises(Interrupted):
        store.put(n, failing())
    assert store.get(n) == b"old"
    assert store.list() == {n: 3}


def test_delete_removes_and_forgets_a_missing_object(store: ObjectStore) -> None:
    a, b = name(), name()
    store.put(a, b"a")
    store.put(b, b"b")
    store.delete(a)
    store.delete(a)
    store.delete(name())
    assert store.list() == {b: 1}


def test_a_missing_object_is_the_remotes_fault(store: ObjectStore) -> None:
    with pytest.raises(TamperedRemote, match="missing"):
        store.get(name())
    with pytest.raises(TamperedRemote, match="missing"):
        list(store.stream(name()))


@pytest.mark.parametrize("bad", ["../" + "a" * 32, "A" * 32, "a" * 31, "", "coffre/x", "x/.."])
def test_only_object_names_are_accepted(store: ObjectStore, bad: str) -> None:
    for call in (store.get, store.delete, lambda n: store.put(n, b"x")):
        with pytest.raises(InvalidParameter):
            call(bad)
    with pytest.raises(InvalidParameter):
        list(store.stream(bad))


def test_names_of_other_shapes_are_not_listed(
    store: ObjectStore, plant: Callable[[str, bytes], None]
) -> None:
    """Files someone else put beside the objects (a sync tool's, a user's) are not ours."""
    ours = name()
    store.put(ours, b"ours")
    strangers = [
        ours.upper(),
        ours[:-1],
        ours + "0",
        f"{ours}.tmp",
        "coffre.bak",
        "Coffre",
        ".DS_Store",
    ]
    for stranger in [*strangers, f"sub/{name()}", f"{BOOTSTRAP}/{name()}"]:
        plant(stranger, b"not ours")
    assert store.list() == {ours: 4}


@pytest.mark.slow
def test_listing_pages_through_many_objects(store: ObjectStore) -> None:
    """More objects than one S3 list page (1,000) holds."""
    expected = {}
    for i in range(1100):
        n = name()
        data = i.to_bytes(2, "big") * (i % 3)
        store.put(n, data)
        expected[n] = len(data)
    assert len(expected) == 1100
    assert store.list() == expected
