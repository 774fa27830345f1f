"""Forgetting Fitbit's scores, nightly skin temperature and Apple's hearing thresholds: by
metric over a range and whole; the samples go, the other metrics stay, and no byte of the
forgotten ones stays in the vault's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import HEALTH_KINDS, health_kind_samples
from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.forget import Target, forget, preview

DAYS = ("2024-03-01", "2024-03-02", "2024-03-03")
SECRET = "ForgottenHearingClinic"


@pytest.fixture
def ana(fresh_vault: Vault) -> identities.Persona:
    persona = identities.add_persona(fresh_vault, "Ana")
    with QSWriter(fresh_vault, persona.id) as w:
        for day in DAYS:
            for sample in health_kind_samples(day, SECRET):
                w.add(sample)
    return persona


def _counts(vault: Vault, persona: str) -> dict[str, int]:
    return {m.metric: m.samples for m in query.list_metrics(vault, persona)}


def test_a_range_of_one_kind_goes_and_the_rest_stays(
    fresh_vault: Vault, ana: identities.Persona
) -> None:
    start = query.parse_instant(f"{DAYS[1]}T00:00:00Z")
    target = Target.of_metric("stress_score", persona=ana.id, start=start)
    assert preview(fresh_vault, target).counts["samples"] == len(DAYS) - 1
    forget(fresh_vault, target)
    counts = _counts(fresh_vault, ana.id)
    assert counts["stress_score"] == 1
    assert all(counts[m] == len(DAYS) for m, *_ in HEALTH_KINDS if m != "stress_score")


@pytest.mark.parametrize("metric", [m for m, *_ in HEALTH_KINDS])
def test_each_kind_forgotten_whole_leaves_no_trace(
    fresh_vault: Vault, ana: identities.Persona, metric: str
) -> None:
    forget(fresh_vault, Target.of_metric(metric))
    counts = _counts(fresh_vault, ana.id)
    assert metric not in counts
    assert len(counts) == len(HEALTH_KINDS) - 1
    assert fresh_vault.check() == []


def test_all_kinds_forgotten_leave_no_byte_of_their_source(
    fresh_vault: Vault, ana: identities.Persona
) -> None:
    for metric, *_ in HEALTH_KINDS:
        forget(fresh_vault, Target.of_metric(metric))
    assert _counts(fresh_vault, ana.id) == {}
    fresh_vault.store.checkpoint()
    assert SECRET.encode() not in raw_vault_bytes(fresh_vault.path)
    assert fresh_vault.check() == []


def test_the_profile_goes_with_its_persona(fresh_vault: Vault, corpus: Path) -> None:
    """Apple's <Me> is kept as attributes of the persona: forgetting the persona takes them,
    and no byte of them stays in the vault's files."""
    from vault.data.importers import import_apple_health

    bea = identities.add_persona(fresh_vault, "Bea")
    identities.edit(fresh_vault, bea.id, add=[("field.marker", SECRET)])
    import_apple_health(fresh_vault, bea.id, corpus / "apple-health/ahcd-export.xml")
    assert "field.blood_type" in {
        a.key for a in identities.get_persona(fresh_vault, bea.id).attributes
    }
    forget(fresh_vault, Target.of_persona(bea.id))
    assert "Bea" not in {p.name for p in identities.list_personas(fresh_vault)}
    fresh_vault.store.checkpoint()
    assert SECRET.encode() not in raw_vault_bytes(fresh_vault.path)
    assert fresh_vault.check() == []
