"""`coffre forget` and `coffre rules` from a script's point of view."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.builders import Delivered, deliver_2024
from tests.cli.conftest import checked, init_vault, run
from tests.conftest import PASSPHRASE
from vault.core.vault import Vault


def _vault_with_persona(vault_dir: Path, tmp_path: Path) -> None:
    init_vault(vault_dir, "Ana")
    csv = tmp_path / "hr.csv"
    csv.write_text(
        "start,end,metric,value,unit,source\n"
        "2024-01-01T08:00:00+00:00,2024-01-01T08:00:00+00:00,heart_rate,61,/min,Watch\n"
        "2024-01-02T08:00:00+00:00,2024-01-02T08:00:00+00:00,heart_rate,62,/min,Watch\n"
    )
    run(vault_dir, "import", "csv", str(csv))


def test_dry_run_then_forget(vault_dir: Path, tmp_path: Path) -> None:
    _vault_with_persona(vault_dir, tmp_path)
    preview = json.loads(
        run(
            vault_dir,
            "forget",
            "--metric",
            "heart_rate",
            "--to",
            "2024-01-01",
            "--dry-run",
            "--json",
        )
    )
    assert preview["dry_run"] is True and preview["counts"]["samples"] == 1
    # Without --yes and without a terminal, nothing happens: exit 7, as for every command.
    run(vault_dir, "forget", "--metric", "heart_rate", "--to", "2024-01-01", code=7)
    done = json.loads(
        run(vault_dir, "forget", "--metric", "heart_rate", "--to", "2024-01-01", "--yes", "--json")
    )
    assert done["counts"]["samples"] == 1 and done["wal_truncated"] is True
    shown = json.loads(run(vault_dir, "data", "show", "heart_rate", "--json"))
    assert [row["value"] for row in shown] == [62]
    assert json.loads(run(vault_dir, "check", "--json"))["ok"] is True


def test_forget_persona_and_unknown_targets(vault_dir: Path, tmp_path: Path) -> None:
    _vault_with_persona(vault_dir, tmp_path)
    run(vault_dir, "forget", "--persona", "Nobody", "--yes", code=4)
    run(vault_dir, "forget", "--yes", code=2)
    run(vault_dir, "forget", "--persona", "Ana", "--content", "abcd", "--yes", code=2)
    run(vault_dir, "forget", "--persona", "Ana", "--yes")
    assert json.loads(run(vault_dir, "persona", "list", "--json")) == []
    actions = [e["action"] for e in json.loads(run(vault_dir, "audit", "--json"))]
    assert actions[-1] == "forget"


def test_rules_cli(vault_dir: Path, tmp_path: Path) -> None:
    _vault_with_persona(vault_dir, tmp_path)
    rule_id = run(vault_dir, "rules", "add", "--metric", "heart_rate", "--keep", "30d").strip()
    listed = json.loads(run(vault_dir, "rules", "list", "--json"))
    assert listed["rules"][0]["id"] == rule_id
    assert listed["due"]["counts"]["samples"] == 2  # samples from 2024 are long due
    run(vault_dir, "rules", "add", "--metric", "heart_rate", "--tag", "x", "--keep", "1d", code=2)
    assert (
        json.loads(run(vault_dir, "forget", "--apply-rules", "--yes", "--json"))["counts"][
            "samples"
        ]
        == 2
    )
    assert json.loads(run(vault_dir, "forget", "--apply-rules", "--json")) == {"due": False}
    run(vault_dir, "rules", "rm", rule_id[:8])
    assert json.loads(run(vault_dir, "rules", "list", "--json"))["rules"] == []


@pytest.fixture
def delivered(vault_dir: Path, tmp_path: Path) -> Delivered:
    """Heart rate of 2021 and 2024, of which a bundle carried 2024 (`deliver_2024`)."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        return deliver_2024(v, tmp_path / "bundle.age")


def test_dry_run_and_forget_agree_on_a_range_holding_nothing(
    vault_dir: Path, delivered: Delivered
) -> None:
    after = ("forget", "--metric", "heart_rate", "--from", "2030-01-01")
    previewed = checked(vault_dir, *after, "--dry-run", code=7)
    done = checked(vault_dir, *after, "--yes", code=7)
    assert previewed.stderr == done.stderr
    assert "nothing to forget" in done.stderr and "Would forget" not in previewed.stdout
    checked(vault_dir, *after, "--dry-run", "--json", code=7)


def test_forget_asks_erasure_only_of_bundles_that_carried_it(
    vault_dir: Path, tmp_path: Path, delivered: Delivered
) -> None:
    requests = tmp_path / "requests"
    before_2022 = ("forget", "--metric", "heart_rate", "--to", "2021-12-31")
    preview = json.loads(run(vault_dir, *before_2022, "--dry-run", "--json"))
    assert preview["counts"]["samples"] == 2 and preview["recipients_holding_copies"] == []
    done = json.loads(
        run(vault_dir, *before_2022, "--yes", "--json", "--notices-out", str(requests))
    )
    assert done["erasure_requests"] == [] and not requests.exists()
    grant = json.loads(run(vault_dir, "grant", "show", delivered.grant, "--json"))
    assert grant["status"] == "given"
    run(vault_dir, "export", delivered.grant, "-o", str(tmp_path / "again.age"))

    shown = checked(vault_dir, "forget", "--content", delivered.sent_note, "--yes")
    assert "Request for erasure of personal data" in shown.stdout
    assert f"content item {delivered.sent_note}" in shown.stdout
    assert "withdraw" not in shown.stdout.lower()
    # Confirmed with --yes, no preview was shown: what the forget cannot reach is said after.
    assert "erasure requests were produced for them" in shown.stderr
    assert "passwd --rekey" in shown.stderr
    grant = json.loads(run(vault_dir, "grant", "show", delivered.grant, "--json"))
    assert grant["status"] == "given"
    run(vault_dir, "notice", delivered.grant, code=7)  # still given: nothing withdrawn


def test_forget_everything_sends_erasure_requests(
    vault_dir: Path, tmp_path: Path, delivered: Delivered
) -> None:
    requests = tmp_path / "requests"
    preview = json.loads(run(vault_dir, "forget", "--everything", "--dry-run", "--json"))
    assert [h["name"] for h in preview["recipients_holding_copies"]] == ["Clinic"]
    done = json.loads(
        run(vault_dir, "forget", "--everything", "--yes", "--json", "--notices-out", str(requests))
    )
    (request_id,) = done["erasure_requests"]
    name = request_id.rsplit(":", 1)[-1]
    document = requests / f"erasure-request-{name}.json"
    body = json.loads(document.read_text())
    assert body["reason"] == "forgotten" and body["grant"]["id"] == delivered.grant
    assert body["bundles"][0]["erase"]["everything"] is True
    assert "everything it carried" in document.with_suffix(".txt").read_text()
    # The text names the file written beside it, the one the signature covers.
    assert f"minisign -Vm {document.name} -P " in document.with_suffix(".txt").read_text()
    assert (requests / f"{document.name}.minisig").is_file()
    if shutil.which("minisign"):
        # The text form ends with the command that verifies it, the pairwise key included.
        public_key = document.with_suffix(".txt").read_text().split("-P ")[-1].strip()
        subprocess.run(
            ["minisign", "-Vm", str(document), "-P", public_key], check=True, capture_output=True
        )
