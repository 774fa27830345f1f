"""A forget's erasure requests: only the bundles that carried forgotten data get one, it asks
to erase what was forgotten (never to withdraw consent), and the grant stays given."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.builders import Delivered, deliver_2024
from vault.core.errors import InvalidParameter
from vault.core.minisign import verify
from vault.core.vault import Vault
from vault.data.query import parse_instant
from vault.forget import ForgetResult, Target, forget, preview
from vault.sharing import get_grant, ledger, revocation
from vault.sharing.bundles.export import export_bundle
from vault.sharing.revocation import ErasureRequest


@pytest.fixture
def delivered(fresh_vault: Vault, tmp_path: Path) -> Delivered:
    return deliver_2024(fresh_vault, tmp_path / "bundle.age")


def _only_request(result: ForgetResult) -> tuple[ErasureRequest, dict[str, Any]]:
    (request,) = result.notices
    return request, json.loads(request.document)


def _still_given(vault: Vault, grant_id: str, tmp_path: Path) -> None:
    """The grant is as it was: given, and it exports again."""
    assert get_grant(vault, grant_id).status == "given"
    assert [h.status for h in get_grant(vault, grant_id).history] == ["given"]
    export_bundle(vault, grant_id, tmp_path / "again.age")


@pytest.mark.parametrize(
    ("since", "before", "reached"),
    [
        ("2024-03-02", "2024-03-03", True),  # entirely inside what the bundle carried
        ("2021-01-01", "2024-03-02", True),  # partly overlapping it
        (None, "2022-01-01", False),  # entirely outside it: only 2021 data goes
    ],
    ids=["inside", "overlapping", "outside"],
)
def test_a_metric_range_reaches_the_bundle_only_where_it_overlaps(
    fresh_vault: Vault,
    delivered: Delivered,
    tmp_path: Path,
    since: str | None,
    before: str | None,
    reached: bool,
) -> None:
    start = parse_instant(since) if since else None
    end = parse_instant(before) if before else None
    target = Target.of_metric("heart_rate", start=start, end=end)
    plan = preview(fresh_vault, target)
    assert plan.counts["samples"] >= 1
    assert [h.name for h in plan.holders] == (["Clinic"] if reached else [])
    result = forget(fresh_vault, target)
    if reached:
        (bundle,) = ledger.bundles_for_grant(fresh_vault, delivered.grant)
        request, body = _only_request(result)
        assert body["reason"] == "forgotten" and body["grant"]["id"] == delivered.grant
        assert body["bundles"] == [
            {
                "id": bundle.bundle_id,
                "time": bundle.time,
                "sha256": bundle.sha256,
                "size": bundle.size,
                "erase": {
                    "everything": False,
                    "metrics": [
                        {
                            "metric": "heart_rate",
                            "from": f"{since}T00:00:00+00:00",
                            "before": f"{before}T00:00:00+00:00",
                        }
                    ],
                    "content": [],
                },
            }
        ]
        assert [n.id for n in revocation.notices(fresh_vault, grant=delivered.grant)] == [
            request.id
        ]
    else:
        assert result.notices == ()
        assert revocation.notices(fresh_vault) == []
    _still_given(fresh_vault, delivered.grant, tmp_path)


def test_a_content_item_reaches_only_the_bundles_that_carried_it(
    fresh_vault: Vault, delivered: Delivered, tmp_path: Path
) -> None:
    kept = forget(fresh_vault, Target.of_content(delivered.kept_note))
    assert kept.plan.holders == () and kept.notices == ()
    _, body = _only_request(forget(fresh_vault, Target.of_content(delivered.sent_note)))
    (bundle,) = body["bundles"]
    assert bundle["erase"] == {
        "everything": False,
        "metrics": [],
        "content": [{"id": delivered.sent_note, "version": 1}],
    }
    _still_given(fresh_vault, delivered.grant, tmp_path)


def test_targets_reaching_one_bundle_make_one_request(
    fresh_vault: Vault, delivered: Delivered
) -> None:
    targets = [
        Target.of_metric("heart_rate", start=parse_instant("2024-03-03")),
        Target.of_content(delivered.sent_note),
    ]
    assert len(preview(fresh_vault, targets).erasures) == 1
    _, body = _only_request(forget(fresh_vault, targets))
    (bundle,) = body["bundles"]
    assert [m["from"] for m in bundle["erase"]["metrics"]] == ["2024-03-03T00:00:00+00:00"]
    assert [c["id"] for c in bundle["erase"]["content"]] == [delivered.sent_note]


@pytest.mark.parametrize("target", [Target.of_persona("Ana"), Target.everything()])
def test_a_persona_or_everything_reaches_every_bundle_whole(
    fresh_vault: Vault, delivered: Delivered, target: Target
) -> None:
    bundles = [b.bundle_id for b in ledger.all_bundles(fresh_vault)]
    result = forget(fresh_vault, target)
    _, body = _only_request(result)
    assert [b["id"] for b in body["bundles"]] == bundles
    assert body["bundles"][0]["erase"] == {"everything": True, "metrics": [], "content": []}
    if target.kind == "everything":  # nothing is kept, the requests included
        assert fresh_vault.store.counts()["records"] == 0
        assert fresh_vault.audit_log()[-2].action == "consent.notice"


def test_the_request_asks_for_erasure_not_withdrawal(
    fresh_vault: Vault, delivered: Delivered
) -> None:
    target = Target.of_metric("heart_rate", start=parse_instant("2024-03-02"))
    request, body = _only_request(forget(fresh_vault, target))
    (bundle,) = ledger.bundles_for_grant(fresh_vault, delivered.grant)
    text = request.text()
    for words in (text, request.document.decode()):
        assert "withdraw" not in words.lower() and "7(3)" not in words
    assert body["legal_basis"] == [revocation.ERASURE] and "Art. 17" in revocation.ERASURE
    assert body["requests"] == ["erase-listed-data", "confirm-erasure"]
    assert "withdrawn" not in body["grant"]
    assert text.startswith("Request for erasure of personal data")
    assert f"bundle {bundle.bundle_id} sent {bundle.time}" in text
    assert "heart_rate data from 2024-03-02T00:00:00+00:00 on" in text
    assert "Art. 17" in text and delivered.grant in text
    # Signed with the pairwise key, like a withdrawal.
    assert request.public_key == get_grant(fresh_vault, delivered.grant).persona_key
    verify(request.public_key, request.document, request.signature)


def test_a_forget_request_is_not_the_grants_withdrawal(
    fresh_vault: Vault, delivered: Delivered
) -> None:
    forget(fresh_vault, Target.of_content(delivered.sent_note))
    with pytest.raises(InvalidParameter):
        revocation.notice_for(fresh_vault, delivered.grant)  # still given: revoke it first
    withdrawal = revocation.revoke(fresh_vault, delivered.grant)
    assert json.loads(withdrawal.document)["requests"][0] == "withdraw-consent"
    assert revocation.notice_for(fresh_vault, delivered.grant).id == withdrawal.id


def test_preview_and_forget_agree_on_a_range_holding_nothing(
    fresh_vault: Vault, delivered: Delivered
) -> None:
    target = Target.of_metric("heart_rate", start=parse_instant("2030-01-01"))
    plan = preview(fresh_vault, target)
    assert plan.empty and plan.holders == () and plan.erasures == ()
    with pytest.raises(InvalidParameter) as previewed:
        plan.check_not_empty()
    with pytest.raises(InvalidParameter) as forgotten:
        forget(fresh_vault, target)
    assert previewed.value.message == forgotten.value.message


@pytest.mark.interop
def test_minisign_verifies_the_forget_request(
    fresh_vault: Vault, delivered: Delivered, tmp_path: Path
) -> None:
    if shutil.which("minisign") is None:
        pytest.skip("minisign is not installed")
    request, _ = _only_request(forget(fresh_vault, Target.of_content(delivered.sent_note)))
    doc = tmp_path / "request.json"
    doc.write_bytes(request.document)
    (tmp_path / "request.json.minisig").write_text(request.signature)
    subprocess.run(
        ["minisign", "-Vm", str(doc), "-P", request.public_key], check=True, capture_output=True
    )
