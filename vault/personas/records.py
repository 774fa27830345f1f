"""Personas: the several identities of one person, their attributes and their keys.

A persona (legal self, professional self, a pseudonym) has a display name and attributes
(names, emails, phones, addresses, handles, birth date, avatar, free fields...), each of which
can be marked sensitive. Every persona holds one random 32-byte secret, sealed in its record
and never exported: its Ed25519 signing key, its X25519 key and, for each recipient, a pairwise
signing key and pseudonymous id are all derived from it, so two recipients comparing what they
received cannot link the persona. Derived attributes (`age_over:N`, `birth_year`, `country`)
are computed on demand and never stored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import pycountry

from vault.core import crypto, minisign
from vault.core.errors import AlreadyExists, InvalidParameter, RecordNotFound, TamperedRecord
from vault.core.importing import ImportSummary

if TYPE_CHECKING:
    from vault.core.vault import Vault

KIND: Final = "persona"
AUTHORED_KIND: Final = "content.item"  # content items carry the term ("persona", id)
_RECORD_VERSION: Final = 1

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
DERIVED: Final = ("age_over:N", "birth_year", "country")

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
            raise InvalidParameter(f"{self.kind} attributes have no part named {name!r}")
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
        raise InvalidParameter(f"a {what} has at most {n} parts, got {len(parts)}")
    return tuple(p.strip() for p in parts) + ("",) * (n - len(parts))


_DATE_RE = re.compile(r"^(?:(\d{4})-?(\d{2})-?(\d{2})|--(\d{2})-?(\d{2}))$")


def normalize_birth_date(text: str) -> str:
    """ISO 8601 `YYYY-MM-DD`, or `--MM-DD` when the year is unknown (vCard allows both)."""
    m = _DATE_RE.match(text.strip())
    if not m:
        raise InvalidParameter("a birth date is YYYY-MM-DD (or --MM-DD without the year)")
    year, month, day = (m[1], m[2], m[3]) if m[1] else (None, m[4], m[5])
    try:
        date(int(year or 2000), int(month), int(day))  # 2000: a leap year accepts --02-29
    except ValueError:
        raise InvalidParameter("the birth date is not a valid calendar date") from None
    return f"{year}-{month}-{day}" if year else f"--{month}-{day}"


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
        raise InvalidParameter("an attribute needs a key, as in email=me@example.org")
    if not value:
        raise InvalidParameter(f"attribute {key!r} has an empty value")
    if kind == NAME:
        if ";" in value:
            return name_attribute(value.split(";"), label=label, sensitive=sensitive)
        words = value.split()
        given, family = " ".join(words[:-1]), words[-1]
        return name_attribute((family, given), label=label, sensitive=sensitive)
    if kind == ADDRESS:
        pieces = value.split(";")
        if len(pieces) > 5:
            raise InvalidParameter("an address is street;locality;region;postal_code;country")
        return address_attribute(("", "", *pieces), label=label, sensitive=sensitive)
    if kind == HANDLE:
        if not label:
            raise InvalidParameter("a handle names its network, as in handle.mastodon=@me@host")
        username, _, url = value.partition(" ")
        return Attribute(HANDLE, username, label=label, url=url.strip(), sensitive=sensitive)
    if kind == BIRTH_DATE:
        return Attribute(BIRTH_DATE, normalize_birth_date(value), label, sensitive=sensitive)
    if kind == FIELD:
        if not label:
            raise InvalidParameter("a free field names its key, as in field.pronouns=they")
        return Attribute(FIELD, value, label, sensitive=sensitive)
    if kind in (VCARD, RESUME):
        raise InvalidParameter(f"{kind} attributes come from imports only")
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


# --- derived attributes -------------------------------------------------------------------------

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

    `age_over:N` is True or False, `birth_year` an int, `country` an ISO 3166-1 alpha-2 code
    taken from the preferred address.
    """
    if name == "birth_year":
        born = _birth(persona)
        return born[0] if born and born[0] else None
    if name.startswith("age_over:"):
        try:
            years = int(name.partition(":")[2])
        except ValueError:
            raise InvalidParameter("age_over takes a number of years, as in age_over:18") from None
        if years < 0 or years > 150:
            raise InvalidParameter("age_over takes a number of years between 0 and 150")
        born = _birth(persona)
        if not born:
            return None
        on = today or datetime.now(UTC).date()
        year, month, day = born
        if year is None:
            return None
        age = on.year - year - ((on.month, on.day) < (month, day))
        return age >= years
    if name == "country":
        adr = persona.first(ADDRESS)
        return country_code(adr.part("country")) if adr else None
    raise InvalidParameter(f"unknown derived attribute; known ones: {', '.join(DERIVED)}")


