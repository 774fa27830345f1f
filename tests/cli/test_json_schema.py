"""Every command's `--json` output against the JSON Schema in docs/cli.md: a vault with
something of every kind (personas, data, workouts, sleep, content, recipients, grants,
bundles, erasure requests, rules), every command run on it, and a check that no command with
`--json` was left out, so neither the docs nor the commands drift. The imports' summaries are
checked against the same schema where each format is imported (tests/cli/test_import_cli.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import jsonschema
import pytest

from tests.builders import add_jane, build_world
from tests.cli.conftest import check_json, checked, cli_json_schema
from tests.conftest import PASSPHRASE
from vault.cli.main import cli
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import SLEEP_STAGES, Sample, Workout

T = 1_791_619_200_000  # 2026-10-10T08:00:00Z, inside the world's data


def json_commands() -> Iterator[str]:
    """The name of every command that takes `--json` (`grant show`, `import csv`...)."""
    ctx = click.Context(cli)

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, (*path, name))
        elif any(p.name == "as_json" for p in command.params):
            yield " ".join(path)

    return walk(cli, ())


def _schema_name(command: str) -> str:
    return "import" if command.startswith("import ") else command


def test_the_schema_is_valid_and_names_every_json_command() -> None:
    schema = cli_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    names = {_schema_name(c) for c in json_commands()}
    assert names <= set(schema["$defs"])


def test_every_command_prints_what_the_schema_says(vault_dir: Path, tmp_path: Path) -> None:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        world = build_world(v, tmp_path)
        add_jane(v)
        with QSWriter(v, world.persona.id) as w:
            w.add_workout(Workout("running", T, T + 1_800_000, 0, 1800.0, 5000.0, 320.0, "Watch"))
            w.add(Sample("sleep", T - 9 * 3_600_000, T - 8 * 3_600_000, SLEEP_STAGES["deep"], ""))
    ran: dict[str, int] = {}

    def run(command: str, *args: str) -> object:
        """`coffre COMMAND ARGS --json`, its output checked against the schema."""
        out = checked(vault_dir, *command.split(), *args, "--json").stdout
        ran[command] = ran.get(command, 0) + 1
        return check_json(_schema_name(command), out)

    pro, lab = ("--persona", "Pro self"), world.recipient.name
    checked(tmp_path / "other", "init", "--kdf", "minimum", "--json")
    check_json("init", checked(tmp_path / "new", "init", "--kdf", "minimum", "--json").stdout)
    ran["init"] = 1
    run("status")
    run("recovery-kit", "-o", str(tmp_path / "kit.txt"), "--dry-run")
    run("recovery-kit", "-o", str(tmp_path / "kit.txt"))
    run("recovery-kit", "-o", str(tmp_path / "kit.txt"), "--force", "--yes")
    run("check")
    run("persona list")
    run("persona add", "Third", "--attr", "email=t@example.org", "--sensitive", "phone=+3312")
    run("persona show", "Pro self", "--derive", "age_over:18", "--recipient", "a" * 64)
    run("persona show", "Third")
    run("persona edit", "Third", "--add", "url=https://example.org")
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: A note\ntags: [blog]\n---\nHello.\n")
    item = run("content add", str(note), *pro)
    assert isinstance(item, dict)
    run("content list")
    run("content edit", item["id"], "--title", "A new title")
    run("content show", item["id"])
    run("content prove", item["id"], "-o", str(tmp_path / "proof"))
    run("data metrics", *pro)
    for args in ((), ("--every", "day"), ("--every", "week", "--tz", "Europe/Paris")):
        for metric in ("steps", "heart_rate", "sleep"):
            run("data show", metric, *pro, "--to", "2026-10-10", *args)
    run("data show", "steps", *pro, "--from", "2030-01-01")  # nothing: an empty list
    run("data workouts", *pro)
    run("data sources", "steps", *pro)
    run("data priority")
    other = checked(None, "recipient", "keygen", "-o", str(tmp_path / "other.key")).stdout
    run("recipient add", "Other Lab", "--age-key", other.strip())
    run("recipient list")
    grant = run(
        "grant create", "--recipient", lab, *pro, "--metrics", "steps", "--content-tags", "blog",
        "--attrs", "email,age_over:18", "--from", "2026-10-01", "--to", "2026-10-19",
        "--purpose", "dpv:AcademicResearch", "--expires", "2099-12-31", "--retention", "1y",
    )  # fmt: skip
    assert isinstance(grant, dict)
    gid = grant["id"]
    run("grant list")
    run("grant show", gid)
    run("export", gid, "--dry-run")
    bundle = tmp_path / "b.age"
    run("export", gid, "-o", str(bundle))
    token_file = tmp_path / "lab.token"
    token = run("grant token", gid, "-o", str(token_file), "--expires", "2099-01-01")
    assert isinstance(token, dict)
    run("export", gid, "-o", str(tmp_path / "t.age"), "--token-file", str(token_file))
    run("grant tokens")
    identity = ("-i", str(world.identity_file))
    run("bundle verify", str(bundle), *identity)
    run("bundle open", str(bundle), *identity, "-o", str(tmp_path / "opened"))
    run("ledger")  # the token's export too, moved in at this unlock
    run("grant untoken", token["id"])
    run("rules add", "--metric", "heart_rate", "--keep", "30d")
    run("rules list")
    run("forget", "--metric", "steps", *pro, "--to", "2026-10-05", "--dry-run")
    run("revoke", gid)
    run("notice", gid)
    run("ledger", "--recipient", lab)  # with a withdrawn grant and its erasure request
    run("forget", "--content", item["id"], "--yes")
    run("forget", "--apply-rules", "--yes")
    run("forget", "--apply-rules")  # nothing due any more
    folder = tmp_path / "remote"
    folder.mkdir()
    run("remote add", "usb", folder.as_uri())
    run("remote list")
    run("sync")
    run("device rename", "Desk")
    run("device list")
    ran["clone"] = 1
    copy = ("clone", folder.as_uri(), str(tmp_path / "copy"), "--device-name", "Copy", "--json")
    check_json("clone", checked(None, *copy).stdout)
    run("sync")  # the original learns of the copy, a device it can revoke
    run("remote add", "spare", (tmp_path / "spare").as_uri())
    run("remote rm", "spare", "--yes")
    run("audit", "--limit", "5")
    run("audit", "--verify")
    csv = tmp_path / "more.csv"
    csv.write_text(
        "start,end,metric,value,unit,source\n2026-11-01T00:00:00Z,,heart_rate,60,/min,W\n"
    )
    run("import csv", str(csv), *pro)
    # Last: revoking a device changes the passphrase.
    new = {"COFFRE_NEW_PASSPHRASE": "the passphrase after a revocation"}
    revoke = ("device", "revoke", "Copy", "--yes", "--json")
    check_json("device revoke", checked(vault_dir, *revoke, env=new).stdout)
    ran["device revoke"] = 1
    # Every command with --json ran (the imports of other formats run in test_import_cli).
    expected = {c for c in json_commands() if not c.startswith("import ") or c == "import csv"}
    assert set(ran) == expected


def test_a_key_the_docs_do_not_list_is_caught(vault_dir: Path) -> None:
    """The schema is strict: a key added to a command's output without the docs fails."""
    checked(vault_dir, "init", "--kdf", "minimum")
    status = json.loads(checked(vault_dir, "status", "--json").stdout)
    check_json("status", json.dumps(status))
    with pytest.raises(jsonschema.ValidationError):
        check_json("status", json.dumps({**status, "undocumented": 1}))
    with pytest.raises(jsonschema.ValidationError):
        check_json("grant show", json.dumps({"id": "x"}))
