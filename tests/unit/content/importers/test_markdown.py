"""Markdown front matter (YAML, TOML, JSON) and the folder importer, on the shared samples."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vault import content
from vault.content.importers import markdown
from vault.core.errors import MalformedInput, UnsafeArchive
from vault.core.vault import Vault
from vault.personas import add_persona

HELLO_META = {"test": "tester", "author": "bob", "something": "else"}


@pytest.fixture
def vault(fresh_vault: Vault) -> Vault:
    add_persona(fresh_vault, "Writer")
    return fresh_vault


def test_yaml_sample_matches_expected_result(samples: Path) -> None:
    folder = samples / "markdown-frontmatter"
    expected = json.loads((folder / "yaml_hello-markdown.result.json").read_text())
    body = expected.pop("content")
    meta, text = markdown.parse((folder / "yaml_hello-markdown.md").read_bytes())
    assert (meta, text) == (expected, body)


@pytest.mark.parametrize("name", ["toml_hello-toml.md", "json_hello-json.md"])
def test_toml_and_json_samples(samples: Path, name: str) -> None:
    meta, text = markdown.parse((samples / "markdown-frontmatter" / name).read_bytes())
    assert meta == HELLO_META
    assert text.startswith("Title\n=====\n\ntitle2\n------\n\nHello.")
    assert text.endswith("break.")


@pytest.mark.parametrize(
    ("name", "meta", "text"),
    [
        ("empty_empty-frontmatter.txt", {}, "I have frontmatter but no metadata."),
        ("empty_no-frontmatter.txt", {}, "I have no frontmatter."),
        ("yaml_extra-dash.txt", {"test": "bob", "else": "kate"}, "Here's some content."),
        (
            "yaml_chinese.txt",
            {"title": "Let's try unicode", "language": "中文"},
            "欢迎来到大连水产学院！",
        ),
    ],
)
def test_edge_samples(samples: Path, name: str, meta: dict[str, str], text: str) -> None:
    assert markdown.parse((samples / "markdown-frontmatter" / name).read_bytes()) == (meta, text)


def test_yaml_aliases_are_refused() -> None:
    bomb = b'---\na: &a ["x", "x"]\nb: [*a, *a]\n---\nbody\n'
    with pytest.raises(MalformedInput, match="invalid YAML front matter at line 3"):
        markdown.parse(bomb, "bomb.md")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"---\n[unclosed\n---\nx", "invalid YAML"),
        (b"+++\na = \n+++\nx", "invalid TOML"),
        (b'{\n"a": 1,\n}\nx', r"invalid JSON front matter at line 3"),
        (b"---\n- a list\n---\nx", "the front matter is not a mapping"),
        (b"---\ntitle: \xff\n---\nx", "invalid UTF-8 in the front matter at byte 11"),
    ],
)
def test_malformed_front_matter(raw: bytes, problem: str) -> None:
    with pytest.raises(MalformedInput, match=rf"note\.md: {problem}"):
        markdown.parse(raw, "note.md")


def test_dates_become_utc_instants() -> None:
    meta = markdown.meta_from_front_matter(
        {"date": "2020-05-06T10:00:00+02:00", "title": "T", "keywords": "a, b"}, "x.md"
    )
    assert meta.created == "2020-05-06T08:00:00Z"
    assert meta.tags == ("a", "b")


def _copy_samples(samples: Path, dest: Path) -> Path:
    shutil.copytree(samples / "markdown-frontmatter", dest)
    return dest


def test_import_folder_is_idempotent(vault: Vault, samples: Path, tmp_path: Path) -> None:
    folder = _copy_samples(samples, tmp_path / "notes")
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.md").write_text("---\ntitle: Nested\ntags: [x]\n---\nHi\n")
    (folder / ".obsidian").mkdir()
    (folder / ".obsidian" / "hidden.md").write_text("not imported")
    first = markdown.import_folder(vault, folder)
    assert (first.added, first.duplicates) == (8, 0)
    titles = {i.title for i in content.list_items(vault)}
    assert {"Let's try unicode", "Nested", "yaml_hello-markdown", "empty_no-frontmatter"} <= titles
    nested = next(i for i in content.list_items(vault) if i.title == "Nested")
    assert nested.filename == "sub/nested.md"
    assert b"".join(content.read(vault, nested.id)) == b"Hi\n"
    again = markdown.import_folder(vault, folder)
    assert (again.added, again.duplicates) == (0, 8)
    assert vault.store.count(content.ITEM) == 8


def test_bad_file_leaves_the_vault_unchanged(vault: Vault, samples: Path, tmp_path: Path) -> None:
    folder = _copy_samples(samples, tmp_path / "notes")
    (folder / "zz-broken.md").write_bytes(b"---\ntitle: ok\n---\nfine, then \xc3\x28")
    with pytest.raises(MalformedInput, match=r"zz-broken\.md: invalid UTF-8 at byte"):
        markdown.import_folder(vault, folder)
    assert vault.store.count(content.ITEM) == 0
    assert vault.check() == []


def test_symlinks_in_folder_are_refused(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("a")
    os.symlink("/etc/hostname", folder / "b.md")
    with pytest.raises(UnsafeArchive, match=r"b\.md: symbolic links are refused"):
        markdown.import_folder(vault, folder)
    assert vault.store.count(content.ITEM) == 0


_KEYS = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1)
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40
)  # YAML itself does not round-trip control characters and Unicode line breaks
_VALUES = st.one_of(_TEXT, st.integers(), st.booleans(), st.lists(_TEXT, max_size=3))


@given(meta=st.dictionaries(_KEYS, _VALUES, max_size=6), body=st.text(max_size=200))
def test_yaml_and_json_front_matter_round_trip(meta: dict[str, object], body: str) -> None:
    yaml_doc = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + body
    json_doc = json.dumps(meta, indent=2, ensure_ascii=False) + "\n" + body
    for doc in (yaml_doc, json_doc):
        parsed, text = markdown.parse(doc.encode("utf-8"))
        assert parsed == meta
        assert text == body.strip()
