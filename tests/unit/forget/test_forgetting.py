"""Forgetting: previews, what goes and what stays, and the forensic guarantee."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, raw_vault_bytes
from vault import content
from vault import personas as identities
from vault.core.errors import InvalidParameter, RecordNotFound
from vault.core.keys import KeyRing
from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.forget import Target, forget, preview

DAY = 86_400_000
T0 = 1_700_006_400_000  # 2023-11-15T00:00:00Z


def _samples(persona_id: str, vault: Vault, days: int = 3, source: str = "Watch") -> None:
    with QSWriter(vault, persona_id) as w:
        for d in range(days):
            for h in range(24):
                t = T0 + d * DAY + h * 3_600_000
                w.add(Sample("heart_rate", t, t, 60 + h, "/min", source=source))
                w.add(Sample("steps", t, t + 60_000, 100 + d, "count", source=source))


def _note(vault: Vault, persona: str, text: bytes, title: str) -> content.Item:
    return content.add(vault, io.BytesIO(text), content.ItemMeta(title=title), persona=persona)


@pytest.fixture
def two_personas(fresh_vault: Vault) -> tuple[Vault, identities.Persona, identities.Persona]:
    ana = identities.add_persona(fresh_vault, "Ana MARKER-NAME-ana")
    bo = identities.add_persona(fresh_vault, "Bo")
    _samples(ana.id, fresh_vault)
    _samples(bo.id, fresh_vault)
    _note(fresh_vault, ana.id, b"MARKER-NOTE-ana " * 100, "MARKER-TITLE-ana")
    _note(fresh_vault, bo.id, b"bo keeps this", "bo note")
    return fresh_vault, ana, bo


def test_preview_changes_nothing(
    two_personas: tuple[Vault, identities.Persona, identities.Persona],
) -> None:
    vault, ana, _ = two_personas
    before = vault.store.state().writes
    plan = preview(vault, Target.of_persona(ana.name))
    assert plan.counts["personas"] == 1
    assert plan.counts["content_items"] == 1
    assert plan.counts["samples"] == 3 * 24 * 2
    assert vault.store.state().writes == before


def test_forget_persona_leaves_no_trace(
    two_personas: tuple[Vault, identities.Persona, identities.Persona], tmp_path: Path
) -> None:
    vault, ana, bo = two_personas
    vault.store.checkpoint()
    copy = tmp_path / "backup"
    shutil.copytree(vault.path, copy)
    conn = sqlite3.connect(vault.path / "vault.db")
    old_rows = {
        bytes(r[0]): (bytes(r[1]), bytes(r[2]))
        for r in conn.execute("SELECT id, rkey, data FROM records")
    }
    conn.close()

    result = forget(vault, Target.of_persona(ana.id))
    assert result.wal_truncated
    assert result.epoch == 2
    with pytest.raises(RecordNotFound):
        identities.get_persona(vault, ana.id)
    assert [p.name for p in identities.list_personas(vault)] == ["Bo"]
    assert [i.title for i in content.list_items(vault)] == ["bo note"]
    assert query.list_metrics(vault, ana.id) == []
    assert {m.metric for m in query.list_metrics(vault, bo.id)} == {"heart_rate", "steps"}
    assert vault.check() == []
    last = vault.audit_log()[-1]
    assert last.action == "forget"
    assert "MARKER" not in repr(last.details) and ana.id not in repr(last.details)

    disk = raw_vault_bytes(vault.path)
    assert b"MARKER" not in disk
    conn = sqlite3.connect(vault.path / "vault.db")
    live = {bytes(r[0]) for r in conn.execute("SELECT id FROM records")}
    conn.close()
    for rid, (rkey, data) in old_rows.items():
        assert rkey not in disk, "an old wrapped record key remains"
        if rid not in live:
            assert data not in disk, "ciphertext of a forgotten record remains"

    # The backup, with the live vault's root and epoch keys, does not open the forgotten data.
    ring = vault.store.ring
    stale = KeyRing(bytes.fromhex(vault.info.vault_id), ring.root, b"\0" * 32)
    stale.epoch_no, stale.epoch_key = ring.epoch_no, ring.epoch_key
    forgotten = [rid for rid in old_rows if rid not in live]
    conn = sqlite3.connect(copy / "vault.db")
    for rid in forgotten[:5]:
        kix, version, rkey = conn.execute(
            "SELECT kind, version, rkey FROM records WHERE id=?", (rid,)
        ).fetchone()
        for epoch in (1, 2):
            stale.epoch_no = epoch
            with pytest.raises(Exception):  # noqa: B017 - nothing may unwrap
                stale.unwrap_record_key(bytes(kix), rid, version, bytes(rkey))
    conn.close()


def test_forget_metric_range_rewrites_straddling_days(
    two_personas: tuple[Vault, identities.Persona, identities.Persona],
) -> None:
    vault, ana, bo = two_personas
    # From noon of the first day to noon of the second: two straddling chunks rewritten.
    target = Target.of_metric(
        "heart_rate", persona=ana.id, start=T0 + DAY // 2, end=T0 + DAY + DAY // 2
    )
    plan = preview(vault, target)
    assert plan.counts["samples"] == 24
    forget(vault, target)
    left = query.samples(vault, ana.id, "heart_rate", T0, T0 + 3 * DAY)
    starts = [s.start for s in left]
    assert len(starts) == 3 * 24 - 24
    assert not [t for t in starts if T0 + DAY // 2 <= t < T0 + DAY + DAY // 2]
    info = {m.metric: m for m in query.list_metrics(vault, ana.id)}
    assert info["heart_rate"].samples == 48
    assert {m.metric: m.samples for m in query.list_metrics(vault, bo.id)}["heart_rate"] == 72
    assert vault.check() == []


def test_forget_whole_metric_for_every_persona(
    two_personas: tuple[Vault, identities.Persona, identities.Persona],
) -> None:
    vault, ana, bo = two_personas
    forget(vault, Target.of_metric("steps"))
    for p in (ana, bo):
        assert {m.metric for m in query.list_metrics(vault, p.id)} == {"heart_rate"}
    assert vault.check() == []


def test_forget_content_item(
    two_personas: tuple[Vault, identities.Persona, identities.Persona],
) -> None:
    vault, _, _ = two_personas
    item = next(i for i in content.list_items(vault) if i.title == "MARKER-TITLE-ana")
    forget(vault, Target.of_content(item.id[:8]))
    assert [i.title for i in content.list_items(vault)] == ["bo note"]
    assert b"MARKER-NOTE" not in raw_vault_bytes(vault.path)


def test_forget_everything(
    two_personas: tuple[Vault, identities.Persona, identities.Persona],
) -> None:
    vault, _, _ = two_personas
    forget(vault, Target.everything())
    assert vault.store.counts()["records"] == 0
    assert vault.store.counts()["blob_chunks"] == 0
    assert vault.check() == []
    assert b"MARKER" not in raw_vault_bytes(vault.path)
    assert vault.audit_log()[-1].action == "forget"


def test_unknown_targets_refused(fresh_vault: Vault) -> None:
    with pytest.raises(RecordNotFound):
        preview(fresh_vault, Target.of_persona("nobody"))
    with pytest.raises(InvalidParameter):
        preview(fresh_vault, Target.of_metric("not_a_metric"))
    with pytest.raises(InvalidParameter):
        Target.of_metric("steps", start=10, end=5)
    with pytest.raises(InvalidParameter):
        forget(fresh_vault, Target.of_metric("steps"))  # nothing stored: nothing to forget


def test_vault_reopens_after_forget(vault_dir: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        p = identities.add_persona(v, "Solo")
        _samples(p.id, v, days=1)
        forget(v, Target.of_metric("steps"))
    with Vault.open(vault_dir, PASSPHRASE) as v:
        assert v.check() == []
        assert [m.metric for m in query.list_metrics(v, p.id)] == ["heart_rate"]


FORGETTER = f"""
import sys
from vault.core.vault import Vault
from vault.forget import Target, forget
with Vault.open(sys.argv[1], {PASSPHRASE!r}) as v:
    forget(v, Target.of_persona("Ana"))
    print("forgotten", flush=True)
