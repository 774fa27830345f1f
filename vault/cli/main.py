"""The root group of the `coffre` command line: lazy loading of the areas' commands, error
dispatch, and the environment every command is given (where the vault is, its passphrase).

Contract (docs/cli.md): human text on stdout by default, JSON with `--json`; progress and
diagnostics on stderr only (`vault.cli.output`); one exit code per error class; Ctrl-C exits
130 saying what was kept; every argument is UTF-8 text or the command is refused.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault import __version__
from vault.core import config, i18n
from vault.core.errors import EXIT_UNEXPECTED, InvalidParameter, PassphraseUnavailable, VaultError
from vault.core.i18n import N_, _, pgettext

if TYPE_CHECKING:  # the real import is deferred so `--help` stays fast
    from vault.core.vault import Vault


# Click's own messages (usage, option errors) come from Coffre's catalogue too.
i18n.use_for_click()


class CliError(click.ClickException):
    """A library error on its way to stderr, with the exit code of its class."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(i18n.error_message(error))
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


def _translated_help(text: str | None) -> str | None:
    # Help is English in the code (docstrings, `help=`) and translated when shown, so a
    # command module imported before `--lang` is read still speaks the chosen language.
    return _(inspect.cleandoc(text)) if text else text


HELP_OPTION = N_("Show this message and exit.")  # click's own words, in its catalogue too
# click shows `[required]` through `_(variable)`, which no extraction finds: marked here.
REQUIRED = N_("required")


def _metavar_words() -> dict[str, str]:
    """The words of the placeholders click writes in usage lines, options and errors (its
    types' names and Coffre's own metavars), in the current language. click writes them as
    they are, without gettext: `Translated` says them again each time it shows them."""
    return {
        "INTEGER RANGE": pgettext("metavar", "INTEGER RANGE"),
        "INTEGER": pgettext("metavar", "INTEGER"),
        "FLOAT": pgettext("metavar", "FLOAT"),
        "TEXT": pgettext("metavar", "TEXT"),
        "PATH": pgettext("metavar", "PATH"),
        "FILE": pgettext("metavar", "FILE"),
        "DIRECTORY": pgettext("metavar", "DIRECTORY"),
        "COMMAND": pgettext("metavar", "COMMAND"),
        "CODE": pgettext("metavar", "CODE"),
        "DATE": pgettext("metavar", "DATE"),
        "DEVICE": pgettext("metavar", "DEVICE"),
        "FINGERPRINT": pgettext("metavar", "FINGERPRINT"),
        "GRANT": pgettext("metavar", "GRANT"),
        "ITEM_ID": pgettext("metavar", "ITEM_ID"),
        "KEY": pgettext("metavar", "KEY"),
        "VALUE": pgettext("metavar", "VALUE"),
        "LIST": pgettext("metavar", "LIST"),
        "METRIC": pgettext("metavar", "METRIC"),
        "NAME": pgettext("metavar", "NAME"),
        "PERIOD": pgettext("metavar", "PERIOD"),
        "PERSONA": pgettext("metavar", "PERSONA"),
        "RULE_ID": pgettext("metavar", "RULE_ID"),
        "SOURCES": pgettext("metavar", "SOURCES"),
        "TERM": pgettext("metavar", "TERM"),
        "TOKEN-ID": pgettext("metavar", "TOKEN-ID"),
        "UNIT": pgettext("metavar", "UNIT"),
        "ZONE": pgettext("metavar", "ZONE"),
    }


_WORD = re.compile(r"INTEGER RANGE|[A-Z][A-Z0-9_-]*")


