"""The core of export tokens: the token file's text, the format 3 and 4 migrations, and a
store without tokens staying free of token rows."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSPHRASE
from vault.core import schema
from vault.core import tokens as core_tokens
from vault.core.errors import IntegrityError, WrongToken
from vault.core.records import pack_envelope
from vault.core.state import open_state, seal_state
from vault.core.vault import Vault


def test_a_token_text_round_trips_and_nothing_else_parses() -> None:
    token = core_tokens.TokenSecret.new()
    assert core_tokens.TokenSecret.parse(token.text()) == token
    text = token.text().strip()
    for bad in ("", text + "x", text.replace("coffre-token-v1", "other"), text[:-2], "a:b:c"):
        with pytest.raises(WrongToken):
            core_tokens.TokenSecret.parse(bad)


def _as_format_2(vault_dir: Path) -> None:
    """Rewrite a vault as format 2 wrote it: no token tables, the state bound to format 2."""
    with Vault.open(vault_dir, PASSPHRASE) as v:
        sealed = seal_state(v.store.ring, v.store.state(), format=2)
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("DROP TABLE tokens")
    conn.execute("DROP TABLE token_log")
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (sealed,))
    conn.execute("UPDATE meta SET value='2' WHERE name='format'")
    conn.commit()
    conn.close()


def test_a_format_2_vault_gains_the_token_tables_once(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v, v.store.write() as txn:
        rid = txn.put("note", b"kept")
    _as_format_2(vault_dir)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION
        assert v.store.get("note", rid).data == b"kept"
        assert v.check() == []
        open_state(v.store.ring, v.store.header("state"))  # bound to the new number
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION
    conn = sqlite3.connect(vault_dir / "vault.db")
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"tokens", "token_log"} <= tables


def test_a_vault_without_tokens_refuses_any_token(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    with pytest.raises(WrongToken):
        Vault.open_with_token(vault_dir, core_tokens.TokenSecret.new().text())


def _as_format_3(vault_dir: Path) -> None:
    """Rewrite a vault as format 3 wrote it: the state without the tokens' digest."""
    with Vault.open(vault_dir, PASSPHRASE) as v:
        sealed = seal_state(v.store.ring, v.store.state(), format=3)
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (sealed,))
    conn.execute("UPDATE meta SET value='3' WHERE name='format'")
    conn.commit()
    conn.close()


def test_a_format_3_vault_keeps_its_tokens_and_binds_their_table(
    vault_dir: Path, tmp_path: Path
) -> None:
    from tests.builders import build_world, make_grant
    from vault.sharing import tokens

    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        grant = make_grant(v, build_world(v, tmp_path))
        info, text = tokens.create_token(v, grant.id)
        digest = v.store.state().tokens_digest
    assert digest != 0
    _as_format_3(vault_dir)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION
        assert v.store.state().tokens_digest == digest
        with pytest.raises(IntegrityError):  # the state is bound to the new number
            open_state(v.store.ring, v.store.header("state"), format=3)
        assert [t.id for t in tokens.list_tokens(v)] == [info.id]
        assert v.check() == []
    with Vault.open_with_token(vault_dir, text) as tv:
        assert tv.token is not None


def test_a_token_file_is_read_as_a_small_regular_file(tmp_path: Path) -> None:
    """The token file is read before anything is authenticated: a device that never ends, a
    FIFO with no writer, a huge or binary file is refused at once, naming the path only."""
    token = core_tokens.TokenSecret.new()
    good = tmp_path / "ok.token"
    good.write_text(token.text())
    assert core_tokens.TokenSecret.parse(core_tokens.read_token_file(good)) == token
    fifo = tmp_path / "fifo.token"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.token"
    huge.write_text(token.text() + " " * core_tokens.MAX_FILE)
    binary = tmp_path / "binary.token"
    binary.write_bytes(b"\xff" + token.text().encode())
    for bad in (Path("/dev/zero"), fifo, huge, binary, tmp_path / "missing.token", tmp_path):
        with pytest.raises(WrongToken) as caught:
            core_tokens.read_token_file(bad)
        assert token.secret.hex() not in str(caught.value)


@given(st.text(max_size=200))
def test_any_text_is_a_token_or_wrong_token(text: str) -> None:
    """The parser of a token file raises nothing but WrongToken, whatever the text."""
    try:
        parsed = core_tokens.TokenSecret.parse(text)
    except WrongToken as exc:
        assert "coffre-token-v1:" not in str(exc)  # nothing of the text is echoed
        return
    assert core_tokens.TokenSecret.parse(parsed.text()) == parsed


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=32, max_size=32))
def test_a_token_file_names_its_secret_in_one_form(token_id: bytes, secret: bytes) -> None:
    token = core_tokens.TokenSecret(token_id, secret)
    assert core_tokens.TokenSecret.parse(token.text()) == token
    assert secret.hex() not in repr(token)


# Every method of a write transaction, by whether it changes records (and so must bring the
# export tokens' views up to date before the commit) or not. A new method must be placed here.
RECORD_WRITES = {"put", "update", "delete", "wipe_all", "put_replica", "delete_any"}
OTHER_WRITES = {
    "adopt_blob",  # a blob arrives with the record that names it
    "register_blob",  # the same, written before the transaction
    "audit",
    "audit_at",
    "clear_doomed",
    "delete_blob",
    "flush",
    "posting",
    "rekey",  # ends every token itself
    "rotate_epoch",  # re-wraps record keys only; a forget's deletions mark the change
    "set_meta",
    "verified_ids",
    "write_blob",
    "clock",
}


def test_every_write_that_changes_records_refreshes_the_tokens(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The views are re-sealed at the commit of any transaction that changed a record: each
    method that does so marks it, so no sequence of calls commits a change unseen."""
    from vault.core.txn import Txn

    public = {n for n in dir(Txn) if not n.startswith("_")} - {"rotated", "scrub_wal"}
    assert public == RECORD_WRITES | OTHER_WRITES
    seen: list[object] = []
    monkeypatch.setattr(core_tokens, "_REFRESHERS", [seen.append])
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            rid = txn.put("note", b"a")
        calls = {
            "put": lambda txn: txn.put("note", b"b"),
            "update": lambda txn: txn.update("note", rid, b"c"),
            "delete": lambda txn: txn.delete("note", rid),
            "audit": lambda txn: txn.audit("test.note"),
            "wipe_all": lambda txn: txn.wipe_all(),
            "put_replica": lambda txn: txn.put_replica(
                b"\1" * 16, pack_envelope("note", b"d", (), (), False)
            ),
            "delete_any": lambda txn: txn.delete_any(b"\1" * 16),
        }
        for name, call in calls.items():
            with v.store.write() as txn:
                # Refreshers run only while a token exists: a marker row stands for one.
                txn._exec("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)", (b"\0" * 8, b"", b""))
                call(txn)
            assert len(seen) == (name in RECORD_WRITES), name
            seen.clear()
