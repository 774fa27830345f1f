"""The TUI's language: F2 switches between English and French at once, every area follows,
and the choice is saved for the next start (`coffre tui` reads it unless --lang)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Tabs

from tests.tui.conftest import run_async, run_unlocked, settle
from tui.screens.dashboard import DashboardScreen
from vault.core import config, i18n


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(config.ENV_CONFIG_DIR, str(tmp_path / "config"))
    monkeypatch.setenv("LANGUAGE", "en")
    return tmp_path / "config" / "settings.json"


def _tabs(screen: object) -> list[str]:
    tabs = screen.query_one("#nav", Tabs)  # type: ignore[attr-defined]
    return [str(tab.label) for tab in tabs.query("Tab")]


@run_async
async def test_f2_switches_to_french_and_back(pristine_demo: Path, settings: Path) -> None:
    async with run_unlocked(pristine_demo) as (app, pilot):
        assert _tabs(app.screen)[0] == "1 Dashboard"
        await pilot.press("f2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert _tabs(screen)[0] == "1 Accueil"
        assert screen.sub_title == "Accueil"
        assert json.loads(settings.read_text())["language"] == "fr"
        # Another area, made after the switch, speaks French too.
        app.action_go("sharing")
        await settle(pilot)
        assert app.screen.sub_title == "Partage"
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen.sub_title == "Sharing"
        assert json.loads(settings.read_text())["language"] == "en"


def test_settings_survive_a_bad_file_and_keep_each_other(settings: Path) -> None:
    settings.parent.mkdir(parents=True)
    settings.write_text("{not json")
    assert config.read_setting("language") is None
    config.write_setting("theme", "light")
    config.write_setting("language", "fr")
    assert config.read_setting("language") == "fr"
    assert config.read_setting("theme") == "light"
    assert settings.stat().st_mode & 0o777 == 0o600


def test_coffre_tui_starts_in_the_saved_language_unless_lang(
    settings: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The app is not run: what `coffre tui` chose before creating it is looked at."""
    import tui.app
    from vault.cli import cli

    seen: list[str] = []

    class Stub:
        def __init__(self, *args: object, **kwargs: object) -> None:
            seen.append(i18n.language())

        def run(self) -> None:
            return None

    monkeypatch.setattr(tui.app, "CoffreApp", Stub)
    config.write_setting("language", "fr")
    runner = CliRunner()
    vault = str(tmp_path / "v")
    runner.invoke(cli, ["--vault", vault, "tui"], env={"LANGUAGE": "en"}, catch_exceptions=False)
    runner.invoke(
        cli,
        ["--lang", "en", "--vault", vault, "tui"],
        env={"LANGUAGE": "en"},
        catch_exceptions=False,
    )
    assert seen == ["fr", "en"]
