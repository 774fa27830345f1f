"""Markdown front matter (YAML, TOML, JSON) and the importer of a file or a folder, on the
shared samples and on Jekyll's own test site (tests/corpus/markdown)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vault import content
from vault.content.importers import SKIPPED_WHOLE, markdown
from vault.core.errors import MalformedInput, UnsafeArchive, WrongFormat
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
    first = markdown.import_markdown(vault, folder)
    assert (first.added, first.duplicates) == (8, 0)
    titles = {i.title for i in content.list_items(vault)}
    assert {"Let's try unicode", "Nested", "yaml_hello-markdown", "empty_no-frontmatter"} <= titles
    nested = next(i for i in content.list_items(vault) if i.title == "Nested")
    assert nested.filename == "sub/nested.md"
    assert b"".join(content.read(vault, nested.id)) == b"Hi\n"
    again = markdown.import_markdown(vault, folder)
    assert (again.added, again.duplicates) == (0, 8)
    assert vault.store.count(content.ITEM) == 8


def test_a_bad_file_in_a_folder_is_skipped_whole_and_listed(
    vault: Vault, samples: Path, tmp_path: Path
) -> None:
    folder = _copy_samples(samples, tmp_path / "notes")
    good = len(_site(folder)[0])
    (folder / "zz-broken.md").write_bytes(b"---\ntitle: ok\n---\nfine, then \xc3\x28")
    summary = markdown.import_markdown(vault, folder)
    assert summary.added == good == vault.store.count(content.ITEM)
    (issue,) = summary.errors
    assert issue.location == "zz-broken.md"
    assert issue.problem == f"invalid UTF-8 at byte 11: {SKIPPED_WHOLE}"
    assert "zz-broken.md" not in {i.filename for i in content.list_items(vault)}
    assert vault.check() == []


def test_a_single_file_is_all_or_nothing(vault: Vault, tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: One note\naudience: public\n---\nHello\n")
    summary = markdown.import_markdown(vault, note)
    assert (summary.added, summary.errors) == (1, ())
    (item,) = content.list_items(vault)
    assert (item.title, item.filename, item.audience) == ("One note", "note.md", "public")
    assert b"".join(content.read(vault, item.id)) == b"Hello\n"
    assert markdown.import_markdown(vault, note).duplicates == 1
    broken = tmp_path / "broken.md"
    broken.write_bytes(b"---\ntitle: [unclosed\n---\nbody\n")
    with pytest.raises(MalformedInput, match=r"broken\.md: invalid YAML front matter at line 3"):
        markdown.import_markdown(vault, broken)
    assert vault.store.count(content.ITEM) == 1


def test_a_folder_without_markdown_is_refused(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "vault-notes"
    (folder / ".obsidian").mkdir(parents=True)
    (folder / ".obsidian" / "workspace.md").write_text("hidden")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(WrongFormat, match=r"vault-notes holds no Markdown or text file"):
        markdown.import_markdown(vault, folder)
    assert vault.store.count(content.ITEM) == 0


def test_symlinks_in_folder_are_refused(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("a")
    os.symlink("/etc/hostname", folder / "b.md")
    with pytest.raises(UnsafeArchive, match=r"b\.md: symbolic links are refused"):
        markdown.import_markdown(vault, folder)
    assert vault.store.count(content.ITEM) == 0


def test_a_fifo_in_a_folder_is_refused_not_waited_on(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("a")
    os.mkfifo(folder / "pipe.md")
    with pytest.raises(UnsafeArchive, match=r"pipe\.md: not a regular file"):
        markdown.import_markdown(vault, folder)
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


# --- Jekyll's own test site (tests/corpus/markdown/jekyll, MIT) -------------------------------

# The suffixes docs/cli.md lists for `import markdown`.
MARKDOWN_FILES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mkdown", ".txt")
POST_NAME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-")


def _front_matter(raw: bytes) -> dict[str, object]:
    """The YAML between a first `---` line and the next `---` or `...` line (Jekyll's rule),
    read with PyYAML; raises on bad input."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    found = yaml.safe_load("\n".join(lines[1:end]))
    return found if isinstance(found, dict) else {}


def _site(root: Path) -> tuple[dict[str, dict[str, object]], set[str]]:
    """The Markdown files of a site by relative path: the front matter of the good ones, and
    the names of those that cannot be read (not UTF-8, or broken YAML)."""
    good: dict[str, dict[str, object]] = {}
    bad: set[str] = set()
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or not name.lower().endswith(MARKDOWN_FILES):
                continue
            path = Path(base) / name
            rel = path.relative_to(root).as_posix()
            try:
                good[rel] = _front_matter(path.read_bytes())
            except (UnicodeDecodeError, yaml.YAMLError):
                bad.add(rel)
    return good, bad


def _expected_instant(front_matter: dict[str, object], rel: str) -> datetime | None:
    value = front_matter.get("date")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
    named = POST_NAME.match(Path(rel).name)
    if named:
        return datetime(*(int(g) for g in named.groups()), tzinfo=UTC)
    return None


def test_jekyll_test_site(vault: Vault, corpus: Path, tmp_path: Path) -> None:
    site = tmp_path / "jekyll"
    shutil.copytree(corpus / "markdown" / "jekyll", site)
    # Jekyll's Unicode16LECRLFandBOM.md, reproduced: its UTF-8 post in UTF-16 LE with a BOM
    # and CRLF line ends (not kept in the corpus, see its SOURCES.md).
    utf8 = (site / "_encodings" / "UTF8CRLFandBOM.md").read_text(encoding="utf-8-sig")
    utf16 = "\ufeff" + utf8.replace("\r\n", "\n").replace("\n", "\r\n")
    (site / "_encodings" / "Unicode16LECRLFandBOM.md").write_bytes(utf16.encode("utf-16-le"))
    good, bad = _site(site)
    assert bad and len(good) > 50  # the corpus holds both kinds
    summary = markdown.import_markdown(vault, site)
    assert summary.added == len(good)
    assert {e.location for e in summary.errors} == bad
    assert all(e.problem.endswith(SKIPPED_WHOLE) for e in summary.errors)
    problems = {e.location: e.problem for e in summary.errors}
    assert problems["_broken/bad_post.md"].startswith("invalid YAML front matter at line 3")
    assert problems["_encodings/Unicode16LECRLFandBOM.md"].startswith("invalid UTF-8")
    items = {i.filename: i for i in content.list_items(vault)}
    assert set(items) == set(good)
    for rel, front_matter in good.items():
        expected = _expected_instant(front_matter, rel)
        if expected is not None:
            created = datetime.fromisoformat(items[rel].created)
            assert created == expected, rel
    again = markdown.import_markdown(vault, site)
    assert (again.added, again.duplicates, len(again.errors)) == (0, len(good), len(bad))


def test_an_odd_date_in_one_post_does_not_refuse_the_folder(
    vault: Vault, corpus: Path, tmp_path: Path
) -> None:
    """An impossible or free-text date in a post named `YYYY-MM-DD-title` takes the date of
    its file name, as Jekyll dates its posts, with a note; a file with no date in its name
    and an unreadable date is skipped whole with its reason."""
    posts = tmp_path / "_posts"
    shutil.copytree(corpus / "markdown" / "jekyll" / "_posts", posts)
    good, _ = _site(posts)
    (posts / "2021-03-04-odd.md").write_text("---\ntitle: Odd\ndate: 2021-13-45\n---\nx\n")
    (posts / "2021-03-05-words.md").write_text("---\ndate: last Tuesday\n---\ny\n")
    (posts / "undated.md").write_text("---\ndate: last Tuesday\n---\nz\n")
    summary = markdown.import_markdown(vault, posts)
    assert summary.added == len(good) + 2
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("undated.md", f"the date is not an ISO 8601 date or time: {SKIPPED_WHOLE}")
    ]
    assert len(summary.notes) == 2 and all("file name" in n for n in summary.notes)
    dated = {i.filename: i.created for i in content.list_items(vault)}
    assert dated["2021-03-04-odd.md"] == "2021-03-04T00:00:00Z"
    assert dated["2021-03-05-words.md"] == "2021-03-05T00:00:00Z"


