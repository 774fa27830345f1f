"""Health records that are not series of numbers: ECG recordings and clinical (FHIR) records.

Each is one encrypted record (an ECG's voltages in a blob beside it), found by persona; each
also adds one sample to a registry metric (`ecg`, `clinical_record`), so listings, grants by
metric or DPV category, and forgetting by metric and range reach them like any other data.

- ``qs.ecg``       one recording: its header (JSON) and its voltages as a blob of
                   little-endian float32; terms ``persona`` and ``ek`` (dedup key)
- ``qs.clinical``  one FHIR resource as the provider wrote it; terms ``persona`` and ``ck``
                   (its identity: provider, resourceType and id)

A clinical record is one resource of one provider: the same resourceType and id from the same
provider is the same record, and a later version of it replaces the stored one (the version
a provider amended), unless its `meta.lastUpdated` says it is older. Its sample names the
record (`chunks.RECORD_KEY`), so two records at the same instant are two samples.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

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
# Where each resource type keeps the date that places it in time, in the order tried: R4
# (4.0.1) names, then DSTU2's (1.0.2, which Epic sends) and STU3's where they differ; Apple's
# exports hold both versions, by provider. The clinical moment (onset, effective, performed,
# occurrence) comes before the moment it was written down (recorded, asserted, issued). A
# Period (a name ending in `Period`, or `period`) is placed at its start, else its end; a
# dotted name is a field inside another. `meta.lastUpdated` is never used: it is when the
# server last changed the resource, so an amended record would move in time with each edit.
_DATE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "AllergyIntolerance": (
        "onsetDateTime",  # R4
        "onsetPeriod",
        "onset",  # DSTU2
        "recordedDate",  # R4, DSTU2
        "assertedDate",  # STU3
        "lastOccurrence",
        "lastOccurence",  # DSTU2 spells it so
    ),
    "CarePlan": ("period", "created"),
    "CareTeam": ("period",),
    "Claim": ("billablePeriod", "created"),
    "Condition": (
        "onsetDateTime",
        "onsetPeriod",
        "recordedDate",  # R4
        "dateRecorded",  # DSTU2
        "assertedDate",  # STU3
    ),
    "Coverage": ("period",),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "DocumentReference": ("date", "created", "context.period", "indexed"),
    "Encounter": ("period",),
    "ExplanationOfBenefit": ("billablePeriod", "created"),
    "FamilyMemberHistory": ("date",),
    "Goal": ("startDate", "statusDate"),
    "Immunization": ("occurrenceDateTime", "date", "recorded"),  # `date`: DSTU2
    "MedicationAdministration": (
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveTimeDateTime",  # DSTU2
        "effectiveTimePeriod",
    ),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
    "MedicationOrder": ("dateWritten",),  # DSTU2; R4 calls it MedicationRequest
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "Observation": (
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "issued",
    ),
    "Procedure": ("performedDateTime", "performedPeriod"),
    "ProcedureRequest": (  # STU3, then DSTU2
        "occurrenceDateTime",
        "occurrencePeriod",
        "authoredOn",
        "scheduledDateTime",
        "scheduledPeriod",
        "orderedOn",
    ),
    "ServiceRequest": ("occurrenceDateTime", "occurrencePeriod", "authoredOn"),
    "Specimen": ("collection.collectedDateTime", "collection.collectedPeriod", "receivedTime"),
}
_FHIR_VERSION = re.compile(r"\d{1,2}\.\d{1,2}(?:\.\d{1,2})?")
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
    """The UTC ms that places a resource in time (`_DATE_FIELDS`), None if it has none."""
    for name in _DATE_FIELDS.get(resource["resourceType"], ()):
        value: Any = resource
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, dict):  # a Period: its start, else its end
            found = fhir_instant(value.get("start"))
            if found is None:
                found = fhir_instant(value.get("end"))
        else:
            found = fhir_instant(value)
        if found is not None:
            return found
    return None


def _last_updated(resource: dict[str, Any]) -> int | None:
    meta = resource.get("meta")
    return fhir_instant(meta.get("lastUpdated")) if isinstance(meta, dict) else None


def resource_date_text(resource: dict[str, Any]) -> str | None:
    """The date that places a resource in time as the provider wrote it (`2021-05-01`,
    `2019-04-02T10:00:00-05:00`), from the same fields `_resource_date` reads, or None:
    what is shown keeps a date-only value a date, not midnight UTC."""
    names = (*_DATE_FIELDS.get(str(resource.get("resourceType")), ()), "meta")
    for name in names:
        value = resource.get(name)
        if name == "meta":
            value = value.get("lastUpdated") if isinstance(value, dict) else None
        elif isinstance(value, dict):
            value = value.get("start", value.get("end"))
        if fhir_instant(value) is not None:
            return str(value).strip()
    return None


def concept_text(concept: object, keys: tuple[str, ...] = ("display", "code")) -> str:
    """A CodeableConcept (or the first of a list of them, or a plain string) as a person
    reads it: its text, else the first coding's value under the first of `keys` any coding
    has (its display, else its code)."""
    if isinstance(concept, list):
        concept = concept[0] if concept else None
    if not isinstance(concept, dict):
        return concept.strip() if isinstance(concept, str) else ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    codings = concept.get("coding")
    for key in keys:
        for coding in codings if isinstance(codings, list) else ():
            if isinstance(coding, dict) and isinstance(coding.get(key), str):
                return str(coding[key]).strip()
    return ""


def _summary(resource: dict[str, Any]) -> str:
    """The text a person reads for a resource: its code's text or first coding's display."""
    for name in _SUMMARY_FIELDS:
        concept = resource.get(name)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        text = concept_text(concept, ("display",)) if isinstance(concept, dict) else ""
        if text:
            return text[:200]
    return ""


def read_fhir_resource(
    data: bytes, name: str, source: str = "", fhir_version: str = ""
) -> ClinicalRecord:
    """One FHIR resource (JSON) checked for the structure every resource shares: a JSON
    object naming its `resourceType`, with an `id` string if it has one, and well-formed
    JSON throughout. MalformedInput (naming the file, never quoting it) otherwise.
    `fhir_version` is the release the export says the provider wrote, kept as it is.

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
    return ClinicalRecord(
        resource_type=kind,
        resource=_canonical(resource),
        date=_resource_date(resource),
        summary=_summary(resource),
        file=name,
        source=source,
        fhir_version=fhir_version if _FHIR_VERSION.fullmatch(fhir_version) else "",
        resource_id=resource.get("id", ""),
        last_updated=_last_updated(resource),
    )


