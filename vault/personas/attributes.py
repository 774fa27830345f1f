"""Persona attributes: their kinds, the `Attribute` and `Persona` values, and how attributes
are built from what people type (`KEY[.LABEL]=VALUE`), formatted and named (`kind.label`).

Pure values and functions: nothing here reads or writes the vault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from vault.core.errors import InvalidParameter
from vault.core.i18n import N_

# Attribute kinds with a meaning Coffre knows; anything else a person adds is a `field`.
NAME, NICKNAME, EMAIL, PHONE, ADDRESS, HANDLE = (
    "name",
    "nickname",
    "email",
    "phone",
    "address",
    "handle",
)
BIRTH_DATE, AVATAR, URL, ORG, TITLE, NOTE = "birth_date", "avatar", "url", "org", "title", "note"
FIELD, VCARD, RESUME = "field", "vcard", "resume"
ATTRIBUTE_KINDS: Final = (
    NAME,
    NICKNAME,
    EMAIL,
    PHONE,
    ADDRESS,
    HANDLE,
    BIRTH_DATE,
    AVATAR,
    URL,
    ORG,
    TITLE,
    NOTE,
    FIELD,
    VCARD,
    RESUME,
)
"""`vcard` keeps a vCard property Coffre does not interpret (label = property name, value =
its raw text), so imports lose nothing; `resume` keeps the JSON Resume sections beyond
`basics` (work, education...) as one JSON document."""

NAME_PARTS: Final = ("family", "given", "additional", "prefix", "suffix")
ADDRESS_PARTS: Final = (
    "pobox",
    "extended",
    "street",
    "locality",
    "region",
    "postal_code",
    "country",
)

Params = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Attribute:
    """One attribute of a persona.

    `label` is the type for contact points (`work`, `home,voice`), the network for a handle,
    the key for a free field and the property name for a kept vCard property. `parts` holds the
    components of structured values (a name's NAME_PARTS, an address's ADDRESS_PARTS, an
    organisation's units). `params` keeps other vCard parameters (LANGUAGE, PREF, ALTID) so
    that an exported card says what the imported one said.
    """

    kind: str
    value: str
    label: str = ""
    parts: tuple[str, ...] = ()
    url: str = ""
    params: Params = ()
    sensitive: bool = False

    def part(self, name: str) -> str:
        """A named component of a structured name or address ('' when absent)."""
        names = NAME_PARTS if self.kind == NAME else ADDRESS_PARTS if self.kind == ADDRESS else ()
        if name not in names:
            raise InvalidParameter(
                N_("{kind} attributes have no part named {name!r}"), kind=self.kind, name=name
            )
        ix = names.index(name)
        return self.parts[ix] if ix < len(self.parts) else ""

    def param(self, name: str) -> tuple[str, ...]:
        """The values of one kept vCard parameter (empty when absent)."""
        for key, values in self.params:
            if key == name.upper():
                return values
        return ()

    @property
    def key(self) -> str:
        """How people name this attribute on the command line: `kind` or `kind.label`."""
        return f"{self.kind}.{self.label}" if self.label else self.kind

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "value": self.value}
        if self.label:
            out["label"] = self.label
        if self.parts:
            out["parts"] = list(self.parts)
        if self.url:
            out["url"] = self.url
        if self.params:
            out["params"] = [[k, list(v)] for k, v in self.params]
        if self.sensitive:
            out["sensitive"] = True
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attribute:
        return cls(
            kind=str(d["kind"]),
            value=str(d["value"]),
            label=str(d.get("label", "")),
            parts=tuple(str(p) for p in d.get("parts", ())),
            url=str(d.get("url", "")),
            params=tuple((str(k), tuple(str(x) for x in v)) for k, v in d.get("params", ())),
            sensitive=bool(d.get("sensitive", False)),
        )


@dataclass(frozen=True)
class Persona:
    """A persona as read from the vault (its secret stays in the record, not here)."""

    id: str
    name: str
    uid: str
    attributes: tuple[Attribute, ...] = ()
    created: str = ""
    updated: str = ""
    version: int = 1

    def all(self, kind: str) -> list[Attribute]:
        """The attributes of one kind, in order."""
        return [a for a in self.attributes if a.kind == kind]

    def first(self, kind: str) -> Attribute | None:
        """The preferred attribute of a kind: the one with the lowest PREF, else the first."""
        found = self.all(kind)
        if not found:
            return None
        return min(found, key=_pref_rank)

    def profile(self) -> tuple[str, tuple[Attribute, ...]]:
        """What makes two personas the same identity: name and attributes (not ids, keys, times)."""
        return self.name, self.attributes

    def without_sensitive(self) -> Persona:
        """A copy with the sensitive attributes left out (for sharing and default exports)."""
        return replace(self, attributes=tuple(a for a in self.attributes if not a.sensitive))

    def summary(self) -> dict[str, Any]:
        """The JSON shape of `persona list --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "uid": self.uid,
            "attributes": len(self.attributes),
            "sensitive": sum(1 for a in self.attributes if a.sensitive),
            "created": self.created,
            "updated": self.updated,
        }


def _pref_rank(attr: Attribute) -> int:
    values = attr.param("PREF")
    if values and values[0].isdigit():
        return int(values[0])
    if "pref" in attr.label.lower().split(","):
        return 1
    return 101


# --- building attributes ----------------------------------------------------------------------


def format_name(parts: tuple[str, ...]) -> str:
    """The display form of structured name parts: prefix, given, additional, family, suffix."""
    p = dict(zip(NAME_PARTS, parts, strict=False))
    order = ("prefix", "given", "additional", "family", "suffix")
    return " ".join(p[k].replace(",", " ") for k in order if p.get(k)).strip()


def format_address(parts: tuple[str, ...]) -> str:
    """The one-line form of structured address parts."""
    p = dict(zip(ADDRESS_PARTS, parts, strict=False))
    region = " ".join(x for x in (p.get("region", ""), p.get("postal_code", "")) if x)
    pieces = (p.get("pobox", ""), p.get("extended", ""), p.get("street", ""), p.get("locality", ""))
    return ", ".join(x for x in (*pieces, region, p.get("country", "")) if x)


def name_attribute(parts: Iterable[str], **kw: Any) -> Attribute:
    """A structured name (NAME_PARTS order), its display value computed from the parts."""
    padded = _pad(tuple(parts), len(NAME_PARTS), "name")
    return Attribute(NAME, format_name(padded), parts=padded, **kw)


def address_attribute(parts: Iterable[str], **kw: Any) -> Attribute:
    """A structured address (ADDRESS_PARTS order), its display value computed from the parts."""
    padded = _pad(tuple(parts), len(ADDRESS_PARTS), "address")
    return Attribute(ADDRESS, format_address(padded), parts=padded, **kw)


def _pad(parts: tuple[str, ...], n: int, what: str) -> tuple[str, ...]:
    if len(parts) > n:
        raise InvalidParameter(
            N_("a {what} has at most {n} parts, got {count}"), what=what, n=n, count=len(parts)
        )
    return tuple(p.strip() for p in parts) + ("",) * (n - len(parts))


_DATE_RE = re.compile(r"^(?:(\d{4})-?(\d{2})-?(\d{2})|--(\d{2})-?(\d{2}))$")


def birth_date_parts(text: str) -> tuple[int | None, int, int] | None:
    """(year, month, day) of a birth date as `normalize_birth_date` reads it, the year None
    when unknown; None when the text is no such date."""
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    if m[1]:
        return int(m[1]), int(m[2]), int(m[3])
    return None, int(m[4]), int(m[5])


def normalize_birth_date(text: str) -> str:
    """ISO 8601 `YYYY-MM-DD`, or `--MM-DD` when the year is unknown (vCard allows both)."""
    parts = birth_date_parts(text)
    if parts is None:
        raise InvalidParameter(N_("a birth date is YYYY-MM-DD (or --MM-DD without the year)"))
    year, month, day = parts
    try:
        date(year or 2000, month, day)  # 2000: a leap year accepts --02-29
    except ValueError:
        raise InvalidParameter(N_("the birth date is not a valid calendar date")) from None
    return f"{year:04d}-{month:02d}-{day:02d}" if year is not None else f"--{month:02d}-{day:02d}"


def parse_attribute(key: str, value: str, *, sensitive: bool = False) -> Attribute:
    """Build an attribute from the command line's `KEY[.LABEL]=VALUE` form.

    `name` takes "Given Family" or `family;given;additional;prefix;suffix`; `address` takes
    `street;locality;region;postal_code;country`; `handle.NETWORK` takes "USERNAME [URL]";
    `birth_date` takes YYYY-MM-DD; `field.KEY` (or any other key) is a free field.
    """
    kind, _, label = key.strip().partition(".")
    kind = kind.lower().replace("-", "_")
    value = value.strip()
    if not kind:
        raise InvalidParameter(N_("an attribute needs a key, as in email=me@example.org"))
    if not value:
        raise InvalidParameter(N_("attribute {key!r} has an empty value"), key=key)
    if kind == NAME:
        if ";" in value:
            return name_attribute(value.split(";"), label=label, sensitive=sensitive)
        words = value.split()
        given, family = " ".join(words[:-1]), words[-1]
        return name_attribute((family, given), label=label, sensitive=sensitive)
    if kind == ADDRESS:
        pieces = value.split(";")
        if len(pieces) > 5:
            raise InvalidParameter(N_("an address is street;locality;region;postal_code;country"))
        return address_attribute(("", "", *pieces), label=label, sensitive=sensitive)
    if kind == HANDLE:
        if not label:
            raise InvalidParameter(N_("a handle names its network, as in handle.mastodon=@me@host"))
        username, _, url = value.partition(" ")
        return Attribute(HANDLE, username, label=label, url=url.strip(), sensitive=sensitive)
    if kind == BIRTH_DATE:
        return Attribute(BIRTH_DATE, normalize_birth_date(value), label, sensitive=sensitive)
    if kind == FIELD:
        if not label:
            raise InvalidParameter(N_("a free field names its key, as in field.pronouns=they"))
        return Attribute(FIELD, value, label, sensitive=sensitive)
    if kind in (VCARD, RESUME):
        raise InvalidParameter(N_("{kind} attributes come from imports only"), kind=kind)
    if kind in ATTRIBUTE_KINDS:
        return Attribute(kind, value, label, sensitive=sensitive)
    # Anything else is a free key/value field, keyed by what the person typed.
    return Attribute(FIELD, value, key.strip(), sensitive=sensitive)


def matches(attr: Attribute, key: str) -> bool:
    """Whether a `kind` or `kind.label` key (as typed by people) names this attribute."""
    kind, _, label = key.strip().partition(".")
    kind = kind.lower().replace("-", "_")
    if kind not in ATTRIBUTE_KINDS:
        return attr.kind == FIELD and attr.label == key.strip()
    return attr.kind == kind and (not label or attr.label == label)


# --- editing attributes -------------------------------------------------------------------------

AttributeRef = str | Attribute
"""Which attributes a change applies to: a `kind` or `kind.label` key names every attribute it
matches (the command line's way); an Attribute, as read from the persona, names that one
attribute (the TUI's way: the row selected)."""


def apply_edits(
    attributes: Iterable[Attribute],
    *,
    set: Iterable[tuple[AttributeRef, str]] = (),
    add: Iterable[tuple[str, str]] = (),
    remove: Iterable[AttributeRef] = (),
    sensitive: Iterable[AttributeRef] = (),
    not_sensitive: Iterable[AttributeRef] = (),
) -> tuple[Attribute, ...]:
    """The attributes once the changes are made, in the order of the parameters.

    `set` (KEY, VALUE) replaces the attributes named by KEY with one parsed from VALUE, in the
    first one's place and keeping its sensitivity (or adds it when a key names none); `add`
    (KEY, VALUE) appends one; `remove` takes KEY or KEY=VALUE (only those with that value);
    `sensitive` and `not_sensitive` mark the attributes named. Values are read as
    `parse_attribute` reads them. InvalidParameter when a removal or a mark names nothing.
    """
    attrs = list(attributes)
    for ref, value in set:
        attrs = _set(attrs, ref, value)
    attrs += [parse_attribute(key, value) for key, value in add]
    for ref in remove:
        attrs = _remove(attrs, ref)
    for refs, flag in ((sensitive, True), (not_sensitive, False)):
        for ref in refs:
            attrs = _mark(attrs, ref, flag)
    return tuple(attrs)


def _named(attrs: list[Attribute], ref: AttributeRef) -> list[int]:
    """The positions of the attributes `ref` names (none for a key that names none). An
    Attribute no longer there was changed by someone else since it was read: refused."""
    if not isinstance(ref, Attribute):
        return [i for i, a in enumerate(attrs) if matches(a, ref)]
    if ref not in attrs:
        raise InvalidParameter(
            N_("the {key} attribute changed meanwhile; look at it again"), key=ref.key
        )
    return [attrs.index(ref)]  # the first equal one: identical attributes are interchangeable


def _set(attrs: list[Attribute], ref: AttributeRef, value: str) -> list[Attribute]:
    new = parse_attribute(ref.key if isinstance(ref, Attribute) else ref, value)
    found = _named(attrs, ref)
    if not found:
        return [*attrs, new]
    first = found[0]
    kept = [a for i, a in enumerate(attrs) if i not in found]
    kept.insert(first, replace(new, sensitive=attrs[first].sensitive))
    return kept


def _remove(attrs: list[Attribute], ref: AttributeRef) -> list[Attribute]:
    if isinstance(ref, Attribute):
        found = _named(attrs, ref)
    else:
        key, eq, value = ref.partition("=")
        found = [i for i in _named(attrs, key) if not eq or attrs[i].value == value.strip()]
        if not found:
            raise InvalidParameter(N_("no attribute matches --remove {key}"), key=key)
    return [a for i, a in enumerate(attrs) if i not in found]


def _mark(attrs: list[Attribute], ref: AttributeRef, sensitive: bool) -> list[Attribute]:
    found = _named(attrs, ref)
    if not found:
        raise InvalidParameter(N_("no attribute is named {ref}"), ref=ref)
    return [replace(a, sensitive=sensitive) if i in found else a for i, a in enumerate(attrs)]
