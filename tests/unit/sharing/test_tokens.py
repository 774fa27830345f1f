"""Export tokens: what a token opens is exactly its grant's scope, its bundle carries what a
passphrase bundle carries, and revoking, expiring, cancelling, forgetting and re-keying
destroy its keys."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import IN_DAYS, World, build_world, bundle_members, make_grant
from tests.conftest import PASSPHRASE, raw_vault_bytes
from vault import content, forget
from vault import sharing as consent
from vault.core import crypto, keys
from vault.core import tokens as core_tokens
from vault.core.clock import FixedClock
from vault.core.errors import (
    GrantExpired,
    GrantWithdrawn,
    NothingInScope,
    TokenExpired,
    TokenOnlyExports,
    WrongToken,
)
from vault.core.vault import Vault
from vault.data import catalog
from vault.data.csvfmt import import_csv_text
from vault.sharing import ledger, tokens
from vault.sharing.bundles import export_bundle

NOW = datetime(2026, 10, 25, 12, tzinfo=UTC)
CLOCK = FixedClock(NOW)


@pytest.fixture
def world_vault(vault_dir: Path, tmp_path: Path) -> tuple[Vault, World]:
    vault = Vault.create(vault_dir, PASSPHRASE, kdf="minimum", clock=CLOCK)
    return vault, build_world(vault, tmp_path)


def _token_vault(vault_dir: Path, text: str, clock: FixedClock = CLOCK) -> Vault:
    return Vault.open_with_token(vault_dir, text, clock=clock)


def _view_keys(vault_dir: Path, text: str) -> list[bytes]:
    """Every record key the token's view holds, unsealed with the token file alone."""
    with _token_vault(vault_dir, text) as tv:
        assert tv.token is not None
        return [e.key for e in tv.token.view.entries]


def _opened_by(vault_dir: Path, vault_id: bytes, token_keys: list[bytes]) -> set[bytes]:
    """Walk every record row of the file and keep those some token key opens."""
    conn = sqlite3.connect(vault_dir / "vault.db")
    rows = conn.execute("SELECT id, kind, version, data FROM records").fetchall()
    conn.close()
    opened = set()
    for rid, kix, version, data in rows:
        aad = keys.record_aad(vault_id, kix, rid, version)
        for key in token_keys:
            try:
                crypto.unseal(key, data, aad)
            except crypto.CryptoFailure:
                continue
            opened.add(rid)
    return opened


def _expected_scope(vault: Vault, world: World, grant: consent.Grant) -> set[bytes]:
    """The grant's records as the data says: its grant and recipient records, the chunks of
    its metrics inside the range (not their day indexes: the view holds a copy cut down to
    the range), the one post inside it."""
    ids = {grant.id, world.recipient.id}
    for metric in grant.scope.metric_ids():
        _days_id, days = catalog.load_days(vault.store, world.persona.id, metric)
        ids |= {cid for day, cid in days.items() if day in IN_DAYS}
    post = world.items["in"]
    ids |= {post.id, content.get_version(vault, post.id).record_id}
    ids |= {b.record_id for b in ledger.bundles_for_grant(vault, grant.id)}
    return {bytes.fromhex(i) for i in ids}


