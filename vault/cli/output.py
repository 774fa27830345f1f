"""What commands send out: results on stdout (lines for people, or JSON with `--json`),
diagnostics, warnings, progress bars and confirmation questions on stderr, and output files;
with the options that choose them.

Kept apart from `vault.cli.main` (the root group and its error dispatch) so an area module
imports the few output helpers it uses, next to `cli`, `Env` and `pass_env` from there.

How much is said (`-q`, `-v`) and whether it is coloured (`--color`, `NO_COLOR`, a terminal
or not) is set once per run by the root group (`configure`); rich draws colour and progress
only when the stream is a terminal, so pipes and tests see plain text.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Literal, ParamSpec, TextIO, TypeVar, overload

import click

from vault.core.errors import InvalidParameter, OutputExists
from vault.core.i18n import NP_, _, decimal, localise, number, said, size
from vault.core.outputs import output_file
from vault.core.progress import ProgressEvent
from vault.core.untrusted import printable, printable_json

if TYPE_CHECKING:  # rich is imported only when something is drawn
    from rich.console import Console
    from rich.progress import Progress, Task, TaskID

P = ParamSpec("P")
R = TypeVar("R")

COLOR_CHOICES = ("auto", "always", "never")


@dataclass
class Verbosity:
    """What this run says beyond its result: set by the root options, read by the helpers."""

    quiet: bool = False
    verbose: bool = False
    color: str = "auto"


settings = Verbosity()


def configure(*, quiet: bool, verbose: bool, color: str) -> None:
    """Set this run's verbosity and colour (the root group calls it for every command)."""
    settings.quiet, settings.verbose, settings.color = quiet, verbose and not quiet, color


def colour_on(stream: IO[str]) -> bool:
    """Whether to colour STREAM: `--color always|never` decide; `auto` colours a terminal,
    unless NO_COLOR is set (to anything) or TERM is `dumb`."""
    if settings.color == "always":
        return True
    if settings.color == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or foreign stream
        return False


def _stream(err: bool) -> IO[str]:
    # Looked up at each call: click's test runner swaps sys.stdout and sys.stderr per run.
    return sys.stderr if err else sys.stdout


def console(stream: IO[str]) -> Console:
    """A rich console writing to STREAM with colour: no markup, highlighting or emoji, so
    text from imports and bundles is drawn as it is (already escaped by `printable`)."""
    from rich.console import Console

    return Console(
        file=stream,
        force_terminal=True,
        no_color=False,
        color_system="standard",
        markup=False,
        highlight=False,
        emoji=False,
        soft_wrap=True,
    )


def _echo(text: str, *, err: bool, style: str | None = None) -> None:
    """One line, coloured with STYLE when the stream takes colour, else plain."""
    stream = _stream(err)
    if style is None or not colour_on(stream):
        click.echo(text, err=err)
        return
    from rich.text import Text

    console(stream).print(Text(text, style=style))


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


def heading(line: str) -> None:
    """A header line of a command's result on stdout: bold on a terminal."""
    _echo(printable(line), err=False, style="bold")


def emit(data: Any, text: str, *, as_json: bool) -> None:
    """A command's result on stdout: DATA as JSON with `--json`, else TEXT, one line for
    people (often the id a script would capture)."""
    if as_json:
        emit_json(data)
    else:
        say(text)


def info(message: str) -> None:
    """A diagnostic for people: stderr, so stdout stays clean for pipes; escaped as `say`
    does; left out with `-q`."""
    if not settings.quiet:
        click.echo(printable(message), err=True)


def detail(message: str) -> None:
    """More detail, only with `-v` (stderr)."""
    if settings.verbose:
        _echo(printable(message), err=True, style="dim")


def warn(message: str) -> None:
    """`warning: MESSAGE` on stderr, yellow on a terminal; left out with `-q`."""
    if not settings.quiet:
        _echo(_("warning: {message}").format(message=printable(message)), err=True, style="yellow")


def error_line(message: str) -> None:
    """`error: MESSAGE` on stderr, red on a terminal; always shown, `-q` or not."""
    _echo(_("error: {message}").format(message=printable(message)), err=True, style="bold red")


def interactive() -> bool:
    """Whether someone can answer a question: standard input is a terminal."""
    return sys.stdin.isatty()


def confirm(
    question: str, *, yes: bool, action: str, preview: Callable[[], None] | None = None
) -> bool:
    """Whether to go ahead: yes with `--yes`; else QUESTION is asked on the terminal (no
    unless answered yes), after PREVIEW shows what would change; without a terminal ACTION
    (`deleting a persona`) is refused with exit 7, one rule for every command, rather than
    waiting for an answer that cannot come."""
    if yes:
        return True
    if not interactive():
        raise InvalidParameter(
            _("{action} needs --yes when not on a terminal").format(action=action)
        )
    if preview is not None:
        preview()
    return click.confirm(question, default=False, err=True)


