"""The vault-wide commands: init, status, passwd, check, audit; exit codes; help texts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click

from tests.cli.conftest import invoke, run
from tests.conftest import PASSPHRASE
from vault.cli.main import cli
from vault.core.schema import FORMAT_VERSION


def test_init_status_json(made: Path) -> None:
    status = json.loads(run(made, "status", "--json"))
    assert status["kdf"] == "minimum"
    assert status["format"] == FORMAT_VERSION
    assert status["counts"]["audit_entries"] == 1


def test_init_twice_refused(made: Path) -> None:
    run(made, "init", "--kdf", "minimum", code=8)


def test_wrong_passphrase_exit_code(made: Path) -> None:
    result = invoke(made, "status", env={"COFFRE_PASSPHRASE": "nope-nope"})
    assert result.exit_code == 3
    assert "nope-nope" not in result.output
    assert "Wrong passphrase" in result.stderr


def test_missing_vault_exit_code(tmp_path: Path) -> None:
    run(tmp_path / "absent", "status", code=4)


def test_passphrase_file_and_command(made: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    run(made, "status", env={"COFFRE_PASSPHRASE": "", "COFFRE_PASSPHRASE_FILE": str(secret)})
    cmd = f"{sys.executable} -c \"print('{PASSPHRASE}')\""
    run(made, "status", env={"COFFRE_PASSPHRASE": "", "COFFRE_PASSPHRASE_COMMAND": cmd})
    run(made, "status", env={"COFFRE_PASSPHRASE": "", "COFFRE_PASSPHRASE_COMMAND": "false"}, code=3)


def test_the_passphrase_command_gets_our_environment_but_no_passphrase(made: Path) -> None:
    """It needs what a password manager needs (PATH, HOME...), never a passphrase given to
    Coffre: here it prints the right one only when that holds."""
    check = (
        "import os; "
        "leaked = {'COFFRE_PASSPHRASE', 'COFFRE_NEW_PASSPHRASE'} & set(os.environ); "
        f"print('leaked' if leaked or 'PATH' not in os.environ else '{PASSPHRASE}')"
    )
    cmd = f'{sys.executable} -c "{check}"'
    env = {"COFFRE_PASSPHRASE": "", "COFFRE_NEW_PASSPHRASE": "new one", "PATH": os.defpath}
    run(made, "status", env={**env, "COFFRE_PASSPHRASE_COMMAND": cmd})


def test_no_passphrase_without_terminal(made: Path) -> None:
    run(made, "status", env={"COFFRE_PASSPHRASE": ""}, code=3)


def test_passwd_then_open_with_new(made: Path) -> None:
    run(made, "passwd", env={"COFFRE_NEW_PASSPHRASE": "brand new passphrase"})
    run(made, "status", code=3)
    run(made, "status", env={"COFFRE_PASSPHRASE": "brand new passphrase"})


def test_check_and_audit(made: Path) -> None:
    assert json.loads(run(made, "check", "--json")) == {"ok": True, "problems": []}
    entries = json.loads(run(made, "audit", "--json"))
    assert [e["action"] for e in entries] == ["vault.create"]
    assert json.loads(run(made, "audit", "--verify", "--json"))["ok"] is True


def test_audit_and_content_show_name_what_their_ids_point_to(made: Path, tmp_path: Path) -> None:
    ana = json.loads(run(made, "persona", "add", "Ana Lima", "--json"))["id"]
    gone = json.loads(run(made, "persona", "add", "Gone", "--json"))["id"]
    run(made, "persona", "rm", "Gone", "--yes")
    note = tmp_path / "note.md"
    note.write_text("Hello.\n")
    item = json.loads(run(made, "content", "add", str(note), "--title", "Night train", "--json"))
    lines = run(made, "audit").splitlines()
    assert any(f"persona={ana} (Ana Lima)" in line for line in lines)
    assert any(f"item={item['id']} ('Night train')" in line for line in lines)
    # A persona deleted since keeps its bare id: the log holds ids only.
    assert any(line.endswith(f"persona={gone}") for line in lines)
    assert f"Ana Lima ({ana})" in run(made, "content", "show", item["id"])


def test_audit_shows_a_forget_and_what_it_targeted(made: Path, tmp_path: Path) -> None:
    """A forget's entry holds a list (its targets): the log still reads, as words."""
    run(made, "persona", "add", "Ana Lima")
    note = tmp_path / "note.md"
    note.write_text("Hello.\n")
    item = json.loads(run(made, "content", "add", str(note), "--json"))["id"]
    run(made, "forget", "--content", item, "--yes")
    forgets = [e for e in json.loads(run(made, "audit", "--json")) if e["action"] == "forget"]
    assert len(forgets) == 1
    targets = forgets[0]["details"]["targets"]
    assert isinstance(targets, list) and targets
    (line,) = [line for line in run(made, "audit").splitlines() if " forget " in line]
    assert f"targets={','.join(targets)}" in line


