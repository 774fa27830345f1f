"""Lookups that link nothing: one sealed posting list per term, keyed by the epoch; and the
migration of a format 1 vault (one plaintext row per term and record) to them."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from tests.builders import build_world, make_grant
from tests.conftest import PASSPHRASE
from vault import content, forget
from vault import sharing as consent
from vault.core import crypto, schema
from vault.core.keys import FORMAT_TAG
from vault.core.vault import Vault

# Columns whose values are equal by design: the kind's blind index (the file shows how many
# records of each kind there are, never which records belong together otherwise), versions,
# blob sizes and the header.
SHARED_BY_DESIGN = {("records", "kind"), ("records", "version"), ("blobs", "chunks")}


def _values(db: Path) -> Counter[tuple[str, str, object]]:
    conn = sqlite3.connect(db)
    found: Counter[tuple[str, str, object]] = Counter()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        if table == "meta":
            continue
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        for row in conn.execute(f"SELECT * FROM {table}"):
            for column, value in zip(columns, row, strict=True):
                if (table, column) not in SHARED_BY_DESIGN and isinstance(value, bytes):
                    found[(table, column, value)] += 1
    conn.close()
    return found


def test_two_personas_sharing_a_tag_a_recipient_and_a_grant_share_no_value(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    world = build_world(fresh_vault, tmp_path)  # both personas have posts tagged "blog"
    make_grant(fresh_vault, world)
    make_grant(
        fresh_vault,
        world,
        persona=world.other.name,
        scope=consent.ScopeRequest(metrics="steps"),
    )
    fresh_vault.store.checkpoint()
    shared = [key for key, n in _values(fresh_vault.store.path).items() if n > 1]
    assert shared == []
    # And the lookups still find both personas' posts, and both grants.
    assert len(content.list_items(fresh_vault, tag="blog")) == 4
    assert len(consent.list_grants(fresh_vault, recipient=world.recipient.name)) == 2


def test_a_forget_rekeys_every_lookup_term(fresh_vault: Vault, tmp_path: Path) -> None:
    world = build_world(fresh_vault, tmp_path)
    ring = fresh_vault.store.ring
    before = ring.term_index(content.ITEM, "tag", "blog")
    forget.forget(fresh_vault, forget.Target.of_content(world.items["out_tag"].id))
    fresh_vault.store.checkpoint()
    terms = {
        t for (t,) in sqlite3.connect(fresh_vault.store.path).execute("SELECT term FROM terms")
    }
    assert before not in terms  # a term computed before the forget matches nothing now
    assert ring.term_index(content.ITEM, "tag", "blog") in terms
    assert len(content.list_items(fresh_vault, tag="blog")) == 4


def _downgrade_to_format_1(vault_dir: Path) -> dict[str, int]:
    """Rewrite a format 2 vault as format 1 wrote it: one plaintext-keyed row per (term,
    record) under the root-derived index key, the state without table digests."""
    counts: dict[str, int] = {}
    with Vault.open(vault_dir, PASSPHRASE) as v:
        ring, store = v.store.ring, v.store
        rows = []
        for kind in ("persona", content.ITEM, content.VERSION):
            counts[kind] = store.count(kind)
            for rec in store.iter_kind(kind):
                for label, value in rec.terms:
                    term = crypto.blind_index(ring.index_key, f"term:{kind}:{label}", value)
                    rows.append((term, bytes.fromhex(rec.id)))
        packed = store.state().pack(format=2)
        head = 32 + 32 + 8 * 3 + 2
        v1_state = packed[:head] + packed[head + 96 :]
        sealed = crypto.seal(ring.state_key, v1_state, FORMAT_TAG + b"state\x00" + ring.vault_id)
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("DROP TABLE terms")
    conn.execute(
        "CREATE TABLE terms (term BLOB NOT NULL, id BLOB NOT NULL, PRIMARY KEY (term, id))"
        " WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX terms_id ON terms (id)")
    conn.executemany("INSERT INTO terms VALUES (?, ?)", rows)
    conn.execute("UPDATE meta SET value=? WHERE name='state'", (sealed,))
    conn.execute("UPDATE meta SET value='1' WHERE name='format'")
    for table in ("tokens", "token_log"):  # format 3 added them
        conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    return counts


def test_a_format_1_vault_is_migrated_once_and_keeps_everything(
    vault_dir: Path, tmp_path: Path
) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        world = build_world(v, tmp_path)
    counts = _downgrade_to_format_1(vault_dir)
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION
        assert v.check() == []
        assert {k: v.store.count(k) for k in counts} == counts
        assert len(content.list_items(v, tag="blog")) == 4
        assert content.get(v, world.items["in"].id).title == "Inside post"
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.info.format == schema.FORMAT_VERSION


def test_the_migration_rebuilds_the_blob_lists_from_the_records(
    vault_dir: Path, tmp_path: Path
) -> None:
    """Format 1 did not authenticate `blobs` and `doomed`: a live blob moved from one to the
    other before the migration must neither be destroyed nor sealed as dead."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        world = build_world(v, tmp_path)
    _downgrade_to_format_1(vault_dir)
    conn = sqlite3.connect(vault_dir / "vault.db")
    (blob_id,) = conn.execute("SELECT id FROM blobs LIMIT 1").fetchone()
    conn.execute("DELETE FROM blobs WHERE id=?", (blob_id,))
    conn.execute("INSERT INTO doomed (id) VALUES (?)", (blob_id,))
    conn.commit()
    conn.close()
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.check() == []
        for item in world.items.values():
            assert b"".join(content.read(v, item.id)).startswith(b"# ")


def test_lookups_see_what_another_connection_wrote_and_rotated(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        with v.store.write() as txn:
            txn.put("note", b"first", terms={"tag": "walk"})
        with Vault.open(vault_dir, PASSPHRASE) as other:
            assert len(v.store.find("note", "tag", "walk")) == 1  # kept between commits
            with other.store.write() as txn:
                gone = txn.put("note", b"second", terms={"tag": "walk"})
            assert len(v.store.find("note", "tag", "walk")) == 2
            with other.store.write() as txn:  # a forget's rotation re-keys every term
                txn.delete("note", gone)
                txn.rotate_epoch()
            assert [r.data for r in v.store.find("note", "tag", "walk")] == [b"first"]
            with v.store.write() as txn:
                txn.put("note", b"third", terms={"tag": "walk"})
            assert len(other.store.find("note", "tag", "walk")) == 2