def _say_metavars(params: list[click.Parameter], ctx: click.Context) -> None:
    """Give each of PARAMS the metavar click would write, its words in the current language.

    The English one (the code's `metavar`, or None for the type's name) is kept on the
    parameter and the translation worked out again at each call: one process may show help
    in several languages (`--lang`, the tests), and `--lang` is read after the commands are
    made.
    """
    words = _metavar_words()
    for param in params:
        english = param.__dict__.setdefault("_english_metavar", param.metavar)
        param.metavar = english
        if isinstance(param, click.Option) and (param.is_flag or param.count):
            continue  # a flag shows no metavar
        shown = param.make_metavar(ctx)
        said = _WORD.sub(lambda m: words.get(m[0], m[0]), shown)
        param.metavar = said if said != shown else english


class _Formatter(click.HelpFormatter):
    """Help headings followed by the language's colon ("Options :" in French)."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}" + _("{heading}:").format(heading=heading) + "\n")


class _Context(click.Context):
    formatter_class = _Formatter


class Translated(click.Command):
    """A command whose help, short help and options' help are shown in the current
    language (the catalogue holds them: `vault.cli.catalogues`)."""

    context_class = _Context
    _help_kept = False

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None and not self._help_kept:
            self._help_kept = True
            # click translates this once, when first asked, maybe before `--lang` is read:
            # the English text is kept, and translated when the help is shown.
            option.help = HELP_OPTION
        return option

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        # Usage lines, options' help and errors all read the parameters from here.
        params = super().get_params(ctx)
        _say_metavars(params, ctx)
        return params

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        # click writes these placeholders without gettext: translated here.
        names = {"[OPTIONS]": _("[OPTIONS]"), "COMMAND [ARGS]...": _("COMMAND [ARGS]...")}
        return [names.get(piece, piece) for piece in super().collect_usage_pieces(ctx)]

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help or not self.help:
            return super().get_short_help_str(limit)
        with _swapped(self, help=_translated_help(self.help)):
            return super().get_short_help_str(limit)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _swapped(self, help=_translated_help(self.help)):
            super().format_help_text(ctx, formatter)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        params = [p for p in self.get_params(ctx) if getattr(p, "help", None)]
        saved = [(p, p.help) for p in params]
        try:
            for p, text in saved:
                p.help = _translated_help(text)
            super().format_options(ctx, formatter)
        finally:
            for p, text in saved:
                p.help = text


@contextmanager
def _swapped(command: click.Command, *, help: str | None) -> Iterator[None]:
    original = command.help
    command.help = help
    try:
        yield
    finally:
        command.help = original


class CoffreGroup(Translated, click.Group):
    """Turns every VaultError raised by a subcommand into a clean message and exit code, and
    an interruption into exit 130; its commands and groups show their help translated."""

    command_class = Translated
    group_class: type[click.Group] | type[type] = type  # a subgroup is a CoffreGroup too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as exc:
            raise CliError(exc) from None
        except (KeyboardInterrupt, click.Abort):
            # click.Abort: Ctrl-C or end of input while a prompt waited for an answer.
            env = ctx.find_object(Env)
            raise Interrupted(env.interrupted() if env else _(INTERRUPTED_UNCHANGED)) from None


INTERRUPTED_UNCHANGED = N_("interrupted; nothing was changed")


def _surrogates(arg: str) -> bool:
    # Python decodes the bytes of an argument that are not UTF-8 as lone surrogates.
    return any("\udc80" <= c <= "\udcff" for c in arg)


def _shown(arg: str) -> str:
    """ARG with each byte that was not UTF-8 as `\\xNN` (it cannot be encoded to print)."""
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c for c in arg)


class RootGroup(CoffreGroup):
    """The `coffre` group: loads each area's module when one of its commands is needed."""

    group_class = CoffreGroup  # its area groups are not root groups (no lazy loading)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # `--lang` holds until click has shown the run's last words: a usage error or a
        # refusal is printed after the command's context has closed.
        previous = os.environ.get("LANGUAGE")
        try:
            return super().main(*args, **kwargs)
        finally:
            i18n.restore_language(previous)

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
                        _(
                            "argument {position} is not UTF-8 text ('{shown}'); Coffre takes "
                            "names, text and file names in UTF-8 (rename the file, or give a "
                            "link to it with a UTF-8 name)"
                        ).format(position=position, shown=_shown(arg))
                    )
                )
        return super().parse_args(ctx, args)


