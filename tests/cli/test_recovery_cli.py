"""`coffre recovery-kit` and `coffre passwd --recovery-code`: the kit file (private, never
overwritten without --force, a replaced kit confirmed first), the passphrase reset with the
code from a file, and the code never on stdout, stderr, in --json or in the audit log."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import checked, init_vault, run
from vault.core.vault import Vault

NEW = "a fresh passphrase nobody guesses"
CODE = re.compile(r"^    ([0-9A-Z]{5}(?:-[0-9A-Z]{5}){7})$", re.MULTILINE)


@pytest.fixture
def made(vault_dir: Path) -> Path:
    return init_vault(vault_dir)


def _code(kit: Path) -> str:
    (code,) = CODE.findall(kit.read_text("utf-8"))
    return str(code)


def _code_file(tmp_path: Path, code: str, name: str = "code.txt") -> Path:
    path = tmp_path / name
    path.write_text(code + "\n", "utf-8")
    return path


def _reset(vault_dir: Path, code_file: Path, *args: str, code: int = 0) -> tuple[str, str]:
    """`coffre passwd --recovery-code` with the code in a file and a passphrase that is not the
    vault's in the environment (so only the code can have opened it)."""
    env = {
        "COFFRE_RECOVERY_CODE_FILE": str(code_file),
        "COFFRE_NEW_PASSPHRASE": NEW,
        "COFFRE_PASSPHRASE": "not the passphrase",
    }
    result = checked(vault_dir, "passwd", "--recovery-code", *args, env=env, code=code)
    return result.stdout, result.stderr


def test_the_kit_file_holds_the_code_and_nothing_else_shows_it(made: Path, tmp_path: Path) -> None:
    kit = tmp_path / "kit.txt"
    result = checked(made, "recovery-kit", "-o", str(kit), "--json")
    shown = json.loads(result.stdout)
    code = _code(kit)
    text = kit.read_text("utf-8")
    assert stat.S_IMODE(os.stat(kit).st_mode) == 0o600
    assert shown["file"] == str(kit) and shown["replaces"] is None
    assert shown["vault"] in text and shown["id"] in text
    for phrase in ("safe place", "Lost kit + lost passphrase", "passwd --recovery-code"):
        assert phrase in text
    audit = run(made, "audit", "--json")
    assert "vault.recovery_kit" in audit
    for place in (result.stdout, result.stderr, audit):
        assert code not in place and code.replace("-", "") not in place


def test_an_existing_file_is_kept_and_a_kit_replaced_only_when_confirmed(
    made: Path, tmp_path: Path
) -> None:
    kit = tmp_path / "kit.txt"
    run(made, "recovery-kit", "-o", str(kit))
    first = kit.read_text("utf-8")
    assert "use --force" in checked(made, "recovery-kit", "-o", str(kit), code=8).stderr
    # Replacing the current kit ends it: without a terminal that needs --yes (exit 7).
    assert "--yes" in checked(made, "recovery-kit", "-o", str(kit), "--force", code=7).stderr
    preview = json.loads(run(made, "recovery-kit", "-o", str(kit), "-n", "--force", "--json"))
    assert preview["dry_run"] is True and preview["replaces"] is not None
    assert kit.read_text("utf-8") == first
    with Vault.open_with_recovery_code(made, _code(kit)):
        pass
    other = tmp_path / "other.txt"
    shown = json.loads(run(made, "recovery-kit", "-o", str(other), "--yes", "--json"))
    assert shown["replaces"] == preview["replaces"] != shown["id"]
    _, stderr = _reset(made, _code_file(tmp_path, _code(kit)), code=3)  # the first kit is dead
    assert "recovery code does not open" in stderr


def test_a_forgotten_passphrase_is_reset_with_the_code(made: Path, tmp_path: Path) -> None:
    kit = tmp_path / "kit.txt"
    run(made, "recovery-kit", "-o", str(kit))
    code = _code(kit)
    stdout, stderr = _reset(made, _code_file(tmp_path, code.lower()))
    assert "Passphrase changed" in stderr and code not in stdout + stderr
    run(made, "status", code=3)  # the old passphrase no longer opens it
    status = run(made, "status", "--json", env={"COFFRE_PASSPHRASE": NEW})
    assert json.loads(status)["id"] in kit.read_text("utf-8")
    audit = run(made, "audit", "--json", env={"COFFRE_PASSPHRASE": NEW})
    entry = json.loads(audit)[-1]
    assert (entry["action"], entry["details"]["via"]) == ("vault.passwd", "recovery-code")
    assert code not in audit
    # The kit keeps working, with --rekey too.
    _reset(made, _code_file(tmp_path, code), "--rekey")
    assert json.loads(run(made, "check", "--json", env={"COFFRE_PASSPHRASE": NEW}))["ok"]


def test_mistyped_wrong_and_missing_codes_are_told_apart(made: Path, tmp_path: Path) -> None:
    kit = tmp_path / "kit.txt"
    run(made, "recovery-kit", "-o", str(kit))
    code = _code(kit)
    slip = code[:-1] + ("0" if code[-1] != "0" else "1")
    _, stderr = _reset(made, _code_file(tmp_path, slip), code=7)
    assert "mistyped" in stderr and slip not in stderr
    # The same refusal in French: the same exit code, the detail translated too.
    env = {
        "COFFRE_RECOVERY_CODE_FILE": str(_code_file(tmp_path, slip)),
        "COFFRE_NEW_PASSPHRASE": NEW,
    }
    stderr = checked(made, "--lang", "fr", "passwd", "--recovery-code", env=env, code=7).stderr
    assert "mal tapé" in stderr and "mistyped" not in stderr and slip not in stderr
    other = init_vault(tmp_path / "other")
    run(other, "recovery-kit", "-o", str(tmp_path / "other-kit.txt"))
    foreign = _code(tmp_path / "other-kit.txt")
    _, stderr = _reset(made, _code_file(tmp_path, foreign), code=3)
    assert foreign not in stderr
    # No code and no terminal: exit 3, as without a passphrase.
    env = {"COFFRE_NEW_PASSPHRASE": NEW}
    assert (
        "COFFRE_RECOVERY_CODE_FILE"
        in checked(made, "passwd", "--recovery-code", env=env, code=3).stderr
    )
    # A weak new passphrase is refused as `passwd` refuses it, and nothing changes.
    weak = {"COFFRE_RECOVERY_CODE_FILE": str(_code_file(tmp_path, code)), **env}
    weak["COFFRE_NEW_PASSPHRASE"] = "abc"
    checked(made, "passwd", "--recovery-code", env=weak, code=3)
    run(made, "status")  # the passphrase is unchanged


def test_a_kit_made_in_french_is_written_in_french_and_its_code_works(
    made: Path, tmp_path: Path
) -> None:
    """The paper is the person's: in their language, with the same code, ids and remotes."""
    kit = tmp_path / "kit.txt"
    shown = json.loads(run(made, "--lang", "fr", "recovery-kit", "-o", str(kit), "--json"))
    text = kit.read_text("utf-8")
    assert text.startswith("KIT DE RÉCUPÉRATION COFFRE")
    assert "Code de récupération" in text and "RECOVERY KIT" not in text
    assert shown["vault"] in text and shown["id"] in text and "(aucun pour l'instant)" in text
    _reset(made, _code_file(tmp_path, _code(kit)))  # the French paper's code opens the vault
    assert json.loads(run(made, "check", "--json", env={"COFFRE_PASSPHRASE": NEW}))["ok"]
