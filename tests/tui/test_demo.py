"""`coffre demo`: the demo vault the terminal UI opens on (`make demo`)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.tui.conftest import FROZEN
from vault import content
from vault import personas as identities
from vault import sharing as consent
from vault.cli.main import cli
from vault.core.vault import Vault
from vault.data import query
from vault.forget import rules
from vault.sharing import ledger


def test_demo_prints_only_its_passphrase_and_holds_what_the_guide_says(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(target)], catch_exceptions=False)
    assert result.exit_code == 0
    passphrase = result.stdout.strip()
    assert len(passphrase.split("-")) == 4 and "\n" not in passphrase
    with Vault.open(target, passphrase) as v:
        personas = {p.name: p for p in identities.list_personas(v)}
        assert set(personas) == {"Camille", "Nightjar"}
        camille = query.list_metrics(v, personas["Camille"].id)
        assert {"steps", "heart_rate", "sleep", "body_mass"} <= {m.metric for m in camille}
        steps = next(m for m in camille if m.metric == "steps")
        assert steps.first is not None and steps.last is not None
        assert steps.last - steps.first > 360 * 86_400_000  # a year of data
        items = content.list_items(v)
        assert len(items) == 4 and max(i.version for i in items) == 2
        grants = consent.list_grants(v)
        assert sorted(g.history[-1].status for g in grants) == ["given", "withdrawn"]
        given = next(g for g in grants if g.history[-1].status == "given")
        assert len(ledger.bundles_for_grant(v, given.id)) == 1
        assert len(rules.list_rules(v)) == 1


def test_demo_force_replaces_the_demo_vault(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    runner = CliRunner()
    runner.invoke(cli, ["demo", "--dir", str(target)], catch_exceptions=False)
    second = runner.invoke(cli, ["demo", "--dir", str(target), "--force"], catch_exceptions=False)
    assert second.exit_code == 0
    with Vault.open(target, second.stdout.strip()) as v:
        assert len(identities.list_personas(v)) == 2  # replaced, not added to


def test_the_frozen_demo_has_an_expiring_grant_and_rules_due(pristine_demo: Path) -> None:
    from tests.tui.conftest import open_vault

    with open_vault(pristine_demo) as v:
        given = [g for g in consent.list_grants(v) if g.status_at(FROZEN) == consent.GIVEN]
        assert len(given) == 1 and given[0].valid_until[:10] < "2026-07-15"
        assert rules.due(v, int(FROZEN.timestamp() * 1000)) is not None
