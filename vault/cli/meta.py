"""Commands about the command line itself: `coffre help [COMMAND...]` and
`coffre completion SHELL`."""

from __future__ import annotations

import click

from vault.cli.main import cli
from vault.core.i18n import _

SHELLS = ("bash", "zsh", "fish")


@cli.command("help")
@click.argument("command", nargs=-1)
@click.pass_context
def help_cmd(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Show the help of COMMAND: the same page as `coffre COMMAND --help`.

    \b
    Examples:
      coffre help
      coffre help import apple-health
      coffre help grant create
    """
    current: click.Command = cli
    current_ctx = ctx.parent or ctx  # `help` runs under the root group: its parent
    for depth, name in enumerate(command):
        found = current.get_command(current_ctx, name) if isinstance(current, click.Group) else None
        if found is None:
            path = " ".join(command[: depth + 1])
            raise click.UsageError(
                _("no such command: coffre {path} (see `coffre --help`)").format(path=path)
            )
        # resilient_parsing: the help of a command needs none of its arguments.
        current_ctx = found.make_context(name, [], parent=current_ctx, resilient_parsing=True)
        current = found
    click.echo(current.get_help(current_ctx))


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Load it from your shell's start-up file, as docs/cli.md shows: it completes commands,
    options and choices as you press Tab.

    \b
    Examples:
      coffre completion bash > ~/.local/share/bash-completion/completions/coffre
      coffre completion zsh > ~/.zfunc/_coffre
      coffre completion fish > ~/.config/fish/completions/coffre.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    if completer is None:  # click ships all three; a stripped click might not
        raise click.UsageError(_("no completion for {shell} in this click").format(shell=shell))
    # The same variable click reads when the shell asks for completions.
    click.echo(completer(cli, {}, "coffre", "_COFFRE_COMPLETE").source())