def nothing_changed() -> None:
    """What a declined confirmation says (exit 0: the user chose it)."""
    info(_("Nothing changed."))


def yes_option(command: Callable[P, R]) -> Callable[P, R]:
    """`-y/--yes`: confirm without asking (for scripts)."""
    option = click.option(
        "-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal)."
    )
    return option(command)


def dry_run_option(help: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`-n/--dry-run`: show what would happen, change nothing."""
    return click.option("-n", "--dry-run", "dry_run", is_flag=True, help=help)


def si_amount(value: float) -> str:
    """VALUE with an SI prefix (`12.3k`, `4.5M`): record counts and rates."""
    for prefix in ("", "k", "M", "G"):
        if abs(value) < 1000 or prefix == "G":
            return number(value) if prefix == "" else f"{decimal(value, 1)}{prefix}"
        value /= 1000
    return f"{value:.1f}G"  # pragma: no cover  (the loop returns at G)


def binary_size(n: float) -> str:
    """N bytes with a binary prefix in the language's units (`1.5 MiB`, `1,5 Mio`), as file
    sizes are shown everywhere."""
    return size(n)


human_size = binary_size


def _amount(task: Task) -> str:
    """`done/total unit` of TASK: bytes in binary units, other units as counts."""
    unit = str(task.fields.get("unit", "items"))
    done, total = task.completed, task.total
    if unit == "bytes":
        shown = binary_size(done)
        return f"{shown}/{binary_size(total)}" if total is not None else shown
    count, word = number(done), _unit(unit)
    return f"{count}/{number(total)} {word}" if total is not None else f"{count} {word}"


# The units of the library's progress stages.
_UNITS: Final = (
    NP_("progress", "items"),
    NP_("progress", "samples"),
    NP_("progress", "records"),
    NP_("progress", "steps"),
)


def _unit(unit: str) -> str:
    """A progress stage's unit (the library's English word) in the current language."""
    return said("progress", unit, _UNITS)


def _rate(task: Task) -> str:
    """Units a second so far (`12.3 MiB/s`, `4.5k samples/s`), or nothing before a rate."""
    speed = task.finished_speed or task.speed
    if not speed:
        return ""
    unit = str(task.fields.get("unit", "items"))
    if unit == "bytes":
        return f"{binary_size(speed)}/s"
    return f"{si_amount(speed)} {_unit(unit)}/s"


class StderrProgress:
    """Draws the library's progress events (`vault.core.progress`) with rich on stderr: a bar
    per stage with its percentage, the amount in its unit, the rate and the time left; 100 %
    once the stage finishes. Only on a terminal and without `-q`: otherwise it draws nothing."""

    def __init__(self, label: str, *, force: bool = False, stream: IO[str] | None = None) -> None:
        self.label = label
        self._stream = stream
        self.enabled = force or (not settings.quiet and _isatty(sys.stderr))
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(self.close)  # a failed or interrupted command leaves no bar

    def _start(self) -> Progress:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        stream = self._stream or sys.stderr
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[amount]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console(stream) if colour_on(stream) else _plain_console(stream),
            auto_refresh=False,  # drawn on each event (the library sends at most ~20 a second)
            transient=False,
        )
        progress.start()
        return progress

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            self._progress = self._start()
        progress = self._progress
        task = self._tasks.get(event.stage)
        if task is None:
            stage = localise(event.stage)  # a name the library marked for the catalogue
            name = self.label if not self._tasks else f"{self.label}: {stage}"
            task = progress.add_task(
                printable(name), total=event.total, unit=event.unit, amount="", rate=""
            )
            self._tasks[event.stage] = task
        total = event.total
        done = event.done
        if event.finished:
            # Finished is complete: counts that fell short of an estimate still end at 100 %.
            total = total if total is not None and total >= done else done
            done = total
        progress.update(task, total=total, completed=done)
        state = progress.tasks[task]
        progress.update(task, amount=_amount(state), rate=_rate(state))
        progress.refresh()

    def close(self) -> None:
        """Stop drawing (restores the cursor)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _plain_console(stream: IO[str]) -> Console:
    from rich.console import Console

    return Console(file=stream, force_terminal=True, no_color=True, highlight=False, markup=False)


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
            raise OutputExists(
                _("{detail} (use --force to replace it)").format(detail=localise(exc.detail or ""))
            ) from None

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
