"""Health records that are not series of numbers: ECG recordings and clinical (FHIR) records.

Each is one encrypted record (an ECG's voltages in a blob beside it), found by persona; each
also adds one sample to a registry metric (`ecg`, `clinical_record`), so listings, grants by
metric or DPV category, and forgetting by metric and range reach them like any other data.

- ``qs.ecg``       one recording: its header (JSON) and its voltages as a blob of
                   little-endian float32; terms ``persona`` and ``ek`` (dedup key)
- ``qs.clinical``  one FHIR resource as the provider wrote it; terms ``persona`` and ``ck``
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import MalformedInput
from vault.core.i18n import N_
from vault.data.model import ClinicalRecord, Ecg

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from vault.core.records import BlobRef
    from vault.core.store import Store
    from vault.core.txn import Txn
    from vault.core.vault import Vault

KIND_ECG: Final = "qs.ecg"
KIND_CLINICAL: Final = "qs.clinical"
ECG_METRIC: Final = "ecg"
CLINICAL_METRIC: Final = "clinical_record"
# The metrics whose samples stand for records of their own, and the kind of those records:
# what reads, shares or forgets the samples does the same to the records over the same range.
RECORD_KINDS: Final = {ECG_METRIC: KIND_ECG, CLINICAL_METRIC: KIND_CLINICAL}
MAX_FHIR_BYTES: Final = 16 << 20  # one resource; real ones are a few kB
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_FHIR_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
# Where each resource type keeps the date that places it in time, R4 names then DSTU2's
# (Apple's exports hold both versions, by provider). The first present one is used.
_DATE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "AllergyIntolerance": ("onsetDateTime", "recordedDate", "onset", "assertedDate"),
    "Condition": ("onsetDateTime", "recordedDate", "dateRecorded", "assertedDate"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "DocumentReference": ("date", "created", "indexed"),
    "Immunization": ("occurrenceDateTime", "date", "recorded"),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
    "MedicationOrder": ("dateWritten",),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "Observation": ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
    "Procedure": ("performedDateTime", "performedPeriod"),
}
_SUMMARY_FIELDS: Final = ("code", "medicationCodeableConcept", "vaccineCode", "substance", "type")


# --- reading FHIR resources ---------------------------------------------------------------------


def fhir_instant(text: object) -> int | None:
    """A FHIR date, dateTime or instant (`2019`, `2019-03`, `2019-03-14T10:00:00-05:00`) as
    UTC ms at its first moment; None if it is not one. A date without a zone is read as UTC."""
    if not isinstance(text, str):
        return None
    m = _FHIR_DATE.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        tz = dt.UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        moment = dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _resource_date(resource: dict[str, Any]) -> int | None:
    for name in _DATE_FIELDS.get(resource["resourceType"], ()):
        value = resource.get(name)
        if isinstance(value, dict):  # a Period: its start, else its end
            value = value.get("start", value.get("end"))
        found = fhir_instant(value)
        if found is not None:
            return found
    meta = resource.get("meta")
    return fhir_instant(meta.get("lastUpdated")) if isinstance(meta, dict) else None


def _summary(resource: dict[str, Any]) -> str:
    """The text a person reads for a resource: its code's text or first coding's display."""
    for name in _SUMMARY_FIELDS:
        concept = resource.get(name)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        if not isinstance(concept, dict):
            continue
        text = concept.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()[:200]
        codings = concept.get("coding")
        if isinstance(codings, list):
            for coding in codings:
                if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                    return str(coding["display"]).strip()[:200]
    return ""


def read_fhir_resource(data: bytes, name: str, source: str = "") -> ClinicalRecord:
    """One FHIR resource (JSON) checked for the structure every resource shares: a JSON
    object naming its `resourceType`, with an `id` string if it has one, and well-formed
    JSON throughout. MalformedInput (naming the file, never quoting it) otherwise.

    The full FHIR models (fhir.resources) are a test dependency only, so the library checks
    the shape every version (DSTU2, STU3, R4) shares; the tests validate with the models.
    """
    if len(data) > MAX_FHIR_BYTES:
        raise MalformedInput(
            N_("{name}: larger than a FHIR resource can be ({size} bytes)"),
            name=name,
            size=len(data),
        )
    try:
        resource = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise MalformedInput(N_("{name}: not UTF-8 text"), name=name) from None
    except (ValueError, RecursionError):
        raise MalformedInput(N_("{name}: not valid JSON"), name=name) from None
    if not isinstance(resource, dict):
        raise MalformedInput(N_("{name}: not a FHIR resource (not a JSON object)"), name=name)
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not _RESOURCE_TYPE.fullmatch(kind):
        raise MalformedInput(N_("{name}: not a FHIR resource (no valid resourceType)"), name=name)
    if "id" in resource and not isinstance(resource["id"], str):
        raise MalformedInput(N_("{name}: the resource's id is not a string"), name=name)
    canonical = json.dumps(resource, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return ClinicalRecord(
        resource_type=kind,
        resource=canonical.encode(),
        date=_resource_date(resource),
        summary=_summary(resource),
        file=name,
        source=source,
    )


# --- storing ------------------------------------------------------------------------------------


def ecg_key(persona_id: str, ecg: Ecg) -> str:
    """The same recording imported twice has the same key: its start and its voltages."""
    digest = hashlib.sha256(ecg.voltages).hexdigest()[:32]
    return f"{persona_id}:{ecg.start}:{digest}"


def store_ecg(txn: Txn, store: Store, persona_id: str, ecg: Ecg) -> bool:
    """Store a recording unless it is already there; whether it was stored."""
    key = ecg_key(persona_id, ecg)
    if store.find(KIND_ECG, "ek", key):
        return False
    blob = txn.write_blob([ecg.voltages])
    header = {
        "persona": persona_id,
        "start": ecg.start,
        "end": ecg.end,
        "offset_min": ecg.offset_min,
        "samples": ecg.count,
        "sample_rate_hz": ecg.sample_rate_hz,
        "unit": ecg.unit,
        "classification": ecg.classification,
        "classification_text": ecg.classification_text,
        "symptoms": ecg.symptoms,
        "lead": ecg.lead,
        "software_version": ecg.software_version,
        "average_heart_rate": ecg.average_heart_rate,
        "device": ecg.device,
        "source": ecg.source,
        "file": ecg.file,
    }
    txn.put(
        KIND_ECG,
        json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode(),
        terms=[("persona", persona_id), ("ek", key)],
        blobs=[blob],
        compress=True,
    )
    return True


def store_clinical(txn: Txn, store: Store, persona_id: str, record: ClinicalRecord) -> bool:
    """Store a FHIR resource unless the same one is already there; whether it was stored."""
    key = f"{persona_id}:{hashlib.sha256(record.resource).hexdigest()[:32]}"
    if store.find(KIND_CLINICAL, "ck", key):
        return False
    body = {
        "persona": persona_id,
        "resource_type": record.resource_type,
        "date": record.date,
        "summary": record.summary,
        "file": record.file,
        "source": record.source,
        "resource": json.loads(record.resource),
    }
    txn.put(
        KIND_CLINICAL,
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        terms=[("persona", persona_id), ("ck", key)],
        compress=True,
    )
    return True


# --- reading back -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEcg:
    """A stored recording's header; its voltages are read on demand (`ecg_voltages`)."""

    record_id: str
    header: dict[str, Any]
    voltages: BlobRef | None = None  # the blob of its voltages, as the record names it

    @property
    def start(self) -> int:
        return int(self.header["start"])


