"""Importers of authored content: Markdown files and folders, Mastodon, Twitter/X, WordPress.

Each importer streams its source, runs in one transaction and is idempotent: every item
carries a dedup lookup term (the source's own id, or the content hash for Markdown), so
importing the same source twice adds nothing the second time.

A single file is all or nothing: a bad one raises and nothing is written. In a folder or an
archive of several files, each file is read whole before anything of it is stored; a bad one
is skipped whole and listed in the summary's errors (`unreadable`), and the others are
imported. A defect of some records inside a good file is reported once per file, with a count.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from vault import content
from vault.core.errors import MissingMedia, VaultError
from vault.core.i18n import N_, Text, sentence
from vault.core.importing import ImportIssue, ImportSummary
from vault.core.progress import Progress

if TYPE_CHECKING:
    from vault.core.archive import Archive
    from vault.core.progress import ProgressCallback
    from vault.core.records import BlobRef
    from vault.core.txn import Txn
    from vault.core.vault import Vault

T = TypeVar("T")

SKIPPED_WHOLE: Final = Text(N_("skipped whole, nothing imported from this file"))


def shown_name(name: str) -> str:
    """NAME as it can be printed and put in JSON: bytes a file system gave that are not
    UTF-8 (surrogate escapes) shown as `\\xNN`."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def unreadable(location: str, exc: Exception, *, label: str = "") -> ImportIssue:
    """The error listed for one file of a folder or archive that could not be read.

    A Coffre error gives its own safe detail (without the archive's LABEL and the file's
    name, which the location already says); anything else gives only its class name, since
    a parser's message may quote the file's content."""
    reason: str
    if isinstance(exc, VaultError):
        reason = (
            sentence(exc.detail)
            if exc.detail
            else Text(N_("{message}."), message=sentence(exc.summary))
        )
        for prefix in (label, location):
            if prefix:
                reason = _after(reason, prefix)
    elif isinstance(exc, OSError) and exc.strerror:
        reason = Text(N_("cannot be read ({reason})"), reason=exc.strerror)
    else:
        reason = Text(N_("unexpected {error}"), error=type(exc).__name__)
    return ImportIssue(
        location, Text(N_("{reason}: {skipped}"), reason=reason, skipped=SKIPPED_WHOLE)
    )


def _after(reason: str, place: str) -> str:
    """REASON without its leading `PLACE: `, which the issue's location already says. A
    template that opens with that place keeps its values (so it is still said in the
    person's language); one that is only another sentence (`{name}: {detail}`) gives it."""
    if not reason.startswith(f"{place}: "):
        return reason
    if isinstance(reason, Text) and isinstance(reason.template, str):
        head, _colon, rest = reason.template.partition(": ")
        first, inner = _field(head), _field(rest)
        if first is not None and str(reason.values.get(first)) == place:
            value = reason.values.get(inner) if inner is not None else None
            if isinstance(value, str):
                return sentence(value)
            return Text(rest, **reason.values)
    return reason[len(place) + 2 :]


def _field(template: str) -> str | None:
    """The name of the one placeholder TEMPLATE is made of (`{name}`), else None."""
    found = _FIELD.fullmatch(template)
    return found.group(1) if found else None


_FIELD: Final = re.compile(r"\{(\w+)\}")
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
        raise MissingMedia(
            N_("{label}: {name} could not be read from the archive"),
            label=ar.label,
            name=sorted(missing)[0],
        )
    return blobs


class Tally:
    """One content import's running account: the persona that signs, the progress shown,
    and what was added, skipped and stored, which end as its audit entry and its summary.

    Formats with media (`media=True`) count attachments in their audit entry as well.
    """

    def __init__(
        self,
        vault: Vault,
        source: str,
        *,
        persona: str | None,
        progress: ProgressCallback | None,
        total: int | None,
        media: bool = False,
    ) -> None:
        self.vault = vault
        self.source = source  # the import format's name: "mastodon"
        self.media = media
        self.signer = content.author(vault, persona)
        self.report = Progress(Text(N_("import {source}"), source=source), progress)
        self.report.start(total)
        self.added: list[str] = []
        self.duplicates = 0
        self.ignored = 0
        self.attachments = 0
        self.skipped: list[str] = []  # why ignored input was left out
        self.errors: list[ImportIssue] = []  # files skipped whole, records skipped, counted
        self.notes: list[str] = []

    def known(self, key: str) -> bool:
        """Whether an item with this dedup key is already in the vault; if so it counts as
        a duplicate, done for the progress shown."""
        if not content.is_known(self.vault, key):
            return False
        self.duplicates += 1
        self.report.advance()
        return True

    def fresh(self, entries: Iterable[T], key: Callable[[T], str]) -> list[T]:
        """The entries not yet in the vault, each once (by `key`, their dedup key); the
        others count as duplicates. Archives list media per entry, so the fresh ones are
        known before any media is written."""
        seen: set[str] = set()
        found = []
        for entry in entries:
            k = key(entry)
            if k in seen or content.is_known(self.vault, k):
                self.duplicates += 1
                continue
            seen.add(k)
            found.append(entry)
        return found

    def add(
        self,
        txn: Txn,
        body: BlobRef,
        meta: content.ItemMeta,
        *,
        dedup: Sequence[str],
        attachments: Sequence[content.NewAttachment] = (),
    ) -> None:
        """Create one signed item whose body is already written in `txn`."""
        item = content.create_in(txn, self.signer, body, meta, attachments=attachments, dedup=dedup)
        self.added.append(item.id)
        self.attachments += len(attachments)
        self.report.advance()

    def audit(self, txn: Txn) -> None:
        """The import's audit entry: its source and counts."""
        counts = {"added": len(self.added), "duplicates": self.duplicates}
        if self.errors:
            counts["errors"] = len(self.errors)
        if self.media:
            counts["attachments"] = self.attachments
        txn.audit("content.import", source=self.source, **counts)

    def summary(self) -> ImportSummary:
        """Finish the progress and say what the import did."""
        self.report.finish()
        return ImportSummary(
            self.source,
            added=len(self.added),
            added_ids=tuple(self.added),
            duplicates=self.duplicates,
            ignored=self.ignored,
            skipped=tuple(self.skipped),
            attachments=self.attachments,
            errors=tuple(self.errors),
            notes=tuple(self.notes),
        )
