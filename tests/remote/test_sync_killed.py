"""A sync killed at any point (SIGKILL, no cleanup) leaves the vault as it was before a step,
and the next sync completes: nothing lost, nothing left behind on the remote."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.remote.test_sync import referenced
from tests.remote.test_sync_keys import setup as two_devices
from vault import content, forget, remote
from vault import personas as identities
from vault.core.vault import Vault
from vault.remote.remotes import replica_digest

# Runs one sync in a child process that kills itself at the N-th call of a store method.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from vault import remote
    from vault.core.vault import Vault
    from vault.remote import storage

    path, method, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = 0
    original = getattr(storage.FolderStore, method)

    def dying(self, *args, **kwargs):
        global calls
        calls += 1
        if calls == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *args, **kwargs)

    setattr(storage.FolderStore, method, dying)
    vault = Vault.open(path, os.environ["COFFRE_TEST_PASSPHRASE"])
    remote.sync(vault, passphrase=os.environ["COFFRE_TEST_PASSPHRASE"])
    print("finished")
    """
)


def sync_killed(path: Path, method: str, n: int) -> bool:
    """Run a sync of the vault at `path` killed at call `n` of `method`; True if it died."""
    env = {**os.environ, "COFFRE_TEST_PASSPHRASE": PASSPHRASE, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), method, str(n)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode == -signal.SIGKILL:
        return True
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return False


# A push writes the blob, then the segment, then the head.
@pytest.mark.parametrize("n", [1, 2, 3])
def test_killed_while_pushing(tmp_path: Path, n: int) -> None:
    a, b, folder = two_devices(tmp_path)
    persona = identities.list_personas(a)[0].id
    content.add(a, io.BytesIO(b"x" * 300_000), content.ItemMeta(title="Big"), persona=persona)
    before = replica_digest(a)
    a.close()
    died = sync_killed(tmp_path / "a", "put", n)
    a = Vault.open(tmp_path / "a", PASSPHRASE)  # opens: every check passes
    try:
        assert replica_digest(a) == before  # a push changes no record
        remote.sync(a)
        remote.sync(b)
        assert replica_digest(b) == replica_digest(a)
        remote.sync(a)  # a's next sync clears what the killed one left
        assert set(p.name for p in folder.iterdir()) == referenced(a, tmp_path) | referenced(
            b, tmp_path
        )
        assert died
    finally:
        a.close()
        b.close()


# A pull reads the bootstrap, the heads, the segment, then the blob (inside the transaction).
@pytest.mark.parametrize("n", [1, 3, 4, 5])
def test_killed_while_pulling(tmp_path: Path, n: int) -> None:
    a, b, _folder = two_devices(tmp_path)
    persona = identities.list_personas(a)[0].id
    content.add(a, io.BytesIO(b"y" * 300_000), content.ItemMeta(title="Big"), persona=persona)
    remote.sync(a)
    before = replica_digest(b)
    b.close()
    died = sync_killed(tmp_path / "b", "stream", n)
    b = Vault.open(tmp_path / "b", PASSPHRASE)
    try:
        assert died
        assert replica_digest(b) == before  # nothing of the interrupted pull was kept
        remote.sync(b)
        assert replica_digest(b) == replica_digest(a)
    finally:
        a.close()
        b.close()


# A sync after a forget rewrites the device's objects: it writes the snapshot's segment and
# its head, notes the new state, then deletes the old head, segments and blobs.
@pytest.mark.parametrize(("method", "n"), [("put", 2), ("delete", 1), ("delete", 2)])
def test_killed_while_compacting_after_a_forget(tmp_path: Path, method: str, n: int) -> None:
    """Whatever the kill, the next sync deletes every old object: none is left on the remote
    holding the forgotten data."""
    a, b, folder = two_devices(tmp_path)
    persona = identities.list_personas(a)[0].id
    secret = b"forget me " * 3000
    item = content.add(a, io.BytesIO(secret), content.ItemMeta(title="Gone"), persona=persona)
    content.add(a, io.BytesIO(b"kept"), content.ItemMeta(title="Kept"), persona=persona)
    remote.sync(a)
    remote.sync(b)
    forget.forget(a, forget.Target.of_content(item.id))
    a.close()
    died = sync_killed(tmp_path / "a", method, n)
    a = Vault.open(tmp_path / "a", PASSPHRASE)
    try:
        assert died
        remote.sync(a)
        remote.sync(b)
        remote.sync(a)
        assert replica_digest(b) == replica_digest(a)
        assert set(p.name for p in folder.iterdir()) == referenced(a, tmp_path) | referenced(
            b, tmp_path
        )
    finally:
        a.close()
        b.close()
