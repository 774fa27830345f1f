"""Derived attributes: age_over:N, birth_year, country; computed, never stored."""

from __future__ import annotations

from datetime import date

import pytest

from tests.builders import add_jane
from vault import personas as identities
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.personas import Attribute


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
    p = add_jane(fresh_vault)
    assert identities.derive(p, "country") == "FR"
    stored = fresh_vault.store.get(identities.KIND, p.id).json()
    assert "country" not in repr(stored["attributes"])
    assert "FR" not in repr(stored)
