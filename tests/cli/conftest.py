"""Helpers for CLI tests: run `coffre` in-process as a script would, and make a vault with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE
from vault.cli.main import cli

# The import summary every format prints (docs/cli.md): the health imports' first keys and
# those the other areas brought.
SUMMARY_KEYS = {
    "added",
    "duplicates",
    "workouts",
    "summaries",
    "unknown_types",
    "added_by_metric",
    "errors",
    "time_zone",
    "clinical_records",
    "notes",
    "format",
    "added_ids",
    "updated",
    "unchanged",
    "ignored",
    "skipped",
    "attachments",
    "source",
    "items",
}


def invoke(
    vault_dir: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
) -> Result:
    """`coffre --vault VAULT_DIR ARGS...` (no --vault when VAULT_DIR is None) with the test
    passphrase in the environment."""
    prefix = ["--vault", str(vault_dir)] if vault_dir is not None else []
    return CliRunner().invoke(
        cli,
        [*prefix, *args],
        env={"COFFRE_PASSPHRASE": PASSPHRASE, **(env or {})},
        catch_exceptions=False,
    )


def checked(
    vault_dir: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    code: int = 0,
) -> Result:
    """Like `invoke`, asserting the exit code; returns the whole result."""
    result = invoke(vault_dir, *args, env=env)
    assert result.exit_code == code, (result.output, result.stderr)
    return result


def run(
    vault_dir: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    code: int = 0,
) -> str:
    """Like `checked`; returns stdout."""
    return checked(vault_dir, *args, env=env, code=code).stdout


def init_vault(vault_dir: Path, *persona: str) -> Path:
    """`coffre init` with the fast KDF profile, then `coffre persona add PERSONA...` when a
    persona (a name and its options) is given; returns VAULT_DIR."""
    checked(vault_dir, "init", "--kdf", "minimum")
    if persona:
        checked(vault_dir, "persona", "add", *persona)
    return vault_dir


@pytest.fixture
def made(vault_dir: Path) -> Path:
    """A new vault made by `coffre init`, with no persona yet."""
    return init_vault(vault_dir)


def cli_json_schema() -> dict[str, Any]:
    """The JSON Schema of every command's `--json` output, read from docs/cli.md (so the
    docs cannot drift from what the commands print)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text("utf-8")
    block = text[text.index("<!-- json-schema -->") :].split("```json", 1)[1].split("```", 1)[0]
    schema: dict[str, Any] = json.loads(block)
    return schema


def check_json(command: str, output: str) -> Any:
    """OUTPUT parsed, after checking it against the schema docs/cli.md gives for COMMAND
    (`grant show`, `import`...); raises jsonschema's ValidationError otherwise."""
    import jsonschema

    schema = cli_json_schema()
    data = json.loads(output)
    jsonschema.Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{command}"}
    ).validate(data)
    return data
