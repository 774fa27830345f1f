"""`coffre persona ...` and `coffre import vcard|jsonresume`: outputs, JSON shapes, exit codes."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import checked, init_vault, run
from tests.conftest import PASSPHRASE
from vault import personas as identities
from vault.core import minisign
from vault.core.vault import Vault


def _add_jane(vault: Path) -> str:
    return run(
        vault,
        "persona",
        "add",
        "Jane Doe",
        "--attr",
        "email.work=jane@work.example",
        "--attr",
        "address=1 rue de la Paix;Paris;;75002;France",
        "--attr",
        "handle.mastodon=@jane@example.social https://example.social/@jane",
        "--attr",
        "pronouns=she/her",
        "--sensitive",
        "birth_date=1990-05-01",
    ).strip()


def test_add_prints_the_id_and_list_json(made: Path) -> None:
    pid = _add_jane(made)
    assert len(pid) == 32
    listed = json.loads(run(made, "persona", "list", "--json"))
    assert [(p["id"], p["name"]) for p in listed] == [(pid, "Jane Doe")]
    assert listed[0]["attributes"] == 5
    assert listed[0]["sensitive"] == 1
    assert "Jane Doe" in run(made, "persona", "list")


def test_duplicate_name_and_bad_attribute_exit_codes(made: Path) -> None:
    _add_jane(made)
    run(made, "persona", "add", "jane doe", code=8)
    run(made, "persona", "add", "X", "--attr", "birth_date=soon", code=7)
    run(made, "persona", "add", "X", "--attr", "noequals", code=7)
    run(made, "persona", "show", "nobody", code=4)


def test_show_hides_sensitive_values_unless_revealed(made: Path) -> None:
    _add_jane(made)
    shown = json.loads(
        run(
            made,
            "persona",
            "show",
            "jane",
            "--json",
            "--derive",
            "age_over:18",
            "--derive",
            "country",
        )
    )
    birth = next(a for a in shown["attributes"] if a["kind"] == "birth_date")
    assert birth["value"] is None
    assert birth["sensitive"] is True
    assert shown["derived"] == {"age_over:18": True, "country": "FR"}
    minisign.parse_public_key(shown["keys"]["minisign"])
    assert shown["keys"]["age"].startswith("age1")
    revealed = json.loads(run(made, "persona", "show", "jane", "--json", "--reveal"))
    birth = next(a for a in revealed["attributes"] if a["kind"] == "birth_date")
    assert birth["value"] == "1990-05-01"
    text = run(made, "persona", "show", "jane")
    assert "1990" not in text
    assert "--reveal" in text
    run(made, "persona", "show", "jane", "--derive", "shoe_size", code=7)


def test_show_pairwise_keys_differ_per_recipient(made: Path) -> None:
    _add_jane(made)
    a = json.loads(run(made, "persona", "show", "jane", "--json", "--recipient", "age1aaa"))
    b = json.loads(run(made, "persona", "show", "jane", "--json", "--recipient", "age1bbb"))
    assert a["pairwise"]["recipient_fingerprint"] == "age1aaa"
    assert a["pairwise"]["pseudonym"] != b["pairwise"]["pseudonym"]
    assert a["pairwise"]["minisign"] != b["pairwise"]["minisign"]
    assert a["pairwise"]["minisign"] != a["keys"]["minisign"]
    assert a["keys"] == b["keys"]


def test_edit_set_add_remove_and_sensitivity(made: Path) -> None:
    pid = _add_jane(made)
    run(
        made,
        "persona",
        "edit",
        pid[:8],
        "--name",
        "Jane Q. Doe",
        "--set",
        "email.work=new@work.example",
        "--add",
        "phone.cell=+33612345678",
        "--remove",
        "pronouns",
        "--sensitive",
        "handle",
        "--not-sensitive",
        "birth_date",
    )
    shown = json.loads(run(made, "persona", "show", pid, "--json"))
    assert shown["name"] == "Jane Q. Doe"
    assert shown["version"] == 2
    by_key = {a["key"]: a for a in shown["attributes"]}
    assert by_key["email.work"]["value"] == "new@work.example"
    assert by_key["phone.cell"]["value"] == "+33612345678"
    assert "field.pronouns" not in by_key
    assert by_key["handle.mastodon"]["value"] is None
    assert by_key["birth_date"]["value"] == "1990-05-01"
    run(made, "persona", "edit", pid, "--remove", "nothing", code=7)


def test_rm_needs_confirmation(made: Path) -> None:
    pid = _add_jane(made)
    run(made, "persona", "rm", pid, code=7)  # not a terminal, no --yes
    run(made, "persona", "rm", pid, "--yes")
    assert json.loads(run(made, "persona", "list", "--json")) == []


def test_export_formats_and_sensitive_default(made: Path, tmp_path: Path) -> None:
    _add_jane(made)
    result = checked(made, "persona", "export", "jane")
    assert result.stdout_bytes.startswith(b"BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "BDAY" not in result.stdout
    assert "1 sensitive attribute left out" in result.stderr
    full = run(made, "persona", "export", "jane", "--include-sensitive")
    assert "BDAY;X-COFFRE-SENSITIVE=TRUE:19900501" in full
    card = json.loads(run(made, "persona", "export", "jane", "--format", "jcard"))
    assert card[0] == "vcard"
    resume = json.loads(run(made, "persona", "export", "jane", "--format", "jsonresume"))
    assert resume["basics"]["name"] == "Jane Doe"
    out = tmp_path / "jane.vcf"
    run(made, "persona", "export", "jane", "-o", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    run(made, "persona", "export", "jane", "-o", str(out), code=8)
    run(made, "persona", "export", "jane", "-o", str(out), "--force")


def test_export_then_import_into_another_vault(made: Path, tmp_path: Path) -> None:
    _add_jane(made)
    other = tmp_path / "other"
    init_vault(other)
    for fmt, name in (("vcard", "j.vcf"), ("jcard", "j.json")):
        out = tmp_path / name
        run(
            made,
            "persona",
            "export",
            "jane",
            "--format",
            fmt,
            "--include-sensitive",
            "-o",
            str(out),
        )
        run(other, "import", "vcard", str(out))
    with Vault.open(made, PASSPHRASE) as a, Vault.open(other, PASSPHRASE) as b:
        (pa,) = identities.list_personas(a)
        (pb,) = identities.list_personas(b)
        assert pb.profile() == pa.profile()
        assert pb.uid == pa.uid


def test_import_samples_and_idempotence(made: Path, samples: Path) -> None:
    full = samples / "vcard" / "vcard40_full.vcf"
    first = json.loads(run(made, "import", "vcard", str(full), "--json"))
    assert first["added"] == 1 and len(first["added_ids"]) == 1
    again = json.loads(run(made, "import", "vcard", str(full), "--json"))
    assert again["added"] == 0 and again["added_ids"] == []
    assert again["unchanged"] == first["added_ids"]
    group = checked(made, "import", "vcard", str(samples / "vcard" / "vcard40_group.vcf"))
    assert "KIND group is not a persona" in group.stderr
    resume = samples / "jsonresume" / "sample.resume.json"
    assert "1 added" in run(made, "import", "jsonresume", str(resume))
    names = [p["name"] for p in json.loads(run(made, "persona", "list", "--json"))]
    assert names == ["Dr. John Q. Public, III", "Richard Hendriks"]


def test_import_of_real_vcard_2_1_and_pre_1_0_resume(made: Path, corpus: Path) -> None:
    """Android's 2.1 export (tests/corpus/vcard): imported with exit 0, its nameless cards and
    its damaged photo reported once each; the schema's own pre-1.0 résumé, its renames noted."""
    android = corpus / "vcard" / "John_Doe_ANDROID.vcf"
    cards = android.read_bytes().count(b"BEGIN:VCARD")
    nameless = cards - android.read_bytes().count(b"\nFN")
    summary = json.loads(run(made, "import", "vcard", str(android), "--json"))
    assert (summary["added"], summary["ignored"]) == (cards - nameless, nameless)
    assert len(summary["skipped"]) == 1
    assert any("PHOTO value not valid base64 left out" in n for n in summary["notes"])
    text = checked(made, "import", "vcard", str(android))
    assert f"0 added, 0 updated, {cards - nameless} unchanged" in text.stdout
    assert "the cards have no FN" in text.stderr
    assert "PHOTO value not valid base64" in text.stderr
    old = corpus / "jsonresume" / "resume-v0.0.16.json"
    resume = checked(made, "import", "jsonresume", str(old))
    assert "basics.website as url" in resume.stderr
    (shown,) = [
        p for p in json.loads(run(made, "persona", "list", "--json")) if "Hendriks" in p["name"]
    ]
    exported = json.loads(run(made, "persona", "export", shown["id"], "--format", "jsonresume"))
    assert exported["basics"]["url"] == json.loads(old.read_bytes())["basics"]["website"]


