"""ECG recordings and clinical records in bundles: under a raw grant naming their metric, the
recordings in range leave as FHIR Observations with SampledData and the clinical records as
the providers' FHIR (both validated with fhir.resources), devices stay home, nothing out of
range or of another persona leaves, and a daily grant sends counts only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation

from tests.builders import World, bundle_members, make_grant
from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.data.model import ClinicalRecord, Ecg
from vault.sharing import ScopeRequest
from vault.sharing import bundles as bundle

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
IN_RANGE = ("2026-10-11", "2026-10-15")  # inside the builders' grant range (10 to 19 October)
OUT_OF_RANGE = "2026-10-25"
RATE = 512.0


def _volts(seed: int) -> np.ndarray:
    return (np.sin(np.arange(256) / 20.0 + seed) * 500).round(2).astype("<f4")


def _ecg(day: str, seed: int, classification: str = "sinus_rhythm") -> Ecg:
    return Ecg(
        start=query.parse_instant(f"{day}T08:00:00Z"),
        offset_min=120,
        sample_rate_hz=RATE,
        voltages=_volts(seed).tobytes(),
        classification=classification,
        classification_text="Sinus Rhythm",
        symptoms="Fatigue",
        lead="Lead I",
        device="SecretWatchModel",
    )


def _condition(day: str, text: str) -> ClinicalRecord:
    resource = {
        "resourceType": "Condition",
        "id": text.lower().replace(" ", "-"),
        "subject": {"reference": "Patient/p1"},
        "code": {"text": text},
        "recordedDate": day,
    }
    return ClinicalRecord(
        "Condition", json.dumps(resource).encode(), query.parse_instant(day), text
    )


def _fill(vault: Vault, world: World) -> None:
    with QSWriter(vault, world.persona.id) as w:
        for i, day in enumerate(IN_RANGE):
            w.add_ecg(_ecg(day, i))
            w.add_clinical(_condition(day, f"Inside condition {i}"))
        w.add_ecg(_ecg(OUT_OF_RANGE, 9))
        w.add_clinical(_condition(OUT_OF_RANGE, "Outside condition"))
    with QSWriter(vault, world.other.id) as w:
        w.add_ecg(_ecg(IN_RANGE[0], 7))
        w.add_clinical(_condition(IN_RANGE[0], "Other persona condition"))


def test_a_raw_grant_sends_recordings_and_records_in_range_as_fhir(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    _fill(fresh_vault, world)
    grant = make_grant(fresh_vault, world, scope=ScopeRequest(metrics="ecg,clinical_record"))
    bundle.export_bundle(fresh_vault, grant.id, tmp_path / "b.age", now=NOW)
    files = bundle_members(tmp_path / "b.age", world.identity)

    ecgs = Bundle.model_validate_json(files["data/qs/ecg-recordings.fhir.json"])
    observations = [Observation.model_validate(e.resource.model_dump()) for e in ecgs.entry]
    assert len(observations) == len(IN_RANGE)
    for i, obs in enumerate(observations):
        assert obs.code.coding[0].code == "11524-6"
        sampled = obs.valueSampledData
        assert sampled.period == 1000.0 / RATE and sampled.dimensions == 1
        values = [float(v) for v in sampled.data.split()]
        assert np.allclose(values, _volts(i), atol=1e-3)
        assert obs.interpretation[0].text == "Sinus Rhythm"
    clinical = Bundle.model_validate_json(files["data/qs/clinical-records.fhir.json"])
    texts = sorted(
        Condition.model_validate(e.resource.model_dump()).code.text for e in clinical.entry
    )
    assert texts == [f"Inside condition {i}" for i in range(len(IN_RANGE))]

    everything = b"".join(files.values())
    for leak in (b"SecretWatchModel", b"Outside condition", b"Other persona condition"):
        assert leak not in everything
    # Only the records themselves: no file of placeholder samples counting them.
    for placeholder in ("ecg", "clinical_record"):
        assert not [n for n in files if n.startswith(f"data/qs/{placeholder}.")]
    ids = [e.resource.id for e in ecgs.entry]
    assert all(ids) and len(set(ids)) == len(ids)
    assert [e.fullUrl for e in ecgs.entry] == [f"urn:uuid:{i}" for i in ids]


def test_a_daily_grant_sends_no_waveform_and_no_resource(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    _fill(fresh_vault, world)
    grant = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="ecg,clinical_record"), granularity="day"
    )
    bundle.export_bundle(fresh_vault, grant.id, tmp_path / "b.age", now=NOW)
    files = bundle_members(tmp_path / "b.age", world.identity)
    assert "data/qs/ecg-recordings.fhir.json" not in files
    assert "data/qs/clinical-records.fhir.json" not in files
    assert "data/qs/ecg.csv" in files
    assert b"Inside condition" not in b"".join(files.values())


def _csv(data: bytes) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(data.decode())))


def test_an_export_token_sends_the_same_recordings_and_records(
    fresh_vault: Vault, world: World, vault_dir: Path, tmp_path: Path
) -> None:
    """A token opens the grant's recordings and records in range (their voltages too), so
    its bundle carries what a passphrase bundle carries; nothing out of range opens."""
    from vault.data import health_records
    from vault.sharing import tokens

    _fill(fresh_vault, world)
    grant = make_grant(fresh_vault, world, scope=ScopeRequest(metrics="ecg,clinical_record"))
    _info, text = tokens.create_token(fresh_vault, grant.id)
    bundle.export_bundle(fresh_vault, grant.id, tmp_path / "pass.age", now=NOW)
    outside = {
        r.id
        for kind in (health_records.KIND_ECG, health_records.KIND_CLINICAL)
        for r in fresh_vault.store.iter_kind(kind)
        if r.json().get("start", r.json().get("date")) >= query.parse_instant(OUT_OF_RANGE)
        or r.json().get("persona") != world.persona.id
    }
    fresh_vault.close()
    with Vault.open_with_token(vault_dir, text) as tv:
        assert tv.token is not None
        opened = {e.rid.hex() for e in tv.token.view.entries}
        bundle.export_bundle(tv, grant.id, tmp_path / "token.age", now=NOW)
    assert outside and not outside & opened
    by_pass = bundle_members(tmp_path / "pass.age", world.identity)
    by_token = bundle_members(tmp_path / "token.age", world.identity)
    for name in ("data/qs/ecg-recordings.fhir.json", "data/qs/clinical-records.fhir.json"):
        # Every export gives its recordings new random ids: the rest is the same.
        resources = [
            [
                {
                    k: v
                    for k, v in e["resource"].items()
                    if name.startswith("data/qs/cl") or k != "id"
                }
                for e in json.loads(files[name])["entry"]
            ]
            for files in (by_pass, by_token)
        ]
        assert resources[0] == resources[1] and resources[0]


def _undated(text: str, provider: str, version: str) -> ClinicalRecord:
    resource = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "patient": {"reference": "Patient/p1"},
        "code": {"text": text},
    }
    return ClinicalRecord(
        "AllergyIntolerance", json.dumps(resource).encode(), None, text, "", provider, version
    )


def test_an_all_time_grant_counts_and_sends_every_record_with_its_provider(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    """The dry run counts the records the bundle holds (undated ones too, over all time), in
    their own words; each clinical entry names its provider and FHIR release; the manifest
    counts recordings and records apart from samples."""
    from vault.sharing import TimeRange

    _fill(fresh_vault, world)
    with QSWriter(fresh_vault, world.persona.id) as w:
        w.add_clinical(_undated("Peanut", "Sutter Health", "1.0.2"))
    grant = make_grant(
        fresh_vault,
        world,
        scope=ScopeRequest(metrics="ecg,clinical_record,steps"),
        time_range=TimeRange(),
    )
    plan = bundle.prepare(fresh_vault, grant.id, now=NOW)
    chosen = {m.metric: m for m in plan.metrics}
    ecgs = len(IN_RANGE) + 1  # every recording of the persona: the out-of-range one too
    records = len(IN_RANGE) + 2  # the conditions, and the undated allergy
    assert (chosen["ecg"].count, chosen["ecg"].counted) == (ecgs, "recordings")
    assert (chosen["clinical_record"].count, chosen["clinical_record"].counted) == (
        records,
        "records",
    )
    assert chosen["clinical_record"].undated == 1
    assert plan.as_dict()["metrics"][0]["first"] is not None

    result = bundle.export_bundle(fresh_vault, grant.id, tmp_path / "b.age", now=NOW)
    files = bundle_members(tmp_path / "b.age", world.identity)
    # Entries with the provider and release extensions are still a valid FHIR Bundle.
    Bundle.model_validate_json(files["data/qs/clinical-records.fhir.json"])
    entries = json.loads(files["data/qs/clinical-records.fhir.json"])["entry"]
    assert len(entries) == records
    (allergy,) = [e for e in entries if e["resource"]["resourceType"] == "AllergyIntolerance"]
    assert allergy["extension"] == [
        {"url": "urn:coffre:provider", "valueString": "Sutter Health"},
        {"url": "urn:coffre:fhir-version", "valueCode": "1.0.2"},
    ]
    assert len(json.loads(files["data/qs/ecg-recordings.fhir.json"])["entry"]) == ecgs
    counts = result.as_dict()["counts"]
    assert (counts["recordings"], counts["records"]) == (ecgs, records)
    assert (counts["metrics"]["ecg"], counts["metrics"]["clinical_record"]) == (ecgs, records)
    assert counts["samples"] == counts["metrics"]["steps"]  # records are not counted as samples
    assert "README.md" in files
    readme = files["README.md"].decode()
    assert "ecg-recordings.fhir.json" in readme and "clinical-records.fhir.json" in readme


def test_a_grant_coarser_than_raw_warns_that_records_leave_as_counts(
    fresh_vault: Vault, world: World
) -> None:
    from vault.sharing import granularity_warnings

    _fill(fresh_vault, world)
    raw = make_grant(fresh_vault, world, scope=ScopeRequest(metrics="ecg,clinical_record"))
    assert granularity_warnings(raw) == ()
    assert not bundle.prepare(fresh_vault, raw.id, now=NOW).notes
    daily = make_grant(
        fresh_vault, world, scope=ScopeRequest(metrics="ecg,steps"), granularity="day"
    )
    (warning,) = granularity_warnings(daily)
    assert "ECG recordings are only sent at raw granularity" in warning
    assert "per day" in warning
    assert warning in bundle.prepare(fresh_vault, daily.id, now=NOW).notes
