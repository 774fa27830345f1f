"""Presentation helpers: numbers, sizes, instants and durations as people read them, and
text Coffre did not write (titles and names from imports) shown safely."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual.markup import escape

from vault.core import i18n
from vault.core.i18n import N_plural, _, decimal, ngettext
from vault.core.i18n import number as grouped
from vault.core.untrusted import printable


def count(n: int) -> str:
    """12,345 or 1.2M: short enough for a table cell."""
    if n >= 10_000_000:
        return f"{n / 1_000_000:.0f}M"
    if n >= 1_000_000:
        return f"{decimal(n / 1_000_000, 1)}M"
    return grouped(n)


def size(n: int, *, coarse: bool = False) -> str:
    """1.5 KiB (1,5 Kio in French); `coarse` rounds mebibytes to whole ones (a vault's size
    moves by pages)."""
    return i18n.size(n, coarse=coarse)


def day(ms: int | None) -> str:
    """A UTC instant in milliseconds as its date."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def instant(iso: str) -> str:
    """An ISO 8601 instant shortened to minutes ("2026-05-01 14:03")."""
    return iso.replace("T", " ").removesuffix("Z")[:16]


def number(value: float, unit: str = "") -> str:
    """A measurement with sensible precision and its unit (UCUM braces dropped)."""
    text = grouped(value) if abs(value) >= 100 else grouped(value, 1)
    unit = unit.strip("{}")
    return f"{text} {unit}".strip()


def day_end_ms(now: datetime) -> int:
    """The UTC midnight that ends `now`'s day, in milliseconds: ranges end on whole days."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000) + 86_400_000


def cells(*values: str) -> tuple[Text, ...]:
    """Table cells as plain text: a DataTable reads a str as markup, and names, titles and
    values from the vault may hold square brackets (or, from an import, control characters,
    shown escaped)."""
    return tuple(Text(printable(v)) for v in values)


def plain(value: object) -> str:
    """A name or title to place in markup or Markdown: control characters and escape
    sequences shown escaped (Textual passes them to the terminal), square brackets kept."""
    return escape(printable(value))


def plan_counts(counts: Mapping[str, int]) -> str:
    """What a forget plan counts, in words: "2,225 samples over 185 days, 3 content items"."""
    rest = dict(counts)
    parts = []
    samples, days = rest.pop("samples", 0), rest.pop("days", 0)
    if samples:
        over = " " + _("over {days}").format(days=plural(days, "day")) if days else ""
        parts.append(plural(samples, "sample") + over)
    for key, n in sorted(rest.items()):
        words = key.replace("_", " ")
        parts.append(
            plural(n, words.removesuffix("s"), words)
            if words.endswith("s")
            else f"{grouped(n)} {_(words)}"
        )
    return ", ".join(parts)


# The nouns counted on screen, each with its two forms for the catalogue (N_plural marks them;
# `plural` picks the form with ngettext, in the current language).
NOUNS: dict[str, tuple[str, str]] = {
    "sample": N_plural("{n} sample", "{n} samples"),
    "period": N_plural("{n} period", "{n} periods"),
    "item": N_plural("{n} item", "{n} items"),
    "file": N_plural("{n} file", "{n} files"),
    "day": N_plural("{n} day", "{n} days"),
    "entry": N_plural("{n} entry", "{n} entries"),
    "attribute": N_plural("{n} attribute", "{n} attributes"),
    "sensitive attribute": N_plural("{n} sensitive attribute", "{n} sensitive attributes"),
    "content item": N_plural("{n} content item", "{n} content items"),
    "rule": N_plural("{n} rule", "{n} rules"),
    "grant": N_plural("{n} grant", "{n} grants"),
    "persona": N_plural("{n} persona", "{n} personas"),
    "recipient": N_plural("{n} recipient", "{n} recipients"),
    "receipt": N_plural("{n} receipt", "{n} receipts"),
    "bundle": N_plural("{n} bundle", "{n} bundles"),
    "version": N_plural("{n} version", "{n} versions"),
    "record": N_plural("{n} record", "{n} records"),
    "ECG recording": N_plural("{n} ECG recording", "{n} ECG recordings"),
    "clinical record": N_plural("{n} clinical record", "{n} clinical records"),
    "workout": N_plural("{n} workout", "{n} workouts"),
    "token": N_plural("{n} token", "{n} tokens"),
    "erasure request": N_plural("{n} erasure request", "{n} erasure requests"),
    "ledger entry": N_plural("{n} ledger entry", "{n} ledger entries"),
    "blob": N_plural("{n} blob", "{n} blobs"),
    "deletion": N_plural("{n} deletion", "{n} deletions"),
    "change": N_plural("{n} change", "{n} changes"),
    "forget": N_plural("{n} forget", "{n} forgets"),
}


def plural(n: int, word: str, many: str = "") -> str:
    """A count and its noun, agreeing, in the current language: "1 period", "2 periods",
    "1,204 samples" ("1 204 mesures"). A noun NOUNS lacks stays in English."""
    forms = NOUNS.get(word)
    if forms is not None:
        return ngettext(*forms, n).format(n=grouped(n))
    return f"{grouped(n)} {word if n == 1 else many or word + 's'}"


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, an ellipsis marking the cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def squeeze(text: str, width: int) -> str:
    """`text` cut in the middle to `width` characters: the two ends of a long metric name
    (its source prefix and what it measures) are what tell it apart."""
    if len(text) <= width or width < 5:
        return clip(text, width)
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + text[-tail:]


def absolute(name: str | Path) -> str:
    """A default output path as the person will see it written: the working directory the
    TUI was started in made explicit (a relative path names an unseen place)."""
    return str(Path(name).expanduser().absolute())