def test_dates_written_as_jekyll_writes_them() -> None:
    meta = markdown.meta_from_front_matter({"date": "2015-10-01 01:00:00 +0800"}, "x.md")
    assert meta.created == "2015-09-30T17:00:00Z"
    assert markdown.file_name_date("_posts/2017-2-5-i-dont-like-zeroes.md") == (
        "2017-02-05T00:00:00Z"
    )
    assert markdown.file_name_date("2017-02-30-no-such-day.md") is None
    assert markdown.file_name_date("notes.md") is None


def _hugo_front_matter(raw: bytes) -> dict[str, Any]:
    """TOML between `+++` lines or YAML between `---` lines, read with tomllib and PyYAML."""
    text = raw.decode("utf-8")
    fence = text.splitlines()[0].strip()
    if fence not in ("+++", "---"):
        return {}
    block = text.split(fence + "\n", 2)[1]
    found = tomllib.loads(block) if fence == "+++" else yaml.safe_load(block)
    return found or {}


def test_hugo_basic_example_site(vault: Vault, corpus: Path) -> None:
    """Hugo's example site, TOML and YAML front matter side by side: every page is imported,
    its title, date and tags as an independent reading of its front matter gives them."""
    site = corpus / "markdown" / "hugo-basic-example"
    pages = {
        p.relative_to(site).as_posix(): _hugo_front_matter(p.read_bytes())
        for p in site.rglob("*.md")
    }
    summary = markdown.import_markdown(vault, site)
    assert (summary.added, summary.errors, summary.notes) == (len(pages), (), ())
    items = {i.filename: i for i in content.list_items(vault)}
    assert set(items) == set(pages)
    for rel, front_matter in pages.items():
        item = items[rel]
        assert item.title == front_matter.get("title", Path(rel).stem), rel
        words = [*front_matter.get("tags", []), *front_matter.get("categories", [])]
        assert set(item.tags) == {str(w).lower() for w in words}, rel
        if "date" in front_matter:
            day = str(front_matter["date"])[:10]
            assert item.created == f"{day}T00:00:00Z", rel


