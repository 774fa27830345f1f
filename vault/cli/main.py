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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from vault import __version__, config
from vault.errors import EXIT_UNEXPECTED, PassphraseUnavailable, VaultError
from vault.progress import ProgressEvent

if TYPE_CHECKING:  # the real import is deferred so `--help` stays fast
    from vault.core import Vault


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
        from vault.core import Vault

        if not Vault.exists(self.vault_dir):
            from vault.errors import VaultNotFound

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


@click.group(cls=CoffreGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
AREAS = (
    "core_cmds",
    "personas",
    "content",
    "data",
    "qs_import",
    "sharing",
    "revoke_cmd",
    "forget_cmds",
    "tui_cmd",
)
for _area in AREAS:
    importlib.import_module(f"vault.cli.{_area}")
