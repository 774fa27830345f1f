"""Helpers for CLI tests: run `coffre` in-process as a script would."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE
from vault.cli.main import cli


def invoke(vault_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`coffre --vault VAULT_DIR ARGS...` with the test passphrase in the environment."""
    return CliRunner().invoke(
        cli,
        ["--vault", str(vault_dir), *args],
        env={"COFFRE_PASSPHRASE": PASSPHRASE, **(env or {})},
        catch_exceptions=False,
    )


def run(vault_dir: Path, *args: str, env: dict[str, str] | None = None, code: int = 0) -> str:
    """Like `invoke`, asserting the exit code; returns stdout."""
    result = invoke(vault_dir, *args, env=env)
    assert result.exit_code == code, (result.output, result.stderr)
    return result.stdout