def test_files_larger_than_the_front_matter_limit_stream(vault: Vault, tmp_path: Path) -> None:
    """A note read in one piece and one streamed (larger than the front matter limit) are
    stored alike; a large one with a bad byte at its end is skipped whole all the same."""
    folder = tmp_path / "notes"
    folder.mkdir()
    text = "word " * (content.FRONT_MATTER_LIMIT // 5 + 100)
    (folder / "big.md").write_text("---\ntitle: Big\n---\n" + text)
    (folder / "small.md").write_text("---\ntitle: Small\n---\nsmall\n")
    (folder / "broken.md").write_bytes(b"---\ntitle: Broken\n---\n" + text.encode() + b"\xff")
    summary = markdown.import_markdown(vault, folder)
    assert summary.added == 2
    assert [e.location for e in summary.errors] == ["broken.md"]
    items = {i.title: i for i in content.list_items(vault)}
    assert b"".join(content.read(vault, items["Big"].id)) == text.encode()
    assert b"".join(content.read(vault, items["Small"].id)) == b"small\n"
    assert markdown.import_markdown(vault, folder).duplicates == 2


def test_an_unexpected_parser_error_names_its_class_never_its_message(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser's message may quote the file: only the class name is reported."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: A\n---\nfine\n")
    (folder / "b.md").write_text("---\ntitle: B\n---\nthe secret plan\n")
    parse = markdown.split_front_matter

    def failing(head: bytes, name: str) -> tuple[dict[str, object], int]:
        if b"secret" in head:
            raise ValueError(head.decode())
        return parse(head, name)

    monkeypatch.setattr(markdown, "split_front_matter", failing)
    summary = markdown.import_markdown(vault, folder)
    assert summary.added == 1
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("b.md", f"unexpected ValueError: {SKIPPED_WHOLE}")
    ]
    with pytest.raises(ValueError, match="secret"):  # alone, it stops the import as before
        markdown.import_markdown(vault, folder / "b.md")
