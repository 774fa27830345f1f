"""The command palette provider: every navigation and every action of the current screen.

Screens list their actions in `palette_commands()`; this provider adds the navigation and
offers them all to the palette (Ctrl+P), with fuzzy search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from vault.core.i18n import N_, _

LANGUAGE_HELP = N_("Switch between English and French (kept for the next start)")

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui.app import CoffreApp


@dataclass(frozen=True)
class PaletteCommand:
    """One entry of the palette: what it is called, what it does, and the action to run."""

    title: str
    help: str
    run: Callable[[], Any]


def all_commands(app: CoffreApp, screen: Screen[Any]) -> list[PaletteCommand]:
    """Navigation to every area, then the actions `screen` offers (the screen the palette
    was opened over: while it is open, the palette itself is the app's screen)."""
    found = [
        PaletteCommand(
            _("Go to {area}").format(area=_(s.title)), _(s.help), partial(app.action_go, s.mode)
        )
        for s in app.section_list
    ]
    found.append(
        PaletteCommand(
            _("Sync now"), _("Sync with every remote (Devices & sync)"), app.action_sync_now
        )
    )
    offer = getattr(screen, "palette_commands", None)
    if callable(offer):
        found.extend(offer())
    found.append(PaletteCommand(_("Help"), _("Keys and actions of this screen"), app.action_help))
    found.append(
        PaletteCommand(_("Language"), _(LANGUAGE_HELP), partial(app.run_action, "language"))
    )
    return found


class CoffreCommands(Provider):
    """Offers every Coffre action in the command palette."""

    def _commands(self) -> list[PaletteCommand]:
        from tui.app import CoffreApp

        app = self.app
        return all_commands(app, self.screen) if isinstance(app, CoffreApp) else []

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