@dataclass(frozen=True)
class StoredClinical:
    record_id: str
    resource_type: str
    date: int | None
    summary: str
    resource: dict[str, Any]


def list_ecgs(
    vault: Vault, persona_id: str, start: int | None = None, end: int | None = None
) -> list[StoredEcg]:
    """The persona's recordings starting in [start, end), oldest first."""
    found = (
        StoredEcg(r.id, r.json(), r.blobs[0] if r.blobs else None)
        for r in vault.store.find(KIND_ECG, "persona", persona_id)
    )
    return sorted((e for e in found if _in_span(e.start, start, end)), key=lambda e: e.start)


def ecg_voltages(vault: Vault, ecg: StoredEcg) -> npt.NDArray[np.float32]:
    """A recording's voltages, in its header's unit."""
    import numpy as np

    # The blob ref came with the header when the recording was listed: no second decryption.
    ref = ecg.voltages or vault.store.get(KIND_ECG, ecg.record_id).blobs[0]
    raw = b"".join(vault.store.read_blob(ref))
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def list_clinical(
    vault: Vault, persona_id: str, start: int | None = None, end: int | None = None
) -> list[StoredClinical]:
    """The persona's clinical records dated in [start, end) (undated ones only when no range
    is asked), oldest first, undated last."""
    out = []
    for r in vault.store.find(KIND_CLINICAL, "persona", persona_id):
        body = r.json()
        date = body["date"]
        if (start is not None or end is not None) and (
            date is None or not _in_span(date, start, end)
        ):
            continue
        out.append(
            StoredClinical(r.id, body["resource_type"], date, body["summary"], body["resource"])
        )
    return sorted(out, key=lambda c: (c.date is None, c.date or 0, c.resource_type))


