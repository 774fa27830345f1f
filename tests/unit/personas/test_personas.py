"""Personas: storage, lookups, keys (own and pairwise), derived attributes, sensitivity."""

from __future__ import annotations

from datetime import date

import pyrage
import pytest

from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault.core import crypto, minisign
from vault.core.errors import AlreadyExists, InvalidParameter, RecordNotFound
from vault.core.vault import Vault
from vault.personas import Attribute, parse_attribute


def _jane(vault: Vault) -> identities.Persona:
    return identities.add_persona(
        vault,
        "Jane Doe",
        [
            parse_attribute("email.work", "jane@work.example"),
            parse_attribute("email.home", "jane@home.example"),
            parse_attribute("birth_date", "1990-05-01", sensitive=True),
            parse_attribute("address.home", "1 rue de la Paix;Paris;;75002;France"),
            parse_attribute("handle.mastodon", "@jane@example.social https://example.social/@jane"),
            parse_attribute("pronouns", "she/her"),
        ],
    )


def test_add_get_by_id_prefix_name_uid(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
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
    p = _jane(fresh_vault)
    assert identities.resolve_persona(fresh_vault, None).id == p.id
    assert identities.resolve_persona(fresh_vault, "jane").id == p.id
    identities.add_persona(fresh_vault, "Pseudonym")
    with pytest.raises(InvalidParameter, match="several personas"):
        identities.resolve_persona(fresh_vault, None)


def test_attributes_survive_storage(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    got = identities.get_persona(fresh_vault, p.id)
    assert [a.key for a in got.attributes] == [
        "email.work",
        "email.home",
        "birth_date",
        "address.home",
        "handle.mastodon",
        "field.pronouns",
    ]
    adr = got.first("address")
    assert adr is not None
    assert (adr.part("street"), adr.part("locality"), adr.part("country")) == (
        "1 rue de la Paix",
        "Paris",
        "France",
    )
    handle = got.first("handle")
    assert handle is not None
    assert (handle.value, handle.url) == ("@jane@example.social", "https://example.social/@jane")
    assert [a.kind for a in got.attributes if a.sensitive] == ["birth_date"]
    assert [a.kind for a in got.without_sensitive().attributes].count("birth_date") == 0


def test_names_and_uids_are_unique(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
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
    p = _jane(fresh_vault)
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
    p = _jane(fresh_vault)
    writes = fresh_vault.store.state().writes
    again = identities.update_persona(fresh_vault, p.id, attributes=p.attributes)
    assert again.version == 1
    assert fresh_vault.store.state().writes == writes


def test_delete_destroys_the_secret(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    identities.delete_persona(fresh_vault, p.id)
    assert fresh_vault.store.count(identities.KIND) == 0
    with pytest.raises(RecordNotFound):
        identities.signer(fresh_vault, p.id)


def test_delete_refused_while_content_names_the_persona(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    with fresh_vault.store.write() as txn:
        txn.put(identities.AUTHORED_KIND, b"{}", terms={"persona": p.id})
    with pytest.raises(InvalidParameter, match="authored by this persona"):
        identities.delete_persona(fresh_vault, p.id)
    assert fresh_vault.store.count(identities.KIND) == 1


def test_nothing_readable_on_disk_and_audit_holds_ids_only(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    seen = identities.signer(fresh_vault, p.id)
    fresh_vault.store.checkpoint()
    raw = raw_vault_bytes(fresh_vault.path)
    for secret in (b"Jane", b"jane@work.example", b"1990-05-01", b"Paris", seen.public_key):
        assert secret not in raw
    entries = fresh_vault.audit_log()
    assert entries[-1].action == "persona.add"
    assert entries[-1].details == {"persona": p.id, "attributes": 6}
    assert "Jane" not in repr([e.as_dict() for e in entries])


# --- keys ---


def test_signatures_verify_with_the_public_key(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    signer = identities.signer(fresh_vault, p.id)
    sig = signer.sign(b"statement")
    assert crypto.ed25519_verify(signer.public_key, b"statement", sig)
    assert not crypto.ed25519_verify(signer.public_key, b"statement!", sig)
    parsed = minisign.parse_public_key(signer.minisign_public_key())
    assert (parsed.key, parsed.key_id) == (signer.public_key, signer.key_id)
    assert signer.pseudonym == p.id
    assert "seed" not in repr(signer)


def test_pairwise_keys_and_ids_are_unlinkable_but_stable(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    own = identities.signer(fresh_vault, p.id)
    shop = identities.signer(fresh_vault, p.id, recipient="age1shop")
    clinic = identities.signer(fresh_vault, p.id, recipient="age1clinic")
    # Two recipients comparing what they received see nothing in common.
    keys = {own.public_key, shop.public_key, clinic.public_key}
    assert len(keys) == 3
    assert own.pseudonym == p.id
    assert len({shop.pseudonym, clinic.pseudonym, p.id, p.uid}) == 4
    assert shop.key_id != clinic.key_id
    # The same recipient always sees the same key and id (they are derived, not stored).
    again = identities.signer(fresh_vault, p.id, recipient="age1shop")
    assert (again.public_key, again.pseudonym) == (shop.public_key, shop.pseudonym)
    # A pairwise signature verifies under the pairwise key only.
    sig = shop.sign(b"receipt")
    assert crypto.ed25519_verify(shop.public_key, b"receipt", sig)
    assert not crypto.ed25519_verify(clinic.public_key, b"receipt", sig)
    assert not crypto.ed25519_verify(own.public_key, b"receipt", sig)


def test_personas_have_independent_keys(fresh_vault: Vault) -> None:
    a = _jane(fresh_vault)
    b = identities.add_persona(fresh_vault, "Pseudonym")
    assert (
        identities.signer(fresh_vault, a.id).public_key
        != identities.signer(fresh_vault, b.id).public_key
    )
    pa = identities.signer(fresh_vault, a.id, recipient="r").pseudonym
    pb = identities.signer(fresh_vault, b.id, recipient="r").pseudonym
    assert pa != pb
    xa = identities.x25519_public_key(fresh_vault, a.id)
    assert len(xa) == 32
    assert xa != identities.x25519_public_key(fresh_vault, b.id)
    secret = identities.x25519_secret_key(fresh_vault, a.id)
    assert crypto.x25519_keypair(b"\x00" * 32)[1] != xa
    assert len(secret) == 32


def test_x25519_key_is_an_age_recipient(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    recipient = identities.age_recipient(fresh_vault, p.id)
    identity = identities.age_identity(fresh_vault, p.id)
    assert recipient.startswith("age1")
    assert identity.startswith("AGE-SECRET-KEY-1")
    parsed = pyrage.x25519.Identity.from_str(identity)
    assert str(parsed.to_public()) == recipient
    sealed = pyrage.encrypt(b"for Jane", [pyrage.x25519.Recipient.from_str(recipient)])
    assert pyrage.decrypt(sealed, [parsed]) == b"for Jane"


def test_empty_recipient_is_refused(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    with pytest.raises(InvalidParameter):
        identities.signer(fresh_vault, p.id, recipient="  ")


# --- derived attributes ---


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2008, 4, 30), False), (date(2008, 5, 1), True), (date(2030, 1, 1), True)],
)
def test_age_over_on_the_birthday(today: date, expected: bool) -> None:
    p = identities.Persona("x", "P", "u", (Attribute("birth_date", "1990-05-01"),))
    assert identities.derive(p, "age_over:18", today=today) is expected


def test_birth_year_and_missing_data() -> None:
    p = identities.Persona("x", "P", "u", (Attribute("birth_date", "1990-05-01"),))
    assert identities.derive(p, "birth_year") == 1990
    no_year = identities.Persona("x", "P", "u", (Attribute("birth_date", "--05-01"),))
    assert identities.derive(no_year, "birth_year") is None
    assert identities.derive(no_year, "age_over:18") is None
    empty = identities.Persona("x", "P", "u")
    assert identities.derive(empty, "age_over:18") is None
    assert identities.derive(empty, "country") is None
    for bad in ("age_over:x", "age_over:-1", "favourite_colour"):
        with pytest.raises(InvalidParameter):
            identities.derive(p, bad)


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("U.S.A.", "US"),
        ("France", "FR"),
        ("de", "DE"),
        ("Deutschland", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Atlantis", None),
    ],
)
def test_country_from_the_preferred_address(country: str, code: str | None) -> None:
    other = identities.address_attribute(("", "", "x", "y", "", "", "Japan"))
    preferred = identities.address_attribute(
        ("", "", "1 Main St", "Town", "", "", country), params=(("PREF", ("1",)),)
    )
    p = identities.Persona("x", "P", "u", (other, preferred))
    assert identities.derive(p, "country") == code


def test_derived_attributes_are_not_stored(fresh_vault: Vault) -> None:
    p = _jane(fresh_vault)
    assert identities.derive(p, "country") == "FR"
    stored = fresh_vault.store.get(identities.KIND, p.id).json()
    assert "country" not in repr(stored["attributes"])
    assert "FR" not in repr(stored)


# --- parsing attributes from the command line ---


def test_parse_attribute_forms() -> None:
    name = parse_attribute("name", "Mary Ann Smith")
    assert (name.part("given"), name.part("family"), name.value) == (
        "Mary Ann",
        "Smith",
        "Mary Ann Smith",
    )
    full = parse_attribute("name", "Public;John;Quinlan;Dr.;III")
    assert full.value == "Dr. John Quinlan Public III"
    assert parse_attribute("birth_date", "19850415").value == "1985-04-15"
    assert parse_attribute("birth_date", "--0229").value == "--02-29"
    assert parse_attribute("field.shoe", "42").key == "field.shoe"
    assert parse_attribute("shoe-size", "42").key == "field.shoe-size"
    assert parse_attribute("email", "a@b.c", sensitive=True).sensitive


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("birth_date", "1990-02-30"),
        ("birth_date", "yesterday"),
        ("handle", "@me"),
        ("field", "x"),
        ("vcard", "x"),
        ("email", "  "),
        ("address", "a;b;c;d;e;f"),
        ("", "x"),
    ],
)
def test_parse_attribute_rejects(key: str, value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_attribute(key, value)


def test_bad_names_are_refused(fresh_vault: Vault) -> None:
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidParameter):
            identities.add_persona(fresh_vault, bad)
    with pytest.raises(InvalidParameter):
        identities.add_persona(fresh_vault, "P", [Attribute("shoe", "42")])
    assert fresh_vault.store.count(identities.KIND) == 0
