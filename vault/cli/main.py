"""The root group of the `coffre` command line: lazy loading of the areas' commands, error
dispatch, and the environment every command is given (where the vault is, its passphrase).

Contract (docs/cli.md): human text on stdout by default, JSON with `--json`; progress and
diagnostics on stderr only (`vault.cli.output`); one exit code per error class; Ctrl-C exits
130 saying what was kept; every argument is UTF-8 text or the command is refused.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault import __version__
from vault.core import config
from vault.core.errors import EXIT_UNEXPECTED, InvalidParameter, PassphraseUnavailable, VaultError

if TYPE_CHECKING:  # the real import is deferred so `--help` stays fast
    from vault.core.vault import Vault


class CliError(click.ClickException):
    """A library error on its way to stderr, with the exit code of its class."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        from vault.cli.output import error_line

        # Messages name files and members of archives and bundles: shown escaped.
        error_line(self.format_message())


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells and scripts expect after Ctrl-C


class Interrupted(click.ClickException):
    """Ctrl-C (or end of input at a prompt): exit 130 with one line saying what was kept."""

    exit_code = EXIT_INTERRUPTED

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


class CoffreGroup(click.Group):
    """Turns every VaultError raised by a subcommand into a clean message and exit code, and
    an interruption into exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as exc:
            raise CliError(exc) from None
        except (KeyboardInterrupt, click.Abort):
            # click.Abort: Ctrl-C or end of input while a prompt waited for an answer.
            env = ctx.find_object(Env)
            raise Interrupted(env.interrupted() if env else INTERRUPTED_UNCHANGED) from None


INTERRUPTED_UNCHANGED = "interrupted; nothing was changed"


def _surrogates(arg: str) -> bool:
    # Python decodes the bytes of an argument that are not UTF-8 as lone surrogates.
    return any("\udc80" <= c <= "\udcff" for c in arg)


def _shown(arg: str) -> str:
    """ARG with each byte that was not UTF-8 as `\\xNN` (it cannot be encoded to print)."""
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c for c in arg)


class RootGroup(CoffreGroup):
    """The `coffre` group: loads each area's module when one of its commands is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(AREAS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module in AREAS.get(cmd_name, ()):
            importlib.import_module(f"vault.cli.{module}")
        return self.commands.get(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Names, titles, tags and paths are stored, printed and compared as UTF-8 text: an
        # argument with bytes that are not UTF-8 is refused whole, before anything runs,
        # rather than failing halfway (a file with such a name is renamed, or linked).
        for position, arg in enumerate(args, start=1):
            if _surrogates(arg):
                raise CliError(
                    InvalidParameter(
                        f"argument {position} is not UTF-8 text ('{_shown(arg)}'); Coffre takes "
                        "names, text and file names in UTF-8 (rename the file, or give a "
                        "link to it with a UTF-8 name)"
                    )
                )
        return super().parse_args(ctx, args)


@dataclass
class Env:
    """What every command needs: where the vault is, and how to get the passphrase; and, for
    an interruption, whether this command changed the vault."""

    vault_dir: Path
    # What an interrupted command did not finish, in its own words ("imported").
    interrupted_what: str = ""
    _writes_at_open: int | None = None
    _changed: bool | None = None

    def passphrase(self, *, confirm: bool = False, prompt: str = "Passphrase") -> str:
        found = config.passphrase_from_env()
        if found is not None:
            return found
        return _ask(
            prompt,
            confirm=confirm,
            unavailable=f"set {config.ENV_PASSPHRASE}, {config.ENV_PASSPHRASE_FILE} or "
            f"{config.ENV_PASSPHRASE_COMMAND}, or run on a terminal",
        )

    def new_passphrase(self) -> str:
        """The new passphrase of `passwd`: COFFRE_NEW_PASSPHRASE, else asked twice on the
        terminal; without either, the same refusal (exit 3) as any passphrase."""
        found = os.environ.get(config.ENV_NEW_PASSPHRASE)
        if found:
            return found
        return _ask(
            "New passphrase",
            confirm=True,
            unavailable=f"set {config.ENV_NEW_PASSPHRASE} or run on a terminal",
        )

    def recovery_code(self) -> str:
        """The recovery code of `passwd --recovery-code`: from COFFRE_RECOVERY_CODE_FILE, else
        asked on the terminal without echo; without either, exit 3."""
        found = config.recovery_code_from_env()
        if found is not None:
            return found
        return _ask(
            "Recovery code",
            confirm=False,
            unavailable=f"set {config.ENV_RECOVERY_CODE_FILE} or run on a terminal",
        )

    def interrupted(self) -> str:
        """The line an interrupted command ends with: what was kept."""
        if self._changed:
            return (
                "interrupted; what was saved before the interruption is kept "
                "(`coffre audit --limit 5` shows it)"
            )
        if self._changed is None and self._writes_at_open is not None:
            # The count could not be read back: say what holds whatever it was.
            return "interrupted; the change under way was rolled back (`coffre check` verifies)"
        if self.interrupted_what:
            return f"interrupted: nothing was {self.interrupted_what}"
        if self._writes_at_open is None:
            return INTERRUPTED_UNCHANGED  # no vault was opened
        return "interrupted; the vault is unchanged"

    def open(
        self,
        *,
        strict: bool = True,
        passphrase: str | None = None,
        recovery_code: str | None = None,
    ) -> Vault:
        from vault.core.vault import Vault

        if not Vault.exists(self.vault_dir):
            from vault.core.errors import VaultNotFound

            raise VaultNotFound(f"{self.vault_dir} (create one with `coffre init`)")
        if recovery_code is not None:
            vault = Vault.open_with_recovery_code(self.vault_dir, recovery_code, strict=strict)
        else:
            vault = Vault.open(self.vault_dir, passphrase or self.passphrase(), strict=strict)
        # Importing it registers what keeps export tokens current as this command writes;
        # `sync` moves what tokens exported into the ledger and ends the tokens due to die
        # (with the passphrase: a vault opened with its recovery code waits for a new one).
        from vault.sharing import tokens

        if strict and recovery_code is None:
            try:
                tokens.sync(vault)
            except BaseException:
                vault.close()
                raise
        return vault

    @contextmanager
    def token_vault(self, token_file: Path) -> Iterator[Vault]:
        """The vault opened with an export token (no passphrase asked): read-only, exactly
        the token's grant."""
        from vault.core.errors import VaultNotFound
        from vault.core.tokens import read_token_file
        from vault.core.vault import Vault

        if not Vault.exists(self.vault_dir):
            raise VaultNotFound(f"{self.vault_dir} (create one with `coffre init`)")
        v = Vault.open_with_token(self.vault_dir, read_token_file(token_file))
        try:
            yield v
        finally:
            v.close()

    @contextmanager
    def vault(
        self,
        *,
        strict: bool = True,
        passphrase: str | None = None,
        recovery_code: str | None = None,
    ) -> Iterator[Vault]:
        """The unlocked vault for one command (`passphrase`: one the command already asked;
        `recovery_code`: opened with it instead). On an interruption it notes whether a
        transaction of this command had committed (the one under way rolls back) before
        closing."""
        from vault.cli.output import detail

        v = self.open(strict=strict, passphrase=passphrase, recovery_code=recovery_code)
        start: int | None = None
        try:
            start = self._writes_at_open = v.write_count()
            detail(f"vault {v.path} (KDF {v.info.kdf.name})")
            yield v
        finally:
            # Read back on every way out: an interruption after the vault is closed (writing
            # an output file) still knows whether this command had saved something.
            if start is not None:
                changed: bool | None = None
                with suppress(Exception):
                    changed = v.write_count() != start
                self._changed = True if (changed or self._changed) else changed
            v.close()


def _ask(prompt: str, *, confirm: bool, unavailable: str) -> str:
    """A passphrase asked on the terminal, without echo; without a terminal, refused."""
    if not sys.stdin.isatty():
        raise PassphraseUnavailable(unavailable)
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value


pass_env = click.make_pass_decorator(Env)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=config.ENV_VAULT,
    help="Vault directory (default: $COFFRE_VAULT, else your user data directory).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the result asked for.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail about what is done.")
