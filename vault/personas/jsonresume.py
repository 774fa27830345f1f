"""JSON Resume (https://jsonresume.org/schema) for personas, in and out.

`basics` maps onto persona attributes (label -> title, image -> avatar, location -> address,
profiles -> handles, summary -> note); every other section (work, education, skills...) is
kept whole in one `resume` attribute and written back on export, so a résumé imported and
exported again says the same thing. A résumé of the pre-1.0 schema (0.0.x: `website`,
`picture`, `work[].company`...) is read under the 1.0 names and exported in them. A résumé
holds one email, phone and address: the export takes the preferred one of each.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vault.core.errors import MalformedInput
from vault.core.i18n import N_, Text
from vault.personas import (
    ADDRESS,
    AVATAR,
    EMAIL,
    HANDLE,
    NOTE,
    PHONE,
    RESUME,
    TITLE,
    URL,
    Attribute,
    Persona,
    PersonaDraft,
    address_attribute,
    country_code,
    import_drafts,
)
from vault.personas.vcard import load_json, read_limited

if TYPE_CHECKING:
    from vault.core.importing import ImportSummary
    from vault.core.vault import Vault

MAX_BYTES: Final = 16 * 1024 * 1024
# basics key -> attribute kind, for the plain string fields.
_SIMPLE: Final = (
    ("label", TITLE),
    ("image", AVATAR),
    ("email", EMAIL),
    ("phone", PHONE),
    ("url", URL),
    ("summary", NOTE),
)
_LOCATION: Final = ("address", "city", "region", "postalCode", "countryCode")
# Fields the schema renamed (in 0.0.17, and `gpa` in 1.0.0), as (section, old, new): a résumé
# written for the 0.0.x schema is read under the new names, so its website, picture and
# employers are not lost.
RENAMED: Final = (
    ("basics", "website", "url"),
    ("basics", "picture", "image"),
    ("work", "company", "name"),
    ("work", "website", "url"),
    ("volunteer", "website", "url"),
    ("publications", "website", "url"),
    ("education", "gpa", "score"),
)
_BASICS_KNOWN: Final = frozenset({"name", "location", "profiles", *(k for k, _ in _SIMPLE)})


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedInput(N_("{where} is not a string"), where=where)
    return value.strip()


def _rename(entry: Any, old: str, new: str) -> bool:
    """Move ENTRY's OLD field to NEW unless NEW already holds another value (then both are
    kept, so nothing is lost); whether the old name was read."""
    if not isinstance(entry, dict) or old not in entry:
        return False
    if entry.get(new) in (None, "") or entry[new] == entry[old]:
        value = entry.pop(old)
        if entry.get(new) in (None, ""):
            entry[new] = value
        return True
    return False


def upgrade(doc: dict[str, Any]) -> list[str]:
    """Rename DOC's pre-1.0 fields in place (`RENAMED`); what was renamed, as
    `basics.website as url` or `work[].company as name`."""
    renamed: list[str] = []
    for section, old, new in RENAMED:
        value = doc.get(section)
        entries = [value] if section == "basics" else value if isinstance(value, list) else []
        # A list, not a generator: every entry is renamed, not only up to the first.
        if any([_rename(entry, old, new) for entry in entries]):
            where = section if section == "basics" else f"{section}[]"
            renamed.append(Text(N_("{where}.{old} as {new}"), where=where, old=old, new=new))
    return renamed


def _listed(first: str, then: str) -> str:
    # `a, b, c` as nested sentences, so that each renaming is still said in French.
    return Text(N_("{first}, {then}"), first=first, then=then)


def draft_from_bytes(data: bytes, source: str) -> PersonaDraft:
    """The persona a JSON Resume document describes."""
    return read_resume(data, source)[0]


def read_resume(data: bytes, source: str) -> tuple[PersonaDraft, list[str]]:
    """The persona a JSON Resume document describes, and notes on how it was read (the
    pre-1.0 field names it used)."""
    doc = load_json(data, source, MAX_BYTES)
    if not isinstance(doc, dict):
        raise MalformedInput(N_("{source}: a JSON Resume is a JSON object"), source=source)
    renamed = upgrade(doc)
    notes: list[str] = []
    if renamed:
        notes.append(
            Text(
                N_("{source}: pre-1.0 JSON Resume fields read as: {fields}"),
                source=source,
                fields=functools.reduce(_listed, renamed),
            )
        )
    basics = doc.get("basics")
    if not isinstance(basics, dict):
        raise MalformedInput(N_("{source}: no `basics` object"), source=source)
    name = _string(basics.get("name"), f"{source}: basics.name")
    if not name:
        raise MalformedInput(N_("{source}: basics.name is missing or empty"), source=source)
    attrs: list[Attribute] = []
    for key, kind in _SIMPLE:
        value = _string(basics.get(key), f"{source}: basics.{key}")
        if value:
            attrs.append(Attribute(kind, value))
    location = basics.get("location")
    if location is not None:
        if not isinstance(location, dict):
            raise MalformedInput(N_("{source}: basics.location is not an object"), source=source)
        loc = {k: _string(location.get(k), f"{source}: basics.location.{k}") for k in _LOCATION}
        if any(loc.values()):
            street, city, region, code, country = (loc[k] for k in _LOCATION)
            attrs.append(address_attribute(("", "", street, city, region, code, country)))
    profiles = basics.get("profiles", [])
    if not isinstance(profiles, list):
        raise MalformedInput(N_("{source}: basics.profiles is not a list"), source=source)
    for i, prof in enumerate(profiles):
        where = f"{source}: basics.profiles[{i}]"
        if not isinstance(prof, dict):
            raise MalformedInput(N_("{where} is not an object"), where=where)
        network = _string(prof.get("network"), f"{where}.network") or "web"
        username = _string(prof.get("username"), f"{where}.username")
        url = _string(prof.get("url"), f"{where}.url")
        if username or url:
            attrs.append(Attribute(HANDLE, username or url, label=network, url=url))
    rest = {k: v for k, v in doc.items() if k != "basics"}
    extra_basics = {k: v for k, v in basics.items() if k not in _BASICS_KNOWN}
    if extra_basics:
        rest["basics"] = extra_basics
    if rest:
        attrs.append(Attribute(RESUME, json.dumps(rest, ensure_ascii=False, sort_keys=True)))
    return PersonaDraft(name, None, tuple(attrs), source), notes


def to_jsonresume(persona: Persona) -> dict[str, Any]:
    """A JSON Resume document for a persona (pass `without_sensitive()` to leave those out)."""
    basics: dict[str, Any] = {"name": persona.name}
    for key, kind in _SIMPLE:
        attr = persona.first(kind)
        if attr is not None:
            basics[key] = attr.value
    adr = persona.first(ADDRESS)
    if adr is not None:
        country = adr.part("country")
        basics["location"] = {
            k: v
            for k, v in (
                ("address", adr.part("street")),
                ("city", adr.part("locality")),
                ("region", adr.part("region")),
                ("postalCode", adr.part("postal_code")),
                ("countryCode", country_code(country) or country if country else ""),
            )
            if v
        }
    handles = persona.all(HANDLE)
    if handles:
        basics["profiles"] = [
            {k: v for k, v in (("network", h.label), ("username", h.value), ("url", h.url)) if v}
            for h in handles
        ]
    doc: dict[str, Any] = {}
    kept = persona.first(RESUME)
    rest: dict[str, Any] = json.loads(kept.value) if kept is not None else {}
    basics.update(rest.pop("basics", {}))
    doc["basics"] = basics
    doc.update(rest)
    return doc


def draft_from_file(path: Path) -> PersonaDraft:
    """`draft_from_bytes` on a file, refusing an oversized one before reading it."""
    return draft_from_bytes(read_limited(path, MAX_BYTES), path.name)


def import_jsonresume(vault: Vault, path: Path) -> ImportSummary:
    """Import the persona a JSON Resume file describes in one transaction (a persona of the
    same name is updated, so importing the file twice adds nothing). A pre-1.0 résumé is
    read under the 1.0 names, said in the summary's notes."""
    draft, notes = read_resume(read_limited(path, MAX_BYTES), path.name)
    return import_drafts(vault, [draft], fmt="jsonresume", notes=notes)