def test_check_reports_damage_with_integrity_code(made: Path) -> None:
    conn = sqlite3.connect(made / "vault.db")
    conn.execute("UPDATE audit SET data = zeroblob(80)")
    conn.commit()
    conn.close()
    report = json.loads(run(made, "check", "--json", code=5))
    assert report["ok"] is False
    run(made, "audit", "--verify", code=5)


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, f"`coffre {prefix}{name}` is listed but cannot be loaded"
        out.append((prefix + name, cmd))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, prefix + name + " "))
    return out


def test_every_command_has_help() -> None:
    assert len(_commands(cli)) > 50
    for name, cmd in _commands(cli):
        assert cmd.help and len(cmd.help.strip()) > 10, f"`coffre {name}` needs help text"
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert param.help, f"`coffre {name}` option {param.opts} needs help"


def test_cli_start_does_not_import_textual() -> None:
    code = (
        "import sys; from vault.cli.main import cli; import click; "
        "ctx = click.Context(cli); [cli.get_command(ctx, n) for n in cli.list_commands(ctx)]; "
        "assert not [m for m in sys.modules if m.startswith('textual')], 'textual loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_library_is_headless() -> None:
    """The library never loads click or textual (only vault.cli does)."""
    root = Path(__file__).resolve().parents[2] / "vault"
    modules = sorted(
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in root.rglob("*.py")
        if "cli" not in p.relative_to(root).parts
    )
    code = (
        f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('click', 'textual')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _device_local(vault_dir: Path) -> int:
    """How many records of the vault are a device's own (never sent to a remote)."""
    from vault.core.records import DEVICE_LOCAL_KINDS
    from vault.core.vault import Vault

    with Vault.open(vault_dir, PASSPHRASE) as v:
        return sum(len(list(v.store.iter_kind(kind))) for kind in DEVICE_LOCAL_KINDS)


def test_status_shows_the_remotes(made: Path, tmp_path: Path) -> None:
    from tests.cli.conftest import check_json
    from vault import remote
    from vault.core.vault import Vault

    run(made, "persona", "add", "Ana", "--attr", "email=ana@example.org")
    assert "Remote" not in run(made, "status")
    assert "remotes" not in json.loads(run(made, "status", "--json"))
    folder = tmp_path / "usb"
    folder.mkdir()
    run(made, "remote", "add", "usb", folder.as_uri())
    status = check_json("status", run(made, "status", "--json"))
    (usb,) = status["remotes"]
    # Before the first sync every record but the device's own waits to be sent.
    assert usb == {
        "name": "usb",
        "url": folder.as_uri(),
        "last_sync": None,
        "pending": status["counts"]["records"] - _device_local(made),
        "devices": 1,
        "pending_forgets": 0,
    }
    assert usb["pending"] > 0
    lines = run(made, "status").splitlines()
    assert lines[-2].startswith("On disk")  # the remote comes after what status always showed
    changes = "1 change" if usb["pending"] == 1 else f"{usb['pending']:,} changes"
    assert lines[-1] == f"Remote     usb: last sync never, {changes} to send, 1 device"
    run(made, "sync")
    with remote.clone(folder.as_uri(), tmp_path / "second", PASSPHRASE)[0]:
        pass
    run(made, "sync")  # now the remote shows the second device
    (usb,) = check_json("status", run(made, "status", "--json"))["remotes"]
    assert usb["pending"] == 0 and usb["devices"] == 2 and usb["last_sync"] is not None
    assert f"usb: last sync {usb['last_sync']}, up to date, 2 devices\n" in run(made, "status")
    with Vault.open(made, PASSPHRASE) as v:
        assert remote.summary(v) == [usb]
