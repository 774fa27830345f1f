"""JSON Resume: the shared sample, round trips and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.builders import as_persona, attribute
from vault import personas as identities
from vault.core.errors import MalformedInput
from vault.core.vault import Vault
from vault.personas import Persona, jsonresume, vcard


def test_sample_maps_onto_attributes(samples: Path) -> None:
    d = jsonresume.draft_from_file(samples / "jsonresume" / "sample.resume.json")
    p = as_persona(d)
    assert p.name == "Richard Hendriks"
    assert d.uid is None
    title, email, phone = (attribute(p, kind) for kind in ("title", "email", "phone"))
    assert (title.value, email.value, phone.value) == (
        "Programmer",
        "richard.hendriks@mail.com",
        "(912) 555-4321",
    )
    assert p.first("avatar") is None  # "image": "" is no avatar
    adr = attribute(p, "address")
    assert (adr.part("street"), adr.part("locality"), adr.part("country")) == (
        "2712 Broadway St",
        "San Francisco",
        "US",
    )
    assert [(h.label, h.value) for h in p.all("handle")] == [
        ("Twitter", "neutralthoughts"),
        ("SoundCloud", "dandymusicnl"),
    ]
    assert identities.derive(p, "country") == "US"
    kept = attribute(p, "resume")
    assert json.loads(kept.value)["work"][0]["name"] == "Pied Piper"


def test_sample_exports_back_to_itself(samples: Path) -> None:
    raw = (samples / "jsonresume" / "sample.resume.json").read_bytes()
    original: dict[str, Any] = json.loads(raw)
    exported = jsonresume.to_jsonresume(as_persona(jsonresume.draft_from_bytes(raw, "s")))
    del original["basics"]["image"]  # empty, so not an attribute
    assert exported == original


def test_round_trip_through_a_vault(fresh_vault: Vault, samples: Path) -> None:
    d = jsonresume.draft_from_file(samples / "jsonresume" / "sample.resume.json")
    first = identities.import_drafts(fresh_vault, [d], fmt="jsonresume")
    stored = identities.get_persona(fresh_vault, first.added_ids[0])
    doc = json.dumps(jsonresume.to_jsonresume(stored)).encode()
    again = identities.import_drafts(
        fresh_vault, [jsonresume.draft_from_bytes(doc, "export.json")], fmt="jsonresume"
    )
    assert again.unchanged == first.added_ids  # same name, same attributes: nothing to do
    # The résumé sections survive a trip through vCard too (X-COFFRE-RESUME).
    (via_vcard,) = vcard.drafts_from_bytes(vcard.to_vcard([stored]).encode(), "x")[0]
    assert as_persona(via_vcard).profile() == stored.profile()


def test_export_takes_preferred_values_and_country_codes() -> None:
    p = Persona(
        "0" * 32,
        "Ann",
        "u",
        (
            identities.parse_attribute("email", "first@x.org"),
            identities.Attribute("email", "pref@x.org", params=(("PREF", ("1",)),)),
            identities.parse_attribute("address", "1 Main St;Lyon;;69001;France"),
            identities.parse_attribute("handle.matrix", "@ann:x.org"),
        ),
    )
    doc = jsonresume.to_jsonresume(p)
    assert doc["basics"]["email"] == "pref@x.org"
    assert doc["basics"]["location"]["countryCode"] == "FR"
    assert doc["basics"]["profiles"] == [{"network": "matrix", "username": "@ann:x.org"}]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"[]", "a JSON Resume is a JSON object"),
        (b"{}", "no `basics` object"),
        (b'{"basics": {"name": ""}}', "basics.name is missing or empty"),
        (b'{"basics": {"name": 3}}', "basics.name is not a string"),
        (b'{"basics": {"name": "A", "email": ["x"]}}', "basics.email is not a string"),
        (b'{"basics": {"name": "A", "location": "Paris"}}', "basics.location is not an object"),
        (b'{"basics": {"name": "A", "profiles": {}}}', "basics.profiles is not a list"),
        (b'{"basics": {"name": "A", "profiles": [1]}}', "basics.profiles[0] is not an object"),
        (b'{"basics": {"name": "A", "profiles": [{"url": 1}]}}', "basics.profiles[0].url"),
        (b'{"basics": {"name": "A"', "invalid JSON at line 1"),
        (b'{"basics": {"name": "\xe9"}}', "not valid UTF-8 (line 1, byte 21)"),
    ],
)
def test_malformed_resumes(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedInput) as err:
        jsonresume.draft_from_bytes(data, "cv.json")
    assert "cv.json" in err.value.message
    assert problem in err.value.message


def test_import_jsonresume_from_a_file(fresh_vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "cv.json"
    path.write_text(json.dumps({"basics": {"name": "Ada Lovelace", "email": "ada@example.org"}}))
    first = jsonresume.import_jsonresume(fresh_vault, path)
    (ada,) = identities.list_personas(fresh_vault)
    assert (first.format, first.added, first.added_ids) == ("jsonresume", 1, (ada.id,))
    again = jsonresume.import_jsonresume(fresh_vault, path)
    assert (again.added, again.unchanged) == (0, (ada.id,))


# --- the pre-1.0 schema (tests/corpus/jsonresume: resume-schema's own sample at v0.0.16) ---

JR_CORPUS = Path(__file__).parents[2] / "corpus" / "jsonresume"


def test_a_pre_1_0_resume_loses_nothing() -> None:
    """The schema's sample as of v0.0.16 (`website`, `picture`, `work[].company`, `gpa`...)
    is read under the 1.0 names: every old value is found under its new name, no old name
    is left, and the export is a valid 1.0 résumé."""
    raw = (JR_CORPUS / "resume-v0.0.16.json").read_bytes()
    old: dict[str, Any] = json.loads(raw)
    draft, notes = jsonresume.read_resume(raw, "old.json")
    p = as_persona(draft)
    assert attribute(p, "url").value == old["basics"]["website"]
    assert p.first("avatar") is None  # "picture": ""
    exported = jsonresume.to_jsonresume(p)
    found = []
    for section, before, after in jsonresume.RENAMED:
        entries = [old[section]] if section == "basics" else old.get(section, [])
        new_entries = [exported[section]] if section == "basics" else exported.get(section, [])
        for entry, new_entry in zip(entries, new_entries, strict=True):
            assert before not in new_entry
            if entry.get(before):
                assert new_entry[after] == entry[before]
                found.append(before)
    assert {"website", "company", "gpa"} <= set(found)
    assert len(notes) == 1
    assert "basics.website as url" in notes[0]
    assert "work[].company as name" in notes[0]
    schema = json.loads((JR_CORPUS / "schema-v1.2.1.json").read_bytes())
    jsonschema.validate(exported, schema)


def test_the_current_sample_needs_no_renaming() -> None:
    raw = (JR_CORPUS / "sample.resume-v1.2.1.json").read_bytes()
    draft, notes = jsonresume.read_resume(raw, "new.json")
    assert notes == []
    original = json.loads(raw)
    del original["basics"]["image"]  # empty, so not an attribute
    assert jsonresume.to_jsonresume(as_persona(draft)) == original


def test_an_old_field_beside_a_different_new_one_is_kept() -> None:
    doc = {
        "basics": {"name": "A", "website": "http://old.example", "url": "http://new.example"},
        "work": [{"company": "Same", "name": "Same"}, {"company": "Old Co"}],
    }
    draft, notes = jsonresume.read_resume(json.dumps(doc).encode(), "cv.json")
    exported = jsonresume.to_jsonresume(as_persona(draft))
    assert exported["basics"]["url"] == "http://new.example"
    assert exported["basics"]["website"] == "http://old.example"
    assert exported["work"] == [{"name": "Same"}, {"name": "Old Co"}]
    assert notes == ["cv.json: pre-1.0 JSON Resume fields read as: work[].company as name"]


def test_import_says_which_old_fields_it_read(fresh_vault: Vault) -> None:
    summary = jsonresume.import_jsonresume(fresh_vault, JR_CORPUS / "resume-v0.0.16.json")
    assert summary.added == 1
    assert summary.notes[0].startswith("resume-v0.0.16.json: pre-1.0 JSON Resume fields")