@click.option(
    "--color",
    "--colour",
    "color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the output: 'auto' on a terminal unless NO_COLOR is set.",
)
@click.version_option(__version__, prog_name="coffre")
@click.pass_context
def cli(
    ctx: click.Context, vault_path: Path | None, quiet: bool, verbose: bool, color: str
) -> None:
    """Coffre keeps your identities, health data and writing in one encrypted vault on
    your own machine, and shares exactly what you choose with whom you choose.

    The passphrase is asked on the terminal; scripts set COFFRE_PASSPHRASE,
    COFFRE_PASSPHRASE_FILE or COFFRE_PASSPHRASE_COMMAND instead. `coffre help COMMAND`
    shows a command's help and examples.

    \b
    Examples:
      coffre init
      coffre persona add "Ana Lima" --attr email=ana@example.org
      coffre import apple-health export.zip
      coffre -q --vault ~/other-vault status
      coffre help grant create
    """
    from vault.cli.output import configure

    configure(quiet=quiet, verbose=verbose, color=color)
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
    "recovery-kit": ("core_cmds",),
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
    "remote": ("remote_cmds",),
    "sync": ("remote_cmds",),
    "clone": ("remote_cmds",),
    "device": ("remote_cmds",),
    "tui": ("tui_cmd",),
    "help": ("meta",),
    "completion": ("meta",),
}
