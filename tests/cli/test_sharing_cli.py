"""The sharing commands end to end: recipient keygen/add/list, grant create/list/show, export
(dry run, file, stdout, refusals), bundle verify/open, ledger; JSON shapes and exit codes."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.builders import World, add_audience_posts, build_world, forge_bundle
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
    "--from", "2026-10-10", "--to", "2026-10-19", "--purpose", "dpv:AcademicResearch",
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
    assert len(gid) == 32 and created["recipient"] == {
        "id": world.recipient.id,
        "name": "Health Lab",
    }
    listed = json.loads(checked(vault_dir, "grant", "list", "--json").stdout)
    assert [g["id"] for g in listed] == [gid] and listed[0]["status"] == "given"
    shown = json.loads(checked(vault_dir, "grant", "show", gid[:8], "--json").stdout)
    assert shown == created  # create prints the whole grant, as show does
    assert shown["scope"]["content_tags"] == ["blog"] and shown["retention"] == "P1Y"
    assert "valid until" in checked(vault_dir, "grant", "show", gid).stdout
    receipt = json.loads(checked(vault_dir, "grant", "show", gid, "--receipt").stdout)
    assert receipt["piiPrincipalId"] == shown["pseudonym"]

    plan = json.loads(checked(vault_dir, "export", gid, "--dry-run", "--json").stdout)
    assert {m["metric"]: m["count"] for m in plan["metrics"]} == {"steps": 40, "body_mass": 40}
    assert [c["title"] for c in plan["content"]] == ["Inside post"]
    dry = checked(vault_dir, "export", gid, "--dry-run").stdout
    assert "metric steps: 40 samples" in dry
    # The range as typed: --to 2026-10-19 is inclusive, never echoed as 2026-10-20.
    assert "data 2026-10-10 to 2026-10-19" in dry
    assert (
        "time range   2026-10-10 to 2026-10-19" in checked(vault_dir, "grant", "show", gid).stdout
    )

    out = tmp_path / "b.age"
    summary = json.loads(checked(vault_dir, "export", gid, "-o", str(out), "--json").stdout)
    assert out.is_file() and summary["grant"] == gid and summary["counts"]["samples"] == 80
    streamed = checked(vault_dir, "export", gid, "-o", "-")
    assert streamed.stdout_bytes.startswith(b"age-encryption.org/v1\n")
    assert "sha256" in streamed.stderr

    verified = json.loads(
        checked(None, "bundle", "verify", str(out), "-i", str(world.identity_file), "--json").stdout
    )
    assert verified["id"] == summary["id"] and verified["expired"] is False
    assert verified["grant"] == gid and verified["receipt"]["id"] == shown["receipt"]
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
    assert "audiences    public, followers" in checked(vault_dir, "grant", "show", wider).stdout
    checked(vault_dir, *base, "--audience", "everyone", code=7)


def test_export_and_open_write_output_files_the_one_way(
    vault_dir: Path, world: World, tmp_path: Path
) -> None:
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    out = tmp_path / "b.age"
    out.write_bytes(b"an older bundle")
    refused = checked(vault_dir, "export", gid, "-o", str(out), code=8)
    assert "--force" in refused.stderr and out.read_bytes() == b"an older bundle"
    (lab,) = json.loads(checked(vault_dir, "ledger", "--json").stdout)
    assert lab["grants"][0]["bundles"] == []  # refused before anything left
    checked(vault_dir, "export", gid, "-o", str(out), "--force")
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # The recipient's side: a link in place of the folder is refused, files are private.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(elsewhere)
    identity = str(world.identity_file)
    linked = checked(None, "bundle", "open", str(out), "-i", identity,
                     "-o", str(tmp_path / "linked"), code=7)  # fmt: skip
    assert "link" in linked.stderr and not any(elsewhere.iterdir())
    checked(None, "bundle", "open", str(out), "-i", identity, "-o", str(tmp_path / "opened"))
    opened = list((tmp_path / "opened").rglob("*"))
    assert opened and all(
        stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600) for p in opened
    )
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.fixture
def sent(vault_dir: Path, world: World, tmp_path: Path) -> Path:
    """A bundle exported under the usual grant."""
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    checked(vault_dir, "export", gid, "-o", str(tmp_path / "b.age"))
    return tmp_path / "b.age"


def test_a_forged_bundle_is_shown_escaped_and_an_unpinned_key_is_warned_about(
    world: World, sent: Path, tmp_path: Path
) -> None:
    def hostile(manifest: dict[str, Any], receipt: dict[str, Any]) -> None:
        receipt["purposes"] = ["\x1b[2J\x1b]0;pwned\x07dpv:Research\u202e"]
        manifest["persona_id"] = "\x9b31m"

    forged = tmp_path / "forged.age"
    key = forge_bundle(sent, world, forged, change=hostile)
    identity = str(world.identity_file)
    shown = checked(None, "bundle", "verify", str(forged), "-i", identity)
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(shown.output)
    assert "purpose     \\x1b[2J\\x1b]0;pwned\\x07dpv:Research\\u202e" in shown.stdout
    assert "from        \\x9b31m" in shown.stdout
    assert "not who signed it" in shown.stderr and "--key" in shown.stderr
    as_json = checked(None, "bundle", "verify", str(forged), "-i", identity, "--json")
    assert json.loads(as_json.stdout)["pseudonym"] == "\x9b31m"  # the same JSON value
    assert "\x9b" not in as_json.stdout and "not who signed it" in as_json.stderr
    pinned = checked(None, "bundle", "verify", str(forged), "-i", identity, "--key", key)
    assert "not who signed it" not in pinned.stderr


def _set(document: str, key: str, value: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """A change to the manifest or the receipt, for `forge_bundle`."""

    def change(manifest: dict[str, Any], receipt: dict[str, Any]) -> None:
        (manifest if document == "manifest" else receipt)[key] = value

    return change


DEEP = b"[" * 100_000 + b"]" * 100_000

# A forged bundle (every hash and signature valid, under a stranger's key) that is refused:
# the option of forge_bundle and its value, and the reason given (exit 5).
REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "an expiry without a time": (
        {"change": _set("manifest", "valid_until", "2099-12-31")},
        "the manifest's valid_until is not a date and time with an offset",
    ),
    "an expiry without an offset": (
        {"change": _set("manifest", "valid_until", "2099-12-31T23:59:59")},
        "the manifest's valid_until is not a date and time with an offset",
    ),
    "a receipt expiry without a time": (
        {"change": _set("receipt", "validUntil", "2099-12-31")},
        "the receipt's validUntil is not a date and time with an offset",
    ),
    "a receipt that is not an object": (
        {"receipt": b"[1, 2]"},
        "receipt.json is not a consent receipt",
    ),
    "a receipt nested too deeply": ({"receipt": DEEP}, "receipt.json is not valid JSON"),
    "a manifest nested too deeply": ({"manifest": DEEP}, "manifest.json is not a Coffre manifest"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_crafted_bundle_is_refused_with_its_reason(
    case: str, world: World, sent: Path, tmp_path: Path
) -> None:
    forged, (options, reason) = tmp_path / "forged.age", REFUSED[case]
    forge_bundle(sent, world, forged, **options)
    identity = str(world.identity_file)
    verified = checked(None, "bundle", "verify", str(forged), "-i", identity, code=5)
    assert reason in verified.stderr and "unexpected" not in verified.stderr
    opened = checked(None, "bundle", "open", str(forged), "-i", identity,
                     "-o", str(tmp_path / "opened"), code=5)  # fmt: skip
    assert reason in opened.stderr and not (tmp_path / "opened").exists()


def test_a_receipt_with_odd_fields_is_shown_as_it_is(
    world: World, sent: Path, tmp_path: Path
) -> None:
    def odd(manifest: dict[str, Any], receipt: dict[str, Any]) -> None:
        receipt.update(dataController="Health Lab", purposes=42, personalDataCategories=None)

    forged = tmp_path / "forged.age"
    forge_bundle(sent, world, forged, change=odd)
    identity = str(world.identity_file)
    shown = checked(None, "bundle", "verify", str(forged), "-i", identity).stdout
    assert "purpose     42" in shown
    as_json = checked(None, "bundle", "verify", str(forged), "-i", identity, "--json").stdout
    assert json.loads(as_json)["receipt"]["controller"] is None
