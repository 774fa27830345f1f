"""The content commands and the content imports, as scripts use them."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.builders import build as build_mastodon
from tests.builders import default_files as mastodon_files
from tests.builders import note, outbox_text, twitter_files, wxr, wxr_item
from tests.cli.conftest import checked, invoke
from tests.conftest import PASSPHRASE
from vault.core.vault import Vault
from vault.personas import add_persona


@pytest.fixture
def vault_path(vault_dir: Path) -> Path:
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        add_persona(v, "Ada")
    return vault_dir


def _note(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: From front matter\ntags: a, b\ndate: 2022-02-02\nlicense: CC0-1.0\n---\n"
        "Hello there.\n"
    )
    return path


def test_add_list_show_cat(vault_path: Path, tmp_path: Path) -> None:
    item_id = checked(
        vault_path, "content", "add", str(_note(tmp_path)), "--tags", "x,y"
    ).stdout.strip()
    assert len(item_id) == 32
    listed = json.loads(checked(vault_path, "content", "list", "--json").stdout)
    (entry,) = listed
    assert {k: entry[k] for k in ("id", "title", "kind", "tags", "license", "created", "size")} == {
        "id": item_id,
        "title": "From front matter",
        "kind": "note",
        "tags": ["x", "y"],
        "license": "CC0-1.0",
        "created": "2022-02-02T00:00:00Z",
        "size": len(b"Hello there.\n"),
    }
    assert len(entry["persona"]) == 32
    assert json.loads(checked(vault_path, "content", "list", "--json", "--tag", "z").stdout) == []
    assert (
        len(json.loads(checked(vault_path, "content", "list", "--json", "-p", "Ada").stdout)) == 1
    )
    shown = json.loads(checked(vault_path, "content", "show", item_id[:8], "--json").stdout)
    assert [v["version"] for v in shown["versions"]] == [1]
    assert checked(vault_path, "content", "cat", item_id).stdout == "Hello there.\n"
    out = tmp_path / "out.md"
    checked(vault_path, "content", "cat", item_id, "-o", str(out))
    assert out.read_text() == "Hello there.\n"
    assert "From front matter" in checked(vault_path, "content", "list").stdout


def test_edit_versions_and_rm(vault_path: Path, tmp_path: Path) -> None:
    item_id = checked(vault_path, "content", "add", str(_note(tmp_path))).stdout.strip()
    new = tmp_path / "new.md"
    new.write_text("Second take.\n")
    assert (
        checked(
            vault_path, "content", "edit", item_id, "--file", str(new), "--title", "T2"
        ).stdout.strip()
        == f"{item_id} v2"
    )
    assert checked(vault_path, "content", "cat", item_id).stdout == "Second take.\n"
    assert (
        checked(vault_path, "content", "cat", item_id, "--version", "1").stdout == "Hello there.\n"
    )
    shown = checked(vault_path, "content", "show", item_id).stdout
    assert "v1" in shown and "v2" in shown and "(current)" in shown
    refused = invoke(vault_path, "content", "rm", item_id)
    assert refused.exit_code == 7 and "--yes" in refused.stderr
    checked(vault_path, "content", "rm", item_id, "--yes")
    missing = invoke(vault_path, "content", "show", item_id)
    assert missing.exit_code == 4


def test_bad_licence_is_a_usage_error(vault_path: Path, tmp_path: Path) -> None:
    result = invoke(vault_path, "content", "add", str(_note(tmp_path)), "--license", "Bogus")
    assert result.exit_code == 7
    assert "unknown licence" in result.stderr


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("minisign") is None, reason="needs minisign")
def test_prove_verifies_with_minisign(vault_path: Path, tmp_path: Path) -> None:
    item_id = checked(vault_path, "content", "add", str(_note(tmp_path))).stdout.strip()
    out = tmp_path / "proof"
    paths = json.loads(
        checked(vault_path, "content", "prove", item_id, "-o", str(out), "--json").stdout
    )
    statement = json.loads(Path(paths["statement"]).read_text())
    assert statement["item"] == item_id and statement["license"] == "CC0-1.0"
    key = Path(paths["public_key"]).read_text().splitlines()[1]
    check = subprocess.run(
        ["minisign", "-Vm", paths["statement"], "-P", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_import_commands(vault_path: Path, tmp_path: Path, samples: Path) -> None:
    archive = build_mastodon(tmp_path / "mastodon.zip", mastodon_files())
    first = json.loads(checked(vault_path, "import", "mastodon", str(archive), "--json").stdout)
    assert (first["added"], first["duplicates"], first["ignored"]) == (3, 0, 1)
    again = checked(vault_path, "import", "mastodon", str(archive)).stdout
    assert (
        again.strip()
        == "mastodon: added 0, duplicates skipped 3, ignored 1 (not authored content), errors 0"
    )
    summary = checked(
        vault_path, "import", "markdown", str(samples / "markdown-frontmatter")
    ).stdout
    assert summary.startswith("markdown: added 7, duplicates skipped 0")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(archive.read_bytes()[:100])
    failed = invoke(vault_path, "import", "mastodon", str(bad))
    assert failed.exit_code == 7
    assert "bad.zip" in failed.stderr
    assert len(json.loads(checked(vault_path, "content", "list", "--json").stdout)) == 10


def test_audience_on_add_list_show_and_edit(vault_path: Path, tmp_path: Path) -> None:
    note = _note(tmp_path)
    private = checked(vault_path, "content", "add", str(note)).stdout.strip()
    public = checked(vault_path, "content", "add", str(note), "--audience", "public").stdout
    public = public.strip()
    checked(vault_path, "content", "add", str(note), "--audience", "friends", code=7)
    listed = json.loads(checked(vault_path, "content", "list", "--json").stdout)
    assert {e["id"]: e["audience"] for e in listed} == {private: "private", public: "public"}
    only = json.loads(
        checked(vault_path, "content", "list", "--audience", "public", "--json").stdout
    )
    assert [e["id"] for e in only] == [public]
    lines = {ln[:12]: ln for ln in checked(vault_path, "content", "list").stdout.splitlines()}
    assert " private " in lines[private[:12]] and " public " in lines[public[:12]]
    assert "Audience        private" in checked(vault_path, "content", "show", private).stdout
    edited = json.loads(
        checked(vault_path, "content", "edit", private, "--audience", "draft", "--json").stdout
    )
    assert (edited["audience"], edited["version"]) == ("draft", 2)


def test_a_mastodon_import_lists_each_posts_visibility(vault_path: Path, tmp_path: Path) -> None:
    from tests.builders import VISIBILITY

    files = mastodon_files()
    posts = [note(n, visibility) for n, visibility in enumerate(VISIBILITY, start=1)]
    files["outbox.json"] = outbox_text(posts, []).encode()
    checked(vault_path, "import", "mastodon", str(build_mastodon(tmp_path / "m.zip", files)))
    listed = json.loads(checked(vault_path, "content", "list", "--json").stdout)
    assert [e["audience"] for e in listed] == ["public", "unlisted", "followers", "direct"]


def test_cat_to_a_file_never_replaces_one_without_force(vault_path: Path, tmp_path: Path) -> None:
    item_id = checked(vault_path, "content", "add", str(_note(tmp_path))).stdout.strip()
    out = tmp_path / "mine.md"
    out.write_text("precious\n")
    out.chmod(0o644)
    refused = checked(vault_path, "content", "cat", item_id, "-o", str(out), code=8)
    assert "--force" in refused.stderr and out.read_text() == "precious\n"
    checked(vault_path, "content", "cat", item_id, "-o", str(out), "--force")
    assert out.read_text() == "Hello there.\n" and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_cat_failing_authentication_late_leaves_the_users_file(
    vault_path: Path, tmp_path: Path
) -> None:
    body = tmp_path / "big.bin"
    body.write_bytes(os.urandom(300_000))  # several 64 KiB chunks
    item_id = checked(vault_path, "content", "add", str(body)).stdout.strip()
    (blob,) = [p for p in (vault_path / "blobs").rglob("*") if p.is_file()]
    damaged = bytearray(blob.read_bytes())
    damaged[-5] ^= 0x01  # in the last chunk: the first ones decrypt and are written out
    blob.write_bytes(bytes(damaged))
    out = tmp_path / "mine.bin"
    out.write_bytes(b"precious")
    failed = checked(vault_path, "content", "cat", item_id, "-o", str(out), "--force", code=5)
    assert "error:" in failed.stderr
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "mine.bin", "vault"]


def test_prove_writes_private_files_and_replaces_none_without_force(
    vault_path: Path, tmp_path: Path
) -> None:
    item_id = checked(vault_path, "content", "add", str(_note(tmp_path))).stdout.strip()
    out = tmp_path / "proof"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    (out / f"{item_id[:12]}-v1.pub").symlink_to(victim)
    refused = checked(vault_path, "content", "prove", item_id, "-o", str(out), code=8)
    assert "--force" in refused.stderr and sorted(p.name for p in out.iterdir()) == [
        f"{item_id[:12]}-v1.pub"
    ]
    paths = json.loads(
        checked(vault_path, "content", "prove", item_id, "-o", str(out), "--force", "--json").stdout
    )
    for path in paths.values():
        written = Path(path)
        assert not written.is_symlink() and stat.S_IMODE(written.stat().st_mode) == 0o600
    assert victim.read_text() == "not yours\n"


def test_imported_titles_and_file_names_are_shown_escaped(vault_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text('---\ntitle: "\\e[31mRed\\e]0;pwned\\a"\n---\nbody\n')
    checked(vault_path, "import", "markdown", str(folder))
    listed = checked(vault_path, "content", "list").stdout
    assert "\x1b" not in listed and "\\x1b[31mRed\\x1b]0;pwned\\x07" in listed
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "b\x1b[2J.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    failed = checked(vault_path, "import", "markdown", str(broken / "b\x1b[2J.md"), code=7)
    assert "\x1b" not in failed.stderr and "b\\x1b[2J.md" in failed.stderr
    skipped = checked(vault_path, "import", "markdown", str(broken))  # listed, not refused
    assert "\x1b" not in skipped.stderr and "b\\x1b[2J.md: invalid YAML" in skipped.stderr


def test_content_add_refuses_front_matter_nested_too_deeply(
    vault_path: Path, tmp_path: Path
) -> None:
    note = tmp_path / "deep.md"
    note.write_text("---\nx: " + "[" * 100_000 + "]" * 100_000 + "\n---\nbody\n")
    failed = checked(vault_path, "content", "add", str(note), code=7)
    assert "deep.md: the front matter nests too deeply" in failed.stderr
    assert json.loads(checked(vault_path, "content", "list", "--json").stdout) == []


def _markdown_with_a_bad_file(tmp: Path) -> Path:
    folder = tmp / "notes"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    return folder


def _mastodon_with_a_bad_post(tmp: Path) -> Path:
    files = mastodon_files()
    files["outbox.json"] = outbox_text([note(1), note(2, published="soon")], []).encode()
    return build_mastodon(tmp / "mastodon.zip", files)


def _twitter_with_a_bad_part(tmp: Path) -> Path:
    files = twitter_files()
    files["data/tweets-part1.js"] = b"window.YTD.tweets.part1 = [{]"
    return build_mastodon(tmp / "twitter.zip", files)


def _wordpress_with_an_untyped_item(tmp: Path) -> Path:
    untyped = wxr_item(2, "Stray").replace("<wp:post_type><![CDATA[post]]></wp:post_type>", "")
    path = tmp / "blog.xml"
    path.write_text(wxr(untyped + wxr_item(2, "About", post_type="page")), encoding="utf-8")
    return path


# format, an input with one bad file or record, where the error is located
WITH_ERRORS = {
    "markdown": (_markdown_with_a_bad_file, "bad.md"),
    "mastodon": (_mastodon_with_a_bad_post, "outbox.json"),
    "twitter": (_twitter_with_a_bad_part, "data/tweets-part1.js"),
    "wordpress": (_wordpress_with_an_untyped_item, "blog.xml"),
}


@pytest.mark.parametrize("name", sorted(WITH_ERRORS))
def test_a_content_import_with_a_bad_file_or_record_imports_the_rest_and_lists_it(
    name: str, vault_path: Path, tmp_path: Path
) -> None:
    """Exit 0, the good input imported, the bad one listed on stderr and in --json."""
    make, location = WITH_ERRORS[name]
    path = make(tmp_path)
    text = checked(vault_path, "import", name, str(path))
    assert "errors 1" in text.stdout and "added 0" not in text.stdout
    assert f"  {location}: " in text.stderr
    summary = json.loads(checked(vault_path, "import", name, str(path), "--json").stdout)
    assert summary["added"] == 0 and summary["duplicates"] > 0
    assert [e["location"] for e in summary["errors"]] == [location]
