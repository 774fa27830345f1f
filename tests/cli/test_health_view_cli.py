"""How a person reads, exports and shares their ECG recordings and clinical records:
`data show` and `data export` for `ecg` and `clinical_record`, the dry run of a grant that
names them, and the warning a grant coarser than raw gets.

The Apple Health export is a faithful reproduction of the layout docs/formats.md describes
(no real export with ECGs or clinical records could be had under a permissive licence): an
R4 lab Observation with a value and a zoned time, a DSTU2 MedicationOrder (as Epic sends), a
date-only Immunization and an AllergyIntolerance without any date, from two providers."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.cli.conftest import check_json, checked, init_vault

VOLTS = [round(((i % 97) - 48) * 1.25, 3) for i in range(1024)]
ECG_CSV = (
    'Name,Sam Example\nDate of Birth,"Feb 5, 1952"\nRecorded Date,2024-03-05 09:14:40 -0400\n'
    "Classification,Sinus Rhythm\nSymptoms,Rapid heartbeat\nSoftware Version,1.90\n"
    'Device,"Watch6,7"\nSample Rate,512 hertz\n\n\nLead,Lead I\nUnit,\u00b5V\n\n\n'
    + "\n".join(str(v) for v in VOLTS)
)
RESOURCES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Observation-o1.json": (
        "Riverside Clinic",
        "4.0.1",
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]
            },
            "effectiveDateTime": "2022-06-01T08:30:00-04:00",
            "valueQuantity": {"value": 95, "unit": "mg/dL"},
        },
    ),
    "MedicationOrder-m1.json": (
        "Sutter Health",
        "1.0.2",
        {
            "resourceType": "MedicationOrder",
            "id": "m1",
            "status": "active",
            "dateWritten": "2019-01-10T09:00:00-08:00",
            "medicationReference": {"display": "Apixaban 5 mg tablet"},
        },
    ),
    "Immunization-i1.json": (
        "Riverside Clinic",
        "4.0.1",
        {
            "resourceType": "Immunization",
            "id": "i1",
            "status": "completed",
            "patient": {"reference": "Patient/p1"},
            "vaccineCode": {"text": "Influenza vaccine"},
            "occurrenceDateTime": "2021-10-05",
        },
    ),
    "AllergyIntolerance-a1.json": (
        "Riverside Clinic",
        "4.0.1",
        {
            "resourceType": "AllergyIntolerance",
            "id": "a1",
            "patient": {"reference": "Patient/p1"},
            "code": {"text": "Peanut"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
        },
    ),
}


def _export(tmp_path: Path) -> Path:
    records = "".join(
        f'<ClinicalRecord type="x" identifier="{r["id"]}" sourceName="{provider}" '
        f'fhirVersion="{version}" receivedDate="2024-01-01 10:00:00 +0000" '
        f'resourceFilePath="/clinical-records/{name}"/>\n'
        for name, (provider, version, r) in RESOURCES.items()
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
        f'<ExportDate value="2024-04-01 00:00:00 +0000"/>\n{records}</HealthData>\n'
    )
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("apple_health_export/export.xml", xml)
        zf.writestr("apple_health_export/electrocardiograms/ecg_2024-03-05.csv", ECG_CSV)
        for name, (_provider, _version, resource) in RESOURCES.items():
            zf.writestr(f"apple_health_export/clinical-records/{name}", json.dumps(resource))
    return path


def _imported(vault_dir: Path, tmp_path: Path) -> None:
    init_vault(vault_dir, "Jane Doe")
    checked(vault_dir, "import", "apple-health", str(_export(tmp_path)))


def test_clinical_records_are_shown_with_date_label_value_status_and_provider(
    vault_dir: Path, tmp_path: Path
) -> None:
    _imported(vault_dir, tmp_path)
    shown = check_json(
        "data show", checked(vault_dir, "data", "show", "clinical_record", "--json").stdout
    )
    assert len(shown) == len(RESOURCES)  # the undated allergy too
    by_id = {r["id"]: r for r in shown}
    assert by_id["o1"]["label"] == "Glucose"
    assert (by_id["o1"]["value"], by_id["o1"]["unit"]) == (95, "mg/dL")
    assert by_id["o1"]["date"] == "2022-06-01T08:30:00-04:00"
    assert by_id["o1"]["start"] == "2022-06-01T12:30:00Z"
    assert by_id["m1"]["label"] == "Apixaban 5 mg tablet"
    assert by_id["m1"]["provider"] == "Sutter Health" and by_id["m1"]["fhir_version"] == "1.0.2"
    assert by_id["i1"]["date"] == "2021-10-05" and by_id["i1"]["status"] == "completed"
    assert by_id["a1"]["date"] is None and by_id["a1"]["status"] == "active"
    assert shown[-1]["id"] == "a1"  # undated last

    text = checked(vault_dir, "data", "show", "clinical_record").stdout
    lines = text.splitlines()
    assert len(lines) == 1 + len(RESOURCES)
    glucose = next(line for line in lines if "Glucose" in line)
    assert "2022-06-01 08:30 -04:00" in glucose and "95 mg/dL" in glucose
    vaccine = next(line for line in lines if "Influenza" in line)
    assert vaccine.startswith("2021-10-05 ") and "00:00" not in vaccine  # a date stays a date
    assert "Riverside Clinic" in vaccine
    assert any(line.startswith("- ") and "Peanut" in line for line in lines)

    # A range leaves out the undated record (it is in no range) and what is outside.
    ranged = check_json(
        "data show",
        checked(
            vault_dir, "data", "show", "clinical_record", "--from", "2021-01-01", "--json"
        ).stdout,
    )
    assert {r["id"] for r in ranged} == {"o1", "i1"}


def test_an_ecg_is_shown_with_its_header_and_device(vault_dir: Path, tmp_path: Path) -> None:
    _imported(vault_dir, tmp_path)
    (ecg,) = check_json("data show", checked(vault_dir, "data", "show", "ecg", "--json").stdout)
    assert ecg["classification_text"] == "Sinus Rhythm"
    assert ecg["symptoms"] == "Rapid heartbeat" and ecg["lead"] == "Lead I"
    assert ecg["sample_rate_hz"] == 512 and ecg["samples"] == len(VOLTS)
    assert ecg["duration_s"] == len(VOLTS) / 512
    assert ecg["device"] == "Watch6,7" and ecg["offset"] == "-04:00"
    header, row = checked(vault_dir, "data", "show", "ecg").stdout.splitlines()
    assert "classification" in header and "sample rate" in header
    for cell in ("2024-03-05 09:14 -04:00", "Sinus Rhythm", "Rapid heartbeat", "512 Hz",
                 "Lead I", "Watch6,7", f"{len(VOLTS) / 512:g} s"):  # fmt: skip
        assert cell in row


def test_a_metric_that_does_not_exist_gets_close_matches(vault_dir: Path) -> None:
    init_vault(vault_dir, "Jane Doe")
    err = checked(vault_dir, "data", "show", "hrv", code=7).stderr
    assert "did you mean" in err and "hrv_sdnn" in err
    assert "steps" not in err  # not the whole list of metrics


def test_exports_carry_the_recordings_and_the_resources(vault_dir: Path, tmp_path: Path) -> None:
    _imported(vault_dir, tmp_path)
    out = tmp_path / "ecg.json"
    checked(vault_dir, "data", "export", "ecg", "--format", "fhir", "-o", str(out))
    bundle = json.loads(out.read_text())
    (entry,) = bundle["entry"]
    obs = entry["resource"]
    assert obs["id"] and entry["fullUrl"] == f"urn:uuid:{obs['id']}"
    assert obs["code"]["coding"][0]["code"] == "11524-6"
    assert [float(v) for v in obs["valueSampledData"]["data"].split()] == VOLTS
    assert obs["device"] == {"display": "Watch6,7"}  # the person's own copy keeps it

    rows = list(csv.DictReader(io.StringIO(
        checked(vault_dir, "data", "export", "ecg", "--format", "csv").stdout)))  # fmt: skip
    assert len(rows) == 1 and rows[0]["lead"] == "Lead I"
    assert rows[0]["samples"] == str(len(VOLTS)) and rows[0]["sample_rate_hz"] == "512"

    out = tmp_path / "clinical.json"
    checked(vault_dir, "data", "export", "clinical_record", "--format", "fhir", "-o", str(out))
    entries = json.loads(out.read_text())["entry"]
    resources = {name: r for name, (_p, _v, r) in RESOURCES.items()}
    assert sorted(json.dumps(e["resource"], sort_keys=True) for e in entries) == sorted(
        json.dumps(r, sort_keys=True) for r in resources.values()
    )
    for e in entries:
        name = f"{e['resource']['resourceType']}-{e['resource']['id']}.json"
        provider, version, _r = RESOURCES[name]
        assert {x["url"]: next(v for k, v in x.items() if k != "url") for x in e["extension"]} == {
            "urn:coffre:provider": provider,
            "urn:coffre:fhir-version": version,
        }
    table = checked(vault_dir, "data", "export", "clinical_record", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == len(RESOURCES)
    glucose = next(r for r in rows if r["id"] == "o1")
    assert (glucose["label"], glucose["value"], glucose["unit"]) == ("Glucose", "95", "mg/dL")
    checked(vault_dir, "data", "export", "ecg", "--format", "omh", code=7)


def test_the_dry_run_counts_records_and_a_coarse_grant_is_warned(
    vault_dir: Path, tmp_path: Path
) -> None:
    _imported(vault_dir, tmp_path)
    key = tmp_path / "lab.key"
    public = checked(None, "recipient", "keygen", "-o", str(key)).stdout.strip()
    checked(vault_dir, "recipient", "add", "Lab", "--age-key", public)
    common = ("--recipient", "Lab", "--persona", "Jane Doe", "--metrics", "ecg,clinical_record",
              "--purpose", "dpv:AcademicResearch", "--expires", "2099-01-01")  # fmt: skip
    raw = checked(vault_dir, "grant", "create", *common)
    assert "warning" not in raw.stderr
    plan = check_json(
        "export",
        checked(vault_dir, "export", raw.stdout.strip(), "-n", "--json").stdout,
    )
    counted = {m["metric"]: (m["count"], m["counted"], m["undated"]) for m in plan["metrics"]}
    undated = sum(1 for _p, _v, r in RESOURCES.values() if r["id"] == "a1")
    assert counted == {
        "ecg": (1, "recordings", 0),
        "clinical_record": (len(RESOURCES), "records", undated),
    }
    text = checked(vault_dir, "export", raw.stdout.strip(), "-n").stdout
    assert "1 ECG recording," in text
    assert f"{len(RESOURCES)} clinical records" in text and "without a date" in text
    assert "samples" not in text

    daily = checked(vault_dir, "grant", "create", *common, "--granularity", "day")
    assert "ECG recordings are only sent at raw granularity" in daily.stderr
    assert "clinical records are only sent at raw granularity" in daily.stderr
    text = checked(vault_dir, "export", daily.stdout.strip(), "-n").stdout
    assert "note: ECG recordings are only sent at raw granularity" in text
