"""Revocation: withdrawn grants, signed erasure requests, and forgets that reach recipients."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import send_heart_rate
from vault.core.errors import GrantWithdrawn, InvalidParameter, NotFound
from vault.core.minisign import verify
from vault.core.vault import Vault
from vault.forget import Target, forget, preview
from vault.sharing import get_grant, ledger, revocation
from vault.sharing.bundles.export import export_bundle

NOW = datetime.now(UTC)


@pytest.fixture
def shared(fresh_vault: Vault, tmp_path: Path) -> tuple[Vault, str, Path]:
    """A persona with heart rate, a recipient, a grant, and one bundle sent under it."""
    grant_id = send_heart_rate(fresh_vault, tmp_path / "bundle.age", now=NOW, hours=48)
    return fresh_vault, grant_id, tmp_path


def test_revoke_produces_signed_request(shared: tuple[Vault, str, Path]) -> None:
    v, gid, tmp = shared
    sent = ledger.bundles_for_grant(v, gid)
    request = revocation.revoke(v, gid[:8])
    assert get_grant(v, gid).status == "withdrawn"
    body = json.loads(request.document)
    assert body["reason"] == "withdrawn"
    assert body["grant"]["id"] == gid and body["grant"]["receipt_id"]
    assert [b["sha256"] for b in body["bundles"]] == [b.sha256 for b in sent]
    assert any("Art. 7(3)" in x for x in body["legal_basis"])
    assert any("Art. 17" in x for x in body["legal_basis"])
    # Signed by the pairwise key the grant's receipt names, not the persona's own key.
    assert request.public_key == get_grant(v, gid).persona_key
    verify(request.public_key, request.document, request.signature)
    assert "Ana" not in request.document.decode()
    assert "bundle" in request.text() and sent[0].sha256 in request.text()
    # Kept as the termination receipt.
    assert [n.id for n in revocation.notices(v, grant=gid)] == [request.id]
    with pytest.raises(GrantWithdrawn):
        export_bundle(v, gid, tmp / "again.age")
    with pytest.raises(GrantWithdrawn):
        revocation.revoke(v, gid)


@pytest.mark.interop
def test_minisign_verifies_the_request(shared: tuple[Vault, str, Path]) -> None:
    if shutil.which("minisign") is None:
        pytest.skip("minisign is not installed")
    v, gid, tmp = shared
    request = revocation.revoke(v, gid)
    doc = tmp / "request.json"
    doc.write_bytes(request.document)
    (tmp / "request.json.minisig").write_text(request.signature)
    subprocess.run(
        ["minisign", "-Vm", str(doc), "-P", request.public_key], check=True, capture_output=True
    )


def test_unknown_grant_and_notice_rules(shared: tuple[Vault, str, Path]) -> None:
    v, gid, _ = shared
    with pytest.raises(NotFound):
        revocation.revoke(v, "ffffffffffff")
    with pytest.raises(InvalidParameter):
        revocation.notice_for(v, gid)  # still given: revoke it first
    first = revocation.revoke(v, gid)
    assert revocation.notice_for(v, gid).id == first.id


def test_expired_grant_has_a_notice(shared: tuple[Vault, str, Path]) -> None:
    v, gid, _ = shared
    later = NOW + timedelta(days=60)
    request = revocation.notice_for(v, gid, now=later)
    assert json.loads(request.document)["reason"] == "expired"
    assert get_grant(v, gid).history[-1].status == "expired"


def test_forget_reaches_recipients_holding_copies(shared: tuple[Vault, str, Path]) -> None:
    v, gid, _ = shared
    plan = preview(v, Target.of_metric("heart_rate"))
    assert [h.name for h in plan.holders] == ["Clinic"]
    result = forget(v, Target.of_metric("heart_rate"))
    assert len(result.notices) == 1
    body = json.loads(result.notices[0].document)
    assert body["reason"] == "forgotten" and body["grant"]["id"] == gid
    assert revocation.notices(v, grant=gid)


def test_forget_persona_removes_its_consent_records(shared: tuple[Vault, str, Path]) -> None:
    v, gid, _ = shared
    plan = preview(v, Target.of_persona("Ana"))
    assert plan.counts["grants"] == 1 and plan.counts["ledger_entries"] == 1
    result = forget(v, Target.of_persona("Ana"))
    assert len(result.notices) == 1
    with pytest.raises(NotFound):
        get_grant(v, gid)
    assert ledger.all_bundles(v) == []
    assert v.check() == []


def test_forget_recipient(shared: tuple[Vault, str, Path]) -> None:
    v, gid, _ = shared
    revocation.revoke(v, gid)
    result = forget(v, Target.of_recipient("Clinic"))
    assert result.plan.counts == {
        "recipients": 1,
        "grants": 1,
        "ledger_entries": 1,
        "erasure_requests": 1,
    }
    assert result.notices == ()
    assert revocation.notices(v) == []
    assert v.check() == []