def _birth(persona: Persona) -> tuple[int | None, int, int] | None:
    attr = persona.first(BIRTH_DATE)
    if attr is None:
        return None
    m = _DATE_RE.match(attr.value)
    if not m:
        return None
    if m[1]:
        return int(m[1]), int(m[2]), int(m[3])
    return None, int(m[4]), int(m[5])


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signing key of a persona (its own, or the pairwise one for a recipient).

    `pseudonym` is the id the persona shows that recipient (its own id when not pairwise).
    The seed never leaves this object: callers get public keys and signatures only.
    """

    persona_id: str
    public_key: bytes
    pseudonym: str
    recipient: str | None
    _seed: bytes = field(repr=False)

    @property
    def key_id(self) -> bytes:
        """The 8-byte minisign key number of this key."""
        return crypto.ed25519_key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """A detached 64-byte Ed25519 signature of `message`."""
        return crypto.ed25519_sign(self._seed, message)

    def minisign_public_key(self) -> str:
        """The public key in minisign's base64 form (`minisign -P KEY` takes it)."""
        return minisign.public_key_line(self.public_key, self.key_id)


def _signing_seed(secret: bytes, recipient: str | None) -> bytes:
    if recipient is None:
        return crypto.derive_key(secret, "persona-sign")
    return crypto.derive_key(secret, "persona-pairwise-sign", _fingerprint(recipient))


def _fingerprint(recipient: str) -> bytes:
    fp = recipient.strip()
    if not fp:
        raise InvalidParameter("a recipient fingerprint cannot be empty")
    return fp.encode("utf-8")


def pairwise_id(secret: bytes, recipient: str) -> str:
    """The pseudonymous id a persona shows one recipient: stable for it, unlinkable across."""
    return crypto.derive_key(secret, "persona-pairwise-id", _fingerprint(recipient))[:16].hex()


# --- storage ------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _name_term(name: str) -> str:
    return " ".join(name.split()).casefold()


def _terms(name: str, uid: str) -> list[tuple[str, str]]:
    return [("name", _name_term(name)), ("uid", uid)]


