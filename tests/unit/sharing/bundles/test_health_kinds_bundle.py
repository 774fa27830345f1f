"""Fitbit's scores and nightly skin temperature and Apple's hearing thresholds in bundles: a
grant naming them sends the samples in range as FHIR Observations coded with their metric
(validated with fhir.resources) and as CSV; nothing out of range or of another persona
leaves, and the source names stay home."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from tests.builders import HEALTH_KINDS, World, bundle_members, health_kind_samples, make_grant
from vault.core.vault import Vault
from vault.data import metrics
from vault.data.ingest import QSWriter
from vault.sharing import ScopeRequest
from vault.sharing import bundles as bundle

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
IN_RANGE = ("2026-10-11", "2026-10-15")  # inside the builders' grant range (10 to 19 October)
OUT_OF_RANGE = "2026-10-25"


def _fill(vault: Vault, world: World) -> None:
    with QSWriter(vault, world.persona.id) as w:
        for day in (*IN_RANGE, OUT_OF_RANGE):
            for sample in health_kind_samples(day, "SecretTrackerName"):
                w.add(sample)
    with QSWriter(vault, world.other.id) as w:
        for sample in health_kind_samples(IN_RANGE[0], "OtherPersonaTracker"):
            w.add(sample)


def test_a_grant_naming_the_new_kinds_sends_them_in_range(
    fresh_vault: Vault, world: World, tmp_path: Path
) -> None:
    _fill(fresh_vault, world)
    names = ",".join(metric for metric, *_ in HEALTH_KINDS)
    grant = make_grant(fresh_vault, world, scope=ScopeRequest(metrics=names))
    bundle.export_bundle(fresh_vault, grant.id, tmp_path / "b.age", now=NOW)
    files = bundle_members(tmp_path / "b.age", world.identity)
    for metric, unit, value, _span in HEALTH_KINDS:
        fhir = Bundle.model_validate_json(files[f"data/qs/{metric}.fhir.json"])
        observations = [Observation.model_validate(e.resource.model_dump()) for e in fhir.entry]
        assert len(observations) == len(IN_RANGE), metric
        for obs in observations:
            (coding,) = obs.code.coding
            assert (coding.system, coding.code) == ("urn:coffre:qs-metric", metric)
            assert obs.code.text == metrics.get(metric).name
            assert float(obs.valueQuantity.value) == value
            assert obs.valueQuantity.unit == unit
        rows = list(csv.DictReader(io.StringIO(files[f"data/qs/{metric}.csv"].decode())))
        assert sorted(r["start"][:10] for r in rows) == list(IN_RANGE)
    everything = b"".join(files.values())
    assert b"SecretTrackerName" not in everything
    assert b"OtherPersonaTracker" not in everything


def test_the_profile_leaves_only_under_a_grant_that_names_it(
    fresh_vault: Vault, world: World, tmp_path: Path, corpus: Path
) -> None:
    """Apple's <Me> became sensitive attributes: a grant of data alone sends none of them;
    one naming `field.blood_type` and `birth_date` sends those two in the identity card."""
    from vault.data.importers import import_apple_health

    import_apple_health(fresh_vault, world.persona.id, corpus / "apple-health/ahcd-export.xml")
    birth = b"2020-09-13"  # the file's HKCharacteristicTypeIdentifierDateOfBirth
    data_only = make_grant(fresh_vault, world, scope=ScopeRequest(metrics="heart_rate"))
    bundle.export_bundle(fresh_vault, data_only.id, tmp_path / "data.age", now=NOW)
    sent = b"".join(bundle_members(tmp_path / "data.age", world.identity).values())
    assert birth not in sent and birth.replace(b"-", b"") not in sent
    assert b"blood_type" not in sent.lower()  # (B+ alone could be base64 of a signature)
    named = make_grant(
        fresh_vault, world, scope=ScopeRequest(attributes="field.blood_type,birth_date")
    )
    bundle.export_bundle(fresh_vault, named.id, tmp_path / "named.age", now=NOW)
    card = bundle_members(tmp_path / "named.age", world.identity)["data/identity.vcf"]
    assert b"B+" in card
    # the persona had a birth date already: that one is kept, and it is the one sent
    from vault import personas as identities

    held = next(
        a.value
        for a in identities.get_persona(fresh_vault, world.persona.id).attributes
        if a.kind == "birth_date"
    ).encode()
    assert held.replace(b"-", b"") in card and birth.replace(b"-", b"") not in card
    assert b"male" not in card.lower().replace(b"female", b"")  # sex was not named
