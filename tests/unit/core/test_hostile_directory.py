"""An attacker who can write the vault directory but does not know the passphrase.

Each case plants links or forges, deletes or empties rows, then runs what a person would run
(open for `status`, `check`, reads, a forget, the CLI). Every case asserts that no file
outside the vault changed (a hashed canary tree), that no live data was destroyed, and that
Coffre refused with an integrity error rather than believing the unauthenticated bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE
from vault import content, forget
from vault.cli.main import cli
from vault.core.errors import DamagedDatabase, IntegrityError, UnsafeVaultFile
from vault.core.vault import Vault
from vault.personas import add_persona

MEDIA = b"live media bytes " * 5000


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A folder outside the vault with files an attack would like to destroy; each test
    checks that every byte and mode of it is unchanged."""
    root = tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    (root / "precious.txt").write_bytes(b"do not touch" * 100)
    (root / "sub" / "other.bin").write_bytes(os.urandom(4096))
    os.chmod(root / "precious.txt", 0o644)
    before = _tree_hash(root)
    yield root
    assert _tree_hash(root) == before, "a file outside the vault changed"


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        h.update(f"{p.relative_to(root)}:{st.st_mode:o}".encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def built(vault_dir: Path) -> tuple[Path, str]:
    """A vault with a persona, a note and a media item (one blob file); closed."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Ana")
        content.add(v, io.BytesIO(b"a note"), content.ItemMeta(title="note", tags=("walk",)))
        item = content.add(
            v, io.BytesIO(MEDIA), content.ItemMeta(title="clip", kind="video", tags=("walk",))
        )
    return vault_dir, item.id


def _blob_files(vault_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (vault_dir / "blobs").rglob("*") if p.is_file()}


def _sql(vault_dir: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(vault_dir / "vault.db")
    for statement in statements:
        conn.execute(statement, params if "?" in statement else ())
    conn.commit()
    conn.close()


def _open(vault_dir: Path) -> Vault:
    return Vault.open(vault_dir, PASSPHRASE)


def test_a_doomed_row_with_a_planted_link_touches_nothing(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, _ = built
    fake = bytes(range(16))
    link = vault_dir / "blobs" / fake.hex()[:2] / fake.hex()
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(canary / "precious.txt")
    _sql(vault_dir, "INSERT INTO doomed (id) VALUES (?)", params=(fake,))
    live = _blob_files(vault_dir)
    with pytest.raises(IntegrityError):
        _open(vault_dir)  # what `coffre status` does
    assert _blob_files(vault_dir) == live


def test_a_doomed_row_naming_a_live_blob_destroys_nothing(built: tuple[Path, str]) -> None:
    vault_dir, item_id = built
    live = _blob_files(vault_dir)
    blob_id = _sql_ids(vault_dir, "SELECT id FROM blobs ORDER BY size DESC")[0]  # the clip
    _sql(vault_dir, "INSERT INTO doomed (id) VALUES (?)", params=(blob_id,))
    with pytest.raises(IntegrityError):
        _open(vault_dir)
    assert _blob_files(vault_dir) == live
    _sql(vault_dir, "DELETE FROM doomed")
    with _open(vault_dir) as v:
        assert b"".join(content.read(v, item_id)) == MEDIA
        assert v.check() == []


def _sql_ids(vault_dir: Path, query: str) -> list[bytes]:
    conn = sqlite3.connect(vault_dir / "vault.db")
    rows = [r[0] for r in conn.execute(query)]
    conn.close()
    return rows


def test_a_linked_shard_folder_is_never_followed_by_check(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, item_id = built
    shard = next(f"{n:02x}" for n in range(256) if not (vault_dir / "blobs" / f"{n:02x}").exists())
    (vault_dir / "blobs" / shard).symlink_to(canary, target_is_directory=True)
    with _open(vault_dir) as v:
        v.check()  # may report or clear the link; must not reach through it
        assert b"".join(content.read(v, item_id)) == MEDIA


def test_a_blob_file_replaced_by_a_link_is_refused_not_followed(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, item_id = built
    path = max(_blob_files(vault_dir).items(), key=lambda kv: len(kv[1]))[0]  # the clip's
    path.unlink()
    path.symlink_to(canary / "precious.txt")
    with _open(vault_dir) as v:
        with pytest.raises(IntegrityError):
            b"".join(content.read(v, item_id))
        assert v.check() != []
        # Forgetting the item removes the link itself, never its target.
        forget.forget(v, forget.Target.of_content(item_id))
    assert not path.is_symlink()


@pytest.mark.parametrize("name", ["vault.db-wal", "vault.db-shm", "blobs"])
def test_a_link_where_a_vault_file_belongs_is_refused(
    built: tuple[Path, str], canary: Path, name: str
) -> None:
    vault_dir, _ = built
    target = vault_dir / name
    if target.is_dir():
        target.rename(vault_dir / "moved")
    else:
        target.unlink(missing_ok=True)
    target.symlink_to(canary / ("sub" if name == "blobs" else "precious.txt"))
    with pytest.raises(UnsafeVaultFile):
        _open(vault_dir)


TAMPERING: dict[str, Callable[[Path], None]] = {
    "terms rows deleted": lambda d: _sql(d, "DELETE FROM terms"),
    "one terms row deleted": lambda d: _sql(
        d, "DELETE FROM terms WHERE term = (SELECT term FROM terms LIMIT 1)"
    ),
    "terms row forged": lambda d: _sql(
        d, "INSERT INTO terms (term, ids) VALUES (?, ?)", params=(b"t" * 16, b"x" * 40)
    ),
    "blobs emptied": lambda d: _sql(d, "DELETE FROM blobs"),
    "blobs row forged": lambda d: _sql(
        d, "INSERT INTO blobs (id, chunks, size) VALUES (?, 1, 1)", params=(b"b" * 16,)
    ),
    "blob size edited": lambda d: _sql(d, "UPDATE blobs SET size = size + 1"),
    "records row forged": lambda d: _sql(
        d,
        "INSERT INTO records (id, kind, version, rkey, data) SELECT ?, kind, 1, rkey, data"
        " FROM records LIMIT 1",
        params=(b"r" * 16,),
    ),
    "doomed row forged": lambda d: _sql(
        d, "INSERT INTO doomed (id) VALUES (?)", params=(b"d" * 16,)
    ),
    "records row deleted": lambda d: _sql(
        d, "DELETE FROM records WHERE rowid = (SELECT max(rowid) FROM records)"
    ),
    "audit row deleted": lambda d: _sql(d, "DELETE FROM audit WHERE seq = 1"),
    "audit row forged": lambda d: _sql(
        d, "INSERT INTO audit (seq, data) SELECT max(seq) + 1, data FROM audit"
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_edited_tables_are_detected_never_believed(
    built: tuple[Path, str], canary: Path, case: str
) -> None:
    vault_dir, _ = built
    live = _blob_files(vault_dir)
    TAMPERING[case](vault_dir)
    if case.startswith("audit"):
        with _open(vault_dir) as v, pytest.raises(IntegrityError):
            v.audit_log()
    else:
        with pytest.raises(IntegrityError):
            _open(vault_dir)
    # The non-strict open that `coffre check` uses reports it, and forgets nothing.
    with Vault.open(vault_dir, PASSPHRASE, strict=False) as v:
        assert v.check() != []
    assert _blob_files(vault_dir) == live


def test_the_cli_refuses_a_tampered_vault_with_the_integrity_code(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, _ = built
    _sql(vault_dir, "DELETE FROM terms")
    env = {"COFFRE_PASSPHRASE": PASSPHRASE}
    for args in (
        ["forget", "--persona", "Ana", "--yes"],
        ["content", "list"],
        ["export", "any-grant", "--dry-run"],
        ["check"],
    ):
        result = CliRunner().invoke(cli, ["--vault", str(vault_dir), *args], env=env)
        assert result.exit_code == 5, (args, result.output)
    # `status` reads only the header and counts: it answers, and decides nothing.
    assert CliRunner().invoke(cli, ["--vault", str(vault_dir), "status"], env=env).exit_code == 0


@pytest.mark.parametrize("value", [b"0", b"-1", b"x"])
def test_a_nonsense_header_format_is_damage(built: tuple[Path, str], value: bytes) -> None:
    vault_dir, _ = built
    _sql(vault_dir, "UPDATE meta SET value=? WHERE name='format'", params=(value,))
    with pytest.raises(DamagedDatabase):
        _open(vault_dir)


def test_a_header_claiming_an_older_format_fails_authentication(
    built: tuple[Path, str],
) -> None:
    vault_dir, _ = built
    _sql(vault_dir, "UPDATE meta SET value='1' WHERE name='format'")
    with pytest.raises(IntegrityError):
        _open(vault_dir)


def test_a_deleted_state_row_is_damage_not_an_interrupted_creation(
    built: tuple[Path, str],
) -> None:
    vault_dir, _ = built
    _sql(vault_dir, "DELETE FROM meta WHERE name='state'")
    with pytest.raises(DamagedDatabase, match="state"):
        _open(vault_dir)


def test_a_hard_link_under_blobs_is_never_written_through(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, _ = built
    fake = bytes([0xAA]) + bytes(15)
    shard = vault_dir / "blobs" / fake.hex()[:2]
    shard.mkdir(exist_ok=True)
    os.link(canary / "precious.txt", shard / fake.hex())
    with _open(vault_dir) as v:
        assert v.check() == []  # the leftover name goes; the file it shares stays whole
    assert not (shard / fake.hex()).exists()


@pytest.mark.parametrize("name", ["vault.db-wal", "vault.db-shm"])
def test_a_hard_linked_companion_file_is_refused(
    built: tuple[Path, str], canary: Path, name: str
) -> None:
    vault_dir, _ = built
    (vault_dir / name).unlink(missing_ok=True)
    os.link(canary / "precious.txt", vault_dir / name)
    with pytest.raises(UnsafeVaultFile):
        _open(vault_dir)


def test_a_shard_folder_swapped_for_a_link_after_listing_is_not_followed(
    built: tuple[Path, str], canary: Path
) -> None:
    vault_dir, _ = built
    shard = vault_dir / "blobs" / "zz"
    shard.mkdir()
    (shard / "precious.txt").write_bytes(b"leftover")
    with _open(vault_dir) as v:
        listed = [path for _id, path in v.store.blobs.present() if path.parent == shard]
        shard.rename(vault_dir / "moved")
        shard.symlink_to(canary, target_is_directory=True)
        for path in listed:
            with contextlib.suppress(UnsafeVaultFile):
                v.store.blobs.discard(path)


def test_a_lookup_list_rolled_back_during_a_forget_preview_is_caught(
    built: tuple[Path, str],
) -> None:
    vault_dir, item_id = built
    with _open(vault_dir) as v:
        conn = sqlite3.connect(vault_dir / "vault.db")
        old_terms = conn.execute("SELECT term, ids FROM terms").fetchall()
        conn.close()
        content.add(v, io.BytesIO(b"a later note"), content.ItemMeta(title="later"))
        preview = forget.preview(v, forget.Target.of_persona("Ana"))
        assert preview.counts["content_items"] == 3
        conn = sqlite3.connect(vault_dir / "vault.db")  # the person reads the preview...
        conn.execute("DELETE FROM terms")
        conn.executemany("INSERT INTO terms (term, ids) VALUES (?, ?)", old_terms)
        conn.commit()
        conn.close()
        with pytest.raises(IntegrityError):
            forget.forget(v, forget.Target.of_persona("Ana"))
    with Vault.open(vault_dir, PASSPHRASE, strict=False) as v:
        assert b"".join(content.read(v, item_id)) == MEDIA


def test_a_planted_trigger_is_refused(built: tuple[Path, str]) -> None:
    vault_dir, item_id = built
    trigger = "CREATE TRIGGER keep BEFORE DELETE ON records BEGIN SELECT RAISE(IGNORE); END"
    with _open(vault_dir) as v:
        _sql(vault_dir, trigger)  # planted while the vault is open
        with pytest.raises(UnsafeVaultFile):
            forget.forget(v, forget.Target.of_content(item_id))
    with pytest.raises(UnsafeVaultFile):
        _open(vault_dir)


def test_a_folder_in_place_of_a_blob_file_is_left_alone(built: tuple[Path, str]) -> None:
    vault_dir, item_id = built
    path = max(_blob_files(vault_dir).items(), key=lambda kv: len(kv[1]))[0]
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"not Coffre's")
    with _open(vault_dir) as v:
        forget.forget(v, forget.Target.of_content(item_id))
    assert (path / "inside").read_bytes() == b"not Coffre's"
    with _open(vault_dir) as v:
        assert v.store.count(content.ITEM) == 1


def test_crafted_header_and_rows_give_integrity_errors_not_crashes(
    built: tuple[Path, str],
) -> None:
    vault_dir, _ = built
    _sql(vault_dir, "UPDATE audit SET data = 7 WHERE seq = 1")
    _sql(vault_dir, "UPDATE records SET id = 'text' WHERE rowid = 1")
    with Vault.open(vault_dir, PASSPHRASE, strict=False) as v:
        problems = v.check()
        assert {p.where for p in problems} >= {"records", "audit"}
    _sql(
        vault_dir,
        "UPDATE meta SET value = ? WHERE name = 'kdf'",
        params=(b'{"alg":"argon2id13","m":1e400,"profile":"minimum","t":2}',),
    )
    with pytest.raises(DamagedDatabase):
        _open(vault_dir)
