"""Forgetting ECG recordings and clinical records: by metric over a range, whole, and with
their persona; the records, their blobs and their samples go, and no byte of them stays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault.core.vault import Vault
from vault.data import health_records, query
from vault.data.ingest import QSWriter
from vault.data.model import ClinicalRecord, Ecg
from vault.forget import Target, forget, preview

DAY = 86_400_000
T0 = query.parse_instant("2024-03-01T12:00:00Z")
SECRET = "ForgottenConditionText"


def _ecg(day: int) -> Ecg:
    volts = np.sin(np.arange(512) / 40.0 + day).astype("<f4") * 800
    return Ecg(
        start=T0 + day * DAY,
        offset_min=60,
        sample_rate_hz=512.0,
        voltages=volts.tobytes(),
        classification="sinus_rhythm",
        classification_text="Sinus Rhythm",
        device="ForgottenWatchModel",
    )


def _clinical(day: int) -> ClinicalRecord:
    resource = {"resourceType": "Condition", "id": f"c{day}", "code": {"text": f"{SECRET} {day}"}}
    return ClinicalRecord("Condition", json.dumps(resource).encode(), T0 + day * DAY, SECRET)


def _blob_files(vault: Vault) -> int:
    return sum(1 for p in (vault.path / "blobs").rglob("*") if p.is_file())


@pytest.fixture
def ana(fresh_vault: Vault) -> identities.Persona:
    persona = identities.add_persona(fresh_vault, "Ana")
    with QSWriter(fresh_vault, persona.id) as w:
        for day in range(3):
            w.add_ecg(_ecg(day))
            w.add_clinical(_clinical(day))
    return persona


def test_an_ecg_range_takes_its_recordings_and_blobs(
    fresh_vault: Vault, ana: identities.Persona
) -> None:
    blobs = _blob_files(fresh_vault)
    target = Target.of_metric("ecg", persona=ana.id, start=T0 + DAY, end=T0 + 3 * DAY)
    plan = preview(fresh_vault, target)
    assert plan.counts == {"ecg_recordings": 2, "samples": 2, "days": 2}
    forget(fresh_vault, target)
    left = health_records.list_ecgs(fresh_vault, ana.id)
    assert [e.start for e in left] == [T0]
    assert _blob_files(fresh_vault) == blobs - 2
    info = {m.metric: m.samples for m in query.list_metrics(fresh_vault, ana.id)}
    assert info["ecg"] == 1
    assert len(health_records.list_clinical(fresh_vault, ana.id)) == 3  # another metric


def test_clinical_records_go_whole_and_leave_no_trace(
    fresh_vault: Vault, ana: identities.Persona
) -> None:
    forget(fresh_vault, Target.of_metric("clinical_record"))
    assert health_records.list_clinical(fresh_vault, ana.id) == []
    assert "clinical_record" not in {m.metric for m in query.list_metrics(fresh_vault, ana.id)}
    fresh_vault.store.checkpoint()
    assert SECRET.encode() not in raw_vault_bytes(fresh_vault.path)
    assert fresh_vault.check() == []


def test_undated_clinical_records_go_with_the_whole_metric(fresh_vault: Vault) -> None:
    persona = identities.add_persona(fresh_vault, "Undated")
    with QSWriter(fresh_vault, persona.id) as w:
        resource = {"resourceType": "AllergyIntolerance", "id": "a1"}
        w.add_clinical(ClinicalRecord("AllergyIntolerance", json.dumps(resource).encode(), None))
    ranged = Target.of_metric("clinical_record", persona=persona.id, start=0, end=T0)
    assert preview(fresh_vault, ranged).empty  # no date, so in no range
    forget(fresh_vault, Target.of_metric("clinical_record", persona=persona.id))
    assert health_records.list_clinical(fresh_vault, persona.id) == []


def test_a_persona_takes_its_recordings_and_records(fresh_vault: Vault) -> None:
    gone = identities.add_persona(fresh_vault, "Gone")
    other = identities.add_persona(fresh_vault, "Other")
    for persona in (gone, other):
        with QSWriter(fresh_vault, persona.id) as w:
            w.add_ecg(_ecg(0))
            w.add_clinical(_clinical(0))
    blobs = _blob_files(fresh_vault)
    plan = preview(fresh_vault, Target.of_persona(gone.id))
    assert (plan.counts["ecg_recordings"], plan.counts["clinical_records"]) == (1, 1)
    forget(fresh_vault, Target.of_persona(gone.id))
    assert health_records.list_ecgs(fresh_vault, gone.id) == []
    assert health_records.list_clinical(fresh_vault, gone.id) == []
    assert len(health_records.list_ecgs(fresh_vault, other.id)) == 1
    assert len(health_records.list_clinical(fresh_vault, other.id)) == 1
    assert _blob_files(fresh_vault) == blobs - 1
    assert fresh_vault.check() == []
