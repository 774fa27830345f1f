"""What every quantified-self importer shares: the item types parsers yield, the issue and
note callbacks, safe archive access, activity-name normalisation, and feeding the writer.

Parsers are pure generators (no vault needed, so tests run them alone); `feed` runs one of
them inside a single `QSWriter` transaction, so an import is all or nothing.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from vault.core.errors import MalformedInput, TruncatedArchive, UnsafeArchive, VaultError
from vault.core.i18n import N_, Text, sentence
from vault.data.model import (
    UNKNOWN_PREFIX,
    ActivitySummary,
    ClinicalRecord,
    Ecg,
    HealthProfile,
    Sample,
    Series,
    Workout,
)

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.vault import Vault

Item = Sample | Workout | ActivitySummary | Series | Ecg | ClinicalRecord | HealthProfile
ReportIssue = Callable[[str, str], None]  # (location, problem): a recoverable problem
Note = Callable[[str], None]  # something the person should know about the import

# Zip bomb guards: members are streamed, never extracted, but a bomb would still burn time.
MAX_MEMBER_BYTES = 64 << 30  # no real export member comes near 64 GiB
MAX_RATIO = 400  # XML exports compress 10-40x; a ratio beyond this is a bomb


def ignore_note(_message: str) -> None:
    """The default `note` callback: notes are optional."""


def ignore_issue(_location: str, _problem: str) -> None:
    """An issue callback for a pass whose findings are not reported (a check before reading)."""


def check_member_name(name: str) -> None:
    """Refuse archive member names that would escape a directory (absolute, `..`, drive)."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise UnsafeArchive(N_("a member path is absolute or climbs out with '..'"))


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip archive after checking every member's name and size (TruncatedArchive if
    it cannot be read, UnsafeArchive for escaping names and zip bombs)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise TruncatedArchive(
            N_("{name}: {error}"), name=path.name, error=type(exc).__name__
        ) from None
    try:
        for info in zf.infolist():
            check_member_name(info.filename)
            if info.file_size > MAX_MEMBER_BYTES or (
                info.file_size > (1 << 20)
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            ):
                raise UnsafeArchive(
                    N_("{name}: a member expands beyond safe limits (zip bomb)"), name=path.name
                )
    except BaseException:
        zf.close()
        raise
    return zf


def zip_read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a damaged zip member raises while it is being read."""
    return (zipfile.BadZipFile, zlib.error, EOFError)


def truncated(name: str, exc: BaseException) -> TruncatedArchive:
    return TruncatedArchive(
        N_("{name}: the data ends early or is damaged ({error})"),
        name=name,
        error=type(exc).__name__,
    )


def malformed(location: str, problem: str) -> MalformedInput:
    return MalformedInput(N_("{location}: {problem}"), location=location, problem=sentence(problem))


SKIPPED_WHOLE = Text(N_("skipped whole, nothing imported from this file"))


def skip_reason(exc: BaseException) -> str:
    """Why one file of a folder or archive was skipped, safe to show: a library error's
    detail (which names places, never content), else only the exception's class, since a
    parser's own message may quote the file."""
    if isinstance(exc, VaultError) and exc.detail:
        return sentence(exc.detail)
    if isinstance(exc, UnicodeDecodeError):
        return Text(N_("not UTF-8 text"))
    if isinstance(exc, RecursionError):
        return Text(N_("nests too deeply"))
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return Text(N_("holds a number too long to read"))
    if isinstance(exc, zipfile.BadZipFile | EOFError | zlib.error):
        return Text(N_("the data ends early or is damaged ({error})"), error=type(exc).__name__)
    return type(exc).__name__


class IssueTally:
    """Record-level problems of one file, reported once per problem with a count and the
    first place met, so a file with 300 bad records gives one line, not 300."""

    def __init__(self, report: ReportIssue) -> None:
        self.report = report
        self.seen: dict[str, tuple[str, int]] = {}

    def __call__(self, location: str, problem: str) -> None:
        entry = self.seen.get(problem)
        self.seen[problem] = (location, 1) if entry is None else (entry[0], entry[1] + 1)

    def flush(self) -> None:
        """Report what was counted, then forget it."""
        for problem, (location, count) in self.seen.items():
            counted = (
                Text(
                    N_("{problem} ({count} records; the first is here)"),
                    problem=sentence(problem),
                    count=count,
                )
                if count > 1
                else problem
            )
            self.report(location, counted)
        self.seen.clear()


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ACTIVITY_ALIASES = {
    "run": "running",
    "walk": "walking",
    "bike": "cycling",
    "biking": "cycling",
    "outdoor_bike": "cycling",
    "indoor_cycling": "cycling",
    "swim": "swimming",
    "hike": "hiking",
    "generic": "other",
    "unknown": "other",
    "": "other",
}


def activity_name(raw: str) -> str:
    """Normalise a source's workout type to snake_case (`HKWorkoutActivityTypeRunning`,
    `Run`, `RUNNING`, `running` all become `running`)."""
    name = raw.removeprefix("HKWorkoutActivityType")
    name = _CAMEL.sub("_", name).replace(" ", "_").replace("-", "_").replace(".", "_").lower()
    return _ACTIVITY_ALIASES.get(name, name)


def unknown_metric(identifier: str) -> str:
    return UNKNOWN_PREFIX + identifier


def feed(
    vault: Vault,
    persona_id: str,
    items: Callable[[ReportIssue, Note], Iterator[Item]],
    *,
    fmt: str,
    time_zone: str | None = None,
) -> ImportSummary:
    """Run a parser into one writer transaction and return what it did (`fmt`: the format's
    name in the import registry, for the summary; `time_zone`: the zone it assumed).

    `items(report_issue, note)` starts the parser: the importers pass `partial(parse_*,
    path, progress=..., ...)`. Any exception (a fatal bad input, an interruption) rolls the
    whole import back.
    """
    from vault.data.ingest import QSWriter

    notes: list[str] = []
    # Progress comes from the parser (bytes or files read, with a total); the writer's own
    # events have no total and would fight over the same line.
    with QSWriter(vault, persona_id, fmt=fmt) as writer:
        add, add_workout, add_summary = writer.add, writer.add_workout, writer.add_summary
        # Closed explicitly: a failure while storing stops the parser (and its helper
        # process) at once, not when the traceback that holds this frame is freed.
        parsed = items(writer.issue, notes.append)
        try:
            for item in parsed:
                kind = type(item)
                if kind is Sample:
                    add(item)  # type: ignore[arg-type]
                elif kind is Workout:
                    add_workout(item)  # type: ignore[arg-type]
                elif kind is Series:
                    writer.add_series(item)  # type: ignore[arg-type]
                elif kind is Ecg:
                    writer.add_ecg(item)  # type: ignore[arg-type]
                elif kind is ClinicalRecord:
                    writer.add_clinical(item)  # type: ignore[arg-type]
                elif kind is HealthProfile:
                    writer.add_profile(item)  # type: ignore[arg-type]
                else:
                    add_summary(item)  # type: ignore[arg-type]
        finally:
            close = getattr(parsed, "close", None)
            if close is not None:
                close()
    summary = writer.summary
    return replace(summary, notes=(*summary.notes, *notes), time_zone=time_zone)
