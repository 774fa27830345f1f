"""Pilot tests of sharing: the guided new grant, export now, revoke; checked in the vault."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.widgets import DataTable, Input, Markdown, Select, SelectionList, TabbedContent

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
from tui.screens.grant_wizard import PURPOSES, SENSITIVE_MARK, GrantWizard
from tui.screens.modals import ErrorModal, ReportModal
from tui.screens.sharing import SharingScreen
from vault import personas as identities
from vault import sharing as consent
from vault.sharing import ledger, revocation

if TYPE_CHECKING:
    from vault.core.vault import Vault


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
        assert wizard.focused is wizard.query_one("#next")  # the primary button, not Cancel
        assert wizard.query_one("#g-range", Select).value == "7d"  # the least, by default
        wizard.query_one("#g-metrics", SelectionList).select("steps")
        wizard.query_one("#g-purpose", Select).value = "dpv:AcademicResearch"
        wizard.query_one("#g-compensation", Input).value = "A study report"
        wizard.query_one("#next").focus()
        await pilot.press("enter")
        await pilot.pause()
        review = wizard.query_one("#review", Markdown)
        assert review.source is not None and "steps" in review.source
        # The purpose in the words the first step offered it in.
        offered = dict((ref, label) for label, ref in PURPOSES)["dpv:AcademicResearch"]
        assert f"purpose: {offered}" in review.source
        assert wizard.focused is wizard.query_one("#give")  # Enter gives consent
        await pilot.press("enter")
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
        assert grant.time_range.last == "7d"
        assert grant.status_at(FROZEN) == consent.GIVEN
        assert len(consent.list_grants(v)) == 3


@run_async
async def test_export_now_writes_a_bundle_and_records_it(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "club.age"
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        grant_id = _select_grant(screen, "Lyon Running Club")
        await confirm(pilot, "e")
        offered = app.screen.query_one(Input).value
        assert Path(offered).is_absolute() and Path(offered).parent == Path.cwd()
        await answer(pilot, str(out))
        report = app.screen
        assert isinstance(report, ReportModal)
        assert screen.last_export is not None and screen.last_export.path == out
        # Readable lines, one per metric carried, the count agreeing with its noun.
        counts = screen.last_export.manifest["counts"]
        assert "{" not in report._markdown
        for metric, n in counts["metrics"].items():
            noun = "period" if n == 1 else "periods"
            assert f"{metric}: {n:,} {noun}" in report._markdown
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
        assert modal._title == "Refused"  # an expected refusal, not a failure


@run_async
async def test_wizard_marks_sensitive_attributes_and_picks_audiences(demo_dir: Path) -> None:
    async with run_unlocked(demo_dir) as (app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        wizard = await go_to(pilot, "n", GrantWizard)
        persona = wizard.query_one("#g-persona", Select).value
        with open_vault(demo_dir) as v:
            attrs = next(p for p in identities.list_personas(v) if p.id == persona).attributes
        sensitive = {a.key for a in attrs if a.sensitive}
        assert sensitive  # the demo marks the birth date and the address
        listed = wizard.query_one("#g-attributes", SelectionList)
        for i in range(listed.option_count):
            option = listed.get_option_at_index(i)
            marked = SENSITIVE_MARK in str(option.prompt)
            derived = str(option.value).startswith(("age_over:", "birth_year"))
            expected = option.value in sensitive or (derived and "birth_date" in sensitive)
            assert marked == expected, option.value
        audiences = wizard.query_one("#g-audiences", SelectionList)
        assert audiences.selected == ["public"]  # only public content, unless added
        audiences.select("followers")
        wizard.query_one("#g-tags", Input).value = "running"
        wizard.query_one("#g-purpose", Select).value = "dpv:ServiceProvision"
        await press_button(pilot, "#next")
        await pilot.pause()
        await press_button(pilot, "#give")
        await settle(pilot)
        assert isinstance(app.screen, ReportModal)
        assert screen.created is not None
        created = screen.created.id
    with open_vault(demo_dir) as v:
        scope = consent.get_grant(v, created).scope
        assert scope.content_tags == ("running",)
        assert scope.content_audiences == ("public", "followers")


@run_async
async def test_tab_keys_and_a_ledger_that_fits_80_columns(pristine_demo: Path) -> None:
    async with run_unlocked(pristine_demo, size=(80, 24)) as (_app, pilot):
        screen = await go_to(pilot, "5", SharingScreen)
        tabs = screen.query_one("#sharing-tabs", TabbedContent)
        for key, tab in (("r", "tab-recipients"), ("l", "tab-ledger"), ("g", "tab-grants")):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab
        await pilot.press("l")
        await settle(pilot)
        ledger = screen.query_one("#ledger", DataTable)
        assert ledger.row_count > 0
        padding = 2 * ledger.cell_padding * len(ledger.columns)
        assert sum(c.width for c in ledger.columns.values()) + padding <= ledger.size.width
        for row in range(ledger.row_count):
            for column, cell in zip(ledger.columns.values(), ledger.get_row_at(row), strict=True):
                assert len(cell.plain) <= column.width


def test_the_preview_counts_recordings_and_records_and_warns_of_counts(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    """The grant preview names ECG recordings and clinical records for what they are, says
    when none of the records is dated, and carries the warning of a grant coarser than raw."""
    import json

    from tests.builders import build_world, make_grant
    from tui.screens.sharing import plan_markdown
    from vault.data.ingest import QSWriter
    from vault.data.model import ClinicalRecord
    from vault.sharing import ScopeRequest, TimeRange
    from vault.sharing.bundles.plan import build_plan

    world = build_world(fresh_vault, tmp_path)
    undated = {"resourceType": "AllergyIntolerance", "code": {"text": "Peanut"}}
    with QSWriter(fresh_vault, world.persona.id) as w:
        for n in range(2):
            w.add_clinical(
                ClinicalRecord(
                    "AllergyIntolerance", json.dumps({**undated, "id": f"a{n}"}).encode(), None
                )
            )
    scope = ScopeRequest(metrics="clinical_record")
    raw = make_grant(fresh_vault, world, scope=scope, time_range=TimeRange())
    text = plan_markdown(build_plan(fresh_vault, raw), "Lab")
    assert "**clinical_record**: 2 clinical records, none dated" in text
    daily = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="steps,ecg"), granularity="day"
    )
    text = plan_markdown(build_plan(fresh_vault, daily), "Lab")
    assert "ECG recordings are only sent at raw granularity" in text
