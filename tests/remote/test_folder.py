"""The folder engine's defences: the folder may be shared, so what stands in it is untrusted."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from vault.core.errors import InvalidParameter, RemoteUnreachable, TamperedRemote
from vault.remote.storage import FolderStore, open_store


def test_a_link_planted_under_an_object_name_is_not_followed(
    folder_store: FolderStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"a file outside the remote")
    n = secrets.token_hex(16)
    (folder_store.root / n).symlink_to(outside)
    with pytest.raises(TamperedRemote, match="link") as caught:
        folder_store.get(n)
    assert str(outside) not in str(caught.value)
    with pytest.raises(TamperedRemote):
        list(folder_store.stream(n))
    assert folder_store.list() == {}
    assert outside.read_bytes() == b"a file outside the remote"


def test_a_folder_under_an_object_name_is_not_an_object(folder_store: FolderStore) -> None:
    n = secrets.token_hex(16)
    (folder_store.root / n).mkdir()
    assert folder_store.list() == {}
    with pytest.raises(TamperedRemote):
        folder_store.get(n)


def test_a_missing_folder_is_unreachable(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "unplugged-disk")
    with pytest.raises(RemoteUnreachable):
        store.list()
    with pytest.raises(RemoteUnreachable):
        store.put(secrets.token_hex(16), b"x")


def test_no_temporary_file_is_left_beside_the_objects(folder_store: FolderStore) -> None:
    n = secrets.token_hex(16)
    folder_store.put(n, iter([b"a", b"b"]))
    assert sorted(os.listdir(folder_store.root)) == [n]


@pytest.mark.parametrize(
    "url", ["file://host/srv/x", "file:relative", "file:///x?y=1", "ftp:///x", "/plain/path"]
)
def test_a_bad_folder_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidParameter):
        open_store(url)


def test_a_folder_url_opens_a_folder_store(tmp_path: Path) -> None:
    store = open_store((tmp_path / "r").as_uri())
    assert isinstance(store, FolderStore)
    assert store.root == tmp_path / "r"


@pytest.mark.parametrize("plant", ["hard link", "symbolic link"])
def test_a_link_planted_under_a_temporary_name_is_never_written_through(
    folder_store: FolderStore, tmp_path: Path, plant: str
) -> None:
    """Whoever can write the folder can guess the name an object is first written under (the
    object's name and this process's id): a file outside the remote linked there stays as it
    was, and the object is written all the same."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"a file outside the remote")
    n = secrets.token_hex(16)
    tmp = folder_store.root / f".tmp-{n}-{os.getpid()}"
    if plant == "hard link":
        os.link(outside, tmp)
    else:
        tmp.symlink_to(outside)
    folder_store.put(n, b"the object")
    assert outside.read_bytes() == b"a file outside the remote"
    assert folder_store.get(n) == b"the object"
