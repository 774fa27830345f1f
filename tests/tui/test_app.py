"""The app's frame: the command palette offers every action, help, themes, navigation and
the one error path for failed workers."""

from __future__ import annotations

from pathlib import Path

from textual.worker import Worker, WorkerState

from tests.tui.conftest import go_to, run_async, run_unlocked, settle
from tui.app import DARK_THEME, LIGHT_THEME, error_text
from tui.commands import all_commands
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.modals import ErrorModal
from tui.screens.personas import PersonasScreen
from vault.core.errors import WrongPassphrase


def test_error_text_never_shows_an_arbitrary_exception_message() -> None:
    secret = "correct horse battery staple"
    assert secret not in error_text(ValueError(secret))
    assert "ValueError" in error_text(ValueError(secret))
    assert error_text(WrongPassphrase()) == WrongPassphrase().message


@run_async
async def test_palette_lists_navigation_and_the_screen_actions(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (app, pilot):
        await go_to(pilot, "2", PersonasScreen)
        titles = [c.title for c in all_commands(app)]
        for section in ("Dashboard", "Personas", "Data", "Content", "Sharing", "Forget", "Audit"):
            assert f"Go to {section}" in titles
        assert {"New", "Add attribute", "Sensitive", "vCard", "Help"} <= set(titles)
        go = next(c for c in all_commands(app) if c.title == "Go to Dashboard")
        go.run()
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


@run_async
async def test_help_and_theme(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo, size=(80, 24)) as (app, pilot):
        await go_to(pilot, "f1", HelpScreen)
        await go_to(pilot, "escape", DashboardScreen)
        assert app.theme == DARK_THEME
        await pilot.press("ctrl+t")
        assert app.theme == LIGHT_THEME


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
