"""`coffre import FORMAT PATH`: one command per format of the import registry (vault.imports).

Each command parses its path and options, runs the format with a progress bar on stderr and
prints the summary (JSON with --json). A fatal problem leaves the vault unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.main import Env, cli, pass_env
from vault.cli.output import StderrProgress, emit_json, info, json_option, say, settings
from vault.imports import FORMATS, ImportFormat

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary

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
        return f"{s.added} added, {len(s.updated)} updated, {len(s.unchanged)} unchanged."
    if fmt.area == "content":
        parts = [f"added {s.added}", f"duplicates skipped {s.duplicates}"]
        if s.ignored:
            parts.append(f"ignored {s.ignored} (not authored content)")
        if s.attachments:
            parts.append(f"attachments {s.attachments}")
        parts.append(f"errors {len(s.errors)}")
        return f"{fmt.name}: " + ", ".join(parts)
    unknown = sum(s.unknown_types.values())
    return (
        f"Added {s.added:,} {fmt.records}, {s.workouts:,} workouts, "
        f"{s.summaries:,} daily summaries; skipped {s.duplicates:,} duplicates; "
        f"kept {unknown:,} samples of {len(s.unknown_types)} unknown types; "
        f"{len(s.errors):,} errors."
    )


def report(fmt: ImportFormat, summary: ImportSummary, as_json: bool) -> None:
    """Print an import summary: JSON on stdout, or a few lines for people (the summary on
    stdout, the problems and notes on stderr)."""
    if as_json:
        emit_json(summary.as_dict())
        return
    say(_headline(fmt, summary))
    if fmt.area == "personas":
        for id_ in summary.added_ids:
            say(f"  added {id_}")
        for id_ in summary.updated:
            say(f"  updated {id_}")
    for reason in summary.skipped:
        info(f"skipped {reason}")
    listed = len(summary.errors) if settings.verbose else MAX_LISTED_ERRORS
    for issue in summary.errors[:listed]:
        info(f"  {issue.location}: {issue.problem}")
    if len(summary.errors) > listed:
        info(f"  ... and {len(summary.errors) - listed} more (-v or --json lists them all)")
    for note in summary.notes:
        info(note)
    if summary.time_zone is not None:
        info(f"Times without an offset were read in {summary.time_zone}.")


def _help(fmt: ImportFormat) -> str:
    paragraphs = [fmt.description, fmt.details, f"Reads {fmt.accepts.describe()}."]
    # \b keeps click from rewrapping the example line.
    quiet = "coffre -q " + fmt.example.removeprefix("coffre ")
    paragraphs.append(f"\b\nExamples:\n  {fmt.example}\n  {quiet}")
    return "\n\n".join(p for p in paragraphs if p)


def _command(fmt: ImportFormat) -> click.Command:
    """`coffre import NAME PATH [--persona P] [format options] [--json]` for one format."""

    def run(
        env: Env, path: Path, as_json: bool, persona_ref: str | None = None, **options: str
    ) -> None:
        given = {name: value for name, value in options.items() if value is not None}
        env.interrupted_what = "imported"  # one transaction per file: all or nothing
        with env.vault() as v:
            summary = fmt.run(
                v,
                path,
                persona=persona_ref,
                progress=StderrProgress(f"import {path.name}"),
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
    return import_group.command(fmt.name, help=_help(fmt))(command)


for _format in FORMATS:
    _command(_format)
