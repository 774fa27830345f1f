"""`coffre revoke` and `coffre notice` as scripts use them."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import checked, init_vault, run


@pytest.fixture
def granted(vault_dir: Path, tmp_path: Path) -> str:
    init_vault(vault_dir, "Ana", "--attr", "email=ana@example.org")
    public = run(vault_dir, "recipient", "keygen", "-o", str(tmp_path / "clinic.key")).strip()
    run(vault_dir, "recipient", "add", "Clinic", "--age-key", public)
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    out = run(
        vault_dir,
        "grant",
        "create",
        "--recipient",
        "Clinic",
        "--persona",
        "Ana",
        "--attrs",
        "email",
        "--purpose",
        "dpv:ServiceProvision",
        "--expires",
        until,
        "--json",
    )
    grant_id: str = json.loads(out)["id"]
    run(vault_dir, "export", grant_id, "-o", str(tmp_path / "b.age"))
    return grant_id


def test_revoke_writes_the_signed_request(vault_dir: Path, tmp_path: Path, granted: str) -> None:
    notice = tmp_path / "notice.json"
    out = json.loads(run(vault_dir, "revoke", granted, "--notice-out", str(notice), "--json"))
    assert out["reason"] == "withdrawn" and len(out["bundles"]) == 1
    assert notice.exists() and notice.with_suffix(".txt").exists()
    assert (notice.stat().st_mode & 0o777) == 0o600
    if shutil.which("minisign"):
        subprocess.run(
            ["minisign", "-Vm", str(notice), "-P", out["public_key"]],
            check=True,
            capture_output=True,
        )
    run(vault_dir, "export", granted, "-o", str(tmp_path / "again.age"), code=6)
    run(vault_dir, "revoke", granted, code=6)
    run(vault_dir, "revoke", "0123456789ab", code=4)
    text = run(vault_dir, "notice", granted)
    assert "GDPR Art. 17" in text and granted in text
    grant = json.loads(run(vault_dir, "grant", "show", granted, "--json"))
    assert grant["status"] == "withdrawn"
    ledger = json.loads(run(vault_dir, "ledger", "--json"))
    entry = ledger[0]["grants"][0]
    assert entry["status"] == "withdrawn"
    assert [n["id"] for n in entry["erasure_requests"]] == [out["id"]]
    assert "erasure request (withdrawn)" in run(vault_dir, "ledger")


def test_the_text_and_json_forms_never_overwrite_each_other(
    vault_dir: Path, tmp_path: Path, granted: str
) -> None:
    notice = tmp_path / "notice.txt"
    (tmp_path / "notice.txt.txt").write_text("mine\n")
    refused = checked(vault_dir, "revoke", granted, "--notice-out", str(notice), code=8)
    assert "--force" in refused.stderr and "notice.txt.txt" in refused.stderr
    grant = json.loads(run(vault_dir, "grant", "show", granted, "--json"))
    assert grant["status"] == "given"  # refused before anything was withdrawn
    (tmp_path / "notice.txt.txt").unlink()
    out = json.loads(run(vault_dir, "revoke", granted, "--notice-out", str(notice), "--json"))
    assert out["files"] == [str(notice), f"{notice}.minisig", f"{notice}.txt"]
    assert json.loads(notice.read_text())["grant"]["id"] == granted
    assert "GDPR Art. 17" in (tmp_path / "notice.txt.txt").read_text()
    run(vault_dir, "notice", granted, "--notice-out", str(notice), code=8)
    run(vault_dir, "notice", granted, "--notice-out", str(notice), "--force")
    assert json.loads(notice.read_text())["grant"]["id"] == granted
