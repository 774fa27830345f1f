"""WordPress WXR exports: posts and pages.

WXR is RSS 2.0 with WordPress elements in the `wp:` namespace, whose URI exists in http and
https forms and several versions (`http://wordpress.org/export/1.2/`...): elements are matched
on the URI's pattern. The file is parsed incrementally with defusedxml (DTDs, entities and
external references refused), after a streaming check that it is valid UTF-8.

Each item's status gives its audience: `publish` is public unless a `wp:post_password` is
set (then private, as only those given the password may read it), `private` is private,
`draft`, `pending` and `future` are drafts.

Only posts and pages are authored content. Every other item (attachments, menu items,
revisions, block-theme styles, a plugin's own post types) is counted in the summary's
`ignored` and `skipped` by type; an item that names no `wp:post_type` is not guessed to be a
post but reported, so it never becomes an empty article, and never takes the `post_id` of
the real post or page that shares it. A post or page without an id or with a date that
cannot be read is skipped, and reported once per file with a count.
"""

from __future__ import annotations

import os
import re
from collections import Counter
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
from vault.core.i18n import N_, N_plural, Text
from vault.core.importing import ImportIssue, ImportSummary
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
            N_("{name}: malformed XML at line {line}, column {column}"),
            name=path.name,
            line=line,
            column=column + 1,
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeArchive(
            N_("{name}: refused {error} (DTDs and entities are not allowed)"),
            name=path.name,
            error=type(exc).__name__,
        ) from None


def _date(item: Element) -> str | None:
    """The item's date as a UTC instant (GMT first, else local); None when WordPress left it
    unset (`0000-00-00 00:00:00`, drafts); InvalidParameter when it cannot be read."""
    gmt = _wp(item, "post_date_gmt")
    local = _wp(item, "post_date")
    if gmt and gmt != _ZERO_DATE:
        return content.normalize_time(gmt.replace(" ", "T"), N_("post date"))
    if local and local != _ZERO_DATE:
        return content.normalize_time(local.replace(" ", "T"), N_("post date"))
    return None


def import_wxr(
    vault: Vault,
    path: str | os.PathLike[str],
    *,
    persona: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import the posts and pages of a WXR file in one transaction; re-importing adds nothing.

    Other items and trashed posts are counted as ignored, by type; untyped items, and posts
    without an id or a readable date, are skipped and reported with their counts.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidParameter(N_("{name}: not a file"), name=path.name)
    _check_utf8(path)
    tally = Tally(vault, "wordpress", persona=persona, progress=progress, total=None)
    other_types: Counter[str] = Counter()
    other_status: Counter[str] = Counter()
    untyped = without_id = undated = 0
    with vault.store.write() as txn:
        for item, site in _items(path):
            post_type = _wp(item, "post_type")
            status = _wp(item, "status") or "publish"
            if not post_type:
                untyped += 1
                continue
            if post_type not in KINDS:
                other_types[post_type] += 1
                continue
            if status in SKIPPED_STATUS:
                other_status[status] += 1
                continue
            post_id = _wp(item, "post_id")
            if not post_id:
                without_id += 1
                continue
            try:
                created = _date(item)
            except InvalidParameter:
                undated += 1
                continue
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
                created=created,
                media_type="text/html",
                source="wordpress",
                source_url=(item.findtext("link") or "").strip() or None,
                extra=extra,
                audience=status_audience(status, _wp(item, "post_password")),
            )
            blob = txn.write_blob([body.encode("utf-8")])
            tally.add(txn, blob, meta, dedup=[key])
        tally.ignored = sum(other_types.values()) + sum(other_status.values())
        tally.skipped = [
            *(
                Text(
                    N_plural(
                        "{name}: {n:,} {kind} item (not a post or page)",
                        "{name}: {n:,} {kind} items (not a post or page)",
                    ),
                    name=path.name,
                    n=n,
                    kind=kind,
                )
                for kind, n in sorted(other_types.items())
            ),
            *(
                Text(
                    N_plural(
                        "{name}: {n:,} item with status {status}",
                        "{name}: {n:,} items with status {status}",
                    ),
                    name=path.name,
                    n=n,
                    status=status,
                )
                for status, n in sorted(other_status.items())
            ),
        ]
        for count, problem in (
            (
                untyped,
                N_plural(
                    "{n:,} item without wp:post_type (not known to be a post or page) skipped",
                    "{n:,} items without wp:post_type (not known to be a post or page) skipped",
                ),
            ),
            (
                without_id,
                N_plural(
                    "{n:,} item without wp:post_id skipped",
                    "{n:,} items without wp:post_id skipped",
                ),
            ),
            (
                undated,
                N_plural(
                    "{n:,} item with a date that cannot be read skipped",
                    "{n:,} items with a date that cannot be read skipped",
                ),
            ),
        ):
            if count:
                tally.errors.append(ImportIssue(path.name, Text(problem, n=count)))
        tally.audit(txn)
    return tally.summary()
