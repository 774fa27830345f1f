"""Crypto-shredding at the store level: deleted records and rotated epochs leave no trace."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, raw_vault_bytes
from vault.core import crypto
from vault.core.keys import KeyRing
from vault.core.schema import connect
from vault.core.store import Store
from vault.core.vault import Vault


def _rows(path: Path) -> dict[str, tuple[bytes, bytes]]:
    conn = sqlite3.connect(path / "vault.db")
    rows = {
        bytes(r[0]).hex(): (bytes(r[1]), bytes(r[2]))
        for r in conn.execute("SELECT id, rkey, data FROM records")
    }
    conn.close()
    return rows


def _meta(path: Path, name: str) -> bytes:
    conn = sqlite3.connect(path / "vault.db")
    (value,) = conn.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
    conn.close()
    return bytes(value)


def test_forgotten_records_leave_no_byte(vault_dir: Path, tmp_path: Path) -> None:
    marker = b"FORGET-ME-7f3a"
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            gone = txn.put("note", marker * 50, terms={"title": "forget me"})
            ref = txn.write_blob(io.BytesIO(marker * 20_000))
            gone_file = txn.put("file", marker, blobs=[ref])
            kept = txn.put("note", b"kept for ever")
        v.store.checkpoint()
        before = _rows(vault_dir)
        old_epoch = _meta(vault_dir, "epoch")
        blob_path = v.store.blobs.path(ref.id)
        chunk_bytes = blob_path.read_bytes()[:1000]
        copy = tmp_path / "copy-before"
        shutil.copytree(vault_dir, copy)

        with v.store.write() as txn:
            txn.delete("note", gone)
            txn.delete("file", gone_file)
            txn.rotate_epoch()
            txn.audit("forget", records=2)
        v.store.checkpoint()
        assert v.store.get("note", kept).data == b"kept for ever"
        assert v.check() == []
        live = v.store.ring
        live_keys = (live.root, live.epoch_key, live.epoch_no)

    disk = raw_vault_bytes(vault_dir)
    assert marker not in disk
    assert (
        not (vault_dir / "vault.db-wal").exists()
        or (vault_dir / "vault.db-wal").stat().st_size == 0
    )
    for rid in (gone, gone_file):
        rkey, data = before[rid]
        assert rkey not in disk and data not in disk, "old ciphertext or wrapped key remains"
    assert before[kept][0] not in disk, "a survivor's old wrapped key remains"
    assert old_epoch not in disk
    assert chunk_bytes not in disk
    assert not blob_path.exists()

    # A copy taken before the forget, with the live vault's root and epoch keys, stays shut.
    root, epoch_key, epoch_no = live_keys
    ring = KeyRing(bytes.fromhex(Vault.inspect(copy).vault_id), root, b"\0" * 32)
    ring.epoch_no, ring.epoch_key = epoch_no, epoch_key
    rkey, data = _rows(copy)[gone]
    kix = ring.kind_index("note")
    for candidate_epoch in (1, epoch_no):
        with pytest.raises(crypto.CryptoFailure):
            ring.epoch_no = candidate_epoch
            ring.unwrap_record_key(kix, bytes.fromhex(gone), 1, rkey)
    with pytest.raises(crypto.CryptoFailure):
        ring.load_epoch(1, _meta(copy, "epoch"))
    store = Store(connect(copy / "vault.db"), ring, copy / "vault.db")
    with pytest.raises(Exception):  # noqa: B017 - any failure will do, as long as nothing opens
        store.get("note", gone)


def test_rotation_keeps_survivors_and_is_atomic(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        ids = [txn.put("note", f"n{i}".encode()) for i in range(50)]
    with pytest.raises(RuntimeError), fresh_vault.store.write() as txn:
        txn.rotate_epoch()
        raise RuntimeError("interrupted")
    assert fresh_vault.store.state().epoch_no == 1
    assert [fresh_vault.store.get("note", i).data for i in ids[:3]] == [b"n0", b"n1", b"n2"]
    with fresh_vault.store.write() as txn:
        assert txn.rotate_epoch() == 2
    assert fresh_vault.store.get("note", ids[-1]).data == b"n49"
    assert fresh_vault.check() == []


def test_other_process_sees_rotated_epoch(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as a:
        with a.store.write() as txn:
            rid = txn.put("note", b"shared")
        with Vault.open(vault_dir, PASSPHRASE) as b:
            with b.store.write() as txn:
                txn.rotate_epoch()
            assert a.store.get("note", rid).data == b"shared"
            with a.store.write() as txn:
                txn.put("note", b"after")
            assert b.store.count("note") == 2