def _canonical(resource: dict[str, Any]) -> bytes:
    """A resource's JSON in one form (sorted keys, no spaces): equal resources, equal bytes."""
    text = json.dumps(resource, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode()


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


Outcome = Literal["added", "updated", "unchanged", "older"]


@dataclass(frozen=True)
class KnownClinical:
    """What an import needs of a stored clinical record to decide what a resource does to it."""

    record_id: str
    digest: str  # of the resource's canonical JSON: an equal digest is the same version
    last_updated: int | None
    date: int | None
    source: str
    resource_type: str


def clinical_identity(source: str, resource_type: str, resource_id: str, resource: bytes) -> str:
    """What makes two resources the same record: the provider, the resourceType and the id
    (the id is unique only within one server and type); a resource without an id is the same
    record only as exactly the same content."""
    if resource_id:
        return json.dumps([source, resource_type, resource_id], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(resource).hexdigest()


@dataclass
class ClinicalIndex:
    """The persona's stored clinical records by identity, read once per import (a few
    thousand small records at most). `twins` holds records stored beside another of the same
    identity before identities were kept (each version of an amended resource became a record
    of its own): the import that reads that resource again folds them into one."""

    known: dict[str, KnownClinical]
    twins: dict[str, list[KnownClinical]]

    def records(self) -> list[KnownClinical]:
        """Every stored record, twins included."""
        return [*self.known.values(), *(t for ts in self.twins.values() for t in ts)]


@dataclass(frozen=True)
class ClinicalOutcome:
    """What storing one resource did: `outcome`, the record as stored now (None when nothing
    was written), the record as it was before an update, and the twins it folded (deleted)."""

    outcome: Outcome
    new: KnownClinical | None = None
    old: KnownClinical | None = None
    folded: tuple[KnownClinical, ...] = ()


def known_clinical(store: Store, persona_id: str) -> ClinicalIndex:
    """The persona's stored clinical records by identity; records stored before identities
    were kept in their lookup term are found the same way."""
    index = ClinicalIndex({}, {})
    for r in store.find(KIND_CLINICAL, "persona", persona_id):
        body = r.json()
        resource = body["resource"]
        canonical = _canonical(resource)
        rid = resource.get("id", "") if isinstance(resource.get("id"), str) else ""
        identity = clinical_identity(body["source"], body["resource_type"], rid, canonical)
        found = KnownClinical(
            r.id,
            hashlib.sha256(canonical).hexdigest(),
            body.get("last_updated", _last_updated(resource)),
            body["date"],
            body["source"],
            body["resource_type"],
        )
        if identity in index.known:
            index.twins.setdefault(identity, []).append(found)
        else:
            index.known[identity] = found
    return index


def store_clinical(
    txn: Txn, index: ClinicalIndex, persona_id: str, record: ClinicalRecord
) -> ClinicalOutcome:
    """Store a FHIR resource as a new record, as the new version of the record it is, or not
    at all (already stored as it is, or older than the stored version by `meta.lastUpdated`).

    `index` (from `known_clinical`) is kept up to date. An update seals the new version under
    a fresh key over the old one, whose bytes are overwritten in place (the store's secure
    delete): the replaced version is not kept. Twins of the resource are folded: the one equal
    to it (else the first found) is kept, the others deleted, and the outcome is at least
    "updated", since the stored versions changed.
    """
    # In the one form `known_clinical` reads back, however the caller wrote it.
    resource = json.loads(record.resource)
    canonical = _canonical(resource)
    rid = record.resource_id or (resource["id"] if isinstance(resource.get("id"), str) else "")
    identity = clinical_identity(record.source, record.resource_type, rid, canonical)
    digest = hashlib.sha256(canonical).hexdigest()
    folded: tuple[KnownClinical, ...] = ()
    twins = index.twins.pop(identity, None)
    if twins:
        versions = [index.known[identity], *twins]
        keep = next((v for v in versions if v.digest == digest), versions[0])
        folded = tuple(v for v in versions if v is not keep)
        for v in folded:
            txn.delete(KIND_CLINICAL, v.record_id)
        index.known[identity] = keep
    old = index.known.get(identity)
    redated = False
    if old is not None:
        if old.digest == digest and old.date == record.date:
            return ClinicalOutcome("updated" if folded else "unchanged", folded=folded)
        # The same content placed at another date: stored before its type's date was read
        # (a Coverage's period), it is placed again, and is no new version.
        redated = old.digest == digest
        if (
            not redated
            and old.last_updated is not None
            and record.last_updated is not None
            and record.last_updated < old.last_updated
        ):
            return ClinicalOutcome("updated" if folded else "older", folded=folded)
    body = {
        "persona": persona_id,
        "resource_type": record.resource_type,
        "date": record.date,
        "last_updated": record.last_updated,
        "summary": record.summary,
        "file": record.file,
        "source": record.source,
        "fhir_version": record.fhir_version,
        "resource": resource,
    }
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    key = f"{persona_id}:{hashlib.sha256(identity.encode()).hexdigest()[:32]}"
    terms = [("persona", persona_id), ("ck", key)]
    if old is None:
        record_id = txn.put(KIND_CLINICAL, data, terms=terms, compress=True)
    else:
        record_id = old.record_id
        txn.update(KIND_CLINICAL, record_id, data, terms=terms, compress=True)
    new = KnownClinical(
        record_id, digest, record.last_updated, record.date, record.source, record.resource_type
    )
    index.known[identity] = new
    if old is None:
        return ClinicalOutcome("added", new, None, folded)
    return ClinicalOutcome("unchanged" if redated and not folded else "updated", new, old, folded)


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
    """A stored FHIR resource, with what the import learnt beside it: its provider and the
    FHIR release it is written in (empty when the export did not say)."""

    record_id: str
    resource_type: str
    date: int | None
    summary: str
    resource: dict[str, Any]
    source: str = ""
    fhir_version: str = ""


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
            StoredClinical(
                r.id,
                body["resource_type"],
                date,
                body["summary"],
                body["resource"],
                str(body.get("source") or ""),
                str(body.get("fhir_version") or ""),
            )
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
    between samples, `data` the values separated by spaces. Its `id` is random, as every
    exported item's is, so two recipients cannot match their copies up by it."""
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
        "id": str(uuid.uuid4()),
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


# Where a clinical Bundle's entry says what the bundle format cannot: the provider that wrote
# the resource and the FHIR release it is written in (DSTU2 and R4 both occur in one export).
PROVIDER_EXTENSION: Final = "urn:coffre:provider"
VERSION_EXTENSION: Final = "urn:coffre:fhir-version"
RECORD_FILES: Final = {ECG_METRIC: "ecg-recordings", CLINICAL_METRIC: "clinical-records"}


def ecg_entries(
    vault: Vault, ecgs: list[StoredEcg], subject: str | None, *, include_device: bool
) -> list[dict[str, Any]]:
    """The Bundle entries of recordings: each an Observation with its voltages."""
    entries = []
    for e in ecgs:
        obs = ecg_observation(e, ecg_voltages(vault, e), subject, include_device=include_device)
        entries.append({"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs})
    return entries


def clinical_entries(records: list[StoredClinical]) -> list[dict[str, Any]]:
    """The Bundle entries of clinical records: each resource as the provider wrote it, the
    provider and the FHIR release beside it, as extensions of the entry (the resource itself
    is left untouched, so a provider's signature or hash over it still holds)."""
    entries = []
    for c in records:
        extensions = []
        if c.source:
            extensions.append({"url": PROVIDER_EXTENSION, "valueString": c.source})
        if c.fhir_version:
            extensions.append({"url": VERSION_EXTENSION, "valueCode": c.fhir_version})
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{uuid.uuid4()}"}
        if extensions:
            entry["extension"] = extensions
        entry["resource"] = c.resource
        entries.append(entry)
    return entries


def records_bundle(entries: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """A FHIR Bundle of type `collection` holding ENTRIES, stamped `now`."""
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "entry": entries,
    }


def records_in(
    vault: Vault, persona_id: str, metric: str, start: int | None, end: int | None
) -> list[StoredEcg] | list[StoredClinical]:
    """The recordings (`ecg`) or clinical records (`clinical_record`) a selection over
    [start, end) holds: undated clinical records only when the range is all time."""
    if metric == ECG_METRIC:
        return list_ecgs(vault, persona_id, start, end)
    return list_clinical(vault, persona_id, start, end)


def bundle_documents(
    vault: Vault,
    persona_id: str,
    metric: str,
    *,
    start: int | None,
    end: int | None,
    subject: str,
    now: dt.datetime,
) -> list[tuple[str, bytes, int]]:
    """What a bundle carries for `ecg` or `clinical_record` at raw granularity, as (file
    name, bytes, records): the recordings in [start, end) as FHIR Observations with their
    voltages, or the resources dated in it (undated ones too over all time) as the providers
    wrote them, with each one's provider and FHIR release. Device names stay out, as they
    do for every sample; nothing for other metrics or when there is none."""
    if metric == ECG_METRIC:
        entries = ecg_entries(
            vault, list_ecgs(vault, persona_id, start, end), subject, include_device=False
        )
    elif metric == CLINICAL_METRIC:
        entries = clinical_entries(list_clinical(vault, persona_id, start, end))
    else:
        return []
    if not entries:
        return []
    text = json.dumps(records_bundle(entries, now), ensure_ascii=False, indent=1) + "\n"
    return [(f"data/qs/{RECORD_FILES[metric]}.fhir.json", text.encode("utf-8"), len(entries))]


def _iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
