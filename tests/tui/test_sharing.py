"""Pilot tests of sharing: the guided new grant, export now, revoke; checked in the vault."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Markdown, Select, SelectionList

from tests.tui.conftest import (
    FROZEN,
    answer,
    confirm,
    go_to,
    open_vault,
    press_button,
    run_async,
    run_unlocked,
    settle,
)
from tui.screens.grant_wizard import GrantWizard
from tui.screens.modals import ErrorModal, ReportModal
from tui.screens.sharing import SharingScreen
from vault import sharing as consent
from vault.sharing import ledger, revocation


def _select_grant(screen: SharingScreen, recipient: str) -> str:
    names = {r.id: r.name for r in screen.state.recipients}
    row = next(i for i, g in enumerate(screen.state.grants) if names[g.recipient] == recipient)
    table = screen.query_one("#grants", DataTable)
    table.focus()
    table.move_cursor(row=row)
    return screen.state.grants[row].id


@run_async
async def test_new_grant_ends_with_the_preview_and_the_receipt(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        wizard = await go_to(pilot, "n", GrantWizard)
        club = next(ref for name, ref in wizard.options.recipients if "Running" in name)
        wizard.query_one("#g-recipient", Select).value = club
        await pilot.pause()
        wizard.query_one("#g-metrics", SelectionList).select("steps")
        wizard.query_one("#g-purpose", Select).value = "dpv:AcademicResearch"
        wizard.query_one("#g-compensation", Input).value = "A study report"
        await press_button(pilot, "#next")
        await pilot.pause()
        review = wizard.query_one("#review", Markdown)
        assert review.source is not None and "steps" in review.source
        await press_button(pilot, "#give")
        await settle(pilot)
        report = app.screen
        assert isinstance(report, ReportModal)
        assert "What would leave" in report._markdown and "Consent receipt" in report._markdown
        assert screen.created is not None
        created = screen.created.id
    with open_vault(demo_dir) as v:
        grant = consent.get_grant(v, created)
        assert grant.scope.metrics == ("steps",)
        assert grant.purpose == "dpv:AcademicResearch"
        assert grant.compensation == "A study report"
        assert grant.status_at(FROZEN) == consent.GIVEN
        assert len(consent.list_grants(v)) == 3


@run_async
async def test_export_now_writes_a_bundle_and_records_it(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "club.age"
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        grant_id = _select_grant(screen, "Lyon Running Club")
        await confirm(pilot, "e")
        await answer(pilot, str(out))
        assert isinstance(app.screen, ReportModal)
        assert screen.last_export is not None and screen.last_export.path == out
    assert out.is_file() and out.read_bytes().startswith(b"age-encryption.org/v1")
    with open_vault(demo_dir) as v:
        sent = ledger.bundles_for_grant(v, grant_id)
        assert len(sent) == 2  # the demo's export, then this one
        assert sent[-1].size == out.stat().st_size


@run_async
async def test_revoke_after_confirmation_shows_the_notice(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        grant_id = _select_grant(screen, "Lyon Running Club")
        await confirm(pilot, "w")
        report = app.screen
        assert isinstance(report, ReportModal)
        assert "erasure" in report._markdown.lower()
    with open_vault(demo_dir) as v:
        assert consent.get_grant(v, grant_id).status == consent.WITHDRAWN
        assert len(revocation.notices(v, grant=grant_id)) == 1


@run_async
async def test_cancelled_revoke_changes_nothing(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        grant_id = _select_grant(screen, "Lyon Running Club")
        await confirm(pilot, "w", "#cancel")
        assert app.screen is screen
    with open_vault(demo_dir) as v:
        assert consent.get_grant(v, grant_id).status_at(FROZEN) == consent.GIVEN


@run_async
async def test_exporting_a_withdrawn_grant_is_refused_with_the_library_message(
    demo_dir: Path,
) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        _select_grant(screen, "Acme Health Insurance")
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ErrorModal)
        assert "withdrawn" in modal._message
