"""What an import did, in one vocabulary every importer shares (personas, content, data).

Each area's importer returns an `ImportSummary`; the front ends render it and `--json` prints
`as_dict()`, whose shape docs/cli.md documents for scripts. Counts are integers; records an
import created or touched are named by their ids; problems carry where and what.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vault.core.errors import MalformedInput
from vault.core.i18n import N_


@dataclass(frozen=True)
class ImportIssue:
    """A recoverable problem met while importing: where (file, line or record) and what.

    The input it names was skipped; the rest of the import went on."""

    location: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "problem": self.problem}


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


@dataclass(frozen=True)
class RecordCounts:
    """What an import did with records that stand on their own and can be amended at their
    source (clinical records): each resource read is counted once, in one of the first four."""

    added: int = 0  # new to the vault
    updated: int = 0  # a newer version of a stored one, which it replaced
    unchanged: int = 0  # already stored as they are
    older: int = 0  # older than the stored version (by its own last-updated time): not stored
    undated: int = 0  # of the added and updated, those with no date (listed, under no day)

    def __bool__(self) -> bool:
        return any((self.added, self.updated, self.unchanged, self.older))

    def as_dict(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "older": self.older,
            "undated": self.undated,
        }


@dataclass(frozen=True)
class ImportSummary:
    """What one import did, reported to the person: never silent about skipped input.

    A field an area has no use for stays at its empty default (content imports have no
    workouts, data imports no ids), so every summary reads the same way.
    """

    format: str  # the import format's name: "apple-health", "vcard", "markdown"...
    added: int = 0  # new records: personas, content items, samples
    added_ids: tuple[str, ...] = ()  # ids of the new records that have one (not samples)
    updated: tuple[str, ...] = ()  # ids of existing records the import changed
    unchanged: tuple[str, ...] = ()  # ids of existing records the input matched exactly
    duplicates: int = 0  # input already in the vault, skipped
    ignored: int = 0  # input this area does not keep (boosts, retweets, group cards)
    skipped: tuple[str, ...] = ()  # why ignored input was left out, where a reason is known
    attachments: int = 0  # media files stored with new content items
    workouts: int = 0
    summaries: int = 0  # daily activity summaries
    unknown_types: Mapping[str, int] = field(default_factory=dict)  # kept, with their counts
    by_metric: Mapping[str, int] = field(default_factory=dict)  # samples added, per metric
    errors: tuple[ImportIssue, ...] = ()  # recoverable problems; fatal ones raise instead
    notes: tuple[str, ...] = ()  # what the person should know (limits, assumptions)
    time_zone: str | None = None  # the zone assumed for times without an offset
    clinical_records: RecordCounts = RecordCounts()  # FHIR resources (not in added/duplicates)

    def __post_init__(self) -> None:
        # A frozen summary hands out no mutable mapping.
        object.__setattr__(self, "unknown_types", _frozen_counts(self.unknown_types))
        object.__setattr__(self, "by_metric", _frozen_counts(self.by_metric))

    def as_dict(self) -> dict[str, Any]:
        """The JSON object `coffre import ... --json` prints (docs/cli.md)."""
        return {
            "format": self.format,
            "added": self.added,
            "added_ids": list(self.added_ids),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "skipped": list(self.skipped),
            "attachments": self.attachments,
            "workouts": self.workouts,
            "summaries": self.summaries,
            "unknown_types": dict(self.unknown_types),
            "added_by_metric": dict(self.by_metric),
            "errors": [issue.as_dict() for issue in self.errors],
            "notes": list(self.notes),
            "time_zone": self.time_zone,
            "clinical_records": self.clinical_records.as_dict(),
            # Kept for scripts written against the content imports' first shape.
            "source": self.format,
            "items": list(self.added_ids),
        }


@contextmanager
def parser_limits(where: str) -> Iterator[None]:
    """Around the reading of an imported document: what Python's own limits raise on a
    hostile one becomes MalformedInput naming WHERE, so that it is refused like any other
    malformed input (and the import's transaction rolls back): nesting deeper than a parser
    or the code walking its result recurses, or an integer longer than Python converts."""
    try:
        yield
    except RecursionError:
        raise MalformedInput(N_("{where} nests too deeply"), where=where) from None
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        raise MalformedInput(N_("{where} holds a number too long to read"), where=where) from None
