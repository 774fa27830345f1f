"""What commands send out: results on stdout (lines for people, or JSON with `--json`),
diagnostics, progress bars and confirmation questions on stderr, and output files; with the
options that choose them.

Kept apart from `vault.cli.main` (the root group and its error dispatch) so an area module
imports the few output helpers it uses, next to `cli`, `Env` and `pass_env` from there.
"""

from __future__ import annotations

import functools
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Literal, ParamSpec, TextIO, TypeVar, overload

import click

from vault.core.errors import InvalidParameter, OutputExists
from vault.core.outputs import output_file
from vault.core.progress import ProgressEvent
from vault.core.untrusted import printable, printable_json

P = ParamSpec("P")
R = TypeVar("R")


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """DATA as JSON for stdout: UTF-8 as it is, but nothing a terminal would act on
    (`vault.core.untrusted`), since names and titles may come from bundles and imports."""
    return printable_json(json.dumps(data, indent=indent, ensure_ascii=False, default=str))


def emit_json(data: Any) -> None:
    click.echo(json_text(data))


def say(line: str) -> None:
    """One line for people on stdout, any control character or escape sequence in it shown
    escaped: lines hold names, titles and file names Coffre did not write."""
    click.echo(printable(line))


def emit(data: Any, text: str, *, as_json: bool) -> None:
    """A command's result on stdout: DATA as JSON with `--json`, else TEXT, one line for
    people (often the id a script would capture)."""
    if as_json:
        emit_json(data)
    else:
        say(text)


def info(message: str) -> None:
    """A diagnostic for people: stderr, so stdout stays clean for pipes; escaped as `say`
    does."""
    click.echo(printable(message), err=True)


def confirm(question: str, *, yes: bool, refusal: str) -> None:
    """Ask QUESTION on the terminal (aborting on no) unless `--yes` was given; without a
    terminal, refuse with REFUSAL rather than wait for an answer that cannot come."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidParameter(refusal)
    click.confirm(question, abort=True, err=True)


class StderrProgress:
    """Draws progress events as one line on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str, *, force: bool = False) -> None:
        self.label = label
        self.enabled = force or sys.stderr.isatty()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        if event.total:
            pct = min(100, int(100 * event.done / event.total))
            bar = "#" * (pct // 4)
            line = f"\r{self.label}: [{bar:<25}] {pct:3d}% ({event.done:,}/{event.total:,})"
        else:
            line = f"\r{self.label}: {event.done:,}"
        click.echo(line, err=True, nl=event.finished)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


json_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON on stdout instead of text."
)


def force_option(command: Callable[P, R]) -> Callable[P, R]:
    """`--force` for a command that writes output files; when one exists and `--force` was
    not given, the error says how to replace it (the library knows no flags)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except OutputExists as exc:
            raise OutputExists(f"{exc.detail} (use --force to replace it)") from None

    option = click.option("--force", is_flag=True, help="Replace the output file if it exists.")
    return option(run)


def _none_for_dash(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    return None if value is not None and str(value) == "-" else value


def output_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`-o/--output FILE` for `open_output`: no value (or `-`) reaches the command as None,
    meaning standard output."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        callback=_none_for_dash,
        help=help,
    )


@overload
def open_output(
    output: Path | None, *, force: bool, binary: Literal[True]
) -> AbstractContextManager[IO[bytes]]: ...
@overload
def open_output(
    output: Path | None, *, force: bool, binary: Literal[False] = False
) -> AbstractContextManager[TextIO]: ...
@contextmanager
def open_output(output: Path | None, *, force: bool, binary: bool = False) -> Iterator[Any]:
    """Standard output when OUTPUT is None, else an output file written the one way every
    output file is (`vault.core.outputs`): complete or not at all, 0600, never through a
    link, replacing an existing file only with FORCE."""
    if output is None:
        if not binary:
            yield sys.stdout
            return
        sys.stdout.flush()  # bytes go to the buffer below the text layer: keep the order
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with output_file(output, force=force) as raw:
        if binary:
            yield raw
            return
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            yield text
            text.flush()
        finally:
            text.detach()  # the output file stays open until it is published or discarded
