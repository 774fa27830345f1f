"""FHIR R4 and IEEE 1752.1 / Open mHealth exports, validated against the published schemas."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import export, query
from vault.data.ingest import QSWriter
from vault.data.model import SLEEP_STAGES, Sample

P = "0123456789abcdef0123456789abcdef"
MIN = 60_000

# Schemas the sample set refers to but does not ship, transcribed from the Open mHealth and
# IEEE 1752.1 repositories (only what validation of these exports needs).
_UNIT_VALUE = {
    "type": "object",
    "properties": {"value": {"type": "number"}, "unit": {"type": "string"}},
    "required": ["value", "unit"],
}
_EXTRA: dict[str, dict[str, Any]] = {
    "date-time-1.x.json": {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
    },
    "duration-unit-value-1.x.json": {
        "allOf": [
            _UNIT_VALUE,
            {
                "properties": {
                    "unit": {
                        "enum": ["ps", "ns", "us", "ms", "sec", "min", "h", "d", "wk", "Mo", "yr"]
                    }
                }
            },
        ]
    },
    "mass-unit-value-1.x.json": {
        "allOf": [
            _UNIT_VALUE,
            {
                "properties": {
                    "unit": {
                        "enum": [
                            "fg",
                            "pg",
                            "ng",
                            "ug",
                            "mg",
                            "g",
                            "kg",
                            "Metric Ton",
                            "gr",
                            "oz",
                            "lb",
                            "Ton",
                        ]
                    }
                }
            },
        ]
    },
    "descriptive-statistic-1.0.json": {
        "type": "string",
        "enum": [
            "average",
            "count",
            "maximum",
            "median",
            "minimum",
            "standard deviation",
            "sum",
            "variance",
            "20th percentile",
            "80th percentile",
            "lower quartile",
            "upper quartile",
            "quartile deviation",
            "1st quintile",
            "2nd quintile",
            "3rd quintile",
            "4th quintile",
        ],
    },
    "part-of-day-1.x.json": {"enum": ["morning", "afternoon", "evening", "night"]},
    # IEEE 1752.1 physical-activity (the successor of Open mHealth step-count 3.0).
    "physical-activity-1.0.json": {
        "type": "object",
        "properties": {
            "activity_name": {"type": "string"},
            "effective_time_frame": {"$ref": "time-frame-1.0.json"},
            "base_movement_quantity": {
                "allOf": [_UNIT_VALUE, {"properties": {"unit": {"enum": ["steps"]}}}]
            },
            "kcal_burned": _UNIT_VALUE,
            "distance": _UNIT_VALUE,
        },
        "required": ["activity_name", "effective_time_frame"],
    },
}
_EXTRA["descriptive-statistic-1.x.json"] = _EXTRA["descriptive-statistic-1.0.json"]


@pytest.fixture(scope="module")
def registry(samples: Path) -> Registry[Any]:  # type: ignore[type-arg]
    folder = samples / "openmhealth" / "schema"
    files = {p.name: p for p in folder.glob("*.json")}

    def retrieve(uri: str) -> Resource[Any]:
        name = uri.rsplit("/", 1)[-1]
        if name not in files and ".x." in name:  # "unit-value-1.x.json" -> newest 1.y file
            stem = name.split(".x.")[0].rsplit("-", 1)[0]
            major = name.split(".x.")[0].rsplit("-", 1)[1]
            found = sorted(f for f in files if f.startswith(f"{stem}-{major}."))
            if found:
                name = found[-1]
        if name in files:
            contents = json.loads(files[name].read_text())
        elif name in _EXTRA:
            contents = _EXTRA[name]
        else:
            raise NoSuchResource(ref=uri)
        return Resource.from_contents(contents, default_specification=DRAFT7)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def samples() -> Path:
    from tests.conftest import SAMPLES

    if not SAMPLES.is_dir():
        pytest.skip("shared samples are not available next to this checkout")
    return SAMPLES


def validate(registry: Registry[Any], schema_file: str, instance: Any) -> None:  # type: ignore[type-arg]
    schema = registry.get_or_retrieve(schema_file).value.contents
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls(schema, registry=registry).validate(instance)


def test_resolver_accepts_the_published_test_data(registry: Registry[Any], samples: Path) -> None:  # type: ignore[type-arg]
    data = samples / "openmhealth" / "test-data"
    for name, schema in [
        ("heart-rate_2.0_with-temporal-relationship-to-sleep.json", "heart-rate-2.0.json"),
        ("body-weight_3.0_body-weight-only.json", "body-weight-3.0.json"),
        ("step-count_3.0_valid-step-count.json", "step-count-3.0.json"),
        ("sleep-episode_1.1_valid-sleep-episode.json", "sleep-episode-1.1.json"),
        ("data-point_1.0_valid-data-point.json", "data-point-1.0.json"),
    ]:
        instance = json.loads((data / name).read_text())
        if "temporal_relationship_to_sleep" in instance:
            del instance["temporal_relationship_to_sleep"]  # its value set is not shipped
        validate(registry, schema, instance)
    with pytest.raises(jsonschema.ValidationError):
        validate(registry, "heart-rate-2.0.json", {"heart_rate": {"value": 60, "unit": "bpm"}})


def _fill(vault: Vault) -> None:
    t = query.parse_instant("2024-03-01T08:00:00+01:00")
    with QSWriter(vault, P) as w:
        for i in range(3):
            w.add(Sample("steps", t + i * 10 * MIN, t + (i + 1) * 10 * MIN, 100 + i, "count",
                         "iPhone", "", 60))  # fmt: skip
            w.add(Sample("heart_rate", t + i * MIN, t + i * MIN, 60 + i, "/min", "Watch", "", 60))
        w.add(Sample("body_mass", t, t, 70.5, "kg", "Scale", "", 60))
        w.add(Sample("heart_rate_beat", t + 500, t + 500, 61, "/min", "Watch", "", 60))
        w.add(Sample("steps", t + 3 * 10 * MIN, t + 3 * 10 * MIN, 7, "count", "Old App", "", 60))
        night = t - 9 * 60 * MIN
        for k, (stage, minutes) in enumerate([("in_bed", 480), ("core", 200), ("deep", 60)]):
            s = night + k * MIN
            w.add(Sample("sleep", s, s + minutes * MIN, SLEEP_STAGES[stage], "", "Watch", "", 60))
        s = night + 300 * MIN
        w.add(Sample("sleep", s, s + 10 * MIN, SLEEP_STAGES["awake"], "", "Watch", "", 60))


@pytest.mark.parametrize("granularity", ["raw", "hour", "day"])
@pytest.mark.parametrize(
    ("metric", "schema"),
    [
        ("steps", "physical-activity-1.0.json"),
        ("heart_rate", "heart-rate-2.0.json"),
        ("heart_rate_beat", "heart-rate-2.0.json"),
        ("body_mass", "body-weight-3.0.json"),
        ("sleep", "sleep-episode-1.1.json"),
    ],
)
def test_open_mhealth_data_points_validate(
    fresh_vault: Vault,
    registry: Registry[Any],  # type: ignore[type-arg]
    metric: str,
    schema: str,
    granularity: str,
) -> None:
    _fill(fresh_vault)
    out = io.StringIO()
    n = export.export_omh(fresh_vault, P, metric, None, None, granularity, out)
    points = json.loads(out.getvalue())
    assert n == len(points) > 0
    for point in points:
        validate(registry, "data-point-1.0.json", point)
        validate(registry, schema, point["body"])
        ns, name, version, _, _ = export.OMH_SCHEMAS[metric]
        assert point["header"]["schema_id"] == {"namespace": ns, "name": name, "version": version}
    if metric == "steps":
        assert ns == "ieee"  # step-count 3.0 is deprecated in favour of IEEE physical-activity
        if granularity == "raw":
            assert points[0]["header"]["acquisition_provenance"] == {"source_name": "iPhone"}
            assert points[0]["body"]["base_movement_quantity"] == {"value": 100, "unit": "steps"}
    if metric == "sleep" and granularity == "day":
        (night,) = points
        assert night["body"]["total_sleep_time"] == {"value": 260, "unit": "min"}


def test_open_mhealth_refuses_metrics_without_a_schema(fresh_vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="no Open mHealth schema"):
        export.export_omh(fresh_vault, P, "flights_climbed", None, None, "raw", io.StringIO())


def test_fhir_bundle_of_observations(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    out = io.StringIO()
    n = export.export_fhir(fresh_vault, P, "steps", None, None, "raw", out, subject="Patient/p1")
    bundle = json.loads(out.getvalue())
    assert (bundle["resourceType"], bundle["type"], n) == ("Bundle", "collection", 4)
    obs = [e["resource"] for e in bundle["entry"]]
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    first = obs[0]
    assert first["resourceType"] == "Observation"
    assert first["status"] == "final"
    assert first["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "55423-8", "display": "Steps",
    }  # fmt: skip
    assert first["valueQuantity"] == {
        "value": 100, "unit": "{steps}", "system": "http://unitsofmeasure.org", "code": "{steps}",
    }  # fmt: skip
    assert first["effectivePeriod"] == {
        "start": "2024-03-01T08:00:00+01:00", "end": "2024-03-01T08:10:00+01:00",
    }  # fmt: skip
    assert first["subject"] == {"reference": "Patient/p1"}
    assert first["device"] == {"display": "iPhone"}
    instant = obs[-1]
    assert instant["effectiveDateTime"] == "2024-03-01T08:30:00+01:00"
    assert "effectivePeriod" not in instant
    # Ids are random: two recipients of the same samples cannot match them up by id.
    again = io.StringIO()
    export.export_fhir(fresh_vault, P, "steps", None, None, "raw", again, subject="Patient/p1")
    ids = {e["resource"]["id"] for e in json.loads(again.getvalue())["entry"]}
    assert ids.isdisjoint(o["id"] for o in obs)


def test_sources_can_be_left_out(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    for fn in (export.export_fhir, export.export_omh, export.export_csv):
        out = io.StringIO()
        assert fn(fresh_vault, P, "steps", None, None, "raw", out, include_sources=False) == 4
        assert "iPhone" not in out.getvalue()
        assert "Old App" not in out.getvalue()


def test_fhir_aggregates_and_vital_signs(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    out = io.StringIO()
    export.export_fhir(fresh_vault, P, "heart_rate", None, None, "day", out)
    (entry,) = json.loads(out.getvalue())["entry"]
    obs = entry["resource"]
    assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
    assert obs["code"]["coding"][0]["code"] == "8867-4"
    assert obs["valueQuantity"]["value"] == 61
    assert obs["valueQuantity"]["code"] == "/min"
    assert obs["effectivePeriod"] == {
        "start": "2024-03-01T00:00:00+00:00", "end": "2024-03-02T00:00:00+00:00",
    }  # fmt: skip
    out = io.StringIO()
    export.export_fhir(fresh_vault, P, "sleep", None, None, "day", out)
    (entry,) = json.loads(out.getvalue())["entry"]
    components = {
        c["code"]["text"]: c["valueQuantity"]["value"] for c in entry["resource"]["component"]
    }
    assert components == {
        "sleep stage: in_bed": 480, "sleep stage: awake": 10,
        "sleep stage: core": 200, "sleep stage: deep": 60,
    }  # fmt: skip


@pytest.mark.parametrize("metric", ["steps", "heart_rate", "body_mass", "sleep", "x:mood"])
@pytest.mark.parametrize("granularity", ["raw", "day", "month"])
def test_fhir_bundles_validate_against_the_r4_models(
    fresh_vault: Vault, metric: str, granularity: str
) -> None:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation

    _fill(fresh_vault)
    with QSWriter(fresh_vault, P) as w:
        w.add(Sample("x:mood", 1_709_280_000_000, 1_709_280_000_000, 4, "{score}", "Diary"))
    out = io.StringIO()
    n = export.export_fhir(
        fresh_vault, P, metric, None, None, granularity, out, subject="Patient/1"
    )
    bundle = Bundle.model_validate_json(out.getvalue())
    assert bundle.type == "collection"
    assert n == len(bundle.entry or []) > 0
    for entry in json.loads(out.getvalue())["entry"]:
        Observation.model_validate(entry["resource"])


def test_empty_and_bad_arguments(fresh_vault: Vault) -> None:
    out = io.StringIO()
    assert export.export_fhir(fresh_vault, P, "steps", None, None, "raw", out) == 0
    assert json.loads(out.getvalue())["entry"] == []
    out = io.StringIO()
    assert export.export_omh(fresh_vault, P, "steps", None, None, "day", out) == 0
    assert json.loads(out.getvalue()) == []
    with pytest.raises(InvalidParameter, match="granularity"):
        export.export_fhir(fresh_vault, P, "steps", None, None, "minute", io.StringIO())


def test_clinical_records_export_as_csv_with_formulas_defused(fresh_vault: Vault) -> None:
    """A provider's text that a spreadsheet would run as a formula gets a leading quote;
    numbers and UTC offsets are left as they are."""
    import csv

    from vault.data.model import ClinicalRecord

    resources = [
        {"resourceType": "Observation", "id": "o1", "code": {"text": "=HYPERLINK(1)"},
         "effectiveDateTime": "2020-01-01T10:00:00-05:00",
         "valueQuantity": {"value": -2.5, "unit": "mmol/L"}},
        {"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"}},
    ]  # fmt: skip
    with QSWriter(fresh_vault, "p1") as w:
        for r in resources:
            w.add_clinical(
                ClinicalRecord(str(r["resourceType"]), json.dumps(r).encode(), None, "", "", "")
            )
    out = io.StringIO()
    n = export.export_records(fresh_vault, "p1", "clinical_record", None, None, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(resources) == len(rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["o1"]["label"] == "'=HYPERLINK(1)" and by_id["o1"]["value"] == "-2.5"
    assert by_id["c1"]["label"] == "Asthma" and by_id["c1"]["value"] == ""
    with pytest.raises(InvalidParameter):
        export.export_records(fresh_vault, "p1", "steps", None, None, "csv", io.StringIO())