def _decode(rec_id: str, version: int, raw: bytes) -> tuple[Persona, bytes]:
    try:
        d = json.loads(raw)
        persona = Persona(
            id=rec_id,
            name=str(d["name"]),
            uid=str(d["uid"]),
            attributes=tuple(Attribute.from_json(a) for a in d.get("attributes", ())),
            created=str(d.get("created", "")),
            updated=str(d.get("updated", "")),
            version=version,
        )
        secret = bytes.fromhex(d["secret"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TamperedRecord("a persona record is unreadable") from exc
    return persona, secret


def _encode(persona: Persona, secret: bytes) -> bytes:
    return json.dumps(
        {
            "v": _RECORD_VERSION,
            "name": persona.name,
            "uid": persona.uid,
            "created": persona.created,
            "updated": persona.updated,
            "secret": secret.hex(),
            "attributes": [a.to_json() for a in persona.attributes],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def _check_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidParameter("a persona needs a non-empty name")
    if len(clean) > 200:
        raise InvalidParameter("a persona name is at most 200 characters")
    return clean


def _check_attributes(attributes: Iterable[Attribute]) -> tuple[Attribute, ...]:
    out = tuple(attributes)
    for a in out:
        if a.kind not in ATTRIBUTE_KINDS:
            raise InvalidParameter(f"unknown attribute kind {a.kind!r}")
        if a.kind == BIRTH_DATE:
            normalize_birth_date(a.value)
    return out


def _ensure_unique_name(vault: Vault, name: str, uid: str, own_id: str | None = None) -> None:
    for rec in vault.store.find(KIND, "name", _name_term(name)):
        if rec.id != own_id:
            raise AlreadyExists(f"a persona with that name exists (id {rec.id[:8]})")
    for rec in vault.store.find(KIND, "uid", uid):
        if rec.id != own_id:
            raise AlreadyExists(f"a persona with that UID exists (id {rec.id[:8]})")


def add_persona(
    vault: Vault,
    name: str,
    attributes: Iterable[Attribute] = (),
    *,
    uid: str | None = None,
) -> Persona:
    """Create a persona with fresh keys; names and UIDs are unique within a vault."""
    name = _check_name(name)
    attrs = _check_attributes(attributes)
    uid = (uid or f"urn:uuid:{uuid.uuid4()}").strip()
    now = _now()
    secret = crypto.new_key()
    with vault.store.write() as t:
        _ensure_unique_name(vault, name, uid)
        draft = Persona("", name, uid, attrs, now, now)
        rid = t.put(KIND, _encode(draft, secret), terms=_terms(name, uid))
        t.audit("persona.add", persona=rid, attributes=len(attrs))
    return replace(draft, id=rid)


def list_personas(vault: Vault) -> list[Persona]:
    """Every persona, sorted by name."""
    found = [_decode(r.id, r.version, r.data)[0] for r in vault.store.iter_kind(KIND)]
    return sorted(found, key=lambda p: (p.name.casefold(), p.id))


def get_persona(vault: Vault, ref: str) -> Persona:
    """A persona by id, unique id prefix (4+ hex digits), name (any case), UID or unique
    name prefix."""
    return _load(vault, ref)[0]


def _load(vault: Vault, ref: str) -> tuple[Persona, bytes]:
    ref = ref.strip()
    if not ref:
        raise RecordNotFound("persona (empty reference)")
    candidates = vault.store.find(KIND, "name", _name_term(ref)) or vault.store.find(
        KIND, "uid", ref
    )
    if not candidates and re.fullmatch(r"[0-9a-fA-F]{4,32}", ref):
        candidates = vault.store.find_prefix(KIND, ref)
        if len(candidates) > 1:
            raise InvalidParameter(f"the id prefix {ref} matches several personas; type more")
    if candidates:
        rec = candidates[0]
        return _decode(rec.id, rec.version, rec.data)
    # Last, a unique name prefix ("jane" for "Jane Doe"): personas are few, so scan them.
    prefix = _name_term(ref)
    loaded = [_decode(r.id, r.version, r.data) for r in vault.store.iter_kind(KIND)]
    hits = [pair for pair in loaded if _name_term(pair[0].name).startswith(prefix)]
    if len(hits) > 1:
        raise InvalidParameter("several personas have names starting so; use the id")
    if not hits:
        raise RecordNotFound("persona (no id, name or UID matches)")
    return hits[0]


def find_by_uid(vault: Vault, uid: str) -> Persona | None:
    """The persona carrying this UID (imports use it to update rather than duplicate)."""
    found = vault.store.find(KIND, "uid", uid.strip())
    return _decode(found[0].id, found[0].version, found[0].data)[0] if found else None


def update_persona(
    vault: Vault,
    ref: str,
    *,
    name: str | None = None,
    attributes: Iterable[Attribute] | None = None,
) -> Persona:
    """Change a persona's name and/or replace its attributes (its keys stay the same)."""
    with vault.store.write() as t:
        persona, secret = _load(vault, ref)
        new_name = _check_name(name) if name is not None else persona.name
        attrs = _check_attributes(attributes) if attributes is not None else persona.attributes
        if (new_name, attrs) == persona.profile():
            return persona
        _ensure_unique_name(vault, new_name, persona.uid, own_id=persona.id)
        updated = replace(persona, name=new_name, attributes=attrs, updated=_now())
        version = t.update(
            KIND, persona.id, _encode(updated, secret), terms=_terms(new_name, persona.uid)
        )
        t.audit("persona.edit", persona=persona.id, attributes=len(attrs))
    return replace(updated, version=version)


def delete_persona(vault: Vault, ref: str) -> Persona:
    """Delete a persona and its secret: its keys cannot be derived again afterwards.

    Refused while content items name the persona as author (their authorship could no longer
    be proven): forget or reassign them first.
    """
    with vault.store.write() as t:
        persona, _secret = _load(vault, ref)
        authored = len(vault.store.find(AUTHORED_KIND, "persona", persona.id))
        if authored:
            raise InvalidParameter(
                f"{authored} content item(s) are authored by this persona; remove them first"
            )
        t.delete(KIND, persona.id)
        t.audit("persona.rm", persona=persona.id)
    return persona


def signer(vault: Vault, ref: str, *, recipient: str | None = None) -> Signer:
    """The persona's signing key; with `recipient` (its fingerprint), the pairwise one."""
    persona, secret = _load(vault, ref)
    seed = _signing_seed(secret, recipient)
    pseudonym = persona.id if recipient is None else pairwise_id(secret, recipient)
    return Signer(persona.id, crypto.ed25519_public_key(seed), pseudonym, recipient, seed)


_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32(hrp: str, data: bytes) -> str:
    """BIP 173 Bech32 (as age writes its keys), without the 90-character limit."""
    acc = bits = 0
    words: list[int] = []
    for byte in data:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + words + [0] * 6:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                chk ^= gen
    chk ^= 1
    words += [(chk >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[w] for w in words)


def age_recipient(vault: Vault, ref: str) -> str:
    """The persona's X25519 public key as an age recipient (`age -r age1...` encrypts to it)."""
    return _bech32("age", x25519_public_key(vault, ref))


def age_identity(vault: Vault, ref: str) -> str:
    """The persona's X25519 secret as an age identity, for decrypting inside the vault only."""
    return _bech32("age-secret-key-", x25519_secret_key(vault, ref)).upper()


def x25519_public_key(vault: Vault, ref: str) -> bytes:
    """The persona's X25519 public key (others encrypt to the persona with it)."""
    _persona, secret = _load(vault, ref)
    return crypto.x25519_keypair(crypto.derive_key(secret, "persona-x25519"))[1]


def x25519_secret_key(vault: Vault, ref: str) -> bytes:
    """The persona's X25519 secret key, for decrypting inside the vault (never export it)."""
    _persona, secret = _load(vault, ref)
    return crypto.x25519_keypair(crypto.derive_key(secret, "persona-x25519"))[0]


# --- imports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaDraft:
    """A persona read from a file, before it is stored; `source` names where (file, card)."""

    name: str
    uid: str | None
    attributes: tuple[Attribute, ...]
    source: str


def _existing(vault: Vault, uid: str | None, name: str) -> Persona | None:
    if uid:
        return find_by_uid(vault, uid)
    found = vault.store.find(KIND, "name", _name_term(name))
    return _decode(found[0].id, found[0].version, found[0].data)[0] if found else None


def import_drafts(
    vault: Vault, drafts: Iterable[PersonaDraft], *, fmt: str, skipped: Iterable[str] = ()
) -> ImportSummary:
    """Store drafts in one transaction: a draft whose UID (or, without one, whose name) is
    already in the vault updates that persona, so importing the same file twice adds nothing.
    Any failure leaves the vault unchanged and names the card it came from. `fmt` names the
    import format; `skipped` gives why the file's other cards are not personas."""
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    with vault.store.write() as txn:
        for draft in drafts:
            try:
                attrs = _check_attributes(draft.attributes)
                name = _check_name(draft.name)
                existing = _existing(vault, draft.uid, name)
                if existing is None:
                    added.append(add_persona(vault, name, attrs, uid=draft.uid).id)
                elif existing.profile() == (name, attrs):
                    unchanged.append(existing.id)
                else:
                    update_persona(vault, existing.id, name=name, attributes=attrs)
                    updated.append(existing.id)
            except (InvalidParameter, AlreadyExists) as exc:
                raise type(exc)(f"{draft.source}: {exc.detail}") from None
        txn.audit(f"persona.import.{fmt}", added=len(added), updated=len(updated))
    reasons = tuple(skipped)
    return ImportSummary(
        fmt,
        added=len(added),
        added_ids=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        ignored=len(reasons),
        skipped=reasons,
    )


# --- references from commands -------------------------------------------------------------------


def resolve_persona(vault: Vault, ref: str | None) -> Persona:
    """The persona a `--persona` option names; with no option, the only persona there is.

    Raises RecordNotFound when nothing matches and InvalidParameter when the choice is
    ambiguous (no option given while there are several personas, or none at all).
    """
    if ref is not None and ref.strip():
        return get_persona(vault, ref)
    personas = list_personas(vault)
    if len(personas) == 1:
        return personas[0]
    if not personas:
        raise InvalidParameter("there is no persona yet; add one with `coffre persona add`")
    raise InvalidParameter("there are several personas; name one with --persona")
