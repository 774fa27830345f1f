"""ECG and clinical records: FHIR resources checked by shape (the library) and by the FHIR
models (fhir.resources, here), their dates, the ECG Observation, and hostile input refused
with MalformedInput only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.observation import Observation
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import MalformedInput
from vault.data import health_records, query
from vault.data.health_records import StoredEcg, ecg_observation, fhir_instant, read_fhir_resource
from vault.data.importers.apple_health import parse_ecg_csv

# Resources as health records hold them, written from the FHIR R4 specification's examples
# (one per kind Apple's Health Records lists: conditions, medications, immunisations, labs,
# allergies, procedures).
RESOURCES = [
    {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "49436004"}]},
        "onsetDateTime": "2019-04-02T10:00:00-05:00",
    },
    {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "Apixaban 5 mg"},
        "authoredOn": "2023-11-21",
    },
    {
        "resourceType": "Immunization",
        "id": "i1",
        "status": "completed",
        "patient": {"reference": "Patient/p1"},
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
        "occurrenceDateTime": "2021-05-01",
    },
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]
        },
        "effectivePeriod": {"start": "2022-06-01T08:00:00Z"},
        "valueQuantity": {"value": 95, "unit": "mg/dL"},
    },
    {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "patient": {"reference": "Patient/p1"},
        "code": {"text": "Penicillin"},
        "recordedDate": "2018-02",
    },
    {
        "resourceType": "Procedure",
        "id": "p1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Cardioversion"},
        "performedPeriod": {"start": "2024-01-10T09:30:00+01:00"},
    },
]
EXPECTED_DATES = [
    "2019-04-02T15:00:00Z",
    "2023-11-21T00:00:00Z",
    "2021-05-01T00:00:00Z",
    "2022-06-01T08:00:00Z",
    "2018-02-01T00:00:00Z",
    "2024-01-10T08:30:00Z",
]


@pytest.mark.parametrize(("resource", "date"), zip(RESOURCES, EXPECTED_DATES, strict=True))
def test_each_kind_is_kept_as_written_and_valid_fhir(
    resource: dict[str, object], date: str
) -> None:
    record = read_fhir_resource(json.dumps(resource).encode(), "r.json")
    kept = json.loads(record.resource)
    assert kept == resource
    get_fhir_model_class(str(resource["resourceType"])).model_validate(kept)
    assert record.date == query.parse_instant(date)


def test_a_real_fhir_example_is_kept_whole(corpus: Path) -> None:
    data = (corpus / "apple-health/fhir-observation-apgar.json").read_bytes()
    record = read_fhir_resource(data, "Observation.json")
    assert json.loads(record.resource) == json.loads(data)
    Observation.model_validate_json(record.resource)
    assert (record.resource_type, record.summary) == ("Observation", "2 minute Apgar Score")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"resourceType": ', "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "x"}', "no valid resourceType"),
        (b'{"resourceType": "patient; rm -rf"}', "no valid resourceType"),
        (b'{"resourceType": "Condition", "id": 7}', "id is not a string"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_what_is_not_a_resource_is_refused_by_name(text: bytes, problem: str) -> None:
    with pytest.raises(MalformedInput, match=problem) as caught:
        read_fhir_resource(text, "clinical-records/x.json")
    assert "clinical-records/x.json" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019", "2019-01-01T00:00:00Z"),
        ("2019-03-14T10:00:00.123+02:00", "2019-03-14T08:00:00Z"),
        ("2019-02-30", None),
        ("yesterday", None),
        (12, None),
    ],
)
def test_fhir_dates(text: object, expected: str | None) -> None:
    got = fhir_instant(text)
    assert got == (query.parse_instant(expected) if expected else None)


def test_the_ecg_observation_is_valid_fhir_with_every_voltage() -> None:
    volts = np.array([-48.673, 0.0, 1034.5, 12.25], dtype=np.float32)
    header = {
        "start": 1_700_000_000_000,
        "end": 1_700_000_000_008,
        "sample_rate_hz": 512.0,
        "unit": "uV",
        "classification": "sinus_rhythm",
        "classification_text": "Sinus Rhythm",
        "symptoms": "Dizziness",
        "lead": "Lead I",
        "average_heart_rate": 64.0,
        "device": "Watch6,7",
    }
    obs = ecg_observation(StoredEcg("r", header), volts, "urn:uuid:0", include_device=False)
    model = Observation.model_validate(obs)
    assert model.valueSampledData.period == 1000 / 512
    data = [float(v) for v in model.valueSampledData.data.split()]
    assert np.allclose(data, volts, atol=1e-3)
    assert model.component[0].valueQuantity.value == 64.0
    assert "device" not in obs and obs["subject"] == {"reference": "urn:uuid:0"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_an_ecg_or_malformed_input(data: bytes) -> None:
    try:
        ecg = parse_ecg_csv(
            b"Recorded Date,2024-03-05 09:14:40 -0400\nSample Rate,512 Hz\n" + data, "e.csv"
        )
    except MalformedInput:
        return
    assert np.isfinite(np.frombuffer(ecg.voltages, dtype="<f4")).all()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_OBJECTS = st.dictionaries(
    st.sampled_from(["resourceType", "id", "code", "onsetDateTime", "meta"]),
    _JSON | st.sampled_from(["Condition", "Observation", "x", "Ab"]),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(_OBJECTS)
def test_any_json_gives_the_resource_as_written_or_malformed_input(
    value: dict[str, object],
) -> None:
    kind = value.get("resourceType")
    # What FHIR asks of every resource: a type name, and an id that is a string if present.
    valid = (
        isinstance(kind, str)
        and re.fullmatch(r"[A-Z][A-Za-z]+", kind) is not None
        and len(kind) <= 64
        and isinstance(value.get("id", ""), str)
    )
    try:
        record = read_fhir_resource(json.dumps(value).encode(), "r.json")
    except MalformedInput:
        assert not valid
        return
    assert valid
    assert json.loads(record.resource) == value
    assert record.resource_type == kind


def test_the_size_limits_hold() -> None:
    big = b'{"resourceType": "Condition", "note": "' + b"x" * health_records.MAX_FHIR_BYTES + b'"}'
    with pytest.raises(MalformedInput, match="larger than"):
        read_fhir_resource(big, "r.json")
