"""Apple Health's `<Me>` profile: kept as sensitive attributes of the persona the import goes
to, never as samples; never overwriting what the persona holds; read from real exports
(tests/corpus/apple-health), compared with the file as the standard library parses it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vault import personas as identities
from vault.core.vault import Vault
from vault.data import query
from vault.data.importers import import_apple_health
from vault.data.importers.apple_profile import read_me

AHCD = "apple-health/ahcd-export.xml"


def _me(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()  # noqa: S314  # a corpus file, parsed to compare
    me = root.find("Me")
    assert me is not None
    return dict(me.attrib)


def _attrs(vault: Vault, persona: str) -> dict[str, identities.Attribute]:
    return {a.key: a for a in identities.get_persona(vault, persona).attributes}


@pytest.fixture
def ana(fresh_vault: Vault) -> identities.Persona:
    return identities.add_persona(fresh_vault, "Ana")


def test_a_real_profile_becomes_sensitive_attributes(
    fresh_vault: Vault, ana: identities.Persona, corpus: Path
) -> None:
    me = _me(corpus / AHCD)
    summary = import_apple_health(fresh_vault, ana.id, corpus / AHCD)
    attrs = _attrs(fresh_vault, ana.id)
    assert attrs["birth_date"].value == me["HKCharacteristicTypeIdentifierDateOfBirth"]
    assert me["HKCharacteristicTypeIdentifierBloodType"] == "HKBloodTypeBPositive"
    assert attrs["field.blood_type"].value == "B+"
    assert attrs["field.biological_sex"].value == "male"
    assert "field.skin_type" not in attrs  # written as NotSet: says nothing
    assert all(a.sensitive for k, a in attrs.items() if k != "name")
    assert any("kept as sensitive attributes" in n for n in summary.notes)
    # no sample carries any of it
    listed = {m.metric for m in query.list_metrics(fresh_vault, ana.id)}
    assert not any("birth" in m or "blood_type" in m for m in listed)
    again = import_apple_health(fresh_vault, ana.id, corpus / AHCD)
    assert not any("profile" in n for n in again.notes)
    assert _attrs(fresh_vault, ana.id) == attrs


def test_what_the_persona_holds_is_never_overwritten(
    fresh_vault: Vault, ana: identities.Persona, corpus: Path
) -> None:
    identities.edit(fresh_vault, ana.id, add=[("birth_date", "1985-04-12")])
    summary = import_apple_health(fresh_vault, ana.id, corpus / AHCD)
    attrs = _attrs(fresh_vault, ana.id)
    assert attrs["birth_date"].value == "1985-04-12"
    assert any(
        "differs from the persona's attributes" in n and "birth_date" in n for n in summary.notes
    )
    assert attrs["field.blood_type"].value == "B+"


def test_unknown_characteristics_are_counted_not_copied() -> None:
    profile, unread = read_me(
        {
            "HKCharacteristicTypeIdentifierDateOfBirth": "not a date",
            "HKCharacteristicTypeIdentifierBloodType": "HKBloodTypeOPositive",
            "HKCharacteristicTypeIdentifierWheelchairUse": "HKWheelchairUseYes",
            "HKCharacteristicTypeIdentifierSomethingNew": "<script>",
            "HKCharacteristicTypeIdentifierFitzpatrickSkinType": "HKFitzpatrickSkinTypeIV",
        }
    )
    assert profile is not None
    assert dict(profile.values) == {"blood_type": "O+", "wheelchair_use": "yes", "skin_type": "IV"}
    assert sorted(unread) == [
        "HKCharacteristicTypeIdentifierDateOfBirth",
        "HKCharacteristicTypeIdentifierSomethingNew",
    ]
    assert read_me({"HKCharacteristicTypeIdentifierBloodType": "HKBloodTypeNotSet"}) == (None, [])
