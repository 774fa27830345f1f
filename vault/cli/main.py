"""The root group of the `coffre` command line: lazy loading of the areas' commands, error
dispatch, and the environment every command is given (where the vault is, its passphrase).

Contract (docs/cli.md): human text on stdout by default, JSON with `--json`; progress and
diagnostics on stderr only (`vault.cli.output`); one exit code per error class.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault import __version__
from vault.core import config
from vault.core.errors import EXIT_UNEXPECTED, PassphraseUnavailable, VaultError
from vault.core.untrusted import printable

if TYPE_CHECKING:  # the real import is deferred so `--help` stays fast
    from vault.core.vault import Vault


class CliError(click.ClickException):
    """A library error on its way to stderr, with the exit code of its class."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        # Messages name files and members of archives and bundles: shown escaped.
        click.echo(f"error: {printable(self.format_message())}", err=True)


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

    def open(self, *, strict: bool = True, passphrase: str | None = None) -> Vault:
        from vault.core.vault import Vault

        if not Vault.exists(self.vault_dir):
            from vault.core.errors import VaultNotFound

            raise VaultNotFound(f"{self.vault_dir} (create one with `coffre init`)")
        return Vault.open(self.vault_dir, passphrase or self.passphrase(), strict=strict)

    @contextmanager
    def vault(self, *, strict: bool = True, passphrase: str | None = None) -> Iterator[Vault]:
        """The unlocked vault for one command (`passphrase`: one the command already asked)."""
        v = self.open(strict=strict, passphrase=passphrase)
        try:
            yield v
        finally:
            v.close()


pass_env = click.make_pass_decorator(Env)


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


# Which module adds each top-level command to `cli` (one module per area). A module is
# imported only when one of its commands is asked for (or listed), so `coffre status` does
# not pay for the importers, the sharing code or the terminal UI.
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
