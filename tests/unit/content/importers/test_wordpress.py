"""WordPress WXR: posts and pages, http and https `wp:` namespaces, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import WXR_ITEMS, wxr, wxr_item
from vault import content
from vault.content.importers import wordpress
from vault.core.errors import MalformedInput, UnsafeArchive
from vault.core.vault import Vault


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_import_posts_and_pages(vault: Vault, tmp_path: Path, scheme: str) -> None:
    path = tmp_path / "blog.xml"
    path.write_text(wxr(WXR_ITEMS, scheme), encoding="utf-8")
    summary = wordpress.import_wxr(vault, path)
    assert (summary.added, summary.ignored) == (3, 3)
    items = {i.title: i for i in content.list_items(vault)}
    post = items["First post"]
    assert (post.kind, post.tags, post.created) == (
        "article",
        ("alps", "travel"),
        "2020-03-02T10:00:00Z",
    )
    assert post.extra == {"status": "publish", "slug": "slug-1", "author": "ada"}
    assert post.source_url == "https://blog.example/?p=1"
    assert items["About"].kind == "page"
    assert items["Draft idea"].extra["status"] == "draft"
    assert b"".join(content.read(vault, post.id)) == b"<p>Body of First post &amp; co</p>"
    again = wordpress.import_wxr(vault, path)
    assert (again.added, again.duplicates) == (0, 3)


def _refused(
    vault: Vault, tmp_path: Path, data: bytes, error: type[Exception], pattern: str
) -> None:
    path = tmp_path / "blog.xml"
    path.write_bytes(data)
    with pytest.raises(error, match=pattern):
        wordpress.import_wxr(vault, path)
    assert vault.store.count(content.ITEM) == 0


def test_malformed_xml_names_the_line(vault: Vault, tmp_path: Path) -> None:
    data = wxr(wxr_item(1, "ok") + "<item><title>broken</item>").encode()
    _refused(
        vault, tmp_path, data, MalformedInput, r"blog\.xml: malformed XML at line \d+, column \d+"
    )


def test_entity_expansion_is_refused(vault: Vault, tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<rss><channel><item><title>&b;</title>'
        "</item></channel></rss>"
    )
    _refused(vault, tmp_path, bomb.encode(), UnsafeArchive, r"blog\.xml: refused DTDForbidden")


def test_invalid_utf8(vault: Vault, tmp_path: Path) -> None:
    data = wxr(wxr_item(1, "caf\udce9")).encode("utf-8", "surrogateescape")
    _refused(vault, tmp_path, data, MalformedInput, r"blog\.xml: invalid UTF-8 at byte \d+")


def test_post_without_id(vault: Vault, tmp_path: Path) -> None:
    data = wxr(wxr_item(1, "x").replace("<wp:post_id>1</wp:post_id>", "")).encode()
    _refused(vault, tmp_path, data, MalformedInput, r"blog\.xml item 1 has no wp:post_id")


def test_status_and_password_give_the_audience(vault: Vault, tmp_path: Path) -> None:
    items = (
        wxr_item(1, "Published")
        + wxr_item(2, "Only me", status="private")
        + wxr_item(3, "With a password", password="hunter2")
        + wxr_item(4, "Not yet", status="draft")
        + wxr_item(5, "In review", status="pending")
        + wxr_item(6, "Scheduled", status="future")
        + wxr_item(7, "About", post_type="page")
    )
    path = tmp_path / "blog.xml"
    path.write_text(wxr(items), encoding="utf-8")
    wordpress.import_wxr(vault, path)
    audiences = {i.title: i.audience for i in content.list_items(vault)}
    assert audiences == {
        "Published": "public",
        "Only me": "private",
        "With a password": "private",
        "Not yet": "draft",
        "In review": "draft",
        "Scheduled": "draft",
        "About": "public",
    }
    # The password itself is never kept.
    protected = next(i for i in content.list_items(vault) if i.title == "With a password")
    assert "hunter2" not in str(protected.as_dict())
