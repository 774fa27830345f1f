"""Re-keying: every key replaced, every record and the audit log re-sealed, all or nothing;
an old copy (or its keys) with the old passphrase opens nothing written afterwards."""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE
from vault import content
from vault.cli.main import cli
from vault.core import audit, crypto, keys
from vault.core.crypto import CryptoFailure
from vault.core.errors import AuditChainBroken, IntegrityError, TamperedRecord, WrongPassphrase
from vault.core.keys import KeyRing
from vault.core.lookups import open_posting
from vault.core.state import open_state
from vault.core.vault import Vault
from vault.personas import add_persona

NEW = "a completely new passphrase"


def _old_keys(vault_dir: Path, passphrase: str) -> KeyRing:
    """What an attacker holding an old copy and its passphrase has: all its keys."""
    with Vault.open(vault_dir, passphrase) as v:
        ring = v.store.ring
        return KeyRing(ring.vault_id, ring.root, ring.passphrase_key, ring.epoch_no, ring.epoch_key)


def _opens_anything(ring: KeyRing, db: Path) -> list[str]:
    """Every way the old keys could open something in the current vault file."""
    conn = sqlite3.connect(db)
    opened = []
    for rid, kix, version, rkey in conn.execute("SELECT id, kind, version, rkey FROM records"):
        with contextlib.suppress(CryptoFailure):
            ring.unwrap_record_key(kix, rid, version, rkey)
            opened.append(f"record key {rid.hex()[:8]}")
    for seq, sealed in conn.execute("SELECT seq, data FROM audit"):
        with contextlib.suppress(AuditChainBroken):
            audit.open_entry(ring, seq, sealed)
            opened.append(f"audit entry {seq}")
    for term, sealed in conn.execute("SELECT term, ids FROM terms"):
        with contextlib.suppress(TamperedRecord):
            open_posting(ring, term, sealed)
            opened.append("a posting list")
    meta = dict(conn.execute("SELECT name, CAST(value AS BLOB) FROM meta").fetchall())
    root_aad = keys._root_aad(ring.vault_id, meta["kdf"].decode(), meta["salt"])
    with contextlib.suppress(CryptoFailure):
        crypto.unseal(ring.passphrase_key, meta["root"], root_aad)
        opened.append("the root key")
    with contextlib.suppress(CryptoFailure):
        ring.load_epoch(int(meta["epoch_no"]), meta["epoch"])
        opened.append("the epoch key")
    state = meta["state"]
    with contextlib.suppress(IntegrityError):
        open_state(ring, state)
        opened.append("the state")
    conn.close()
    return opened


@pytest.mark.parametrize("new_passphrase", [None, NEW], ids=["same-passphrase", "passwd"])
def test_an_old_copy_opens_nothing_written_after_a_rekey(
    vault_dir: Path, tmp_path: Path, new_passphrase: str | None
) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Ana")
        before = content.add(v, io.BytesIO(b"written before"), content.ItemMeta(title="old"))
    old_copy = tmp_path / "old-copy"
    shutil.copytree(vault_dir, old_copy)
    old = _old_keys(old_copy, PASSPHRASE)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        v.rekey(new_passphrase or PASSPHRASE)
        after = content.add(v, io.BytesIO(b"written after"), content.ItemMeta(title="new"))
        assert sorted(i.title for i in content.list_items(v)) == ["new", "old"]
        assert v.check() == []
    assert _opens_anything(old, vault_dir / "vault.db") == []
    current = new_passphrase or PASSPHRASE
    with Vault.open(vault_dir, current) as v:
        assert b"".join(content.read(v, before.id)) == b"written before"
        assert b"".join(content.read(v, after.id)) == b"written after"
        assert [e.action for e in v.audit_log()][-2:] == ["vault.rekey", "content.add"]
    if new_passphrase is not None:
        with pytest.raises(WrongPassphrase):
            Vault.open(vault_dir, PASSPHRASE)


def test_another_process_with_old_keys_is_told_to_unlock_again(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Ana")
    with Vault.open(vault_dir, PASSPHRASE) as stale, Vault.open(vault_dir, PASSPHRASE) as v:
        v.rekey(PASSPHRASE)
        with pytest.raises(WrongPassphrase, match="re-keyed"):
            stale.store.state()


def test_the_cli_rekeys_with_and_without_a_new_passphrase(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Ana")
    env = {"COFFRE_PASSPHRASE": PASSPHRASE}
    result = CliRunner().invoke(cli, ["--vault", str(vault_dir), "rekey"], env=env)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        cli,
        ["--vault", str(vault_dir), "passwd", "--rekey"],
        env={**env, "COFFRE_NEW_PASSPHRASE": NEW},
    )
    assert result.exit_code == 0, result.output
    with Vault.open(vault_dir, NEW) as v:
        assert [e.action for e in v.audit_log()][-2:] == ["vault.rekey", "vault.rekey"]


REKEYER = """
import sys
from vault.core.vault import Vault
with Vault.open(sys.argv[1], sys.argv[2]) as v:
    print("ready", flush=True)
    v.rekey(sys.argv[3])
"""


@pytest.mark.slow
def test_a_rekey_killed_midway_leaves_all_or_nothing(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        for i in range(6000):
            txn.put("note", f"note {i}".encode() * 10, terms={"n": str(i % 50)})
    passphrase = PASSPHRASE
    outcomes: list[bool] = []
    for delay in (0.05, 0.15, 0.3, 0.6, 5.0):
        new = f"passphrase after {delay}"
        proc = subprocess.Popen(
            [sys.executable, "-c", REKEYER, str(vault_dir), passphrase, new],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for candidate in (new, passphrase):
            try:
                with Vault.open(vault_dir, candidate) as v:
                    assert v.check() == []
                    assert v.store.count("note") == 6000
                    assert len(v.store.find("note", "n", "7")) == 120
            except WrongPassphrase:
                continue
            outcomes.append(candidate == new)
            passphrase = candidate
            break
        else:
            pytest.fail("the vault opens with neither passphrase")
    # Each run left the old vault or the new one, whole; the last had time to finish.
    assert len(outcomes) == 5 and outcomes[-1]
