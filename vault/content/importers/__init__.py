"""Importers of authored content: a Markdown folder, Mastodon, Twitter/X and WordPress.

Each importer streams its source, runs in one transaction (all of it or nothing) and is
idempotent: every item carries a dedup lookup term (the source's own id, or the content hash
for Markdown), so importing the same source twice adds nothing the second time.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import TYPE_CHECKING, Final

from vault.core.errors import MissingMedia

if TYPE_CHECKING:
    from vault.core.archive import Archive
    from vault.core.records import BlobRef
    from vault.core.store import Txn
    from vault.core.vault import Vault


_TAG: Final = re.compile(r"<[^>]+>")
_BREAK: Final = re.compile(r"<\s*(br|/p|/li|/h[1-6])\s*/?\s*>", re.IGNORECASE)
_SPACE: Final = re.compile(r"[ \t]+")


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (for titles): tags dropped, entities decoded."""
    text = _BREAK.sub("\n", fragment)
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACE.sub(" ", ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln)


def title_from_text(text: str, limit: int = 80) -> str:
    """A short title from the first line of a text (posts and tweets have none)."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(first) <= limit:
        return first or "(untitled)"
    cut = first[:limit].rsplit(" ", 1)[0] or first[:limit]
    return cut.rstrip(" ,.;:") + "…"


def write_media(
    txn: Txn, vault: Vault, ar: Archive, members: list[str]
) -> dict[str, list[BlobRef]]:
    """Stream each needed media file once, in archive order (one pass even for tar.gz).

    `members` lists one entry per use; a file used twice is copied, so each version owns its
    blobs and forgetting one item never removes another's media. Callers `pop()` the refs.
    """
    uses = Counter(members)
    blobs: dict[str, list[BlobRef]] = {}
    for member, chunks in ar.stream(set(uses)):
        first = txn.write_blob(chunks)
        blobs[member] = [first]
        for _ in range(uses[member] - 1):
            blobs[member].append(txn.write_blob(vault.store.read_blob(first)))
    missing = set(uses) - set(blobs)
    if missing:
        raise MissingMedia(f"{ar.label}: {sorted(missing)[0]} could not be read from the archive")
    return blobs
