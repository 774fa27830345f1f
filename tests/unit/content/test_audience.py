"""Audience: the vocabulary, where an item's audience comes from (`content add`, front
matter, edits) and how records stored before audiences existed are read."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.builders import wxr, wxr_item
from vault import content
from vault.content.importers import markdown, wordpress
from vault.core.errors import InvalidParameter, MalformedInput
from vault.core.vault import Vault


def test_the_vocabulary_is_checked() -> None:
    assert content.AUDIENCES == ("public", "unlisted", "followers", "direct", "private", "draft")
    assert content.normalize_audience(" Public ") == "public"
    assert content.normalize_audiences(["draft", "public", "draft"]) == ("public", "draft")
    with pytest.raises(InvalidParameter, match="unknown audience"):
        content.normalize_audience("friends")


def test_a_persons_own_file_is_private_unless_it_says_otherwise(
    vault: Vault, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.md"
    plain.write_text("# Thoughts\n")
    assert content.add_file(vault, plain).audience == "private"
    assert content.add_file(vault, plain, audience="Unlisted").audience == "unlisted"
    with pytest.raises(InvalidParameter, match="unknown audience"):
        content.add_file(vault, plain, audience="everyone")
    stated = tmp_path / "stated.md"
    stated.write_text("---\ntitle: Hello\naudience: public\n---\nHi\n")
    item = content.add_file(vault, stated)
    assert item.audience == "public" and "audience" not in item.extra
    draft = tmp_path / "draft.md"
    draft.write_text("---\ntitle: Later\ndraft: true\n---\nSoon\n")
    assert content.add_file(vault, draft).audience == "draft"
    # `draft: false` is Hugo's default: it does not make a text public on its own.
    published = tmp_path / "published.md"
    published.write_text("---\ntitle: Out\ndraft: false\n---\nNow\n")
    assert content.add_file(vault, published).audience == "private"


def test_markdown_folder_reads_draft_and_audience(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: Out\naudience: public\n---\nA\n")
    (folder / "b.md").write_text("+++\ntitle = 'Wip'\ndraft = true\n+++\nB\n")
    (folder / "c.md").write_text("No front matter\n")
    markdown.import_markdown(vault, folder)
    assert {i.title: i.audience for i in content.list_items(vault)} == {
        "Out": "public",
        "Wip": "draft",
        "c": "private",
    }
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.md").write_text("---\naudience: friends\n---\nX\n")
    with pytest.raises(MalformedInput, match="unknown audience"):
        markdown.import_markdown(vault, bad / "x.md")
    (issue,) = markdown.import_markdown(vault, bad).errors  # in a folder: listed, skipped
    assert "unknown audience" in issue.problem


def test_an_edit_changes_the_audience_and_keeps_it_otherwise(vault: Vault) -> None:
    item = content.add(vault, io.BytesIO(b"hello"), content.ItemMeta(title="Hi"))
    assert item.audience == "private"
    shared = content.edit(vault, item.id, audience="public")
    assert (shared.audience, shared.version) == ("public", 2)
    retitled = content.edit(vault, item.id, title="Hello")
    assert content.get(vault, retitled.id).audience == "public"
    assert [i.id for i in content.list_items(vault, audience="public")] == [item.id]
    assert content.list_items(vault, audience="draft") == []


def _forget_audience(vault: Vault, item_id: str, **fields: Any) -> None:
    """Rewrite an item's record as it was stored before audiences existed."""
    rec = vault.store.get(content.ITEM, item_id)
    data = rec.json()
    del data["audience"]
    data.update(fields)
    with vault.store.write() as txn:
        txn.update(content.ITEM, item_id, json.dumps(data).encode(), terms=rec.terms)


@pytest.mark.parametrize(
    ("fields", "audience"),
    [
        ({"source": "wordpress", "extra": {"status": "private"}}, "private"),
        ({"source": "wordpress", "extra": {"status": "draft"}}, "draft"),
        ({"source": "wordpress", "extra": {"status": "future"}}, "draft"),
        # A stored `publish` may have been password-protected: it is not taken as public.
        ({"source": "wordpress", "extra": {"status": "publish"}}, "private"),
        ({"source": "markdown", "extra": {"draft": True}}, "draft"),
        ({"source": "markdown", "extra": {"audience": "public"}}, "public"),
        ({"source": "markdown", "extra": {"audience": "friends"}}, "private"),
        ({"source": None, "extra": {}}, "private"),
        ({"source": "mastodon", "extra": {"sensitive": False}}, "private"),
        ({"source": "twitter", "extra": {}}, "private"),
    ],
)
def test_records_stored_before_audiences_are_never_taken_as_public_unless_they_say_so(
    vault: Vault, fields: dict[str, Any], audience: str
) -> None:
    item = content.add(vault, io.BytesIO(b"old"), content.ItemMeta(title="Old"))
    _forget_audience(vault, item.id, **fields)
    assert content.get(vault, item.id).audience == audience
    assert content.get(vault, item.id).as_dict()["audience"] == audience
    # An edit writes the audience into the record from then on.
    content.edit(vault, item.id, title="Old, edited")
    assert vault.store.get(content.ITEM, item.id).json()["audience"] == audience


def test_an_old_wordpress_import_reads_back_its_drafts(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "blog.xml"
    path.write_text(wxr(wxr_item(1, "Wip", status="draft")), encoding="utf-8")
    (added,) = wordpress.import_wxr(vault, path).added_ids
    _forget_audience(vault, added)
    assert content.get(vault, added).audience == "draft"