def test_bad_files_exit_7_and_change_nothing(made: Path, tmp_path: Path) -> None:
    before = run(made, "status", "--json")
    bad = tmp_path / "bad.vcf"
    bad.write_bytes(b"BEGIN:VCARD\nVERSION:4.0\nFN:A\n")
    result = checked(made, "import", "vcard", str(bad), code=7)
    assert "bad.vcf" in result.stderr
    cv = tmp_path / "cv.json"
    cv.write_bytes(b'{"basics": ')
    checked(made, "import", "jsonresume", str(cv), code=7)
    assert json.loads(run(made, "status", "--json"))["counts"] == json.loads(before)["counts"]


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("minisign") is None, reason="needs the minisign tool")
def test_minisign_verifies_a_pairwise_signature(made: Path, tmp_path: Path) -> None:
    pid = _add_jane(made)
    data = tmp_path / "statement.json"
    data.write_bytes(b'{"hello": "world"}\n')
    with Vault.open(made, PASSPHRASE) as v:
        for recipient in (None, "age1recipient"):
            signer = identities.signer(v, pid, recipient=recipient)
            sig = minisign.sign_with(signer.sign, signer.key_id, data.read_bytes(), "persona")
            Path(f"{data}.minisig").write_text(sig)
            subprocess.run(
                ["minisign", "-Vm", str(data), "-P", signer.minisign_public_key()],
                check=True,
                capture_output=True,
            )
