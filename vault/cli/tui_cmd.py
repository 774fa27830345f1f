"""`coffre tui`: open the terminal UI on the configured vault (Textual is imported here only)."""

from __future__ import annotations

import click

from vault.cli.main import LANG_GIVEN, Env, cli, pass_env
from vault.core import config, i18n


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
    COFFRE_PASSPHRASE_COMMAND, when set, unlock without asking. F2 switches between English
    and French, and the choice is kept for the next start (--lang overrides it).

    \b
    Examples:
      coffre tui
      coffre --vault ~/vaults/work tui --theme light
    """
    # The language chosen in the TUI (F2) holds from one start to the next, unless --lang.
    saved = config.read_setting("language")
    if saved in i18n.LANGUAGES and not click.get_current_context().meta.get(LANG_GIVEN):
        i18n.set_language(saved)
    from tui.app import DARK_THEME, LIGHT_THEME, CoffreApp

    passphrase = config.passphrase_from_env()
    app = CoffreApp(
        env.vault_dir,
        passphrase=passphrase,
        theme=LIGHT_THEME if theme == "light" else DARK_THEME,
    )
    app.run()