"""


@pytest.mark.slow
def test_killed_forget_is_all_or_nothing(tmp_path: Path) -> None:
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(7)
    template = tmp_path / "template"
    with Vault.create(template, PASSPHRASE, kdf="minimum") as v:
        ana = identities.add_persona(v, "Ana")
        identities.add_persona(v, "Bo")
        _samples(ana.id, v, days=60)
        for i in range(30):
            _note(v, ana.id, b"x" * 50_000, f"note {i}")
    outcomes: set[str] = set()  # "nothing" and "all" are both valid; nothing in between
    for attempt in range(5):
        work = tmp_path / f"run{attempt}"
        shutil.copytree(template, work)
        proc = subprocess.Popen(
            [sys.executable, "-c", FORGETTER, str(work)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        with Vault.open(work, PASSPHRASE) as v:
            assert v.check() == []
            names = [p.name for p in identities.list_personas(v)]
            if "Ana" in names:
                assert b"forgotten" not in out
                assert len(content.list_items(v)) == 30
                assert query.list_metrics(v, ana.id)[0].samples == 60 * 24
                outcomes.add("nothing")
            else:
                assert names == ["Bo"] and content.list_items(v) == []
                outcomes.add("all")


def test_forget_gives_space_back(fresh_vault: Vault) -> None:
    p = identities.add_persona(fresh_vault, "Big")
    _samples(p.id, fresh_vault, days=40)
    fresh_vault.store.checkpoint()
    before = (fresh_vault.path / "vault.db").stat().st_size
    forget(fresh_vault, Target.of_persona(p.id))
    assert (fresh_vault.path / "vault.db").stat().st_size < before
