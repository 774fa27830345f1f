"""The app's frame: the command palette offers every action, help, themes, navigation and
the one error path for failed workers."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandList, CommandPalette
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static
from textual.widgets._footer import FooterKey
from textual.worker import Worker, WorkerState

from tests.tui.conftest import go_to, open_vault, run_async, run_unlocked, settle
from tui.app import DARK_THEME, LIGHT_THEME, error_text
from tui.commands import all_commands
from tui.screens.dashboard import METRICS_TITLE, DashboardScreen
from tui.screens.forget import ForgetScreen
from tui.screens.help import HelpScreen, key_rows
from tui.screens.modals import ErrorModal
from tui.screens.personas import PersonasScreen
from tui.screens.sharing import SharingScreen
from vault.core.errors import WrongPassphrase
from vault.forget.rules import list_rules


def test_error_text_never_shows_an_arbitrary_exception_message() -> None:
    secret = "correct horse battery staple"
    assert secret not in error_text(ValueError(secret))
    assert "ValueError" in error_text(ValueError(secret))
    assert error_text(WrongPassphrase()) == WrongPassphrase().message


async def _palette_offers(pilot: Pilot[None], query: str) -> list[str]:
    """Open the palette with Ctrl+P, type `query`, and read the commands it offers."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette gathers its providers' hits in a task
    await settle(pilot)
    found = palette.query_one(CommandList)
    offered = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
    await pilot.press("escape")
    await pilot.pause()
    return offered


@run_async
async def test_palette_lists_navigation_and_the_screen_actions(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (app, pilot):
        personas = await go_to(pilot, "2", PersonasScreen)
        titles = [c.title for c in all_commands(app, personas)]
        for section in ("Dashboard", "Personas", "Data", "Content", "Sharing", "Forget", "Audit"):
            assert f"Go to {section}" in titles
        assert {"New", "Add attribute", "Sensitive", "vCard", "Help"} <= set(titles)
        go = next(c for c in all_commands(app, personas) if c.title == "Go to Dashboard")
        go.run()
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


@run_async
async def test_palette_holds_the_actions_of_the_screen_beneath_it(pristine_demo: Path) -> None:
    """Typed into the real palette: while it is open the palette is the app's screen, so
    the actions must come from the screen it was opened over."""
    async with run_unlocked(pristine_demo) as (_app, pilot):
        await go_to(pilot, "2", PersonasScreen)
        assert any("Add attribute" in t for t in await _palette_offers(pilot, "attrib"))
        await go_to(pilot, "5", SharingScreen)
        offered = await _palette_offers(pilot, "grant")
        assert any("New grant" in t for t in offered)
        assert not any("Add attribute" in t for t in offered)


@run_async
async def test_help_and_theme(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo, size=(80, 24)) as (app, pilot):
        await go_to(pilot, "f1", HelpScreen)
        await go_to(pilot, "escape", DashboardScreen)
        assert app.theme == DARK_THEME
        await pilot.press("ctrl+t")
        assert app.theme == LIGHT_THEME


@run_async
async def test_help_at_80x24_says_there_is_more_below_until_the_end(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo, size=(80, 24)) as (_app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        help_screen = await go_to(pilot, "f1", HelpScreen)
        text = str(help_screen.query_one("#help-text", Static).render())
        assert text  # rendered
        scroll = help_screen.query_one("#help-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0  # more keys than the terminal shows
        assert help_screen.more_below
        assert help_screen.focused is scroll  # so the keys below scroll it at once
        await pilot.press("end")
        await pilot.pause()
        assert not help_screen.more_below
        described = [b for b in type(screen).BINDINGS if b.description]
        assert {key for key, _ in key_rows(screen)} >= {b.key for b in described}


@run_async
async def test_the_footer_shows_help_first_at_80_columns(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo, size=(80, 24)) as (_app, pilot):
        for key, screen_type in (("5", SharingScreen), ("2", PersonasScreen)):
            screen = await go_to(pilot, key, screen_type)
            keys = [k for k in screen.query(FooterKey) if k.region.width]
            assert keys and keys[0].action == "app.help"
            assert keys[0].region.right <= 80


@run_async
async def test_escape_leaves_any_text_field(pristine_demo: Path) -> None:
    """On an area without a list to return to (Forget), Escape leaves the field for none:
    the number keys switch areas again instead of typing."""
    async with run_unlocked(pristine_demo) as (_app, pilot):
        screen = await go_to(pilot, "6", ForgetScreen)
        field = screen.query(Input).first()
        field.focus()
        await pilot.press("escape")
        assert screen.focused is None
        await go_to(pilot, "5", SharingScreen)
        assert field.value == ""


@run_async
async def test_dashboard_says_what_its_data_panel_counts(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (app, _pilot):
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        titles = [str(label.content) for label in screen.query(".panel-title").results(Label)]
        assert METRICS_TITLE in titles and "last 8 weeks" in METRICS_TITLE
        with open_vault(pristine_demo) as v:
            rules = len(list_rules(v))
        retention = str(screen.query_one("#dash-rules", Static).content)
        assert retention.startswith(f"{rules} rule;" if rules == 1 else f"{rules} rules;")


@run_async
async def test_a_failed_worker_becomes_an_error_modal_without_its_text(
    pristine_demo: Path,
) -> None:
    async with run_unlocked(pristine_demo) as (app, pilot):

        def boom() -> None:
            raise RuntimeError("plaintext that must not be shown")

        worker: Worker[None] = app.screen.run_worker(boom, thread=True, exit_on_error=False)
        await settle(pilot)
        assert worker.state is WorkerState.ERROR
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert "plaintext" not in modal._message and "RuntimeError" in modal._message
