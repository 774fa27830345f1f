"""Input hygiene at the command line: arguments that are not UTF-8, the passphrase of
`init` and `passwd` (strength, no terminal), a grant's purpose and jurisdiction; and names
shown beside ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import World, build_world
from tests.cli.conftest import checked, invoke, run
from tests.conftest import PASSPHRASE
from vault.core.vault import Vault

# --- arguments that are not UTF-8 ----------------------------------------------------------------

# Python decodes an argument's bytes that are not UTF-8 as lone surrogates: b"caf\xe9"
# (Latin-1) arrives as "caf\udce9".
LATIN1 = b"caf\xe9".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    "args",
    [
        ["persona", "add", LATIN1],
        ["content", "add", "NOTE", "--title", LATIN1],
        ["content", "add", "NOTE", "--tags", f"travel,{LATIN1}"],
        ["recipient", "add", LATIN1, "--age-key", "age1x"],
        ["content", "add", LATIN1],
        ["import", "markdown", LATIN1],
    ],
    ids=["persona-name", "title", "tags", "recipient-name", "file-name", "folder-name"],
)
def test_an_argument_that_is_not_utf8_is_refused_clearly(
    made: Path, tmp_path: Path, args: list[str]
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n")
    given = [str(note) if a == "NOTE" else a for a in args]
    before = run(made, "audit", "--json")
    result = checked(made, *given, code=7)
    assert "is not UTF-8 text ('" in result.stderr and "caf\\xe9')" in result.stderr
    assert "UnicodeEncodeError" not in result.output and "internal error" not in result.output
    assert run(made, "audit", "--json") == before


# --- passphrase strength and the no-terminal rule ------------------------------------------------


@pytest.mark.parametrize("weak", ["a", "xy", "password1", "qwertyuiop"])
def test_init_refuses_a_passphrase_below_the_floor(vault_dir: Path, weak: str) -> None:
    result = checked(vault_dir, "init", "--kdf", "minimum", env={"COFFRE_PASSPHRASE": weak}, code=3)
    assert "--weak-ok" in result.stderr
    if len(weak) > 2:  # the message never repeats the passphrase (too short to check: "a")
        assert weak not in result.stderr
    assert not Vault.exists(vault_dir)


def test_init_accepts_a_weak_passphrase_with_weak_ok_and_says_so(vault_dir: Path) -> None:
    result = checked(
        vault_dir, "init", "--kdf", "minimum", "--weak-ok", env={"COFFRE_PASSPHRASE": "xy"}
    )
    assert "warning: weak passphrase" in result.stderr
    assert Vault.exists(vault_dir)


def test_init_warns_on_a_passphrase_at_the_floor(vault_dir: Path) -> None:
    from vault.core.strength import assess

    middling = "hunter22hunter"
    assert assess(middling).score == 2  # accepted, but below "good"
    result = checked(vault_dir, "init", "--kdf", "minimum", env={"COFFRE_PASSPHRASE": middling})
    assert "warning: weak passphrase" in result.stderr and middling not in result.stderr


def test_the_test_suites_passphrase_passes_without_a_word(vault_dir: Path) -> None:
    result = checked(vault_dir, "init", "--kdf", "minimum")
    assert "warning" not in result.stderr
    assert PASSPHRASE == "correct horse battery staple"


def test_an_empty_passphrase_is_refused_even_with_weak_ok(vault_dir: Path) -> None:
    # COFFRE_PASSPHRASE set but empty is "not given": the file variant gives an empty one.
    empty = vault_dir.parent / "empty"
    empty.write_text("")
    env = {"COFFRE_PASSPHRASE": "", "COFFRE_PASSPHRASE_FILE": str(empty)}
    result = invoke(vault_dir, "init", "--kdf", "minimum", "--weak-ok", env=env)
    assert result.exit_code == 3 and not Vault.exists(vault_dir)


def test_passwd_without_a_terminal_or_a_new_passphrase_exits_3(made: Path) -> None:
    result = checked(made, "passwd", code=3)
    assert result.stderr.startswith("error: No passphrase was given")
    assert "COFFRE_NEW_PASSPHRASE" in result.stderr
    assert "GetPassWarning" not in result.output
    run(made, "status")  # the old passphrase still opens it


def test_passwd_refuses_a_weak_new_passphrase(made: Path) -> None:
    checked(made, "passwd", env={"COFFRE_NEW_PASSPHRASE": "abc"}, code=3)
    run(made, "status")  # unchanged
    checked(made, "passwd", "--weak-ok", env={"COFFRE_NEW_PASSPHRASE": "abcdefgh"})
    run(made, "status", env={"COFFRE_PASSPHRASE": "abcdefgh"})


# --- purposes and jurisdictions -------------------------------------------------------------------


@pytest.fixture
def world(vault_dir: Path, tmp_path: Path) -> World:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        return build_world(v, tmp_path)


def _grant(vault_dir: Path, *extra: str, code: int = 0) -> str:
    return checked(
        vault_dir,
        "grant", "create", "--recipient", "Health Lab", "--persona", "Pro self",
        "--metrics", "steps", "--expires", "2099-12-31", *extra,
        code=code,
    ).stderr  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        (["--purpose", "dpv:MadeUpPurpose"], "is not a DPV purpose"),
        (["--purpose", "dpv:Marketting"], "did you mean dpv:Marketing"),
        (["--purpose", "dpv:ServiceProvision", "--jurisdiction", "Narnia"], "not an ISO 3166"),
        (["--purpose", "dpv:ServiceProvision", "--jurisdiction", "FRA"], "did you mean FR"),
        (["--purpose", "dpv:ServiceProvision", "--jurisdiction", "Germny"], "DE (Germany)"),
    ],
)
def test_a_grant_with_an_unknown_purpose_or_jurisdiction_is_never_signed(
    vault_dir: Path, world: World, extra: list[str], hint: str
) -> None:
    before = run(vault_dir, "audit", "--json")
    stderr = _grant(vault_dir, *extra, code=7)
    assert hint in stderr
    assert json.loads(run(vault_dir, "grant", "list", "--json")) == []
    assert run(vault_dir, "audit", "--json") == before


def test_known_purposes_and_codes_are_kept_in_their_canonical_form(
    vault_dir: Path, world: World
) -> None:
    _grant(vault_dir, "--purpose", "servicepersonalisation", "--jurisdiction", "us-ca")
    (grant,) = json.loads(run(vault_dir, "grant", "list", "--json"))
    assert grant["purpose"] == "dpv:ServicePersonalisation"
    assert grant["jurisdiction"] == "US-CA"


# --- names beside ids --------------------------------------------------------------------------


def test_content_show_and_audit_name_what_their_ids_refer_to(vault_dir: Path, world: World) -> None:
    _grant(vault_dir, "--purpose", "dpv:AcademicResearch")
    item = world.items["in"]
    shown = run(vault_dir, "content", "show", item.id)
    assert f"Persona         Pro self ({world.persona.id})" in shown
    log = run(vault_dir, "audit")
    assert f"persona={world.persona.id} (Pro self)" in log
    assert f"recipient={world.recipient.id} (Health Lab)" in log
    (grant,) = json.loads(run(vault_dir, "grant", "list", "--json"))
    assert f"grant={grant['id']} (to Health Lab)" in log


def test_audit_keeps_the_id_of_what_is_gone(made: Path) -> None:
    pid = run(made, "persona", "add", "Gone").strip()
    run(made, "persona", "rm", "Gone", "-y")
    lines = [line for line in run(made, "audit").splitlines() if "persona.rm" in line]
    assert lines and lines[0].endswith(f"persona={pid}")
