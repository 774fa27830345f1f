"""Derived attributes (`age_over:N`, `birth_year`, `country`): computed from a persona's
attributes on demand and never stored, so a grant can share "over 18" without the birth date.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import pycountry

from vault.core.clock import SYSTEM_CLOCK
from vault.core.errors import InvalidParameter
from vault.core.i18n import N_
from vault.personas.attributes import ADDRESS, BIRTH_DATE, Persona, birth_date_parts

DERIVED: Final = ("age_over:N", "birth_year", "country")

# Names people write that ISO 3166 does not list under that spelling.
_COUNTRY_ALIASES: Final = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "deutschland": "DE",
    "allemagne": "DE",
    "españa": "ES",
    "italia": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "nederland": "NL",
    "holland": "NL",
    "россия": "RU",
    "russia": "RU",
    "日本": "JP",
    "中国": "CN",
    "america": "US",
    "united states of america": "US",
    "south korea": "KR",
    "korea": "KR",
}


def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a country as people write it ('U.S.A.', 'France', 'de')."""
    cleaned = text.strip().replace(".", "").strip()
    if not cleaned:
        return None
    alias = _COUNTRY_ALIASES.get(cleaned.casefold())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_2)
    except LookupError:
        return None


def derive(persona: Persona, name: str, *, today: date | None = None) -> bool | int | str | None:
    """Compute a derived attribute; None when the persona lacks what it is derived from.

    `age_over:N` is True or False (on `today`: pass the vault clock's, else the system
    clock's is taken), `birth_year` an int, `country` an ISO 3166-1 alpha-2 code taken from the
    preferred address.
    """
    if name == "birth_year":
        born = _birth(persona)
        return born[0] if born and born[0] else None
    if name.startswith("age_over:"):
        try:
            years = int(name.partition(":")[2])
        except ValueError:
            raise InvalidParameter(
                N_("age_over takes a number of years, as in age_over:18")
            ) from None
        if years < 0 or years > 150:
            raise InvalidParameter(N_("age_over takes a number of years between 0 and 150"))
        born = _birth(persona)
        if not born:
            return None
        on = today or SYSTEM_CLOCK.today()
        year, month, day = born
        if year is None:
            return None
        age = on.year - year - ((on.month, on.day) < (month, day))
        return age >= years
    if name == "country":
        adr = persona.first(ADDRESS)
        return country_code(adr.part("country")) if adr else None
    raise InvalidParameter(
        N_("unknown derived attribute; known ones: {known}"), known=", ".join(DERIVED)
    )


def _birth(persona: Persona) -> tuple[int | None, int, int] | None:
    attr = persona.first(BIRTH_DATE)
    return birth_date_parts(attr.value) if attr is not None else None
