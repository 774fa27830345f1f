"""The Personas screen: marking an attribute sensitive; adding, changing and removing one;
the vCard export; edits that start from a value reading back the same. Checked in the vault."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import DataTable, Input

from tests.tui.conftest import answer, confirm, go_to, open_vault, run_async, run_unlocked, settle
from tui.screens.modals import PromptModal
from tui.screens.personas import PersonasScreen, editable_value
from vault import personas as identities


@run_async
async def test_mark_an_attribute_sensitive(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (_app, pilot):
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
    async with run_unlocked(demo_dir) as (_app, pilot):
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
        await confirm(pilot, "delete")
        assert screen.current.attributes == before
    with open_vault(demo_dir) as v:
        assert identities.get_persona(v, "Camille").attributes == before
        assert [e.action for e in v.audit_log()[-3:]] == ["persona.edit"] * 3


@run_async
async def test_vcard_export_leaves_sensitive_attributes_out(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "camille.vcf"
    async with run_unlocked(demo_dir) as (_app, pilot):
        await go_to(pilot, "2", PersonasScreen)
        await pilot.press("v")
        await answer(pilot, str(out))
    text = out.read_text()
    assert "N:Martin;Camille" in text and "camille@example.org" in text
    assert "1990" not in text and "Lilas" not in text  # birth date and address are sensitive
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with open_vault(demo_dir) as v:
        assert v.audit_log()[-1].action == "persona.export"


def test_attribute_edits_start_from_a_value_that_reads_back_the_same() -> None:
    for key, value in [
        ("name", "Camille Martin"),
        ("address.home", "12 rue des Lilas;Lyon;;69003;France"),
        ("handle.mastodon", "@c@example.social https://example.social/@c"),
        ("email.work", "c@example.org"),
    ]:
        attr = identities.parse_attribute(key, value)
        assert identities.parse_attribute(attr.key, editable_value(attr)) == attr


@run_async
async def test_an_invalid_value_is_shown_under_the_input_and_kept(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "2", PersonasScreen)
        assert screen.current is not None
        before = screen.current.attributes
        prompt = await go_to(pilot, "a", PromptModal)
        typed = "birth_date=1990-02-31"
        prompt.query_one(Input).value = typed
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is prompt  # no error dialog over it, nothing lost
        assert prompt.query_one(Input).value == typed
        assert "calendar date" in prompt.problem
        assert screen.current.attributes == before
        prompt.query_one(Input).value = "birth_date=1990-02-28"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.current.attributes[-1].value == "1990-02-28"
    with open_vault(demo_dir) as v:
        assert len(identities.get_persona(v, "Camille").attributes) == len(before) + 1
