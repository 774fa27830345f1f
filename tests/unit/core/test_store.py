"""The encrypted store: records, lookups, blobs, transactions, integrity."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, raw_vault_bytes
from vault.core.errors import IntegrityError, RecordNotFound, TamperedRecord
from vault.core.vault import Vault


def test_put_get_update_delete(fresh_vault: Vault) -> None:
    store = fresh_vault.store
    with store.write() as txn:
        rid = txn.put("note", b"first", terms={"title": "hello"})
    rec = store.get("note", rid)
    assert (rec.data, rec.version, rec.kind) == (b"first", 1, "note")
    with store.write() as txn:
        assert txn.update("note", rid, b"second", terms={"title": "bye"}) == 2
    assert store.get("note", rid).data == b"second"
    assert store.find("note", "title", "hello") == []
    assert [r.id for r in store.find("note", "title", "bye")] == [rid]
    with store.write() as txn:
        txn.delete("note", rid)
    with pytest.raises(RecordNotFound):
        store.get("note", rid)


def test_kinds_are_separate(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        rid = txn.put("persona", b"p")
        txn.put("note", b"n")
    assert fresh_vault.store.count("persona") == 1
    assert [r.data for r in fresh_vault.store.iter_kind("note")] == [b"n"]
    with pytest.raises(TamperedRecord):
        fresh_vault.store.get("note", rid)


def test_iter_kind_crosses_batches(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        for i in range(1100):
            txn.put("row", str(i).encode())
    got = [int(r.data) for r in fresh_vault.store.iter_kind("row")]
    assert got == list(range(1100))


def test_iter_kind_reads_every_shape_of_record_as_get_does(fresh_vault: Vault) -> None:
    """Records with the kind alone, with terms, with blobs or compressed: a listing gives
    each exactly as `get` does."""
    store = fresh_vault.store
    with store.write() as txn:
        blob = txn.write_blob(io.BytesIO(b"attached"))
        ids = [
            txn.put("mixed", b"plain"),
            txn.put("mixed", b"with terms", terms={"name": "ada"}),
            txn.put("mixed", b"with a blob", blobs=[blob]),
            txn.put("mixed", b"squeezed " * 100, compress=True),
            txn.put("mixed", b""),
        ]
        txn.update("mixed", ids[0], b"plain, again")
    listed = list(store.iter_kind("mixed"))
    assert listed == [store.get("mixed", rid) for rid in ids]
    assert [r.version for r in listed] == [2, 1, 1, 1, 1]
    assert listed[1].terms == (("name", "ada"),) and listed[2].blobs == (blob,)


def _tamper(store_path: Path, sql: str, params: tuple[object, ...]) -> None:
    conn = sqlite3.connect(store_path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_a_listing_refuses_a_record_filed_under_another_kind(fresh_vault: Vault) -> None:
    store = fresh_vault.store
    with store.write() as txn:
        txn.put("note", b"a note")
        stray = txn.put("secret", b"not a note")
    # The row keeps its sealed content but claims to be a note: the listing must not open it.
    note_kind = store.ring.kind_index("note")
    _tamper(store.path, "UPDATE records SET kind=? WHERE id=?", (note_kind, bytes.fromhex(stray)))
    with pytest.raises(TamperedRecord, match="note"):
        list(store.iter_kind("note"))


def test_a_listing_refuses_a_damaged_record_in_the_middle(fresh_vault: Vault) -> None:
    store = fresh_vault.store
    with store.write() as txn:
        ids = [txn.put("note", f"note {i}".encode()) for i in range(5)]
    conn = sqlite3.connect(store.path)
    (data,) = conn.execute(
        "SELECT data FROM records WHERE id=?", (bytes.fromhex(ids[2]),)
    ).fetchone()
    conn.close()
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    _tamper(store.path, "UPDATE records SET data=? WHERE id=?", (flipped, bytes.fromhex(ids[2])))
    listing = store.iter_kind("note")
    assert [next(listing).id for _ in range(2)] == ids[:2]
    with pytest.raises(TamperedRecord, match="note record"):
        next(listing)
    # Put back, the record opens again; a row whose columns changed type is refused, not opened.
    _tamper(store.path, "UPDATE records SET data=? WHERE id=?", (data, bytes.fromhex(ids[2])))
    assert [r.id for r in store.iter_kind("note")] == ids
    _tamper(store.path, "UPDATE records SET rkey='text' WHERE id=?", (bytes.fromhex(ids[3]),))
    with pytest.raises(TamperedRecord, match="row is damaged"):
        list(store.iter_kind("note"))


def test_find_prefix(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        rid = txn.put("note", b"x")
    assert [r.id for r in fresh_vault.store.find_prefix("note", rid[:6])] == [rid]
    assert fresh_vault.store.find_prefix("note", "zz") == []
    assert fresh_vault.store.find_prefix("persona", rid[:6]) == []


def test_compressed_records_round_trip(fresh_vault: Vault) -> None:
    body = b"steps," * 5000
    with fresh_vault.store.write() as txn:
        rid = txn.put("chunk", body, compress=True)
    assert fresh_vault.store.get("chunk", rid).data == body


def test_exception_rolls_back_everything(fresh_vault: Vault) -> None:
    with pytest.raises(RuntimeError), fresh_vault.store.write() as txn:
        txn.put("note", b"a")
        txn.audit("note.add")
        raise RuntimeError("boom")
    assert fresh_vault.store.count("note") == 0
    assert len(fresh_vault.audit_log()) == 1  # only vault.create
    assert fresh_vault.check() == []


@pytest.mark.parametrize("size", [0, 1, 65536, 65537, 300_000])
def test_blob_round_trip(fresh_vault: Vault, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with fresh_vault.store.write() as txn:
        ref = txn.write_blob(io.BytesIO(data))
        txn.put("file", b"meta", blobs=[ref])
    rec = next(fresh_vault.store.iter_kind("file"))
    assert b"".join(fresh_vault.store.read_blob(rec.blobs[0])) == data
    assert rec.blobs[0].size == size


def test_blob_tampering_detected(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        ref = txn.write_blob(io.BytesIO(b"a" * 200_000))
        other = txn.write_blob(io.BytesIO(b"b" * 200_000))
        txn.put("file", b"", blobs=[ref, other])
    path = fresh_vault.store.blobs.path(ref.id)
    original = path.read_bytes()

    def attempt(data: bytes) -> None:
        path.write_bytes(data)
        with pytest.raises(TamperedRecord):
            b"".join(fresh_vault.store.read_blob(ref))

    chunk = 65536 + 16
    attempt(original[:-1])  # truncated
    attempt(original[: 2 * chunk])  # whole chunks dropped
    attempt(original + b"x")  # extended
    attempt(original[chunk : 2 * chunk] + original[:chunk] + original[2 * chunk :])  # reordered
    attempt(fresh_vault.store.blobs.path(other.id).read_bytes())  # another blob's file
    flipped = bytearray(original)
    flipped[1000] ^= 4
    attempt(bytes(flipped))
    path.unlink()
    with pytest.raises(TamperedRecord):
        b"".join(fresh_vault.store.read_blob(ref))
    path.write_bytes(original)
    assert b"".join(fresh_vault.store.read_blob(ref)) == b"a" * 200_000


def test_blob_files_follow_the_transaction(fresh_vault: Vault) -> None:
    store = fresh_vault.store
    with pytest.raises(RuntimeError), store.write() as txn:
        ref = txn.write_blob(io.BytesIO(b"never kept"))
        assert store.blobs.path(ref.id).exists()
        raise RuntimeError("rolled back")
    assert not store.blobs.path(ref.id).exists()
    with store.write() as txn:
        kept = txn.write_blob(io.BytesIO(b"kept"))
        rid = txn.put("file", b"", blobs=[kept])
    assert (store.blobs.path(kept.id).stat().st_mode & 0o777) == 0o600
    with store.write() as txn:
        txn.delete("file", rid)
        assert store.blobs.path(kept.id).exists()  # still needed until the commit
    assert not store.blobs.path(kept.id).exists()
    # A crash between writing a file and committing its record leaves an orphan.
    orphan = store.blobs.path(bytes(16))
    orphan.parent.mkdir(mode=0o700, exist_ok=True)
    orphan.write_bytes(b"orphan")
    assert store.collect_garbage() == 1
    assert not orphan.exists()
    # `check` clears such residue too, once every record has opened.
    orphan.write_bytes(b"orphan")
    assert fresh_vault.check() == []
    assert not orphan.exists()


def test_no_plaintext_on_disk(vault_dir: Path) -> None:
    markers = [b"MARKER-persona-Zoe", b"MARKER-metric-heart", b"MARKER-title-Secret"]
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        for m in markers:
            rid = txn.put("MARKERKIND-note", m * 3, terms={"title": m.decode()})
            txn.update("MARKERKIND-note", rid, m + b"v2", terms={"title": m.decode()})
        ref = txn.write_blob(io.BytesIO(markers[0] * 10_000))
        txn.put("MARKERKIND-file", markers[1], blobs=[ref])
        txn.audit("test", name=markers[2].decode())
        # Read while the WAL still holds the writes.
        disk = raw_vault_bytes(vault_dir)
        for m in markers:
            assert m not in disk
    disk = raw_vault_bytes(vault_dir)
    for m in [*markers, b"MARKERKIND"]:
        assert m not in disk


def test_swapped_ciphertext_between_rows_fails(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        a = txn.put("note", b"alpha")
        b = txn.put("note", b"beta")
    conn = sqlite3.connect(fresh_vault.store.path)
    rows = {
        bytes(r[0]).hex(): (r[1], r[2]) for r in conn.execute("SELECT id, rkey, data FROM records")
    }
    conn.execute("UPDATE records SET rkey=?, data=? WHERE id=?", (*rows[b], bytes.fromhex(a)))
    conn.commit()
    conn.close()
    with pytest.raises(TamperedRecord, match="note"):
        fresh_vault.store.get("note", a)


def test_rollback_to_older_version_detected(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            rid = txn.put("grant", b"status=given")
        conn = sqlite3.connect(v.store.path)
        old = conn.execute("SELECT version, rkey, data FROM records").fetchone()
        with v.store.write() as txn:
            txn.update("grant", rid, b"status=withdrawn")
        conn.execute("UPDATE records SET version=?, rkey=?, data=?", old)
        conn.commit()
        conn.close()
    with pytest.raises(IntegrityError, match="rolled back"):
        Vault.open(vault_dir, PASSPHRASE)
    with Vault.open(vault_dir, PASSPHRASE, strict=False) as v:
        assert any(p.where == "records" for p in v.check())


def test_deleted_row_detected(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        txn.put("note", b"a")
        txn.put("note", b"b")
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("DELETE FROM records WHERE rowid = (SELECT min(rowid) FROM records)")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError):
        Vault.open(vault_dir, PASSPHRASE)


def test_tampered_lookup_index_detected(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        txn.put("persona", b"a", terms={"name": "alice"})
        txn.put("persona", b"b", terms={"name": "bob"})
    conn = sqlite3.connect(fresh_vault.store.path)
    # Point bob's lookup term at alice's record.
    bob_term = fresh_vault.store.ring.term_index("persona", "name", "bob")
    alice_term = fresh_vault.store.ring.term_index("persona", "name", "alice")
    conn.execute(
        "UPDATE terms SET ids=(SELECT ids FROM terms WHERE term=?) WHERE term=?",
        (alice_term, bob_term),
    )
    conn.commit()
    conn.close()
    with pytest.raises(TamperedRecord):
        fresh_vault.store.find("persona", "name", "bob")


def test_reads_work_after_a_rolled_back_write(fresh_vault: Vault) -> None:
    with fresh_vault.store.write() as txn:
        rid = txn.put("note", b"still here")
    with pytest.raises(ValueError), fresh_vault.store.write() as txn:
        txn.put("note", b"never")
        raise ValueError("rolled back")
    assert fresh_vault.store.get("note", rid).data == b"still here"
    assert [r.data for r in fresh_vault.store.iter_kind("note")] == [b"still here"]