def _in_span(moment: int, start: int | None, end: int | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment < end)


def record_ids(
    vault: Vault, kind: str, persona_id: str, start: int | None, end: int | None
) -> Iterator[str]:
    """Ids of the persona's records of `kind` (ECG or clinical) in [start, end), for forget."""
    if kind == KIND_ECG:
        yield from (e.record_id for e in list_ecgs(vault, persona_id, start, end))
    else:
        yield from (c.record_id for c in list_clinical(vault, persona_id, start, end))


# --- FHIR out -----------------------------------------------------------------------------------


def ecg_observation(
    ecg: StoredEcg,
    voltages: npt.NDArray[np.float32],
    subject: str | None = None,
    *,
    include_device: bool = True,
) -> dict[str, Any]:
    """A recording as a FHIR R4 Observation (LOINC 11524-6, EKG study) whose valueSampledData
    holds the voltages, as HL7's example `ekg` Observation does: `period` is milliseconds
    between samples, `data` the values separated by spaces."""
    h = ecg.header
    unit = str(h["unit"])
    components: list[dict[str, Any]] = []
    if h.get("average_heart_rate") is not None:
        components.append(
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "valueQuantity": {
                    "value": h["average_heart_rate"],
                    "unit": "/min",
                    "system": "http://unitsofmeasure.org",
                    "code": "/min",
                },
            }
        )
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "procedure",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "11524-6", "display": "EKG study"}],
            "text": f"ECG ({h.get('lead') or 'single lead'})",
        },
        "effectivePeriod": {"start": _iso(h["start"]), "end": _iso(h["end"])},
        "valueSampledData": {
            "origin": {
                "value": 0,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
            "period": 1000.0 / float(h["sample_rate_hz"]),
            "dimensions": 1,
            "data": " ".join(f"{v:.3f}".rstrip("0").rstrip(".") or "0" for v in voltages.tolist()),
        },
        "interpretation": [{"text": h.get("classification_text") or h["classification"]}],
    }
    if h.get("symptoms"):
        obs["note"] = [{"text": f"Symptoms: {h['symptoms']}"}]
    if subject:
        obs["subject"] = {"reference": subject}
    if include_device and h.get("device"):
        obs["device"] = {"display": h["device"]}
    if components:
        obs["component"] = components
    return obs


def bundle_documents(
    vault: Vault,
    persona_id: str,
    metric: str,
    *,
    start: int | None,
    end: int | None,
    subject: str,
    now: dt.datetime,
) -> list[tuple[str, bytes]]:
    """The files a bundle carries beside a metric's samples: for `ecg`, the recordings in
    [start, end) as FHIR Observations with their voltages; for `clinical_record`, the
    resources dated in it, as the providers wrote them. Device names stay out, as they do
    for every sample; nothing for other metrics or when there is none."""
    if metric == ECG_METRIC:
        resources = [
            ecg_observation(e, ecg_voltages(vault, e), subject, include_device=False)
            for e in list_ecgs(vault, persona_id, start, end)
        ]
    elif metric == CLINICAL_METRIC:
        # Undated records have no sample and are in no span: a grant over all time has them.
        unbounded = start is None and end is None
        resources = [
            c.resource
            for c in list_clinical(vault, persona_id, start, end)
            if c.date is not None or unbounded
        ]
    else:
        return []
    if not resources:
        return []
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources],
    }
    name = "ecg-recordings" if metric == ECG_METRIC else "clinical-records"
    text = json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"
    return [(f"data/qs/{name}.fhir.json", text.encode("utf-8"))]


def _iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
