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


# Where each kind keeps its date, in the versions real exports carry: DSTU2 (1.0.2, which
# Epic sends), STU3 and R4 (4.0.1). Built from each version's resource definitions; the
# expected instant is the field's first moment in UTC.
DATED_BY_VERSION = [
    ({"resourceType": "Coverage", "period": {"start": "2019-01-01", "end": "2019-12-31"}},
     "2019-01-01T00:00:00Z"),
    ({"resourceType": "Coverage", "period": {"end": "2020-06-30"}}, "2020-06-30T00:00:00Z"),
    ({"resourceType": "MedicationOrder", "dateWritten": "2019-01-12"}, "2019-01-12T00:00:00Z"),
    ({"resourceType": "MedicationRequest", "authoredOn": "2023-11-21T09:00:00+01:00"},
     "2023-11-21T08:00:00Z"),
    ({"resourceType": "Condition", "dateRecorded": "2019-01-12"}, "2019-01-12T00:00:00Z"),
    ({"resourceType": "Condition", "onsetPeriod": {"start": "2015-03"},
      "recordedDate": "2019-01-12"}, "2015-03-01T00:00:00Z"),
    ({"resourceType": "AllergyIntolerance", "onset": "2004"}, "2004-01-01T00:00:00Z"),
    ({"resourceType": "AllergyIntolerance", "assertedDate": "2017-05-02"},
     "2017-05-02T00:00:00Z"),
    ({"resourceType": "Immunization", "date": "2015-06-01"}, "2015-06-01T00:00:00Z"),
    ({"resourceType": "Immunization", "recorded": "2021-05-03"}, "2021-05-03T00:00:00Z"),
    ({"resourceType": "DiagnosticReport", "issued": "2019-01-09T14:20:00Z"},
     "2019-01-09T14:20:00Z"),
    ({"resourceType": "Observation", "effectiveInstant": "2022-06-01T08:00:00.5Z"},
     "2022-06-01T08:00:00Z"),
    ({"resourceType": "Procedure", "performedDateTime": "2019-01-08T07:00:00-05:00"},
     "2019-01-08T12:00:00Z"),
    ({"resourceType": "DocumentReference", "created": "2016-02-01T10:00:00Z",
      "indexed": "2016-02-03T00:00:00Z"}, "2016-02-01T10:00:00Z"),
    ({"resourceType": "DocumentReference", "context": {"period": {"start": "2018-07-01"}},
      "indexed": "2018-07-09T00:00:00Z"}, "2018-07-01T00:00:00Z"),
    ({"resourceType": "Encounter", "period": {"start": "2020-02-02T08:00:00Z"}},
     "2020-02-02T08:00:00Z"),
    ({"resourceType": "MedicationAdministration",
      "effectiveTimePeriod": {"start": "2016-04-04T04:00:00Z"}}, "2016-04-04T04:00:00Z"),
    ({"resourceType": "MedicationDispense", "whenPrepared": "2016-04-03"},
     "2016-04-03T00:00:00Z"),
    ({"resourceType": "ServiceRequest", "occurrencePeriod": {"start": "2021-09-09"}},
     "2021-09-09T00:00:00Z"),
    ({"resourceType": "ProcedureRequest", "scheduledDateTime": "2016-08-08"},
     "2016-08-08T00:00:00Z"),
    ({"resourceType": "Goal", "startDate": "2020-01-15"}, "2020-01-15T00:00:00Z"),
    ({"resourceType": "CarePlan", "period": {"start": "2020-01-15"}}, "2020-01-15T00:00:00Z"),
    ({"resourceType": "Specimen", "collection": {"collectedDateTime": "2019-01-09"}},
     "2019-01-09T00:00:00Z"),
    # No date of its own: the server's last change says nothing of when it happened.
    ({"resourceType": "AllergyIntolerance", "meta": {"lastUpdated": "2024-01-01T00:00:00Z"}},
     None),
    ({"resourceType": "Patient", "birthDate": "1970-01-01"}, None),
    ({"resourceType": "Coverage", "period": {"start": "soon"}}, None),
]  # fmt: skip


@pytest.mark.parametrize(("resource", "expected"), DATED_BY_VERSION)
def test_each_version_s_date_places_the_record(
    resource: dict[str, object], expected: str | None
) -> None:
    record = read_fhir_resource(json.dumps(resource).encode(), "r.json")
    assert record.date == (query.parse_instant(expected) if expected else None)


def test_a_real_coverage_is_placed_at_the_start_of_its_period(corpus: Path) -> None:
    data = (corpus / "apple-health/fhir-coverage-example.json").read_bytes()
    record = read_fhir_resource(data, "Coverage.json")
    start = json.loads(data)["period"]["start"]
    assert record.date == query.parse_instant(f"{start}T00:00:00Z")
    assert (record.resource_id, record.last_updated) == ("9876B1", None)


def test_the_last_updated_time_is_read_to_compare_versions() -> None:
    resource = {"resourceType": "Observation", "id": "o1", "meta": {"lastUpdated": "2024-05-01"}}
    record = read_fhir_resource(json.dumps(resource).encode(), "o.json")
    assert record.last_updated == query.parse_instant("2024-05-01T00:00:00Z")
    assert record.date is None


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