@dataclass
class Env:
    """What every command needs: where the vault is, and how to get the passphrase; and, for
    an interruption, whether this command changed the vault."""

    vault_dir: Path
    # What an interrupted command did not finish, in its own words ("imported").
    interrupted_what: str = ""  # marked with N_, translated when shown
    _writes_at_open: int | None = None
    _changed: bool | None = None

    def passphrase(self, *, confirm: bool = False, prompt: str = N_("Passphrase")) -> str:
        found = config.passphrase_from_env()
        if found is not None:
            return found
        return _ask(
            _(prompt),
            confirm=confirm,
            unavailable=_("set {one}, {two} or {three}, or run on a terminal").format(
                one=config.ENV_PASSPHRASE,
                two=config.ENV_PASSPHRASE_FILE,
                three=config.ENV_PASSPHRASE_COMMAND,
            ),
        )

    def new_passphrase(self) -> str:
        """The new passphrase of `passwd`: COFFRE_NEW_PASSPHRASE, else asked twice on the
        terminal; without either, the same refusal (exit 3) as any passphrase."""
        found = os.environ.get(config.ENV_NEW_PASSPHRASE)
        if found:
            return found
        return _ask(
            _("New passphrase"),
            confirm=True,
            unavailable=_("set {name} or run on a terminal").format(name=config.ENV_NEW_PASSPHRASE),
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
            return _(
                "interrupted; what was saved before the interruption is kept "
                "(`coffre audit --limit 5` shows it)"
            )
        if self._changed is None and self._writes_at_open is not None:
            # The count could not be read back: say what holds whatever it was.
            return _("interrupted; the change under way was rolled back (`coffre check` verifies)")
        if self.interrupted_what:
            # The command's own sentence ("interrupted: nothing was imported"), translated.
            return _(self.interrupted_what)
        if self._writes_at_open is None:
            return _(INTERRUPTED_UNCHANGED)  # no vault was opened
        return _("interrupted; the vault is unchanged")

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

            raise VaultNotFound(
                _("{path} (create one with `coffre init`)").format(path=self.vault_dir)
            )
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
            raise VaultNotFound(
                _("{path} (create one with `coffre init`)").format(path=self.vault_dir)
            )
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
        from vault.cli.output import detail, settings

        v = self.open(strict=strict, passphrase=passphrase, recovery_code=recovery_code)
        start: int | None = None
        try:
            start = self._writes_at_open = v.write_count()
            if settings.verbose:  # built only when shown: most runs then read no catalogue
                detail(_("vault {path} (KDF {kdf})").format(path=v.path, kdf=v.info.kdf.name))
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


LANG_GIVEN = "coffre.lang_given"


def _use_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """`--lang`: this run speaks VALUE; `RootGroup.main` restores the environment when the
    run ends (the tests run many commands in one process)."""
    if value is None:
        return
    i18n.set_language(value)
    ctx.meta[LANG_GIVEN] = True  # `coffre tui` then ignores the TUI's saved language


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
@click.option(
    "--lang",
    type=click.Choice(i18n.LANGUAGES, case_sensitive=False),
    callback=_use_language,
    expose_value=False,
    is_eager=True,  # before --help, so the help itself is in the language asked for
    help="Language of the text output: 'en' or 'fr' (default: from LANGUAGE, LC_ALL, "
    "LC_MESSAGES or LANG). JSON output is the same in every language.",
)
@click.version_option(__version__, prog_name="coffre", help=N_("Show the version and exit."))
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
            _(
                "error: unexpected internal error ({kind}); "
                "run again with COFFRE_DEBUG=1 to see the details"
            ).format(kind=type(exc).__name__),
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
