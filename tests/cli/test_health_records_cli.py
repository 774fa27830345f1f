"""`coffre import apple-health` with ECGs, beat lists and clinical records, then `data metrics`
and `data show` on them: the shapes docs/cli.md gives, and nothing said to be left out.

The export is a faithful reproduction of the layout docs/formats.md describes (no real Apple
export with ECGs or clinical records could be had under a permissive licence)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli.conftest import check_json, checked, init_vault

EXPORT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_US">
 <ExportDate value="2024-04-01 00:00:00 +0000"/>
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" unit="ms"
   startDate="2024-03-05 20:29:58 -0500" endDate="2024-03-05 20:30:58 -0500" value="48.5">
  <HeartRateVariabilityMetadataList>
   <InstantaneousBeatsPerMinute bpm="55" time="8:29:59.42 PM"/>
   <InstantaneousBeatsPerMinute bpm="57" time="8:30:00.47 PM"/>
   <InstantaneousBeatsPerMinute bpm="56" time="8:30:01.52 PM"/>
  </HeartRateVariabilityMetadataList>
 </Record>
 <ClinicalRecord type="HKClinicalTypeIdentifierConditionRecord" identifier="c1"
   sourceName="Example Hospital" sourceURL="https://fhir.example/" fhirVersion="4.0.1"
   receivedDate="2024-01-01 10:00:00 +0000" resourceFilePath="/clinical-records/Condition-c1.json"/>
</HealthData>
"""
ECG_HEAD = (
    'Name,Sam Example\nDate of Birth,"Feb 5, 1952"\nRecorded Date,2024-03-05 09:14:40 -0400\n'
    'Classification,Atrial Fibrillation\nSymptoms,\nSoftware Version,1.90\nDevice,"Watch6,7"\n'
    "Sample Rate,512 hertz\n\n\nLead,Lead I\nUnit,\u00b5V\n\n\n"
)
CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"text": "Paroxysmal atrial fibrillation"},
    "subject": {"reference": "Patient/p1"},
    "recordedDate": "2023-11-20",
}


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "export.zip"
    volts = "\n".join(f"{(i % 97) - 48}.125" for i in range(1024))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("apple_health_export/export.xml", EXPORT_XML)
        zf.writestr("apple_health_export/electrocardiograms/ecg_2024-03-05.csv", ECG_HEAD + volts)
        zf.writestr("apple_health_export/clinical-records/Condition-c1.json", json.dumps(CONDITION))
        zf.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    return path


def test_an_export_with_ecgs_and_records_lists_and_shows_them(
    vault_dir: Path, tmp_path: Path
) -> None:
    init_vault(vault_dir, "Jane Doe")
    out = checked(vault_dir, "import", "apple-health", str(_export(tmp_path)), "--json").stdout
    summary = check_json("import", out)
    assert summary["errors"] == []
    assert not any("audiogram" in n or "beat-to-beat" in n for n in summary["notes"])
    assert any("export_cda.xml was not read" in n for n in summary["notes"])

    listed = check_json("data metrics", checked(vault_dir, "data", "metrics", "--json").stdout)
    counts = {m["metric"]: m["samples"] for m in listed}
    assert counts == {"ecg": 1, "clinical_record": 1, "hrv_sdnn": 1, "heart_rate_beat": 3}

    shown = checked(vault_dir, "data", "show", "ecg", "--json").stdout
    (ecg,) = check_json("data show", shown)
    assert ecg["classification"] == "atrial_fibrillation"
    assert ecg["start"] == "2024-03-05T13:14:40Z" and ecg["end"] == "2024-03-05T13:14:42Z"
    shown = checked(vault_dir, "data", "show", "clinical_record", "--json").stdout
    (record,) = check_json("data show", shown)
    assert record["resource_type"] == "Condition"
    beats = check_json(
        "data show", checked(vault_dir, "data", "show", "heart_rate_beat", "--json").stdout
    )
    assert [b["value"] for b in beats] == [55.0, 57.0, 56.0]
    text = checked(vault_dir, "data", "metrics").stdout
    assert "ecg" in text and "heart_rate_beat" in text and "clinical_record" in text


def test_the_summary_counts_clinical_records_in_their_own_words(
    vault_dir: Path, tmp_path: Path
) -> None:
    """A lab report and its result at one instant, then the result amended: the summary says
    records added, updated and already stored, not samples or duplicates."""
    init_vault(vault_dir, "Jane Doe")
    at = "2019-01-09T08:15:00Z"
    lab = {
        "resourceType": "Observation",
        "id": "glu",
        "status": "final",
        "effectiveDateTime": at,
        "valueQuantity": {"value": 92, "unit": "mg/dL"},
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "bmp",
        "status": "final",
        "effectiveDateTime": at,
        "result": [{"reference": "Observation/glu"}],
    }
    undated = {"resourceType": "AllergyIntolerance", "id": "nka"}  # fmt: skip

    def export(name: str, resources: list[dict[str, object]]) -> str:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("apple_health_export/export.xml", '<HealthData locale="en_US"/>')
            for r in resources:
                zf.writestr(f"apple_health_export/clinical-records/{r['id']}.json", json.dumps(r))
        return str(path)

    first = [lab, report, undated]
    out = checked(vault_dir, "import", "apple-health", export("a.zip", first)).stdout
    assert f"Clinical records: {len(first)} added, 0 updated, 0 already stored." in out
    assert "1 has no date: it is listed, but counted under no day." in out
    listed = check_json("data metrics", checked(vault_dir, "data", "metrics", "--json").stdout)
    dated = sum("effectiveDateTime" in r for r in first)
    assert {m["metric"]: m["samples"] for m in listed} == {"clinical_record": dated}

    second = [{**lab, "status": "amended", "valueQuantity": {"value": 195, "unit": "mg/dL"}}]
    out = checked(vault_dir, "import", "apple-health", export("b.zip", second + first[1:]))
    assert f"Clinical records: 0 added, 1 updated, {len(first) - 1} already stored." in out.stdout
    shown = check_json(
        "data show", checked(vault_dir, "data", "show", "clinical_record", "--json").stdout
    )
    # One entry per record, the amended one once; the undated one listed too, without a date.
    assert sorted(r["id"] for r in shown) == sorted(r["id"] for r in first)
    assert sum(r["date"] is not None for r in shown) == dated
