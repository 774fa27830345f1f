"""`coffre import FORMAT PATH`: one command per format of the import registry (vault.imports).

Each command parses its path and options, runs the format with a progress bar on stderr and
prints the summary (JSON with --json). A fatal problem leaves the vault unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import Env, Translated, cli, pass_env
from vault.cli.output import StderrProgress, emit_json, info, json_option, say, settings
from vault.core.i18n import N_, _, localise, localise_name, ngettext, number
from vault.imports import FORMATS, ImportFormat

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary, RecordCounts

MAX_LISTED_ERRORS = 20  # on a terminal; -v and --json list them all

persona_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--persona",
    "-p",
    "persona_ref",
    default=None,
    help="Persona the data goes to (id, id prefix or name); default: the only one.",
)


@cli.group("import")
def import_group() -> None:
    """Import data from other tools' files into the vault (one transaction per file).

    An interrupted import (Ctrl-C) keeps nothing of the file it was reading: exit 130.

    \b
    Examples:
      coffre import apple-health export.zip
      coffre import markdown notes/ --persona Ana
    """


def _headline(fmt: ImportFormat, s: ImportSummary) -> str:
    """The summary's first line, in the words of the format's area."""
    if fmt.area == "personas":
        return _("{added} added, {updated} updated, {unchanged} unchanged.").format(
            added=s.added, updated=len(s.updated), unchanged=len(s.unchanged)
        )
    if fmt.area == "content":
        parts = [
            _("added {n}").format(n=s.added),
            _("duplicates skipped {n}").format(n=s.duplicates),
        ]
        if s.ignored:
            parts.append(_("ignored {n} (not authored content)").format(n=s.ignored))
        if s.attachments:
            parts.append(_("attachments {n}").format(n=s.attachments))
        parts.append(_("errors {n}").format(n=len(s.errors)))
        return f"{fmt.name}: " + ", ".join(parts)
    unknown = sum(s.unknown_types.values())
    return _(
        "Added {added} {records}, {workouts} workouts, {summaries} daily summaries; "
        "skipped {duplicates} duplicates; kept {unknown} samples of {types} unknown types; "
        "{errors} errors."
    ).format(
        added=number(s.added),
        records=_(fmt.records),
        workouts=number(s.workouts),
        summaries=number(s.summaries),
        duplicates=number(s.duplicates),
        unknown=number(unknown),
        types=len(s.unknown_types),
        errors=number(len(s.errors)),
    )


def _clinical_line(c: RecordCounts) -> str:
    """What an import did with clinical records, in their own words: each resource read is
    added, updated (a newer version replaced the stored one), already stored, or older than
    the stored one; those without a date are said apart."""
    parts = [
        ngettext("{n} added", "{n} added", c.added).format(n=number(c.added)),
        ngettext("{n} updated", "{n} updated", c.updated).format(n=number(c.updated)),
        ngettext("{n} already stored", "{n} already stored", c.unchanged).format(
            n=number(c.unchanged)
        ),
    ]
    if c.older:
        parts.append(
            ngettext(
                "{n} older than the stored version (not stored)",
                "{n} older than the stored versions (not stored)",
                c.older,
            ).format(n=number(c.older))
        )
    line = _("Clinical records: {counts}.").format(counts=", ".join(parts))
    if c.undated:
        line += " " + ngettext(
            "{n} has no date: it is listed, but counted under no day.",
            "{n} have no date: they are listed, but counted under no day.",
            c.undated,
        ).format(n=number(c.undated))
    return line


def report(fmt: ImportFormat, summary: ImportSummary, as_json: bool) -> None:
    """Print an import summary: JSON on stdout, or a few lines for people (the summary on
    stdout, the problems and notes on stderr)."""
    if as_json:
        emit_json(summary.as_dict())
        return
    say(_headline(fmt, summary))
    if summary.clinical_records:
        say(_clinical_line(summary.clinical_records))
    if settings.verbose:  # what came in, metric by metric
        for metric, n in summary.by_metric.items():
            line = ngettext("  {metric}: {n} added", "  {metric}: {n} added", n)
            say(line.format(metric=metric, n=number(n)))
    if fmt.area == "personas":
        for id_ in summary.added_ids:
            say(_("  added {id}").format(id=id_))
        for id_ in summary.updated:
            say(_("  updated {id}").format(id=id_))
    for reason in summary.skipped:
        info(_("skipped {reason}").format(reason=localise(reason)))
    listed = len(summary.errors) if settings.verbose else MAX_LISTED_ERRORS
    for issue in summary.errors[:listed]:
        info(
            _("  {location}: {problem}").format(
                location=localise_name(issue.location), problem=localise(issue.problem)
            )
        )
    if len(summary.errors) > listed:
        info(
            _("  ... and {value} more (-v or --json lists them all)").format(
                value=len(summary.errors) - listed
            )
        )
    for note in summary.notes:
        info(localise(note))
    # Said once: an importer whose notes already name the zone (and why) is not repeated.
    if summary.time_zone is not None and not any(summary.time_zone in n for n in summary.notes):
        info(
            _("Times without an offset were read in {time_zone}.").format(
                time_zone=summary.time_zone
            )
        )


def _help(fmt: ImportFormat) -> str:
    paragraphs = [_(fmt.description), _(fmt.details) if fmt.details else "", _reads(fmt)]
    # \b keeps click from rewrapping the example line.
    quiet = "coffre -q " + fmt.example.removeprefix("coffre ")
    paragraphs.append("\b\n" + _("Examples:") + f"\n  {fmt.example}\n  {quiet}")
    return "\n\n".join(p for p in paragraphs if p)


def _reads(fmt: ImportFormat) -> str:
    """`Reads a .zip archive or a folder.`: what the format takes, in words."""
    return _("Reads {what}.").format(what=localise(fmt.accepts.describe()))


class ImportCommand(Translated):
    """An import's command: its help is put together from the registry's parts, each
    translated, when it is shown."""

    def __init__(self, *args: Any, fmt: ImportFormat, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = fmt

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _help_of(self):
            super().format_help_text(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        with _help_of(self):
            return super().get_short_help_str(limit)


@contextmanager
def _help_of(command: ImportCommand) -> Iterator[None]:
    # Built in the current language; `Translated` finds no catalogue entry for the whole
    # and shows it as it is.
    original = command.help
    command.help = _help(command.fmt)
    try:
        yield
    finally:
        command.help = original


def _command(fmt: ImportFormat) -> click.Command:
    """`coffre import NAME PATH [--persona P] [format options] [--json]` for one format."""

    def run(
        env: Env, path: Path, as_json: bool, persona_ref: str | None = None, **options: str
    ) -> None:
        given = {name: value for name, value in options.items() if value is not None}
        env.interrupted_what = N_(
            "interrupted: nothing was imported"
        )  # one transaction per file: all or nothing
        with env.vault() as v:
            summary = fmt.run(
                v,
                path,
                persona=persona_ref,
                progress=StderrProgress(_("import {name}").format(name=path.name)),
                options=given,
            )
        report(fmt, summary, as_json)

    command: Callable[..., Any] = json_option(pass_env(run))
    for option in reversed(fmt.options):
        command = click.option(
            option.flag, option.name, default=None, metavar=option.metavar, help=option.help
        )(command)
    if fmt.needs_persona:
        command = persona_option(command)
    path_type = click.Path(
        exists=True, file_okay=fmt.accepts.file_ok, dir_okay=fmt.accepts.folder, path_type=Path
    )
    metavar = "PATH" if fmt.accepts.folder else "FILE"
    command = click.argument("path", type=path_type, metavar=metavar)(command)
    return import_group.command(fmt.name, cls=ImportCommand, fmt=fmt, help=_help(fmt))(command)


for _format in FORMATS:
    _command(_format)
