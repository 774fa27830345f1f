"""Pilot tests of each flow, asserting on the vault's state afterwards, not only the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Label, Select

from tests.tui.conftest import (
    PASSPHRASE,
    go_to,
    make_app,
    open_vault,
    press_button,
    run_async,
    settle,
)
from tui.app import CoffreApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.data import DataScreen
from tui.screens.forget import ForgetScreen
from tui.screens.modals import ErrorModal, PromptModal, ReportModal, TypeToConfirmModal
from tui.screens.personas import PersonasScreen
from tui.screens.unlock import UnlockScreen
from tui.widgets.progress import ProgressPanel
from vault import personas as identities
from vault.core.progress import ProgressEvent
from vault.core.vault import Vault
from vault.data import query


@run_async
async def test_unlock_wrong_then_right_passphrase(demo_dir: Path) -> None:
    app = make_app(demo_dir, unlocked=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*"not the passphrase", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        error = str(app.screen.query_one("#unlock-error", Label).render())
        assert "Wrong passphrase" in error
        assert app.screen.query_one("#passphrase", Input).value == ""  # cleared for a retry
        assert app.vault is None
        unlock = app.screen
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert unlock.query_one("#passphrase", Input).value == ""  # not kept in the widget
        assert app.vault is not None
        assert len(identities.list_personas(app.vault)) == 2


@run_async
async def test_create_a_vault(tmp_path: Path) -> None:
    target = tmp_path / "new"
    app = CoffreApp(target)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UnlockScreen) and screen.creating
        screen.query_one("#kdf", Select).value = "minimum"
        screen.query_one("#passphrase", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).value = "a different one"
        screen.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "differ" in str(screen.query_one("#unlock-error", Label).render())
        assert not Vault.exists(target)
        screen.query_one("#passphrase", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).value = "a new passphrase"
        screen.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
    with Vault.open(target, "a new passphrase") as v:
        assert v.info.kdf.name == "minimum"


@run_async
async def test_import_shows_progress_and_a_summary(
    demo_dir: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[ProgressEvent] = []
    original = ProgressPanel._apply

    def spy(self: ProgressPanel, event: ProgressEvent) -> None:
        seen.append(event)
        original(self, event)

    monkeypatch.setattr(ProgressPanel, "_apply", spy)
    export = samples / "apple-health" / "alxdrcirilo" / "export.zip"
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await go_to(pilot, "3", DataScreen)
        camille = screen.persona_id
        before = {m.metric: m.samples for m in query.list_metrics(app.open_vault, camille or "")}
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#import-path", Input).value = str(export)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
        assert screen.summary is not None and screen.summary.added > 0
        assert seen and seen[-1].finished
    with Vault.open(demo_dir, PASSPHRASE) as v:
        after = {m.metric: m.samples for m in query.list_metrics(v, camille or "")}
    assert sum(after.values()) == sum(before.values()) + screen.summary.added


@run_async
async def test_a_failed_import_shows_the_library_message_and_changes_nothing(
    demo_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text("<HealthData><Record type='HKQuantityTypeIdentifierStepCount'")
    with open_vault(demo_dir) as v:
        writes = v.store.state().writes
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#import-path", Input).value = str(bad)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
        message = app.screen._message
        assert "export.xml" in message and "Unexpected" not in message
    with open_vault(demo_dir) as v:
        assert v.store.state().writes == writes


@run_async
async def test_forget_a_persona_after_typing_its_name(demo_dir: Path) -> None:
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_go("forget")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ForgetScreen)
        which = screen.query_one("#forget-which", Select)
        nightjar = next(ref for name, ref in screen.choices.persona if name == "Nightjar")
        which.value = nightjar
        await pilot.press("p")
        await settle(pilot)
        assert screen.plan is not None and screen.plan.counts.get("personas") == 1
        await pilot.press("f")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, TypeToConfirmModal)
        await pilot.press(*"nightjar")  # wrong case: not the name
        assert modal.query_one("#confirm", Button).disabled
        modal.query_one("#typed", Input).value = ""
        await pilot.press(*"Nightjar")
        assert not modal.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
        assert screen.result is not None and screen.result.epoch == 2
    with open_vault(demo_dir) as v:
        names = [p.name for p in identities.list_personas(v)]
        assert names == ["Camille"]
        assert query.list_metrics(v, nightjar) == []


@run_async
async def test_cancelling_the_forget_keeps_everything(demo_dir: Path) -> None:
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_go("forget")
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, TypeToConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ForgetScreen)
    with open_vault(demo_dir) as v:
        assert len(identities.list_personas(v)) == 2


@run_async
async def test_mark_an_attribute_sensitive(demo_dir: Path) -> None:
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await go_to(pilot, "2", PersonasScreen)
        assert screen.current is not None and screen.current.name == "Camille"
        first = screen.current.attributes[0]
        assert not first.sensitive
        screen.query_one("#persona-attributes").focus()
        await pilot.press("s")
        await settle(pilot)
    with open_vault(demo_dir) as v:
        camille = identities.get_persona(v, "Camille")
        assert camille.attributes[0].key == first.key and camille.attributes[0].sensitive


@run_async
async def test_add_change_and_remove_an_attribute(demo_dir: Path) -> None:
    async def answer(pilot: Pilot[None], text: str) -> None:
        prompt = pilot.app.screen
        assert isinstance(prompt, PromptModal)
        prompt.query_one(Input).value = text
        await pilot.press("enter")
        await settle(pilot)

    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await go_to(pilot, "2", PersonasScreen)
        assert screen.current is not None
        before = screen.current.attributes
        await pilot.press("a")
        await answer(pilot, "field.motto=carpe diem")
        assert [a.key for a in screen.current.attributes] == [
            *(a.key for a in before),
            "field.motto",
        ]
        table = screen.query_one("#persona-attributes", DataTable)
        table.focus()
        table.move_cursor(row=len(before))
        await pilot.pause()
        await pilot.press("e")
        await answer(pilot, "seize the day")
        assert screen.current.attributes[:-1] == before
        assert screen.current.attributes[-1].value == "seize the day"
        table.move_cursor(row=len(before))  # the table was filled again
        await pilot.pause()
        await pilot.press("delete")
        await pilot.pause()
        await press_button(pilot, "#confirm")
        await settle(pilot)
        assert screen.current.attributes == before
    with open_vault(demo_dir) as v:
        assert identities.get_persona(v, "Camille").attributes == before
        assert [e.action for e in v.audit_log()[-3:]] == ["persona.edit"] * 3
