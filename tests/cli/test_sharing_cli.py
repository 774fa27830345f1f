"""The sharing commands end to end: recipient keygen/add/list, grant create/list/show, export
(dry run, file, stdout, refusals), bundle verify/open, ledger; JSON shapes and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import World, add_audience_posts, build_world
from tests.cli.conftest import checked
from tests.conftest import PASSPHRASE
from vault import sharing as consent
from vault.core.vault import Vault


@pytest.fixture
def world(vault_dir: Path, tmp_path: Path) -> World:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        return build_world(v, tmp_path)


GRANT_ARGS = (
    "--persona", "Pro self", "--metrics", "steps", "--categories", "pd:PhysicalCharacteristic",
    "--content-tags", "blog", "--content-kinds", "post", "--attrs", "email,age_over:18",
    "--from", "2026-10-10", "--to", "2026-10-19", "--purpose", "dpv:ScientificResearch",
    "--expires", "2099-12-31", "--retention", "1y", "--compensation", "a free check-up",
)  # fmt: skip


def test_keygen_add_list(vault_dir: Path, world: World, tmp_path: Path) -> None:
    key_file = tmp_path / "platform.key"
    public = checked(None, "recipient", "keygen", "-o", str(key_file)).stdout.strip()
    assert public.startswith("age1") and "AGE-SECRET-KEY-1" in key_file.read_text()
    checked(None, "recipient", "keygen", "-o", str(key_file), code=8)
    rid = checked(vault_dir, "recipient", "add", "Platform", "--age-key", public,
                  "--contact", "ops@platform.example").stdout.strip()  # fmt: skip
    assert len(rid) == 32
    listed = json.loads(checked(vault_dir, "recipient", "list", "--json").stdout)
    assert {r["name"] for r in listed} == {"Health Lab", "Platform"}
    assert "Platform" in checked(vault_dir, "recipient", "list").stdout
    checked(vault_dir, "recipient", "add", "Bad", "--age-key", "age1nope", code=7)
    checked(vault_dir, "recipient", "add", "platform", "--age-key", public, code=8)


def test_grant_export_open_ledger(vault_dir: Path, world: World, tmp_path: Path) -> None:
    created = json.loads(
        checked(
            vault_dir, "grant", "create", "--recipient", "health lab", *GRANT_ARGS, "--json"
        ).stdout
    )
    gid = created["id"]
    assert list(created) == ["id"] and len(gid) == 32
    listed = json.loads(checked(vault_dir, "grant", "list", "--json").stdout)
    assert [g["id"] for g in listed] == [gid] and listed[0]["status"] == "given"
    shown = json.loads(checked(vault_dir, "grant", "show", gid[:8], "--json").stdout)
    assert shown["scope"]["content_tags"] == ["blog"] and shown["retention"] == "P1Y"
    assert "valid until" in checked(vault_dir, "grant", "show", gid).stdout
    receipt = json.loads(checked(vault_dir, "grant", "show", gid, "--receipt").stdout)
    assert receipt["piiPrincipalId"] == shown["pseudonym"]

    plan = json.loads(checked(vault_dir, "export", gid, "--dry-run", "--json").stdout)
    assert {m["metric"]: m["count"] for m in plan["metrics"]} == {"steps": 40, "body_mass": 40}
    assert [c["title"] for c in plan["content"]] == ["Inside post"]
    assert "metric steps: 40 samples" in checked(vault_dir, "export", gid, "--dry-run").stdout

    out = tmp_path / "b.age"
    summary = json.loads(checked(vault_dir, "export", gid, "-o", str(out), "--json").stdout)
    assert out.is_file() and summary["grant"] == gid and summary["counts"]["samples"] == 80
    streamed = checked(vault_dir, "export", gid, "-o", "-")
    assert streamed.stdout_bytes.startswith(b"age-encryption.org/v1\n")
    assert "sha256" in streamed.stderr

    verified = json.loads(
        checked(None, "bundle", "verify", str(out), "-i", str(world.identity_file), "--json").stdout
    )
    assert verified["bundle_id"] == summary["bundle_id"] and verified["expired"] is False
    text = checked(None, "bundle", "open", str(out), "-i", str(world.identity_file),
                   "-o", str(tmp_path / "opened")).stdout  # fmt: skip
    assert "OK" in text and (tmp_path / "opened" / "manifest.json").is_file()

    view = json.loads(checked(vault_dir, "ledger", "--json").stdout)
    (lab,) = [r for r in view if r["name"] == "Health Lab"]
    assert len(lab["grants"][0]["bundles"]) == 2
    assert lab["grants"][0]["compensation"] == "a free check-up"
    human = checked(vault_dir, "ledger", "--recipient", "Health Lab").stdout
    assert "holds since" in human and "in exchange for: a free check-up" in human


def test_refusals_and_bad_bundles_exit_codes(vault_dir: Path, world: World, tmp_path: Path) -> None:
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    out = tmp_path / "b.age"
    checked(vault_dir, "export", gid, "-o", str(out))
    # A wrong identity (7), a truncated bundle (5), nothing written.
    other = tmp_path / "other.key"
    checked(None, "recipient", "keygen", "-o", str(other))
    checked(None, "bundle", "open", str(out), "-i", str(other), "-o", str(tmp_path / "o"), code=7)
    cut = tmp_path / "cut.age"
    cut.write_bytes(out.read_bytes()[:-10])
    checked(None, "bundle", "verify", str(cut), "-i", str(world.identity_file), code=5)
    assert not (tmp_path / "o").exists()
    # Withdrawn: refused with the consent exit code, saying so.
    with Vault.open(vault_dir, PASSPHRASE) as v:
        consent.set_grant_status(v, gid, "withdrawn", at=datetime(2026, 11, 1, tzinfo=UTC))
    refused = checked(vault_dir, "export", gid, "-o", str(tmp_path / "again.age"), code=6)
    assert "withdrawn" in refused.stderr and not (tmp_path / "again.age").exists()
    # Nothing in scope and empty or contradictory scopes.
    empty = checked(vault_dir, "grant", "create", "--recipient", "Health Lab", "--persona",
                    "Other self", "--attrs", "phone", "--purpose", "dpv:Marketing",
                    "--expires", "2099-01-01").stdout.strip()  # fmt: skip
    assert "nothing" in checked(vault_dir, "export", empty, "--dry-run", code=6).stderr
    checked(vault_dir, "grant", "create", "--recipient", "Health Lab", "--persona", "Pro self",
            "--purpose", "dpv:Marketing", "--expires", "2099-01-01", code=7)  # fmt: skip
    checked(vault_dir, "grant", "create", "--recipient", "Health Lab", "--persona", "Pro self",
            "--metrics", "steps", "--from", "2026-01-01", "--last", "30d",
            "--purpose", "dpv:Marketing", "--expires", "2099-01-01", code=7)  # fmt: skip
    checked(vault_dir, "export", gid, code=7)  # neither -o nor --dry-run


def test_every_sharing_command_has_help() -> None:
    for args in (["recipient"], ["grant"], ["bundle"], ["export"], ["ledger"],
                 ["recipient", "keygen"], ["grant", "create"], ["bundle", "open"]):  # fmt: skip
        assert "Usage" in checked(None, *args, "--help").stdout


def test_grant_audiences_and_the_dry_run(vault_dir: Path, world: World) -> None:
    with Vault.open(vault_dir, PASSPHRASE) as v:
        posts = add_audience_posts(v, world)
    base = ("grant", "create", "--recipient", "health lab", *GRANT_ARGS)
    public_only = checked(vault_dir, *base).stdout.strip()
    plan = json.loads(checked(vault_dir, "export", public_only, "--dry-run", "--json").stdout)
    assert [(c["title"], c["audience"]) for c in plan["content"]] == [("Inside post", "public")]
    wider = checked(vault_dir, *base, "--audience", "public,followers").stdout.strip()
    plan = json.loads(checked(vault_dir, "export", wider, "--dry-run", "--json").stdout)
    assert {c["id"]: c["audience"] for c in plan["content"]} == {
        world.items["in"].id: "public",
        posts["followers"].id: "followers",
    }
    text = checked(vault_dir, "export", wider, "--dry-run").stdout
    assert "(followers) 'Followers audience post'" in text and "(public) 'Inside post'" in text
    shown = json.loads(checked(vault_dir, "grant", "show", wider, "--json").stdout)
    assert shown["scope"]["content_audiences"] == ["public", "followers"]
    receipt = json.loads(checked(vault_dir, "grant", "show", wider, "--receipt").stdout)
    assert receipt["scope"]["content_audiences"] == ["public", "followers"]
    assert (
        "content_audiences public, followers" in checked(vault_dir, "grant", "show", wider).stdout
    )
    checked(vault_dir, *base, "--audience", "everyone", code=7)
