"""WordPress WXR exports: posts and pages.

WXR is RSS 2.0 with WordPress elements in the `wp:` namespace, whose URI exists in http and
https forms and several versions (`http://wordpress.org/export/1.2/`...): elements are matched
on the URI's pattern. The file is parsed incrementally with defusedxml (DTDs, entities and
external references refused), after a streaming check that it is valid UTF-8.

Each item's status gives its audience: `publish` is public unless a `wp:post_password` is
set (then private, as only those given the password may read it), `private` is private,
`draft`, `pending` and `future` are drafts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from vault import content
from vault.content import audience
from vault.content.importers import Tally, html_to_text, title_from_text
from vault.core.errors import InvalidParameter, MalformedInput, UnsafeArchive
from vault.core.importing import ImportSummary
from vault.core.progress import ProgressCallback

if TYPE_CHECKING:
    from vault.core.vault import Vault

_WP_NS: Final = re.compile(r"^https?://wordpress\.org/export/[0-9.]+/$")
_CONTENT_NS: Final = "http://purl.org/rss/1.0/modules/content/"
_DC_NS: Final = "http://purl.org/dc/elements/1.1/"
KINDS: Final = {"post": "article", "page": "page"}
SKIPPED_STATUS: Final = frozenset({"trash", "auto-draft", "inherit"})
_ZERO_DATE: Final = "0000-00-00 00:00:00"
_AUDIENCE_BY_STATUS: Final = {
    "publish": audience.PUBLIC,
    "private": audience.PRIVATE,
    "draft": audience.DRAFT,
    "pending": audience.DRAFT,
    "future": audience.DRAFT,
}


def status_audience(status: str, password: str | None) -> str:
    """The audience of a post of this status; a status WordPress may add later is private."""
    if password:
        return audience.PRIVATE
    return _AUDIENCE_BY_STATUS.get(status, audience.PRIVATE)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _wp(elem: Element, name: str) -> str | None:
    for child in elem:
        ns, local = _split(child.tag)
        if local == name and _WP_NS.match(ns):
            return (child.text or "").strip()
    return None


def _child(elem: Element, ns_uri: str, name: str) -> str | None:
    found = elem.find(f"{{{ns_uri}}}{name}")
    return None if found is None else found.text or ""


def _check_utf8(path: Path) -> None:
    with path.open("rb") as handle:
        for _ in content.utf8_checked(iter(lambda: handle.read(1 << 20), b""), path.name):
            pass


def _items(path: Path) -> Iterator[tuple[Element, str]]:
    """Each `<item>` of the channel, with the site URL (for dedup keys), then cleared."""
    site = ""
    depth = 0
    try:
        for event, elem in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            ns, local = _split(elem.tag)
            names_site = (local == "base_blog_url" and _WP_NS.match(ns)) or (
                local == "link" and not ns and depth == 2
            )
            if names_site and not site:
                site = (elem.text or "").strip()
            elif local == "item" and not ns:
                yield elem, site
                elem.clear()
    except ParseError as exc:
        line, column = exc.position
        raise MalformedInput(
            f"{path.name}: malformed XML at line {line}, column {column + 1}"
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeArchive(
            f"{path.name}: refused {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from None


def _date(item: Element, where: str) -> str | None:
    gmt = _wp(item, "post_date_gmt")
    local = _wp(item, "post_date")
    try:
        if gmt and gmt != _ZERO_DATE:
            return content.normalize_time(gmt.replace(" ", "T"), "post date")
        if local and local != _ZERO_DATE:
            return content.normalize_time(local.replace(" ", "T"), "post date")
    except InvalidParameter as exc:
        raise MalformedInput(f"{where}: {exc.detail}") from None
    return None


def import_wxr(
    vault: Vault,
    path: str | os.PathLike[str],
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import the posts and pages of a WXR file in one transaction; re-importing adds nothing.

    Attachments, menus, revisions and trashed posts are skipped (counted as ignored).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidParameter(f"{path.name}: not a file")
    _check_utf8(path)
    tally = Tally(vault, "wordpress", persona=persona, progress=progress, total=None)
    with vault.store.write() as txn:
        for index, (item, site) in enumerate(_items(path)):
            where = f"{path.name} item {index + 1}"
            post_type = _wp(item, "post_type") or "post"
            status = _wp(item, "status") or "publish"
            if post_type not in KINDS or status in SKIPPED_STATUS:
                tally.ignored += 1
                continue
            post_id = _wp(item, "post_id")
            if not post_id:
                raise MalformedInput(f"{where} has no wp:post_id")
            key = f"wordpress:{site}:{post_id}"
            if tally.known(key):
                continue
            body = _child(item, _CONTENT_NS, "encoded") or ""
            title = (item.findtext("title") or "").strip()
            tags = [
                (c.text or "").strip()
                for c in item.findall("category")
                if c.get("domain") in ("category", "post_tag")
            ]
            extra = {"status": status, "slug": _wp(item, "post_name") or ""}
            author = _child(item, _DC_NS, "creator")
            if author:
                extra["author"] = author
            meta = content.ItemMeta(
                title=title or title_from_text(html_to_text(body)),
                kind=KINDS[post_type],
                tags=content.normalize_tags(tags),
                created=_date(item, where),
                media_type="text/html",
                source="wordpress",
                source_url=(item.findtext("link") or "").strip() or None,
                extra=extra,
                audience=status_audience(status, _wp(item, "post_password")),
            )
            blob = txn.write_blob([body.encode("utf-8")])
            tally.add(txn, blob, meta, dedup=[key])
        tally.audit(txn)
    return tally.summary()
