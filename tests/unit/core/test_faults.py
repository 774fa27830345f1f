"""Faults: processes killed mid-write, concurrent writers, flipped bytes, newer formats."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSPHRASE
from vault.core.errors import (
    AuditChainBroken,
    DamagedDatabase,
    IntegrityError,
    PassphraseError,
    UnsupportedFormat,
    VaultError,
    WrongPassphrase,
)
from vault.core.vault import Vault

WRITER = f"""
import sys
from vault.core.vault import Vault
path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Vault.open(path, {PASSPHRASE!r}) as v:
    with v.store.write() as txn:
        for i in range(n):
            txn.put("batch", f"{{tag}}:{{i}}".encode() * 20, terms={{"tag": tag}})
        txn.audit("batch.write", count=n)
    print("committed", flush=True)
"""


def _run(script: str, *args: str) -> subprocess.Popen[bytes]:
    """`script` in a fresh interpreter, given `args`, its output piped back."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _spawn(vault_dir: Path, tag: str, n: int) -> subprocess.Popen[bytes]:
    return _run(WRITER, str(vault_dir), tag, str(n))


def _killed_after(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """SIGKILL `proc` after `seconds`; whether it had said that its write committed."""
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    return b"committed" in out


@pytest.mark.slow
def test_sigkill_during_large_write_is_all_or_nothing(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    rng = random.Random(1234)
    committed: set[str] = set()
    for attempt in range(6):
        tag = f"run{attempt}"
        if _killed_after(_spawn(vault_dir, tag, 20_000), rng.uniform(0.05, 0.8)):
            committed.add(tag)
        with Vault.open(vault_dir, PASSPHRASE) as v:
            assert v.check() == []
            for t in [f"run{i}" for i in range(attempt + 1)]:
                n = len(v.store.find("batch", "tag", t))
                assert n in (0, 20_000), f"{t}: partial write of {n} records"
                if t in committed:
                    assert n == 20_000
            v.audit_log()


def test_concurrent_writers_lose_nothing(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    procs = [_spawn(vault_dir, f"p{i}", 300) for i in range(4)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.store.count("batch") == 1200
        assert len(v.audit_log()) == 5
        assert v.check() == []


def test_wrong_passphrase_changes_nothing(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    before = {p: p.read_bytes() for p in vault_dir.rglob("*") if p.is_file()}
    with pytest.raises(WrongPassphrase) as info:
        Vault.open(vault_dir, "not the passphrase")
    assert "not the passphrase" not in str(info.value)
    assert info.value.exit_code == 3
    after = {p: p.read_bytes() for p in vault_dir.rglob("*") if p.is_file()}
    assert before == after


def test_file_modes(fresh_vault: Vault) -> None:
    assert (fresh_vault.path.stat().st_mode & 0o777) == 0o700
    for f in fresh_vault.path.rglob("*"):
        expected = 0o700 if f.is_dir() else 0o600
        assert (f.stat().st_mode & 0o777) == expected, f.name


def test_newer_format_refused(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("UPDATE meta SET value='99' WHERE name='format'")
    conn.commit()
    conn.close()
    with pytest.raises(UnsupportedFormat, match="format 99"):
        Vault.open(vault_dir, PASSPHRASE)


def test_passwd_rewraps_root_only(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            rid = txn.put("note", b"kept")
        rows_before = (
            sqlite3.connect(vault_dir / "vault.db")
            .execute("SELECT rkey, data FROM records")
            .fetchall()
        )
        v.change_passphrase("a new passphrase", kdf="interactive")
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_dir, PASSPHRASE)
    with Vault.open(vault_dir, "a new passphrase") as v:
        assert v.store.get("note", rid).data == b"kept"
        assert v.info.kdf.name == "interactive"
        rows_after = (
            sqlite3.connect(vault_dir / "vault.db")
            .execute("SELECT rkey, data FROM records")
            .fetchall()
        )
        assert rows_before == rows_after


def test_tampered_kdf_parameters_refused(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute(
        'UPDATE meta SET value=\'{"alg":"argon2id13","m":1048576,"t":1}\' WHERE name=\'kdf\''
    )
    conn.commit()
    conn.close()
    with pytest.raises(DamagedDatabase):
        Vault.open(vault_dir, PASSPHRASE)


def _audit_rows(path: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(path / "vault.db")
    rows = conn.execute("SELECT seq, data FROM audit ORDER BY seq").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("attack", ["edit", "remove", "reorder", "truncate"])
def test_audit_tampering_detected(vault_dir: Path, attack: str) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        for i in range(4):
            with v.store.write() as txn:
                txn.audit("step", n=i)
    rows = _audit_rows(vault_dir)
    conn = sqlite3.connect(vault_dir / "vault.db")
    if attack == "edit":
        data = bytearray(rows[2][1])
        data[30] ^= 1
        conn.execute("UPDATE audit SET data=? WHERE seq=3", (bytes(data),))
    elif attack == "remove":
        conn.execute("DELETE FROM audit WHERE seq=3")
        conn.execute("UPDATE audit SET seq=seq-1 WHERE seq>3")
    elif attack == "reorder":
        conn.execute("UPDATE audit SET data=? WHERE seq=2", (rows[2][1],))
        conn.execute("UPDATE audit SET data=? WHERE seq=3", (rows[1][1],))
    else:
        conn.execute("DELETE FROM audit WHERE seq=5")
    conn.commit()
    conn.close()
    with Vault.open(vault_dir, PASSPHRASE) as v:
        with pytest.raises(IntegrityError):
            v.audit_log()
        assert any(p.where == "audit" for p in v.check())


def test_audit_entries_before_a_break_are_read_then_the_break_reported(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        for i in range(4):
            with v.store.write() as txn:
                txn.audit("step", n=i)
    data = bytearray(_audit_rows(vault_dir)[3][1])
    data[30] ^= 1
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("UPDATE audit SET data=? WHERE seq=4", (bytes(data),))
    conn.commit()
    conn.close()
    read = []
    with Vault.open(vault_dir, PASSPHRASE) as v, pytest.raises(AuditChainBroken, match="entry 4"):
        read.extend(v.audit_entries())
    assert [(e.seq, e.action) for e in read] == [(1, "vault.create"), (2, "step"), (3, "step")]


def _flip(path: Path, offset: int, bit: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ (1 << bit)]))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_any_flipped_bit_is_detected_or_harmless(tmp_path: Path, data: st.DataObject) -> None:
    """A flipped bit anywhere in the database: reads return the right data or fail."""
    vault_dir = tmp_path / os.urandom(6).hex()  # hypothesis seeds `random`: not unique
    expected: dict[str, bytes] = {}
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        for i in range(30):
            body = os.urandom(50) + f"record {i}".encode()
            expected[txn.put("note", body, terms={"n": str(i)})] = body
    db = vault_dir / "vault.db"
    size = db.stat().st_size
    position = data.draw(st.integers(0, 1 << 20))  # a fixed range keeps generation stable
    _flip(db, position % size, data.draw(st.integers(0, 7)))
    try:
        with Vault.open(vault_dir, PASSPHRASE) as v:
            got = {r.id: r.data for r in v.store.iter_kind("note")}
            for rid, body in got.items():
                assert expected[rid] == body
            assert set(got) == set(expected)
            for i in range(30):
                for r in v.store.find("note", "n", str(i)):
                    assert expected[r.id] == r.data
    except (IntegrityError, PassphraseError, VaultError):
        pass
    except sqlite3.DatabaseError:  # pragma: no cover - must be wrapped
        pytest.fail("a raw sqlite3 error escaped the library")


def test_older_format_is_migrated_in_place(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.core import migrations, schema
    from vault.core import vault as facade
    from vault.core.store import Store

    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        rid = txn.put("note", b"from the current format")
    ran: list[int] = []
    current = schema.FORMAT_VERSION

    def to_next(store: Store) -> None:
        ran.append(1)
        store._conn.execute("CREATE TABLE added_next (x INTEGER)")

    monkeypatch.setattr(schema, "FORMAT_VERSION", current + 1)
    monkeypatch.setattr(facade, "FORMAT_VERSION", current + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, current, to_next)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == current + 1
        assert v.store.get("note", rid).data == b"from the current format"
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == current + 1
    assert ran == [1]  # once, not at every open


BLOB_WRITER = f"""
import io, sys
from vault import content
from vault.core.vault import Vault
with Vault.open(sys.argv[1], {PASSPHRASE!r}) as v:
    data = bytes(range(256)) * (4 * 1024 * 64)  # 64 MiB
    content.add(v, io.BytesIO(data), content.ItemMeta(title=sys.argv[2]), persona="Ana")
    print("committed", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_large_file_add(vault_dir: Path) -> None:
    from vault import content
    from vault import personas as identities

    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        identities.add_persona(v, "Ana")
    rng = random.Random(99)
    committed: set[str] = set()
    for attempt in range(4):
        title = f"big {attempt}"
        # Start-up takes about 0.3 s, the write about 0.5 s.
        if _killed_after(_run(BLOB_WRITER, str(vault_dir), title), rng.uniform(0.3, 1.5)):
            committed.add(title)
        with Vault.open(vault_dir, PASSPHRASE) as v:
            assert v.check() == []
            items = {i.title: i for i in content.list_items(v)}
            assert committed <= set(items)
            for item in items.values():
                assert item.size == 64 * 1024 * 1024
                assert sum(len(c) for c in content.read(v, item.id)) == item.size
            # Nothing is left of the interrupted writes once `check` has run.
            on_disk = {b for b, _ in v.store.blobs.present()}
            assert on_disk == {ref for i in items.values() for ref in _blob_ids(v, i.id)}


def _blob_ids(v: Vault, item_id: str) -> set[bytes]:
    from vault import content

    return {ver.body.id for ver in content.versions(v, item_id)}
