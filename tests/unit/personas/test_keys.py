"""Persona keys: own and pairwise signing keys, pseudonymous ids, X25519 as age keys."""

from __future__ import annotations

import pyrage
import pytest

from tests.builders import add_jane
from vault import personas as identities
from vault.core import crypto, minisign
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault


def test_signatures_verify_with_the_public_key(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    signer = identities.signer(fresh_vault, p.id)
    sig = signer.sign(b"statement")
    assert crypto.ed25519_verify(signer.public_key, b"statement", sig)
    assert not crypto.ed25519_verify(signer.public_key, b"statement!", sig)
    parsed = minisign.parse_public_key(signer.minisign_public_key())
    assert (parsed.key, parsed.key_id) == (signer.public_key, signer.key_id)
    assert signer.pseudonym == p.id
    assert "seed" not in repr(signer)


def test_pairwise_keys_and_ids_are_unlinkable_but_stable(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
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
    a = add_jane(fresh_vault)
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
    p = add_jane(fresh_vault)
    recipient = identities.age_recipient(fresh_vault, p.id)
    identity = identities.age_identity(fresh_vault, p.id)
    assert recipient.startswith("age1")
    assert identity.startswith("AGE-SECRET-KEY-1")
    parsed = pyrage.x25519.Identity.from_str(identity)
    assert str(parsed.to_public()) == recipient
    sealed = pyrage.encrypt(b"for Jane", [pyrage.x25519.Recipient.from_str(recipient)])
    assert pyrage.decrypt(sealed, [parsed]) == b"for Jane"


def test_empty_recipient_is_refused(fresh_vault: Vault) -> None:
    p = add_jane(fresh_vault)
    with pytest.raises(InvalidParameter):
        identities.signer(fresh_vault, p.id, recipient="  ")
