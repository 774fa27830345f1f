"""`coffre remote`, `sync`, `clone` and `device`: what a script relies on (exit codes, JSON)
and what a person reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import checked, init_vault, run
from vault.remote import storage


@pytest.fixture
def synced(vault_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A vault with a persona and a note, synced to a folder remote."""
    init_vault(vault_dir, "Ana")
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: Hello\n---\nFrom the desk.\n")
    run(vault_dir, "content", "add", str(note))
    folder = tmp_path / "remote"
    folder.mkdir()
    run(vault_dir, "remote", "add", "usb", folder.as_uri())
    run(vault_dir, "sync")
    return vault_dir, folder


def test_a_second_device_is_a_clone_and_changes_travel(
    synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    laptop = tmp_path / "laptop"
    out = run(None, "clone", folder.as_uri(), str(laptop), "--device-name", "Laptop")
    assert "Vault cloned into" in out
    titles = json.loads(run(laptop, "content", "list", "--json"))
    assert [t["title"] for t in titles] == ["Hello"]
    note = tmp_path / "two.md"
    note.write_text("---\ntitle: From the laptop\n---\nx\n")
    run(laptop, "content", "add", str(note))
    (report,) = json.loads(run(laptop, "sync", "--json"))
    assert report["pushed"]["records"] >= 1
    text = run(vault_dir, "sync")
    assert text.startswith("usb: received")
    assert {t["title"] for t in json.loads(run(vault_dir, "content", "list", "--json"))} == {
        "Hello",
        "From the laptop",
    }
    devices = json.loads(run(vault_dir, "device", "list", "--json"))
    assert {d["name"] for d in devices if not d["this"]} == {"Laptop"}
    assert "(this device)" in run(vault_dir, "device", "list")


def test_remote_list_and_rm(synced: tuple[Path, Path]) -> None:
    vault_dir, folder = synced
    (shown,) = json.loads(run(vault_dir, "remote", "list", "--json"))
    assert shown["url"] == folder.as_uri() and shown["pending"] == 0
    assert "up to date" in run(vault_dir, "remote", "list")
    checked(vault_dir, "remote", "rm", "usb", code=7)  # no terminal, no --yes
    run(vault_dir, "remote", "rm", "usb", "--yes")
    assert json.loads(run(vault_dir, "remote", "list", "--json")) == []
    assert any(folder.iterdir())  # what the remote holds stays there


@pytest.mark.parametrize(
    ("url", "code"),
    [("ftp://example.org/x", 7), ("file://host/x", 7), ("relative/path", 7)],
)
def test_a_bad_url_is_refused(vault_dir: Path, url: str, code: int) -> None:
    init_vault(vault_dir)
    result = checked(vault_dir, "remote", "add", "x", url, code=code)
    assert "error:" in result.stderr


def test_exit_codes_a_script_can_tell_apart(synced: tuple[Path, Path], tmp_path: Path) -> None:
    vault_dir, folder = synced
    empty = tmp_path / "empty"
    empty.mkdir()
    checked(None, "clone", empty.as_uri(), str(tmp_path / "c1"), code=4)  # no vault there
    wrong = {"COFFRE_PASSPHRASE": "not the passphrase at all"}
    checked(None, "clone", folder.as_uri(), str(tmp_path / "c2"), env=wrong, code=3)
    assert not (tmp_path / "c2").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    checked(None, "clone", folder.as_uri(), str(busy), code=8)
    run(vault_dir, "remote", "add", "gone", (tmp_path / "nowhere").as_uri())
    checked(vault_dir, "sync", "gone", code=11)
    # A tampered object: integrity error, exit 5.
    victim = max(
        (p for p in folder.iterdir() if p.name != storage.BOOTSTRAP), key=lambda p: p.stat().st_size
    )
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    victim.write_bytes(bytes(data))
    checked(None, "clone", folder.as_uri(), str(tmp_path / "c3"), code=5)
    assert not (tmp_path / "c3").exists()


def test_clone_with_the_recovery_kit(synced: tuple[Path, Path], tmp_path: Path) -> None:
    vault_dir, folder = synced
    kit = tmp_path / "kit.txt"
    run(vault_dir, "recovery-kit", "-o", str(kit))
    assert folder.as_uri() in kit.read_text()  # the kit names the remote
    run(vault_dir, "sync")
    code = next(line.strip() for line in kit.read_text().splitlines() if line.count("-") == 7)
    code_file = tmp_path / "code.txt"
    code_file.write_text(code)
    new = "a completely new passphrase for the restore"
    env = {"COFFRE_RECOVERY_CODE_FILE": str(code_file), "COFFRE_NEW_PASSPHRASE": new,
           "COFFRE_PASSPHRASE": "forgotten"}  # fmt: skip
    restored = tmp_path / "restored"
    run(None, "clone", folder.as_uri(), str(restored), "--recovery-code", env=env)
    titles = json.loads(run(restored, "content", "list", "--json", env={"COFFRE_PASSPHRASE": new}))
    assert [t["title"] for t in titles] == ["Hello"]
    # The first device now needs the new passphrase to sync.
    result = checked(vault_dir, "sync", code=3)
    assert "changed on another device" in result.stderr


def test_device_revoke_changes_the_passphrase(synced: tuple[Path, Path], tmp_path: Path) -> None:
    vault_dir, folder = synced
    run(None, "clone", folder.as_uri(), str(tmp_path / "phone"), "--device-name", "Phone")
    run(vault_dir, "sync")
    new = "the new passphrase after losing the phone"
    checked(vault_dir, "device", "revoke", "Phone", code=7)  # no terminal, no --yes
    shown = json.loads(
        run(
            vault_dir,
            "device",
            "revoke",
            "Phone",
            "--yes",
            "--json",
            env={"COFFRE_NEW_PASSPHRASE": new},
        )
    )
    assert shown["name"] == "Phone" and shown["revoked"]
    checked(vault_dir, "status", code=3)  # the old passphrase no longer opens it
    after = {"COFFRE_PASSPHRASE": new}
    run(vault_dir, "sync", env=after)
    (phone,) = [
        d
        for d in json.loads(run(vault_dir, "device", "list", "--json", env=after))
        if not d["this"]
    ]
    assert phone["revoked"]
    checked(tmp_path / "phone", "sync", code=3)  # the phone's keys open nothing new


def test_the_ledger_shows_a_forget_pending_on_a_device(
    synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    run(None, "clone", folder.as_uri(), str(tmp_path / "laptop"), "--device-name", "Laptop")
    run(vault_dir, "sync")
    assert "Your devices" not in run(vault_dir, "ledger")
    item = json.loads(run(vault_dir, "content", "list", "--json"))[0]["id"]
    run(vault_dir, "forget", "--content", item, "--yes")
    run(vault_dir, "sync")
    text = run(vault_dir, "ledger")
    assert "Your devices" in text and "Laptop" in text and "1 forget pending" in text
    run(tmp_path / "laptop", "sync")
    run(vault_dir, "sync")
    assert "Your devices" not in run(vault_dir, "ledger")


def test_status_lists_remotes_without_loading_the_sync_engine(synced: tuple[Path, Path]) -> None:
    """Start-up time: `coffre status` reads the remotes' bookkeeping, not the engine."""
    import os
    import subprocess
    import sys

    vault_dir, _folder = synced
    code = (
        "import sys\n"
        "from vault.cli.main import main\n"
        f"sys.argv = ['coffre', '--vault', {str(vault_dir)!r}, 'status', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('vault.remote.engine' in sys.modules, 'vault.forget.apply' in sys.modules)\n"
    )
    env = {**os.environ, "COFFRE_PASSPHRASE": "correct horse battery staple"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert '"remotes"' in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "False False"


# A count and the noun after it, in either language ("1 record", "3 fichiers").
ENGLISH_NOUNS = ("record", "deletion", "file", "change", "forget", "device")
FRENCH_NOUNS = ("enregistrement", "suppression", "fichier", "modification", "oubli", "appareil")
COUNTED = re.compile(r"\b(\d[\d\u202f,]*) (" + "|".join(ENGLISH_NOUNS + FRENCH_NOUNS) + r")(s?)\b")


def _agrees(text: str) -> bool:
    """TEXT counts something, and each counted noun is plural exactly when its language says:
    English for every count but 1, French above 1 ("0 fichier")."""
    found = COUNTED.findall(text)
    for digits, noun, s in found:
        n = int(re.sub(r"\D", "", digits))
        plural = n > 1 if noun in FRENCH_NOUNS else n != 1
        if bool(s) != plural:
            return False
    return bool(found)


def test_sync_and_devices_in_french_with_counted_plurals_and_the_same_json(
    synced: tuple[Path, Path], tmp_path: Path
) -> None:
    """What a person reads speaks French under --lang fr, counts agree with their nouns in both
    languages (no "(s)"), and what a script reads is the same in both."""
    vault_dir, folder = synced
    laptop = tmp_path / "laptop"
    run(None, "clone", folder.as_uri(), str(laptop), "--device-name", "Laptop")
    note = tmp_path / "two.md"
    note.write_text("---\ntitle: From the laptop\n---\nx\n")
    run(laptop, "content", "add", str(note))
    english = run(laptop, "sync")
    assert english.startswith("origin: received") and "(s)" not in english and _agrees(english)
    french = run(vault_dir, "--lang", "fr", "sync")
    assert french.startswith("usb\u00a0: reçu ") and "envoyé" in french and _agrees(french)
    listed = run(vault_dir, "--lang", "fr", "remote", "list")
    assert "dernière synchronisation" in listed and "à jour" in listed
    devices = run(vault_dir, "--lang", "fr", "device", "list")
    assert "(cet appareil)" in devices and "Laptop" in devices and "(this device)" not in devices
    for command in (
        ("remote", "list", "--json"),
        ("device", "list", "--json"),
        ("status", "--json"),
    ):
        assert run(vault_dir, "--lang", "fr", *command) == run(vault_dir, "--lang", "en", *command)
    refused = checked(vault_dir, "--lang", "fr", "remote", "rm", "usb", code=7)
    assert "supprimer un dépôt distant" in refused.stderr  # the same exit code, said in French
