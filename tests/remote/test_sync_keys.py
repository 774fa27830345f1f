"""The remote's keys over time: a passphrase changed on one device, a recovery kit made
after the first sync, and a vault restored from the remote with the kit alone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from vault import content, remote
from vault import personas as identities
from vault.core.errors import PassphraseChangedElsewhere, WrongRecoveryCode
from vault.core.vault import Vault
from vault.remote import local
from vault.remote.engine import Bootstrap
from vault.remote.remotes import replica_digest
from vault.remote.storage import BOOTSTRAP, FolderStore

NEW = "a brand new passphrase for every device"


def setup(tmp_path: Path) -> tuple[Vault, Vault, Path]:
    folder = tmp_path / "remote"
    folder.mkdir()
    a = Vault.create(tmp_path / "a", PASSPHRASE, kdf="minimum")
    remote.add_remote(a, "usb", folder.as_uri())
    persona = identities.add_persona(a, "Me", [])
    content.add(a, io.BytesIO(b"# kept\n"), content.ItemMeta(title="Kept"), persona=persona.id)
    remote.sync(a)
    b, _ = remote.clone(folder.as_uri(), tmp_path / "b", PASSPHRASE, name="usb")
    return a, b, folder


def bootstrap(folder: Path) -> Bootstrap:
    return Bootstrap.parse(FolderStore(folder).get(BOOTSTRAP))


def test_a_passphrase_change_reaches_the_remote_and_the_other_devices(tmp_path: Path) -> None:
    a, b, folder = setup(tmp_path)
    try:
        generation = bootstrap(folder).generation
        a.change_passphrase(NEW, kdf="minimum")
        remote.sync(a, passphrase=NEW)
        boot = bootstrap(folder)
        assert boot.generation == generation + 1
        assert boot.open_root(boot.passphrase_key(PASSPHRASE)) is None  # the old one is out
        assert boot.open_root(boot.passphrase_key(NEW)) is not None
        content.add(a, io.BytesIO(b"after"), content.ItemMeta(title="After"),
                    persona=identities.list_personas(a)[0].id)  # fmt: skip
        remote.sync(a, passphrase=NEW)
        with pytest.raises(PassphraseChangedElsewhere):
            remote.sync(b, passphrase=PASSPHRASE)
        b.change_passphrase(NEW, kdf="minimum")
        remote.sync(b, passphrase=NEW)
        remote.sync(a, passphrase=NEW)
        assert replica_digest(b) == replica_digest(a)
        # And a new device now needs the new passphrase.
        c, _ = remote.clone(folder.as_uri(), tmp_path / "c", NEW, name="usb")
        assert replica_digest(c) == replica_digest(a)
        c.close()
    finally:
        a.close()
        b.close()


def test_the_recovery_kit_restores_the_vault_from_the_remote(tmp_path: Path) -> None:
    a, b, folder = setup(tmp_path)
    try:
        assert bootstrap(folder).recovery is None
        kit = a.make_recovery_kit([folder.as_uri()])
        remote.sync(a)  # the remote learns of the kit (its public key, sealed)
        assert bootstrap(folder).recovery is not None
        remote.sync(b)  # b seals its head to the kit too
        remote.sync(a)
        # Every device and passphrase lost: the kit and the remote are enough.
        with pytest.raises(WrongRecoveryCode):
            remote.clone(folder.as_uri(), tmp_path / "x", NEW, recovery_code=other_code(a))
        assert not (tmp_path / "x").exists()
        c, report = remote.clone(folder.as_uri(), tmp_path / "c", NEW, recovery_code=kit.code)
        try:
            assert report.pulled > 0
            assert replica_digest(c) == replica_digest(a)
        finally:
            c.close()
        # The remote now opens with the new passphrase; the others must follow it.
        boot = bootstrap(folder)
        assert boot.open_root(boot.passphrase_key(NEW)) is not None
        with pytest.raises(PassphraseChangedElsewhere):
            remote.sync(a, passphrase=PASSPHRASE)
    finally:
        a.close()
        b.close()


def other_code(v: Vault) -> str:
    """A well-formed code of another kit (made on a throwaway vault)."""
    path = v.path.parent / "throwaway"
    with Vault.create(path, PASSPHRASE, kdf="minimum") as other:
        return other.make_recovery_kit().code


def test_a_revoked_device_reads_nothing_written_afterwards(tmp_path: Path) -> None:
    a, b, folder = setup(tmp_path)
    lost, _ = remote.clone(
        folder.as_uri(), tmp_path / "lost", PASSPHRASE, name="usb", device_name="Lost phone"
    )
    try:
        sync_each(a, b)
        lost_id = next(d["id"] for d in remote.devices(a) if d["name"] == "Lost phone")
        lost_head = local.load_remote(lost.store, "usb").head
        shown = remote.revoke_device(a, "Lost phone", NEW, kdf="minimum")
        assert shown["id"] == lost_id
        remote.sync(a, passphrase=NEW)
        assert lost_head and not (folder / lost_head).exists()  # its objects left the remote
        secret = b"written after the revocation"
        content.add(a, io.BytesIO(secret), content.ItemMeta(title="After"),
                    persona=identities.list_personas(a)[0].id)  # fmt: skip
        remote.sync(a, passphrase=NEW)
        # The lost device, with everything it held, opens nothing new.
        with pytest.raises(PassphraseChangedElsewhere):
            remote.sync(lost, passphrase=PASSPHRASE)
        assert all(i.title != "After" for i in content.list_items(lost))
        # The other device follows with the new passphrase and ignores the lost one.
        b.change_passphrase(NEW, kdf="minimum")
        remote.sync(b, passphrase=NEW)
        remote.sync(a, passphrase=NEW)
        assert replica_digest(b) == replica_digest(a)
        assert any(i.title == "After" for i in content.list_items(b))
        revoked = [d for d in remote.devices(b) if d["id"] == lost_id]
        assert revoked and revoked[0]["revoked"]
    finally:
        for v in (a, b, lost):
            v.close()


def sync_each(*vaults: Vault) -> None:
    for _ in range(2):
        for v in vaults:
            remote.sync(v)


def test_one_sync_of_a_vault_at_a_time(tmp_path: Path) -> None:
    """Two syncs of one device at once would write two heads with one counter: the second
    waits its turn (exit 10), and a link planted as the lock file is refused."""
    from vault.core.errors import UnsafeVaultFile, VaultBusy
    from vault.remote.engine import LOCK_NAME, _one_sync_at_a_time

    a, b, _folder = setup(tmp_path)
    try:
        with _one_sync_at_a_time(a.path), pytest.raises(VaultBusy):
            remote.sync(a)
        remote.sync(a)  # the lock went with the first
        (b.path / LOCK_NAME).unlink()
        (b.path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
        with pytest.raises(UnsafeVaultFile):
            remote.sync(b)
        assert not (tmp_path / "elsewhere").exists()
    finally:
        a.close()
        b.close()


def test_a_revocation_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new passphrase and the revocation land in one transaction: if the revocation
    fails, the old passphrase still opens the vault and no device is revoked."""
    a, b, _folder = setup(tmp_path)
    try:
        remote.sync(a)

        def broken(*_args: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(local, "save_remote", broken)
        with pytest.raises(OSError):
            remote.revoke_device(a, b_name(b), NEW, kdf="minimum")
        monkeypatch.undo()
        a.close()
        a = Vault.open(tmp_path / "a", PASSPHRASE)  # the old passphrase still opens it
        assert not any(d["revoked"] for d in remote.devices(a))
    finally:
        a.close()
        b.close()


def b_name(v: Vault) -> str:
    device = local.load_device(v.store)
    assert device is not None
    return device.id
