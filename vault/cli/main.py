"""Root group, error dispatch and shared helpers of the `coffre` command line.

Contract (docs/cli.md): human text on stdout by default, JSON with `--json`; progress and
diagnostics on stderr only; one exit code per error class.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn, TextIO, overload

import click

from vault import __version__
from vault.core import config
from vault.core.errors import EXIT_UNEXPECTED, AlreadyExists, PassphraseUnavailable, VaultError
from vault.core.progress import ProgressEvent

if TYPE_CHECKING:  # the real import is deferred so `--help` stays fast
    from vault.core.vault import Vault


class CliError(click.ClickException):
    """A library error on its way to stderr, with the exit code of its class."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class CoffreGroup(click.Group):
    """Turns every VaultError raised by a subcommand into a clean message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as exc:
            raise CliError(exc) from None


class RootGroup(CoffreGroup):
    """The `coffre` group: loads each area's module when one of its commands is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(AREAS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module in AREAS.get(cmd_name, ()):
            importlib.import_module(f"vault.cli.{module}")
        return self.commands.get(cmd_name)


@dataclass
class Env:
    """What every command needs: where the vault is, and how to get the passphrase."""

    vault_dir: Path

    def passphrase(self, *, confirm: bool = False, prompt: str = "Passphrase") -> str:
        found = config.passphrase_from_env()
        if found is not None:
            return found
        if not sys.stdin.isatty():
            raise PassphraseUnavailable(
                f"set {config.ENV_PASSPHRASE}, {config.ENV_PASSPHRASE_FILE} or "
                f"{config.ENV_PASSPHRASE_COMMAND}, or run on a terminal"
            )
        value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
        return value

    def open(self, *, strict: bool = True) -> Vault:
        from vault.core.vault import Vault

        if not Vault.exists(self.vault_dir):
            from vault.core.errors import VaultNotFound

            raise VaultNotFound(f"{self.vault_dir} (create one with `coffre init`)")
        return Vault.open(self.vault_dir, self.passphrase(), strict=strict)

    @contextmanager
    def vault(self, *, strict: bool = True) -> Iterator[Vault]:
        v = self.open(strict=strict)
        try:
            yield v
        finally:
            v.close()


pass_env = click.make_pass_decorator(Env)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def info(message: str) -> None:
    """A diagnostic for people: stderr, so stdout stays clean for pipes."""
    click.echo(message, err=True)


def fail(error: VaultError) -> NoReturn:
    raise CliError(error)


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

persona_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--persona", "persona_ref", default=None, help="Persona name or id (default: the only one)."
)

force_option: Callable[[Callable[..., Any]], Callable[..., Any]] = click.option(
    "--force", is_flag=True, help="Replace the output file if it exists."
)


def resolve_persona_id(vault: Vault, ref: str | None) -> str:
    """The id of the persona REF names (id, prefix or name), or of the only one when None."""
    from vault.personas import resolve_persona

    return resolve_persona(vault, ref).id


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
    """Standard output when OUTPUT is None, else a new file created 0600 (it holds plaintext),
    replacing an existing one only with FORCE (AlreadyExists otherwise); a file the block
    fails to finish is removed again."""
    if output is None:
        if not binary:
            yield sys.stdout
            return
        sys.stdout.flush()  # bytes go to the buffer below the text layer: keep the order
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(output, flags, 0o600)
    except FileExistsError:
        raise AlreadyExists(f"{output} (use --force to replace it)") from None
    handle = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
    try:
        yield handle
    except BaseException:
        handle.close()
        output.unlink(missing_ok=True)
        raise
    handle.close()


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=config.ENV_VAULT,
    help="Vault directory (default: $COFFRE_VAULT, else your user data directory).",
)
@click.version_option(__version__, prog_name="coffre")
@click.pass_context
def cli(ctx: click.Context, vault_path: Path | None) -> None:
    """Coffre keeps your identities, health data and writing in one encrypted vault on
    your own machine, and shares exactly what you choose with whom you choose.

    The passphrase is asked on the terminal; scripts set COFFRE_PASSPHRASE,
    COFFRE_PASSPHRASE_FILE or COFFRE_PASSPHRASE_COMMAND instead.
    """
    ctx.obj = Env(config.vault_dir(vault_path))


def main() -> None:
    """Entry point of the `coffre` script."""
    try:
        cli.main(prog_name="coffre")
    except SystemExit:
        raise
    except Exception as exc:
        # An unexpected failure: print its type only, since its text could hold plaintext.
        if os.environ.get("COFFRE_DEBUG"):
            raise
        click.echo(
            f"error: unexpected internal error ({type(exc).__name__}); "
            "run again with COFFRE_DEBUG=1 to see the details",
            err=True,
        )
        sys.exit(EXIT_UNEXPECTED)


# Each module named here adds the commands of one area to `cli` when imported.
# Which modules add which top-level commands. They are imported only when one of their
# commands is asked for (or listed), so `coffre status` does not pay for the importers,
# the sharing code or the terminal UI.
AREAS: dict[str, tuple[str, ...]] = {
    "init": ("core_cmds",),
    "status": ("core_cmds",),
    "passwd": ("core_cmds",),
    "rekey": ("core_cmds",),
    "check": ("core_cmds",),
    "audit": ("core_cmds",),
    "demo": ("core_cmds",),
    "persona": ("personas",),
    "content": ("content",),
    "data": ("data",),
    # `coffre import` runs the importers of every area, listed in vault.imports.
    "import": ("imports",),
    "recipient": ("sharing",),
    "grant": ("sharing",),
    "export": ("sharing",),
    "bundle": ("sharing",),
    "ledger": ("sharing",),
    "revoke": ("revoke_cmd",),
    "notice": ("revoke_cmd",),
    "forget": ("forget_cmds",),
    "rules": ("forget_cmds",),
    "tui": ("tui_cmd",),
}
