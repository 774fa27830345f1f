"""`coffre tui`: open the terminal UI on the configured vault (Textual is imported here only)."""

from __future__ import annotations

import click

from vault.cli.main import Env, cli, pass_env
from vault.core import config


@cli.command()
@click.option(
    "--theme",
    type=click.Choice(["dark", "light"]),
    default="dark",
    show_default=True,
    help="Colour theme (Ctrl+T switches it inside the UI).",
)
@pass_env
def tui(env: Env, theme: str) -> None:
    """Open the terminal UI on the vault (creating one there if there is none yet).

    The passphrase is asked in the UI; COFFRE_PASSPHRASE, COFFRE_PASSPHRASE_FILE or
    COFFRE_PASSPHRASE_COMMAND, when set, unlock without asking.

    \b
    Examples:
      coffre tui
      coffre --vault ~/vaults/work tui --theme light
    """
    from tui.app import DARK_THEME, LIGHT_THEME, CoffreApp

    passphrase = config.passphrase_from_env()
    app = CoffreApp(
        env.vault_dir,
        passphrase=passphrase,
        theme=LIGHT_THEME if theme == "light" else DARK_THEME,
    )
    app.run()
