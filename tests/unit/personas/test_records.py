"""Personas in the vault: add, find, update, delete; unique names and UIDs; nothing readable
on disk."""

from __future__ import annotations

import json

import pytest

from tests.builders import add_jane, attribute
from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault.core.errors import AlreadyExists, InvalidParameter, RecordNotFound
from vault.core.vault import Vault
from vault.personas import Attribute


def test_add_get_by_id_prefix_name_uid(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    assert len(p.id) == 32
    assert identities.get_persona(fresh_vault, p.id) == p
    assert identities.get_persona(fresh_vault, p.id[:6]).id == p.id
    assert identities.get_persona(fresh_vault, "  jane   DOE ").id == p.id
    assert identities.get_persona(fresh_vault, "jane").id == p.id  # unique name prefix
    assert identities.get_persona(fresh_vault, p.uid).id == p.id
    with pytest.raises(RecordNotFound):
        identities.get_persona(fresh_vault, "John")


def test_resolve_persona_defaults_to_the_only_one(fresh_vault: Vault) -> None:
    with pytest.raises(InvalidParameter, match="no persona yet"):
        identities.resolve_persona(fresh_vault, None)
    p = add_jane(fresh_vault)
    assert identities.resolve_persona(fresh_vault, None).id == p.id
    assert identities.resolve_persona(fresh_vault, "jane").id == p.id
    identities.add_persona(fresh_vault, "Pseudonym")
    with pytest.raises(InvalidParameter, match="several personas"):
        identities.resolve_persona(fresh_vault, None)


def test_attributes_survive_storage(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    got = identities.get_persona(fresh_vault, p.id)
    assert [a.key for a in got.attributes] == [
        "email.work",
        "email.home",
        "birth_date",
        "address.home",
        "handle.mastodon",
        "field.pronouns",
    ]
    adr = attribute(got, "address")
    assert (adr.part("street"), adr.part("locality"), adr.part("country")) == (
        "1 rue de la Paix",
        "Paris",
        "France",
    )
    handle = attribute(got, "handle")
    assert (handle.value, handle.url) == ("@jane@example.social", "https://example.social/@jane")
    assert [a.kind for a in got.attributes if a.sensitive] == ["birth_date"]
    assert [a.kind for a in got.without_sensitive().attributes].count("birth_date") == 0


def test_names_and_uids_are_unique(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    with pytest.raises(AlreadyExists):
        identities.add_persona(fresh_vault, "JANE doe")
    with pytest.raises(AlreadyExists):
        identities.add_persona(fresh_vault, "Other", uid=p.uid)
    other = identities.add_persona(fresh_vault, "Janet")
    with pytest.raises(AlreadyExists):
        identities.update_persona(fresh_vault, other.id, name="Jane Doe")
    with pytest.raises(InvalidParameter):
        identities.get_persona(fresh_vault, "jan")  # ambiguous prefix
    assert fresh_vault.store.count(identities.KIND) == 2


def test_update_keeps_keys_and_bumps_version(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    key_before = identities.signer(fresh_vault, p.id).public_key
    updated = identities.update_persona(
        fresh_vault, p.id, name="Jane Q. Doe", attributes=p.attributes[:1]
    )
    assert updated.version == 2
    assert updated.name == "Jane Q. Doe"
    assert identities.get_persona(fresh_vault, "jane q. doe").attributes == p.attributes[:1]
    assert identities.signer(fresh_vault, p.id).public_key == key_before
    with pytest.raises(RecordNotFound):
        identities.get_persona(fresh_vault, "Jane Doe")


def test_unchanged_update_writes_nothing(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    writes = fresh_vault.store.state().writes
    again = identities.update_persona(fresh_vault, p.id, attributes=p.attributes)
    assert again.version == 1
    assert fresh_vault.store.state().writes == writes


def test_delete_destroys_the_secret(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    identities.delete_persona(fresh_vault, p.id)
    assert fresh_vault.store.count(identities.KIND) == 0
    with pytest.raises(RecordNotFound):
        identities.signer(fresh_vault, p.id)


def test_delete_refused_while_content_names_the_persona(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    with fresh_vault.store.write() as txn:
        txn.put(identities.AUTHORED_KIND, b"{}", terms={"persona": p.id})
    with pytest.raises(InvalidParameter, match="authored by this persona"):
        identities.delete_persona(fresh_vault, p.id)
    assert fresh_vault.store.count(identities.KIND) == 1


def test_nothing_readable_on_disk_and_audit_holds_ids_only(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    seen = identities.signer(fresh_vault, p.id)
    fresh_vault.store.checkpoint()
    raw = raw_vault_bytes(fresh_vault.path)
    for secret in (b"Jane", b"jane@work.example", b"1990-05-01", b"Paris", seen.public_key):
        assert secret not in raw
    entries = fresh_vault.audit_log()
    assert entries[-1].action == "persona.add"
    assert entries[-1].details == {"persona": p.id, "attributes": 6}
    assert "Jane" not in repr([e.as_dict() for e in entries])


def test_bad_names_are_refused(fresh_vault: Vault) -> None:
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidParameter):
            identities.add_persona(fresh_vault, bad)
    with pytest.raises(InvalidParameter):
        identities.add_persona(fresh_vault, "P", [Attribute("shoe", "42")])
    assert fresh_vault.store.count(identities.KIND) == 0


# --- edit ---


def test_edit_renames_and_changes_attributes_keeping_the_keys(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    key_before = identities.signer(fresh_vault, p.id).public_key
    updated = identities.edit(
        fresh_vault,
        "jane",
        name="Jane Q. Doe",
        set=[("email.work", "new@work.example")],
        add=[("phone.cell", "+33612345678")],
        remove=["pronouns"],
        sensitive=["handle"],
        not_sensitive=["birth_date"],
    )
    assert (updated.name, updated.version) == ("Jane Q. Doe", 2)
    assert identities.get_persona(fresh_vault, p.id) == updated
    by_key = {a.key: a for a in updated.attributes}
    assert by_key["email.work"].value == "new@work.example"
    assert by_key["phone.cell"].value == "+33612345678"
    assert "field.pronouns" not in by_key
    assert by_key["handle.mastodon"].sensitive and not by_key["birth_date"].sensitive
    assert identities.signer(fresh_vault, p.id).public_key == key_before
    last = fresh_vault.audit_log()[-1]
    assert (last.action, last.details) == ("persona.edit", {"persona": p.id, "attributes": 6})


def test_edit_is_one_transaction(fresh_vault: Vault) -> None:
    """A change that fails leaves the persona as it was, even the changes made before it."""
    p = add_jane(fresh_vault)
    identities.add_persona(fresh_vault, "Other")
    writes = fresh_vault.store.state().writes
    entries = len(fresh_vault.audit_log())
    with pytest.raises(InvalidParameter, match="--remove fax"):
        identities.edit(
            fresh_vault, p.id, name="Jane Q.", add=[("phone", "+331")], remove=["phone", "fax"]
        )
    with pytest.raises(AlreadyExists):  # the name is taken: found when storing, last
        identities.edit(fresh_vault, p.id, name="other", add=[("phone", "+331")])
    assert identities.get_persona(fresh_vault, p.id) == p
    assert fresh_vault.store.state().writes == writes
    assert len(fresh_vault.audit_log()) == entries


def test_an_edit_changing_nothing_writes_nothing(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    writes = fresh_vault.store.state().writes
    same = identities.edit(fresh_vault, p.id, name="Jane Doe", sensitive=["birth_date"])
    assert same == p
    assert fresh_vault.store.state().writes == writes
    assert fresh_vault.audit_log()[-1].action == "persona.add"


# --- export ---


def test_export_leaves_sensitive_attributes_out_and_is_audited(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    card = identities.export(fresh_vault, "jane")
    assert (card.persona, card.format, card.left_out) == (p.id, "vcard", 1)
    assert card.text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and "BDAY" not in card.text
    last = fresh_vault.audit_log()[-1]
    assert (last.action, last.details) == ("persona.export", {"persona": p.id, "sensitive": 0})
    full = identities.export(fresh_vault, p.id, fmt="jcard", include_sensitive=True)
    assert full.left_out == 0 and json.loads(full.text)[0] == "vcard"
    assert "1990-05-01" in full.text
    assert fresh_vault.audit_log()[-1].details == {"persona": p.id, "sensitive": 1}
    resume = json.loads(identities.export(fresh_vault, p.id, fmt="jsonresume").text)
    assert resume["basics"]["name"] == "Jane Doe"
    assert "Jane" not in repr([e.as_dict() for e in fresh_vault.audit_log()])


def test_export_refuses_an_unknown_format_and_writes_nothing(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    entries = len(fresh_vault.audit_log())
    with pytest.raises(InvalidParameter):
        identities.export(fresh_vault, p.id, fmt="pdf")
    with pytest.raises(RecordNotFound):
        identities.export(fresh_vault, "nobody")
    assert len(fresh_vault.audit_log()) == entries