def test_the_token_opens_exactly_the_grants_records(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    other = make_grant(vault, world, purpose="dpv:ServiceProvision")
    for sent in (grant, other):  # its own ledger entry opens, the other grant's does not
        export_bundle(vault, sent.id, tmp_path / f"{sent.id}.age")
    _info, text = tokens.create_token(vault, grant.id)
    expected = _expected_scope(vault, world, grant)
    assert len(ledger.bundles_for_grant(vault, grant.id)) == 1
    vault_id = bytes.fromhex(vault.info.vault_id)
    total = vault.store.counts()["records"]
    vault.close()
    opened = _opened_by(vault_dir, vault_id, _view_keys(vault_dir, text))
    assert opened == expected
    assert total > len(expected)  # the persona, other metrics, days and items stay shut


def test_reading_outside_the_scope_finds_nothing(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    _info, text = tokens.create_token(vault, grant.id)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        assert [i.id for i in content.list_items(tv)] == [world.items["in"].id]
        assert tv.store.find("persona", "uid", world.persona.uid) == []
        assert list(tv.store.iter_kind(ledger.KIND)) == []
        with pytest.raises(TokenOnlyExports), tv.store.write():
            pass


def _normalized(data: bytes) -> bytes:
    """A file with its random ids (UUID version 4, drawn per export) blanked out."""
    v4 = rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    return re.sub(v4, b"uuid", data)


def test_a_token_bundle_carries_what_a_passphrase_bundle_carries(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    _info, text = tokens.create_token(vault, grant.id)
    export_bundle(vault, grant.id, tmp_path / "pass.age")
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        export_bundle(tv, grant.id[:8], tmp_path / "token.age")
    by_pass = bundle_members(tmp_path / "pass.age", world.identity)
    by_token = bundle_members(tmp_path / "token.age", world.identity)
    assert sorted(by_pass) == sorted(by_token)
    m_pass, m_token = json.loads(by_pass["manifest.json"]), json.loads(by_token["manifest.json"])
    volatile = {"bundle_id", "files"}
    assert {k: v for k, v in m_pass.items() if k not in volatile} == {
        k: v for k, v in m_token.items() if k not in volatile
    }
    assert [f["path"] for f in m_pass["files"]] == [f["path"] for f in m_token["files"]]
    same = [f for f in m_pass["files"] if f in m_token["files"]]
    differ = {f["path"] for f in m_pass["files"]} - {f["path"] for f in same}
    # Only the files holding the bundle's id or per-export random ids differ, and only there.
    assert all(p == "README.md" or p.endswith((".fhir.json", ".omh.json")) for p in differ)
    for path in differ - {"README.md"}:
        assert _normalized(by_pass[path]) == _normalized(by_token[path])
    readme = by_token["README.md"].replace(
        m_token["bundle_id"].encode(), m_pass["bundle_id"].encode()
    )
    assert readme == by_pass["README.md"]


def test_a_token_export_reaches_the_ledger_and_audit_with_the_tokens_id(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    info, text = tokens.create_token(vault, grant.id)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        result = export_bundle(tv, grant.id, tmp_path / "b.age")
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        tokens.sync(v)
        found = [b for b in ledger.bundles_for_grant(v, grant.id) if b.token]
        assert [(b.bundle_id, b.token, b.sha256) for b in found] == [
            (result.bundle_id, info.id, result.sha256)
        ]
        exports = [e for e in v.audit_log() if e.action == "bundle.export"]
        assert [e.details.get("token") for e in exports] == [info.id]


def test_a_token_exports_only_its_grant(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    other = make_grant(vault, world, purpose="dpv:ServiceProvision")
    _info, text = tokens.create_token(vault, grant.id)
    vault.close()
    with _token_vault(vault_dir, text) as tv, pytest.raises(TokenOnlyExports):
        export_bundle(tv, other.id, tmp_path / "other.age")
    assert not (tmp_path / "other.age").exists()


def test_since_last_with_a_token_sees_what_the_token_sent(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    """`--since-last` on the token path reads the grant's ledger entries and the exports the
    token logged itself: nothing is sent twice, before or after the next unlock."""
    vault, world = world_vault
    grant = make_grant(vault, world)
    _info, text = tokens.create_token(vault, grant.id)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        first = export_bundle(tv, grant.id, tmp_path / "1.age", since_last=True)
        assert first.plan.previous_bundle is None
        with pytest.raises(NothingInScope):
            export_bundle(tv, grant.id, tmp_path / "2.age", since_last=True)
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        tokens.sync(v)  # moves the logged export into the ledger, re-seals the view
    with _token_vault(vault_dir, text) as tv, pytest.raises(NothingInScope):
        export_bundle(tv, grant.id, tmp_path / "3.age", since_last=True)


def test_data_written_after_the_token_inside_a_rolling_range_opens(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = Vault.create(vault_dir, PASSPHRASE, kdf="minimum", clock=CLOCK)
    world = build_world(vault, tmp_path)
    grant = make_grant(
        vault,
        world,
        time_range=consent.TimeRange.build(last="30d"),
        scope=consent.ScopeRequest(metrics="steps"),
    )
    _info, text = tokens.create_token(vault, grant.id)
    before = _view_keys(vault_dir, text)
    new_day = "2026-10-24T08:00:00Z"
    import_csv_text(
        vault,
        world.persona.id,
        f"start,end,metric,value,unit,source\n{new_day},{new_day},steps,4321,count,Watch\n",
    )
    # Outside the scope: another metric the same day; no key for it reaches the token.
    import_csv_text(
        vault,
        world.persona.id,
        f"start,end,metric,value,unit,source\n{new_day},{new_day},heart_rate,77,/min,Watch\n",
    )
    vault.close()
    after = _view_keys(vault_dir, text)
    # That day's steps chunk was rewritten (a new version, a new key; the day index the view
    # holds is a copy, with no key); the heart rate written beside it gave the token nothing.
    assert len(after) == len(before)
    assert len(set(after) - set(before)) == 1
    with _token_vault(vault_dir, text) as tv:
        export_bundle(tv, grant.id, tmp_path / "b.age")
    csv = bundle_members(tmp_path / "b.age", world.identity)["data/qs/steps.csv"].decode()
    assert "4321" in csv


def _row(vault_dir: Path, token_id: str) -> bytes | None:
    conn = sqlite3.connect(vault_dir / "vault.db")
    found = conn.execute(
        "SELECT view FROM tokens WHERE id=?", (bytes.fromhex(token_id),)
    ).fetchone()
    conn.close()
    return found[0] if found else None


def _assert_destroyed(vault_dir: Path, text: str, token_id: str, view: bytes) -> None:
    """The token opens nothing, and its sealed view is gone from every file of the vault."""
    with pytest.raises(WrongToken):
        _token_vault(vault_dir, text)
    assert _row(vault_dir, token_id) is None
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        v.store.checkpoint()
    assert not _any_piece_of(view, raw_vault_bytes(vault_dir))


def _any_piece_of(sealed: bytes, raw: bytes) -> bool:
    """Whether any 64 bytes of a sealed value remain on disk: a view longer than a page is
    stored in pieces (overflow pages), so looking for it whole would find nothing."""
    return any(sealed[i : i + 64] in raw for i in range(0, max(len(sealed) - 63, 1), 64))


def _made(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> tuple[Vault, World, consent.Grant, str, str, bytes]:
    vault, world = world_vault
    grant = make_grant(vault, world)
    info, text = tokens.create_token(vault, grant.id)
    view = _row(vault_dir, info.id)
    assert view is not None
    return vault, world, grant, info.id, text, view


def test_untoken_destroys_the_token(world_vault: tuple[Vault, World], vault_dir: Path) -> None:
    vault, _world, _grant, token_id, text, view = _made(world_vault, vault_dir)
    tokens.untoken(vault, token_id[:6])
    assert tokens.list_tokens(vault) == []
    vault.close()
    _assert_destroyed(vault_dir, text, token_id, view)


def test_withdrawing_the_grant_destroys_its_tokens(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, _world, grant, token_id, text, view = _made(world_vault, vault_dir)
    consent.set_grant_status(vault, grant.id, consent.WITHDRAWN)
    vault.close()
    _assert_destroyed(vault_dir, text, token_id, view)
    audit = Vault.open(vault_dir, PASSPHRASE, clock=CLOCK)
    with audit:
        destroyed = [e.details for e in audit.audit_log() if e.action == "token.destroy"]
    assert destroyed == [{"grant": grant.id, "token": token_id, "reason": "grant withdrawn"}]


def test_the_grants_expiry_stops_then_destroys_the_token(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world, valid_until="2026-11-30")
    info, text = tokens.create_token(vault, grant.id)
    view = _row(vault_dir, info.id)
    assert view is not None
    vault.close()
    later = FixedClock(datetime(2026, 12, 2, tzinfo=UTC))
    with _token_vault(vault_dir, text, later) as tv, pytest.raises(GrantExpired):
        export_bundle(tv, grant.id, tmp_path / "late.age")
    with Vault.open(vault_dir, PASSPHRASE, clock=later) as v:
        tokens.sync(v)
    _assert_destroyed(vault_dir, text, info.id, view)


def test_the_tokens_own_expiry_stops_then_destroys_it(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    info, text = tokens.create_token(vault, grant.id, expires=NOW + timedelta(days=1))
    view = _row(vault_dir, info.id)
    assert view is not None
    vault.close()
    later = FixedClock(NOW + timedelta(days=2))
    with _token_vault(vault_dir, text, later) as tv, pytest.raises(TokenExpired):
        export_bundle(tv, grant.id, tmp_path / "late.age")
    with Vault.open(vault_dir, PASSPHRASE, clock=later) as v:
        assert tokens.list_tokens(v) == []
    _assert_destroyed(vault_dir, text, info.id, view)


def test_forgetting_in_scope_data_destroys_the_token(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, world, _grant, token_id, text, view = _made(world_vault, vault_dir)
    forget.forget(vault, forget.Target.of_content(world.items["in"].id))
    vault.close()
    _assert_destroyed(vault_dir, text, token_id, view)


def test_forgetting_part_of_an_in_scope_day_destroys_the_token(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    """A forget that rewrites a chunk the token could read (some hours of one day) ends the
    token too, not only one that removes whole records."""
    vault, world, _grant, token_id, text, view = _made(world_vault, vault_dir)
    start = int(datetime(2026, 10, 12, 5, tzinfo=UTC).timestamp() * 1000)
    target = forget.Target.of_metric(
        "steps", persona=world.persona.id, start=start, end=start + 2 * 3_600_000
    )
    forget.forget(vault, target)
    vault.close()
    _assert_destroyed(vault_dir, text, token_id, view)


def test_forgetting_other_data_keeps_the_token(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, world, _grant, _token_id, text, _view = _made(world_vault, vault_dir)
    before = _view_keys(vault_dir, text)
    forget.forget(vault, forget.Target.of_content(world.items["out_tag"].id))
    vault.close()
    assert _view_keys(vault_dir, text) == before


def test_a_rekey_destroys_every_token(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    vault, _world, grant, token_id, text, view = _made(world_vault, vault_dir)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        sent = export_bundle(tv, grant.id, tmp_path / "b.age")
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        v.rekey(PASSPHRASE)  # what the token exported reaches the ledger first
        assert [b.bundle_id for b in ledger.bundles_for_grant(v, grant.id)] == [sent.bundle_id]
        assert v.check() == []
    _assert_destroyed(vault_dir, text, token_id, view)


def test_a_token_of_a_withdrawn_grant_cannot_be_made(world_vault: tuple[Vault, World]) -> None:
    vault, world = world_vault
    grant = make_grant(vault, world)
    consent.set_grant_status(vault, grant.id, consent.WITHDRAWN)
    with pytest.raises(GrantWithdrawn):
        tokens.create_token(vault, grant.id)
    vault.close()


def test_a_damaged_or_foreign_token_file_opens_nothing(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, _world, _grant, _token_id, text, _view = _made(world_vault, vault_dir)
    vault.close()
    prefix, token_id, secret = text.strip().split(":")
    wrong = core_tokens.TokenSecret(bytes.fromhex(token_id), b"\x00" * 32).text()
    for bad in ("not a token", f"{prefix}:{token_id}:{secret[:-4]}", wrong):
        with pytest.raises(WrongToken):
            _token_vault(vault_dir, bad)


def test_a_record_changed_under_the_token_is_damage(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    """The view holds each record's exact version: a row rolled back or altered outside
    Coffre fails on the token path too, without the root's digest keys."""
    vault, _world, grant, _token_id, text, _view = _made(world_vault, vault_dir)
    vault.close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("UPDATE records SET version=version+1 WHERE id=?", (bytes.fromhex(grant.id),))
    conn.commit()
    conn.close()
    from vault.core.errors import TamperedRecord

    with _token_vault(vault_dir, text) as tv, pytest.raises(TamperedRecord):
        export_bundle(tv, grant.id, tmp_path / "b.age")


IMPORTER = f"""
import sys
from datetime import date, timedelta
from vault.core.vault import Vault
from vault.data.csvfmt import import_csv_text
from vault.sharing import tokens  # keeps the tokens' views current as the import writes
path, persona, first = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3])
rows = ["start,end,metric,value,unit,source"]
for n in range(3000):
    day = (first + timedelta(days=n)).isoformat()
    rows += [f"{{day}}T{{h:02d}}:00:00Z,{{day}}T{{h:02d}}:30:00Z,steps,{{n + h}},count,Watch"
             for h in range(0, 24, 3)]
with Vault.open(path, {PASSPHRASE!r}) as v:
    import_csv_text(v, persona, "\\n".join(rows) + "\\n")
    print("committed", flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_an_import_that_feeds_a_token_is_all_or_nothing(
    vault_dir: Path, tmp_path: Path
) -> None:
    """A process killed while an import writes in-scope data and wraps its keys for a token
    leaves either the whole import, readable by the token, or none of it."""
    import random
    import signal
    import subprocess
    import sys
    import time

    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as vault:
        world = build_world(vault, tmp_path)
        grant = make_grant(
            vault,
            world,
            time_range=consent.TimeRange.build(),
            scope=consent.ScopeRequest(metrics="steps"),
            valid_until="2099-12-31",
        )
        _info, text = tokens.create_token(vault, grant.id)
    rng = random.Random(15)
    count = len(IN_DAYS) + 21  # the world's October
    for attempt in range(3):
        first = f"{1980 + 9 * attempt}-01-01"  # 3000 new days each time
        proc = subprocess.Popen(
            [sys.executable, "-c", IMPORTER, str(vault_dir), world.persona.id, first],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        with Vault.open(vault_dir, PASSPHRASE) as v:
            assert v.check() == []
            _days_id, days = catalog.load_days(v.store, world.persona.id, "steps")
        with _token_vault(vault_dir, text) as tv:
            assert tv.token is not None
            chunks = {e.rid.hex() for e in tv.token.view.entries if e.kind == catalog.KIND_CHUNK}
        assert chunks == set(days.values()), f"attempt {attempt}: the token's view is torn"
        assert len(days) in (count, count + 3000), f"attempt {attempt}: a partial import"
        if b"committed" in out:
            assert len(days) == count + 3000
        count = len(days)


def test_a_planted_token_row_is_removed_and_the_vault_stays_writable(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    """Only the root seals a token's control: a row written into the file by someone else
    is no token, and cannot stop the next write either."""
    vault, _world = world_vault
    vault.close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("INSERT INTO tokens VALUES (?, ?, ?)", (b"\x01" * 8, b"junk" * 20, b"junk"))
    conn.commit()
    conn.close()
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        assert tokens.list_tokens(v) == []
        with v.store.write() as txn:
            txn.put("note", b"still writable")
        destroyed = [e.details for e in v.audit_log() if e.action == "token.destroy"]
    assert destroyed == [{"reason": "the tokens table changed outside Coffre"}]
    assert _row(vault_dir, (b"\x01" * 8).hex()) is None


def test_a_damaged_export_log_ends_its_token_and_records_nothing(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    vault, _world, grant, token_id, text, view = _made(world_vault, vault_dir)
    vault.close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("INSERT INTO token_log VALUES (?, 1, ?)", (bytes.fromhex(token_id), b"x" * 64))
    conn.commit()
    conn.close()
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        tokens.sync(v)
        assert ledger.bundles_for_grant(v, grant.id) == []
    _assert_destroyed(vault_dir, text, token_id, view)


def _token_row(vault_dir: Path, token_id: str) -> tuple[bytes, bytes, bytes]:
    conn = sqlite3.connect(vault_dir / "vault.db")
    row = conn.execute(
        "SELECT id, control, view FROM tokens WHERE id=?", (bytes.fromhex(token_id),)
    ).fetchone()
    conn.close()
    return tuple(row)  # type: ignore[return-value]


def _plant_row(vault_dir: Path, row: tuple[bytes, bytes, bytes]) -> None:
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("INSERT OR REPLACE INTO tokens (id, control, view) VALUES (?, ?, ?)", row)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("end", ["untoken", "forget"])
def test_a_destroyed_tokens_row_put_back_stays_destroyed(
    world_vault: tuple[Vault, World], vault_dir: Path, end: str
) -> None:
    """Someone who can write the vault folder keeps a copy of a token's row and puts it back
    once the token was cancelled (or ended by a forget): the passphrase side must not take it
    for an active token, nor re-seal its view with what is written afterwards."""
    vault, world, _grant, token_id, text, _view = _made(world_vault, vault_dir)
    row = _token_row(vault_dir, token_id)
    if end == "untoken":
        tokens.untoken(vault, token_id)
    else:
        forget.forget(vault, forget.Target.of_content(world.items["in"].id))
    vault.close()
    _plant_row(vault_dir, row)
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        day = f"{IN_DAYS[0]}T23:00:00Z"
        import_csv_text(
            v,
            world.persona.id,
            f"start,end,metric,value,unit,source\n{day},{day},steps,4321,count,Watch\n",
        )
        assert tokens.list_tokens(v) == []
        destroyed = [e.details for e in v.audit_log() if e.action == "token.destroy"]
    assert destroyed[-1] == {"reason": "the tokens table changed outside Coffre"}
    with pytest.raises(WrongToken):
        _token_vault(vault_dir, text)


def test_a_view_resealed_by_its_token_holder_cannot_hide_a_forget(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    """The token key seals the view, and the token holder has it: one who can also write the
    folder could swap in a view listing nothing, so that a forget of what the token read finds
    nothing of its own in it and lets the token live on."""
    vault, world, _grant, token_id, text, _view = _made(world_vault, vault_dir)
    vault.close()
    secret = core_tokens.TokenSecret.parse(text)
    vault_id = bytes.fromhex(vault.info.vault_id)
    key = keys.token_key(vault_id, secret.token_id, secret.secret)
    empty = core_tokens.View(secret.token_id, _grant.id, None, ())
    sealed = crypto.seal(key, empty.pack(), keys.token_aad("view", vault_id, secret.token_id))
    _id, control, _old = _token_row(vault_dir, token_id)
    _plant_row(vault_dir, (secret.token_id, control, sealed))
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        forget.forget(v, forget.Target.of_content(world.items["in"].id))
        assert tokens.list_tokens(v) == []
    with pytest.raises(WrongToken):
        _token_vault(vault_dir, text)


@pytest.mark.parametrize("end", ["untoken", "withdraw", "forget"])
def test_a_destroyed_tokens_view_leaves_the_disk_before_the_vault_closes(
    world_vault: tuple[Vault, World], vault_dir: Path, end: str
) -> None:
    """Someone who holds the token file and reads the disk while the session that ended the
    token is still open (a terminal UI left running, a process killed before it closed) finds
    no sealed view of it, in the database or its write-ahead log."""
    vault, world, grant, token_id, _text, view = _made(world_vault, vault_dir)
    if end == "untoken":
        tokens.untoken(vault, token_id)
    elif end == "withdraw":
        consent.set_grant_status(vault, grant.id, consent.WITHDRAWN)
    else:
        forget.forget(vault, forget.Target.of_content(world.items["in"].id))
    assert len(view) > 4096  # in pieces: the check below looks for any of them
    assert not _any_piece_of(view, raw_vault_bytes(vault_dir))
    vault.close()


FORGED = {
    "recipient": lambda world: "f" * 32,  # no such recipient
    "persona": lambda world: world.other.id,
    "content": lambda world: [
        {"id": world.items["out_persona"].id, "version": 1, "title": "x", "path": "x"}
    ],
    "metrics": lambda world: [
        {
            "metric": "heart_rate",
            "count": 1,
            "first": "2026-10-12T00:00:00+00:00",
            "last": "2026-10-12T00:00:00+00:00",
            "next_start": int(datetime(2026, 10, 12, 1, tzinfo=UTC).timestamp() * 1000),
            "granularity": "raw",
        }
    ],
    "attributes": lambda world: ["phone"],
}


@pytest.mark.parametrize("field", sorted(FORGED))
def test_a_token_cannot_log_an_export_beyond_its_grant(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path, field: str
) -> None:
    """The token side writes its own export log (it has to, to be audited), so its holder can
    seal any claim there. A claim naming another recipient, persona, metric, item or attribute
    than the grant's must not reach the ledger, where forgetting and revoking read who holds
    what (a recipient that does not exist would stop them)."""
    vault, world, grant, _token_id, text, _view = _made(world_vault, vault_dir)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        export_bundle(tv, grant.id, tmp_path / "b.age")
        assert tv.token is not None
        (genuine,) = tv.token.logged_exports()
        forged = dict(genuine, bundle_id="0" * 32, **{field: FORGED[field](world)})
        tv.token.log_export(forged)
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        tokens.sync(v)
        assert [b.bundle_id for b in ledger.all_bundles(v)] == []
        assert tokens.list_tokens(v) == []  # the token that sealed the claim is ended
        forget.preview(v, forget.Target.of_content(world.items["out_persona"].id))


def test_a_damaged_record_in_a_tokens_scope_ends_the_token_not_the_vaults_writes(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    """A record the token could read whose wrapped key was damaged in the file cannot be put
    in a view again: the token ends (audited), and writes elsewhere (here an import of another
    metric) go on rather than fail while the token exists."""
    vault, world, grant, token_id, text, _view = _made(world_vault, vault_dir)
    _days_id, days = catalog.load_days(vault.store, world.persona.id, "steps")
    chunk = bytes.fromhex(days[IN_DAYS[0]])
    vault.close()
    conn = sqlite3.connect(vault_dir / "vault.db")
    conn.execute("UPDATE records SET rkey=zeroblob(length(rkey)) WHERE id=?", (chunk,))
    conn.commit()
    conn.close()
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        day = f"{IN_DAYS[0]}T23:00:00Z"
        import_csv_text(
            v,
            world.persona.id,
            f"start,end,metric,value,unit,source\n{day},{day},heart_rate,77,/min,Watch\n",
        )
        assert tokens.list_tokens(v) == []
        destroyed = [e.details for e in v.audit_log() if e.action == "token.destroy"]
    assert destroyed == [
        {"grant": grant.id, "token": token_id, "reason": "its scope cannot be read"}
    ]
    with pytest.raises(WrongToken):
        _token_vault(vault_dir, text)


CORE_ONLY_WRITER = f"""
import sys
from vault.core.vault import Vault
with Vault.open(sys.argv[1], {PASSPHRASE!r}) as v:
    with v.store.write() as txn:
        txn.put("note", b"written by a program that knows no grant")
    assert "vault.sharing" not in sys.modules
"""


def test_a_program_that_never_imports_sharing_ends_every_token_and_says_so(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    """A program that writes with the library alone cannot tell what a grant covers: it ends
    every token rather than leave one with a stale view, and the audit log says so, with how
    many exports the token had logged that no ledger entry records."""
    import subprocess
    import sys

    vault, _world, grant, token_id, text, view = _made(world_vault, vault_dir)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        export_bundle(tv, grant.id, tmp_path / "b.age")
    subprocess.run(
        [sys.executable, "-c", CORE_ONLY_WRITER, str(vault_dir)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])},
    )
    with pytest.raises(WrongToken):
        _token_vault(vault_dir, text)
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        destroyed = [e.details for e in v.audit_log() if e.action == "token.destroy"]
    assert destroyed == [
        {
            "grant": grant.id,
            "token": token_id,
            "reason": "written by a program that does not keep tokens current",
            "unrecorded_exports": 1,
        }
    ]
    _assert_destroyed(vault_dir, text, token_id, view)


def test_a_token_learns_nothing_of_the_days_outside_its_range(
    world_vault: tuple[Vault, World], vault_dir: Path
) -> None:
    """The day index of a metric lists every day that has data, with each day's chunk: with
    it, a token would learn on which days outside its range there is data (and, from the
    chunks' sizes on disk, about how much). A token reads only its range's days."""
    vault, world = world_vault
    grant = make_grant(vault, world)
    _info, text = tokens.create_token(vault, grant.id)
    days_id, days = catalog.load_days(vault.store, world.persona.id, "steps")
    assert days_id is not None and set(days) - set(IN_DAYS)  # the world has days outside
    vault_id = bytes.fromhex(vault.info.vault_id)
    vault.close()
    with _token_vault(vault_dir, text) as tv:
        seen_id, seen = catalog.load_days(tv.store, world.persona.id, "steps")
    assert seen_id == days_id
    assert seen == {day: cid for day, cid in days.items() if day in IN_DAYS}
    assert bytes.fromhex(days_id) not in _opened_by(
        vault_dir, vault_id, _view_keys(vault_dir, text)
    )


def test_the_tokens_secret_and_key_are_nowhere_in_the_vault_nor_its_audit_log(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    """The vault keeps the token key sealed under the root, never the secret: neither the
    secret (raw or as the file writes it) nor the key appears in any file of the vault, in
    the audit log's details, or in the error a wrong secret gets."""
    vault, _world, grant, _token_id, text, _view = _made(world_vault, vault_dir)
    vault.close()
    secret = core_tokens.TokenSecret.parse(text)
    key = keys.token_key(bytes.fromhex(vault.info.vault_id), secret.token_id, secret.secret)
    with _token_vault(vault_dir, text) as tv:
        export_bundle(tv, grant.id, tmp_path / "b.age")
    with Vault.open(vault_dir, PASSPHRASE, clock=CLOCK) as v:
        tokens.sync(v)
        details = json.dumps([e.details for e in v.audit_log()])
    encoded = text.strip().rsplit(":", 1)[1]
    for needle in (secret.secret, key, encoded.encode(), secret.secret.hex().encode()):
        assert needle not in raw_vault_bytes(vault_dir)
        assert needle.decode("latin-1") not in details
    wrong = core_tokens.TokenSecret(secret.token_id, bytes(32)).text()
    with pytest.raises(WrongToken) as caught:
        _token_vault(vault_dir, wrong)
    assert encoded not in str(caught.value) and secret.secret.hex() not in str(caught.value)


def test_a_write_while_a_token_reads_is_busy_not_tampering(
    world_vault: tuple[Vault, World], vault_dir: Path, tmp_path: Path
) -> None:
    """A passphrase session that rewrites an in-scope record while a token process holds its
    view (an import beside a cron export) changes versions under the token: that is the
    vault being busy, to run again, not damage (exit 5 would tell of an attack)."""
    from vault.core.errors import VaultBusy

    vault, world, grant, _token_id, text, _view = _made(world_vault, vault_dir)
    with _token_vault(vault_dir, text) as tv:
        day = f"{IN_DAYS[0]}T23:00:00Z"
        import_csv_text(
            vault,
            world.persona.id,
            f"start,end,metric,value,unit,source\n{day},{day},steps,4321,count,Watch\n",
        )
        with pytest.raises(VaultBusy):
            export_bundle(tv, grant.id, tmp_path / "b.age")
    vault.close()
    with _token_vault(vault_dir, text) as tv:  # run again: it exports
        export_bundle(tv, grant.id, tmp_path / "b.age")
