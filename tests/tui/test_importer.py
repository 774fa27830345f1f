"""The import dialog offers every format of the import registry, and runs any of them."""

from __future__ import annotations

import json
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


@run_async
async def test_fitbit_time_zone_is_asked_and_given_to_the_importer(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The dialog shows the chosen format's settings (Fitbit's time zone, as the CLI's
    --time-zone) and the import reads the export's wall-clock times in the zone typed."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from textual.widgets import Input

    from tests.builders import FITBIT_STEPS as STEPS
    from tests.builders import write_tree
    from tests.tui.conftest import settle
    from vault.data import query

    export = write_tree(
        tmp_path / "takeout",
        {"Takeout/Fitbit/Global Export Data/steps-2021-01-02.json": json.dumps(STEPS)},
    )
    async with run_unlocked(demo_dir) as (_app, pilot):
        screen = await go_to(pilot, "3", DataScreen)
        persona = screen.persona_id
        modal = await go_to(pilot, "i", ImportModal)
        assert not modal.query("#import-option-time_zone")  # the first format takes none
        modal.query_one("#import-format", Select).value = "fitbit"
        await pilot.pause()
        await pilot.pause()
        modal.query_one("#import-option-time_zone", Input).value = "Asia/Tokyo"
        modal.query_one("#import-path", Input).value = str(export)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.summary is not None and screen.summary.time_zone == "Asia/Tokyo"
    first = datetime.strptime(STEPS[0]["dateTime"], "%m/%d/%y %H:%M:%S")
    at = int(first.replace(tzinfo=ZoneInfo("Asia/Tokyo")).timestamp() * 1000)
    with open_vault(demo_dir) as v:
        starts = [s.start for s in query.samples(v, persona, "steps", start=at, end=at + 1)]
    assert at in starts
