"""`grant token|tokens|untoken` and `export --token-file`: a script exports one grant with a
token file and no passphrase."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.builders import World, build_world
from tests.cli.conftest import checked
from tests.cli.test_sharing_cli import GRANT_ARGS
from tests.conftest import PASSPHRASE
from vault.cli.main import cli
from vault.core.vault import Vault


@pytest.fixture
def world(vault_dir: Path, tmp_path: Path) -> World:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        return build_world(v, tmp_path)


def _without_passphrase(vault_dir: Path, *args: str, code: int = 0, **env: str) -> str:
    """`coffre` with no passphrase anywhere in the environment, as a cron job holding only
    a token file runs it."""
    result = CliRunner().invoke(
        cli, ["--vault", str(vault_dir), *args], env={"COFFRE_PASSPHRASE": "", **env}
    )
    assert result.exit_code == code, result.output
    return result.stdout


def test_a_token_exports_its_grant_with_no_passphrase(
    vault_dir: Path, world: World, tmp_path: Path
) -> None:
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    token_file = tmp_path / "lab.token"
    shown = checked(vault_dir, "grant", "token", gid, "-o", str(token_file), "--json").stdout
    made = json.loads(shown)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert made["grant"] == gid and made["id"] in token_file.read_text()
    secret = token_file.read_text().strip().rsplit(":", 1)[1]
    assert secret not in shown  # the secret is in the file only
    # Never over an existing file (the secret there may be another token's).
    checked(vault_dir, "grant", "token", gid, "-o", str(token_file), code=8)

    out = tmp_path / "weekly.age"
    _without_passphrase(vault_dir, "export", gid, "-o", str(out), "--token-file", str(token_file))
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")
    env_out = tmp_path / "by-env.age"
    _without_passphrase(
        vault_dir, "export", gid, "-o", str(env_out), COFFRE_TOKEN_FILE=str(token_file)
    )
    assert env_out.exists()
    # Without a token nor a passphrase nothing opens (exit 3).
    _without_passphrase(vault_dir, "export", gid, "-o", str(tmp_path / "x.age"), code=3)

    listed = json.loads(checked(vault_dir, "grant", "tokens", "--json").stdout)
    assert [t["id"] for t in listed] == [made["id"]]
    (lab,) = json.loads(checked(vault_dir, "ledger", "--json").stdout)
    # Both token exports, moved into the ledger at the next unlock, with the token's id.
    assert [b["token"] for b in lab["grants"][0]["bundles"]] == [made["id"], made["id"]]

    checked(vault_dir, "grant", "untoken", made["id"][:6])
    assert json.loads(checked(vault_dir, "grant", "tokens", "--json").stdout) == []
    _without_passphrase(
        vault_dir, "export", gid, "-o", str(tmp_path / "late.age"), "--token-file",
        str(token_file), code=3,
    )  # fmt: skip


def test_a_token_of_another_grant_or_a_past_expiry_is_refused(
    vault_dir: Path, world: World, tmp_path: Path
) -> None:
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    token_file = tmp_path / "lab.token"
    checked(
        vault_dir, "grant", "token", gid, "-o", str(token_file), "--expires", "2001-01-01", code=7
    )
    assert not token_file.exists()
    other = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    checked(vault_dir, "grant", "token", gid, "-o", str(token_file))
    _without_passphrase(
        vault_dir, "export", other, "-o", str(tmp_path / "o.age"), "--token-file",
        str(token_file), code=6,
    )  # fmt: skip


def test_a_token_file_that_is_a_device_is_refused_at_once(vault_dir: Path, world: World) -> None:
    """`--token-file /dev/zero` (or any file that never ends) stops with the token error,
    rather than reading until memory runs out."""
    gid = checked(
        vault_dir, "grant", "create", "--recipient", "Health Lab", *GRANT_ARGS
    ).stdout.strip()
    _without_passphrase(
        vault_dir, "export", gid, "-o", str(vault_dir.parent / "x.age"), "--token-file",
        "/dev/zero", code=3,
    )  # fmt: skip
