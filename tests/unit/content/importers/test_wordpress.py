"""WordPress WXR: posts and pages, http and https `wp:` namespaces, items that are not posts,
hostile XML; and a real WordPress.com export (tests/corpus/wordpress)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from defusedxml import ElementTree

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


def test_posts_without_id_or_date_are_reported_once_with_a_count(
    vault: Vault, tmp_path: Path
) -> None:
    no_id = wxr_item(1, "x").replace("<wp:post_id>1</wp:post_id>", "")
    bad_date = wxr_item(2, "y").replace("2020-03-02 10:00:00", "yesterday")
    path = tmp_path / "blog.xml"
    path.write_text(wxr(no_id + no_id + bad_date + wxr_item(3, "Fine")), encoding="utf-8")
    summary = wordpress.import_wxr(vault, path)
    assert summary.added == 1
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("blog.xml", "2 items without wp:post_id skipped"),
        ("blog.xml", "1 item with a date that cannot be read skipped"),
    ]


def test_an_untyped_item_is_reported_and_never_takes_a_real_pages_place(
    vault: Vault, tmp_path: Path
) -> None:
    """A faithful reproduction of what real exports hold (WordPress's theme unit test data is
    GPL, so its structure is rebuilt here): items of every non-post type sharing the ids of
    real posts and pages, and an item that names no `wp:post_type` at all."""
    untyped = re.sub(r"\s*<wp:post_type>.*?</wp:post_type>", "", wxr_item(2, "Stray"))
    items = (
        untyped
        + wxr_item(2, "About", post_type="page")
        + wxr_item(1, "photo.jpg", post_type="attachment", status="inherit")
        + wxr_item(1, "Hello", post_type="post")
        + wxr_item(7, "Hello", post_type="revision", status="inherit")
        + wxr_item(8, "Home", post_type="nav_menu_item")
        + wxr_item(9, "Home", post_type="nav_menu_item")
        + wxr_item(10, "Old", status="trash")
    )
    path = tmp_path / "blog.xml"
    path.write_text(wxr(items), encoding="utf-8")
    summary = wordpress.import_wxr(vault, path)
    listed = {(i.title, i.kind) for i in content.list_items(vault)}
    assert listed == {("About", "page"), ("Hello", "article")}
    assert [(e.location, e.problem) for e in summary.errors] == [
        ("blog.xml", "1 item without wp:post_type (not known to be a post or page) skipped")
    ]
    assert summary.ignored == 5
    assert summary.skipped == (
        "blog.xml: 1 attachment item (not a post or page)",
        "blog.xml: 2 nav_menu_item items (not a post or page)",
        "blog.xml: 1 revision item (not a post or page)",
        "blog.xml: 1 item with status trash",
    )
    assert summary.duplicates == 0


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


WP = "{http://wordpress.org/export/1.2/}"


def test_a_real_wordpress_com_export(vault: Vault, corpus: Path) -> None:
    """Counted independently with xml.etree: the posts and pages not trashed are imported,
    each with the audience its status gives; every other item is ignored, by type."""
    path = corpus / "wordpress" / "sitetitle.wordpress.2025-01-19.000.xml"
    items = ElementTree.parse(path).getroot().findall("channel/item")
    types = Counter(i.findtext(f"{WP}post_type") for i in items)
    real = [
        i
        for i in items
        if i.findtext(f"{WP}post_type") in ("post", "page")
        and i.findtext(f"{WP}status") not in ("trash", "auto-draft")
    ]
    assert len(real) >= 8 and set(types) - {"post", "page"}  # the file holds both kinds
    summary = wordpress.import_wxr(vault, path)
    assert summary.added == len(real)
    assert summary.ignored == len(items) - len(real)
    assert summary.errors == ()
    stored = {i.title: i for i in content.list_items(vault)}
    assert sorted(stored) == sorted(i.findtext("title") for i in real)
    for item in real:
        kept = stored[str(item.findtext("title"))]
        assert kept.kind == ("page" if item.findtext(f"{WP}post_type") == "page" else "article")
        public = item.findtext(f"{WP}status") == "publish" and not item.findtext(
            f"{WP}post_password"
        )
        assert (kept.audience == "public") == public
        gmt = str(item.findtext(f"{WP}post_date_gmt"))
        assert kept.created == gmt.replace(" ", "T") + "Z"
    others = sorted((str(t), n) for t, n in types.items() if t not in ("post", "page"))
    assert list(summary.skipped) == [
        f"{path.name}: {n} {t} item{'' if n == 1 else 's'} (not a post or page)" for t, n in others
    ]
    again = wordpress.import_wxr(vault, path)
    assert (again.added, again.duplicates) == (0, len(real))
