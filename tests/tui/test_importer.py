"""The import dialog offers every format of the import registry, and runs any of them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select, Static

from tests.tui.conftest import go_to, import_file, open_vault, run_async, run_unlocked
from tui.screens.data import DataScreen
from tui.screens.importer import ImportModal
from tui.screens.modals import ReportModal
from vault import personas as identities
from vault.imports import FORMATS


@run_async
async def test_the_dialog_lists_every_registry_format(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (_app, pilot):
        await go_to(pilot, "3", DataScreen)
        modal = await go_to(pilot, "i", ImportModal)
        select = modal.query_one("#import-format", Select)
        assert select.value == FORMATS[0].name
        for fmt in FORMATS:
            select.value = fmt.name  # a value that is not an option raises
            await pilot.pause()
            about = str(modal.query_one("#import-about", Static).render())
            assert fmt.description in " ".join(about.split())


@run_async
async def test_a_persona_format_imports_from_the_data_screen(
    demo_dir: Path, tmp_path: Path
) -> None:
    card = tmp_path / "ada.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:4.0\nFN:Ada Lovelace\nUID:urn:ada\nEND:VCARD\n")
    with open_vault(demo_dir) as v:
        before = {p.name for p in identities.list_personas(v)}
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        await import_file(pilot, card, "vcard")
        assert isinstance(app.screen, ReportModal)
        assert screen.summary is not None
        assert (screen.summary.format, screen.summary.added) == ("vcard", 1)
    with open_vault(demo_dir) as v:
        assert {p.name for p in identities.list_personas(v)} == before | {"Ada Lovelace"}
