"""The Content screen: filters, versions and history; writing the proof of authorship."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input

from tests.tui.conftest import answer, go_to, run_async, run_unlocked, settle
from tui import format as fmt
from tui.screens.content import ContentScreen
from tui.screens.modals import ReportModal
from tui.screens.sharing import SharingScreen
from vault import content


@run_async
async def test_content_filter_and_versions(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (_app, pilot):
        screen = await go_to(pilot, "4", ContentScreen)
        assert len(screen.items) == 4
        screen.query_one("#filter-tag", Input).value = "running"
        screen.query_one("#filter-tag", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert [i.title for i in screen.items] == ["Half-marathon training plan"]
        table = screen.query_one("#content-items", DataTable)
        assert screen.focused is table  # Enter filtered, then moved to what it found
        screen.query_one("#filter-tag", Input).value = ""
        screen.query_one("#filter-tag", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        table = screen.query_one("#content-items", DataTable)
        table.focus()
        row = next(n for n, i in enumerate(screen.items) if i.title == "Morning routine")
        table.move_cursor(row=row)
        await settle(pilot)
        assert screen.current is not None and screen.current.item.title == "Morning routine"
        assert [v.number for v in screen.current.versions] == [1, 2]
        assert "✓" in screen.current.proof
        await go_to(pilot, "h", ReportModal)


@run_async
async def test_escape_leaves_the_filter_so_number_keys_switch_areas(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo) as (_app, pilot):
        screen = await go_to(pilot, "4", ContentScreen)
        await pilot.press("slash")
        field = screen.query_one("#filter-tag", Input)
        assert screen.focused is field
        await pilot.press("r", "u")
        await pilot.press("escape")
        assert screen.focused is screen.query_one("#content-items", DataTable)
        assert field.value == "ru"  # leaving kept what was typed
        await go_to(pilot, "5", SharingScreen)


@run_async
async def test_write_the_proof_of_authorship(pristine_demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "proof"
    async with run_unlocked(pristine_demo) as (_app, pilot):
        screen = await go_to(pilot, "4", ContentScreen)
        assert screen.current is not None
        screen.query_one("#content-items", DataTable).focus()
        await pilot.press("p")
        await pilot.pause()
        offered = Path(pilot.app.screen.query_one(Input).value)
        assert offered.is_absolute() and offered == Path.cwd() / "proof"
        await answer(pilot, str(folder))
        item = screen.current.item
    statement = next(folder.glob("*.json"))
    signature = folder / (statement.name + ".minisig")
    public = next(folder.glob("*.pub"))
    fields = content.verify_statement(
        statement.read_bytes(), signature.read_text(), public.read_text()
    )
    assert fields["item"] == item.id


def test_titles_from_imports_are_shown_escaped() -> None:
    """Table cells and text placed in markup show control characters escaped: Textual
    would pass an escape sequence in a title to the terminal."""
    (cell,) = fmt.cells("\x1b[2JTitle")
    assert cell.plain == "\\x1b[2JTitle"
    assert fmt.plain("[b]\x1b]0;pwned\x07") == "\\[b]\\x1b]0;pwned\\x07"
