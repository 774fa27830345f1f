"""The purpose and the jurisdiction of a grant, checked against their lists before anything
is signed: a typo must never reach a signed consent receipt.

A purpose is a DPV purpose concept (`vault.sharing.dpv_purposes`), written `dpv:Name` (or
`Name`, any case); a jurisdiction is an ISO 3166-1 alpha-2 country code (FR), an ISO 3166-2
subdivision code (US-CA), both from pycountry, or EU for the European Union. A refusal
(InvalidParameter, exit 7) names the closest matches.
"""

from __future__ import annotations

import difflib

from vault.core.errors import InvalidParameter
from vault.core.i18n import N_, Text
from vault.sharing.dpv_purposes import DPV_PURPOSES

UNIONS = {"EU": "European Union"}
"""Codes outside ISO 3166 that name where a law applies (the GDPR's reach)."""

_BY_FOLDED = {name.casefold(): name for name in DPV_PURPOSES}


def check_purpose(value: str) -> str:
    """VALUE as the DPV purpose it names, `dpv:Name`; refused with the closest names."""
    text = value.strip()
    name = text.split(":", 1)[1] if text.lower().startswith("dpv:") else text
    found = _BY_FOLDED.get(name.casefold())
    if found is not None and ":" not in name:
        return f"dpv:{found}"
    close = difflib.get_close_matches(name.casefold(), _BY_FOLDED, n=3, cutoff=0.6)
    hint = (
        Text(N_("did you mean {names}?"), names=_either([f"dpv:{_BY_FOLDED[c]}" for c in close]))
        if close
        else Text(N_("for example dpv:ServiceProvision, dpv:AcademicResearch or dpv:Marketing"))
    )
    raise InvalidParameter(
        N_("the purpose {text!r} is not a DPV purpose; {hint} (docs/cli.md lists them)"),
        text=text[:60],
        hint=hint,
    )


def check_jurisdiction(value: str) -> str:
    """VALUE as an ISO 3166 code (upper case) or EU; refused with the closest matches."""
    import pycountry

    code = value.strip().upper()
    if code in UNIONS:
        return code
    if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
        return code
    # pycountry leaves its subdivision lookup untyped.
    lookup = pycountry.subdivisions.get
    if "-" in code and lookup(code=code) is not None:  # type: ignore[no-untyped-call]
        return code
    raise InvalidParameter(
        N_("the jurisdiction {value!r} is not an ISO 3166 code or EU; {hint}"),
        value=value.strip()[:60],
        hint=_jurisdiction_hint(value),
    )


def _either(names: list[str]) -> str:
    """`a or b or c`, each `or` in the person's language where it is shown."""
    said = names[0]
    for name in names[1:]:
        said = Text(N_("{some} or {last}"), some=said, last=name)
    return said


def _jurisdiction_hint(value: str) -> str:
    """The codes a mistyped jurisdiction may have meant: a country's alpha-3 code or name
    (`FRA`, `France`) gives its alpha-2 code; otherwise the closest country names."""
    import pycountry

    text = value.strip()
    country = pycountry.countries.get(alpha_3=text.upper()) if len(text) == 3 else None
    if country is not None:
        return Text(N_("did you mean {names}?"), names=f"{country.alpha_2} ({country.name})")
    codes = {c.name.casefold(): f"{c.alpha_2} ({c.name})" for c in pycountry.countries}
    codes.update({name.casefold(): f"{code} ({name})" for code, name in UNIONS.items()})
    close = difflib.get_close_matches(text.casefold(), codes, n=3, cutoff=0.8)
    if close:
        return Text(N_("did you mean {names}?"), names=_either([codes[key] for key in close]))
    return Text(N_("use a code such as EU, FR, DE or US-CA"))
