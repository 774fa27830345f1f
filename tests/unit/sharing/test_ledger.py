"""The ledger: every export recorded (grant, time, bundle id and hash, what left), and the
look-ups revocation and forgetting build on."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import World, make_grant
from tests.conftest import raw_vault_bytes
from vault import sharing as consent
from vault.core import crypto
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import query
from vault.sharing import bundles as bundle
from vault.sharing import ledger, overview

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_every_export_is_recorded_with_what_left(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(fresh_vault, world)
    first = bundle.export_bundle(fresh_vault, g.id, tmp_path / "1.age", now=NOW)
    second = bundle.export_bundle(fresh_vault, g.id, tmp_path / "2.age", now=NOW)
    records = ledger.bundles_for_grant(fresh_vault, g.id)
    assert [r.bundle_id for r in records] == [first.bundle_id, second.bundle_id]
    r = records[0]
    assert (r.grant, r.recipient, r.persona) == (g.id, world.recipient.id, world.persona.id)
    assert (r.sha256, r.size, r.status) == (first.sha256, first.size, "complete")
    assert r.time == "2026-11-26T12:00:00Z"
    assert r.files == first.manifest["counts"]["files"] + 2  # plus the manifest and its signature
    assert {m.metric: m.count for m in r.metrics} == {"steps": 40, "body_mass": 40}
    assert r.metrics[0].first.startswith("2026-10-10T00:00:00")
    assert [c.id for c in r.content] == [world.items["in"].id]
    assert r.attributes == ("email", "age_over:18")
    assert ledger.get_bundle(fresh_vault, first.bundle_id) == r
    assert ledger.get_bundle(fresh_vault, "0" * 32) is None
    audit = [e for e in fresh_vault.audit_log() if e.action == "bundle.export"]
    assert len(audit) == 2
    assert audit[0].details["bundle"] == first.bundle_id
    assert audit[0].details["sha256"] == first.sha256
    assert "Inside post" not in str(audit[0].details)


def test_who_holds_what_by_persona_metric_and_content(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    _, public = crypto.age_keygen()
    insurer = consent.add_recipient(fresh_vault, "Insurer", public)
    lab_grant = make_grant(fresh_vault, world)
    ins_grant = make_grant(
        fresh_vault, world, recipient=insurer.id, scope=consent.ScopeRequest(metrics="heart_rate")
    )
    make_grant(fresh_vault, world, scope=consent.ScopeRequest(attributes="email"))  # never used
    bundle.export_bundle(fresh_vault, lab_grant.id, tmp_path / "a.age", now=NOW)
    b = bundle.export_bundle(fresh_vault, ins_grant.id, tmp_path / "b.age", now=NOW)
    pid = world.persona.id

    def holding(**selected: str) -> list[ledger.Holding]:
        return ledger.holdings(fresh_vault, ledger.bundles_carrying(fresh_vault, **selected))

    holders = holding(persona_id=pid)
    assert {(h.recipient, h.name, h.grants) for h in holders} == {
        (world.recipient.id, "Health Lab", (lab_grant.id,)),
        (insurer.id, "Insurer", (ins_grant.id,)),
    }
    (hr,) = holding(persona_id=pid, metric="heart_rate")
    assert (hr.recipient, hr.bundles, hr.metrics) == (insurer.id, (b.bundle_id,), ("heart_rate",))
    (post,) = holding(content_id=world.items["in"].id)
    assert post.recipient == world.recipient.id and post.since == "2026-11-26T12:00:00Z"
    assert holding(content_id=world.items["out_tag"].id) == []
    assert holding(persona_id=world.other.id) == []
    with pytest.raises(InvalidParameter):
        ledger.bundles_carrying(fresh_vault, metric="steps")


def test_a_metric_span_is_what_the_bundle_carried(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    """Raw samples span from the first start to just past the last; aggregates to the end of
    the last period; a range reaches a bundle only where the two overlap."""
    raw = make_grant(fresh_vault, world, scope=consent.ScopeRequest(metrics="steps"))
    daily = make_grant(
        fresh_vault, world, scope=consent.ScopeRequest(metrics="steps"), granularity="day"
    )
    bundle.export_bundle(fresh_vault, raw.id, tmp_path / "raw.age", now=NOW)
    bundle.export_bundle(fresh_vault, daily.id, tmp_path / "daily.age", now=NOW)
    (raw_steps,) = ledger.bundles_for_grant(fresh_vault, raw.id)[0].metrics
    (daily_steps,) = ledger.bundles_for_grant(fresh_vault, daily.id)[0].metrics
    first = query.parse_instant("2026-10-10T00:00:00Z")
    last = query.parse_instant("2026-10-19T18:00:00Z")  # the last sample's start
    end_of_range = query.parse_instant("2026-10-20T00:00:00Z")
    assert raw_steps.span == (first, last + 1)
    assert daily_steps.span == (first, end_of_range)
    assert raw_steps.overlaps(None, first + 1) and raw_steps.overlaps(last, None)
    assert not raw_steps.overlaps(None, first) and not raw_steps.overlaps(last + 1, None)
    assert daily_steps.overlaps(last + 1, None) and not daily_steps.overlaps(end_of_range, None)

    def carrying(start: int | None, end: int | None) -> set[str]:
        found = ledger.bundles_carrying(
            fresh_vault, persona_id=world.persona.id, metric="steps", start=start, end=end
        )
        return {b.grant for b in found}

    assert carrying(None, None) == {raw.id, daily.id}
    assert carrying(last + 1, None) == {daily.id}
    assert carrying(end_of_range, None) == set()
    assert carrying(None, first) == set()


def test_ledger_view_answers_who_holds_what(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    g = make_grant(fresh_vault, world)
    unused = make_grant(fresh_vault, world, scope=consent.ScopeRequest(attributes="email"))
    result = bundle.export_bundle(fresh_vault, g.id, tmp_path / "a.age", now=NOW)
    consent.set_grant_status(fresh_vault, unused.id, "withdrawn")
    (entry,) = overview.ledger_view(fresh_vault, "health lab")
    assert entry.recipient.name == "Health Lab"
    assert entry.recipient.fingerprint == world.recipient.fingerprint
    grants = {x.grant.id: x for x in entry.grants}
    used, withdrawn = grants[g.id], grants[unused.id]
    assert used.grant.purpose == "dpv:AcademicResearch"
    assert used.grant.compensation == "a free annual check-up" and used.status == "given"
    assert used.since == "2026-11-26T12:00:00Z"
    assert used.metrics == ("body_mass", "steps")
    assert used.attributes == ("age_over:18", "email")
    assert used.bundles[0].sha256 == result.sha256
    assert withdrawn.status == "withdrawn" and withdrawn.bundles == ()
    assert [h.status for h in withdrawn.grant.history] == ["given", "withdrawn"]
    # The JSON of `coffre ledger --json`.
    d = entry.as_dict()
    assert d["id"] == world.recipient.id and d["name"] == "Health Lab"
    assert d["fingerprint"] == world.recipient.fingerprint
    as_json = {x["id"]: x for x in d["grants"]}
    used_json, withdrawn_json = as_json[g.id], as_json[unused.id]
    assert used_json["recipient"] == {"id": world.recipient.id, "name": "Health Lab"}
    assert used_json["purpose"] == "dpv:AcademicResearch"
    assert used_json["compensation"] == "a free annual check-up"
    assert used_json["status"] == "given" and used_json["since"] == "2026-11-26T12:00:00Z"
    assert used_json["holds"]["metrics"] == ["body_mass", "steps"]
    assert used_json["holds"]["attributes"] == ["age_over:18", "email"]
    assert used_json["bundles"][0]["sha256"] == result.sha256
    assert used_json["bundles"][0]["samples"] == 80 and used_json["bundles"][0]["items"] == 1
    assert withdrawn_json["status"] == "withdrawn" and withdrawn_json["bundles"] == []
    assert [h["status"] for h in withdrawn_json["history"]] == ["given", "withdrawn"]
    assert withdrawn_json["erasure_requests"] == []


def test_ledger_records_are_encrypted(fresh_vault: Vault, world: World, tmp_path: Path) -> None:
    g = make_grant(fresh_vault, world)
    result = bundle.export_bundle(fresh_vault, g.id, tmp_path / "a.age", now=NOW)
    raw = raw_vault_bytes(fresh_vault.path)
    assert result.sha256.encode() not in raw and result.bundle_id.encode() not in raw
    assert b"Inside post" not in raw


def test_the_ledger_does_not_import_revocation() -> None:
    """Revocation builds on the ledger (a request names the bundles sent), not the reverse."""
    code = (
        "import sys, vault.sharing.ledger\n"
        "assert 'vault.sharing.revocation' not in sys.modules, 'revocation loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
