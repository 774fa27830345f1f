"""Personas in the vault: add, list, find, change and delete them, and import drafts.

Each persona is one sealed record: its name, UID, attributes, times and the random secret its
keys are derived from (vault.personas.keys); lookups go through blind indexes of the name and
UID. Every use case takes the Vault first, opens its own transaction and writes its own audit
entry.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from vault.core import crypto
from vault.core.errors import AlreadyExists, InvalidParameter, RecordNotFound, TamperedRecord
from vault.core.i18n import N_, N_plural, Text, sentence
from vault.core.importing import ImportSummary
from vault.personas.attributes import (
    ATTRIBUTE_KINDS,
    BIRTH_DATE,
    Attribute,
    AttributeRef,
    Persona,
    apply_edits,
    normalize_birth_date,
)

if TYPE_CHECKING:
    from vault.core.vault import Vault

KIND: Final = "persona"
AUTHORED_KIND: Final = "content.item"  # content items carry the term ("persona", id)
_RECORD_VERSION: Final = 1
EXPORT_FORMATS: Final = ("vcard", "jcard", "jsonresume")


# --- storage ------------------------------------------------------------------------------------


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
        raise TamperedRecord(N_("a persona record is unreadable")) from exc
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
        raise InvalidParameter(N_("a persona needs a non-empty name"))
    if len(clean) > 200:
        raise InvalidParameter(N_("a persona name is at most 200 characters"))
    return clean


def _check_attributes(attributes: Iterable[Attribute]) -> tuple[Attribute, ...]:
    out = tuple(attributes)
    for a in out:
        if a.kind not in ATTRIBUTE_KINDS:
            raise InvalidParameter(N_("unknown attribute kind {kind!r}"), kind=a.kind)
        if a.kind == BIRTH_DATE:
            normalize_birth_date(a.value)
    return out


def _ensure_unique_name(vault: Vault, name: str, uid: str, own_id: str | None = None) -> None:
    for rec in vault.store.find(KIND, "name", _name_term(name)):
        if rec.id != own_id:
            raise AlreadyExists(N_("a persona with that name exists (id {id})"), id=rec.id[:8])
    for rec in vault.store.find(KIND, "uid", uid):
        if rec.id != own_id:
            raise AlreadyExists(N_("a persona with that UID exists (id {id})"), id=rec.id[:8])


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
    now = vault.clock.iso()
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
    return load_with_secret(vault, ref)[0]


def load_with_secret(vault: Vault, ref: str) -> tuple[Persona, bytes]:
    """A persona (found as `get_persona` finds it) and its secret, for the key derivations of
    vault.personas.keys: the secret never leaves this package."""
    ref = ref.strip()
    if not ref:
        raise RecordNotFound(N_("persona (empty reference)"))
    candidates = vault.store.find(KIND, "name", _name_term(ref)) or vault.store.find(
        KIND, "uid", ref
    )
    if not candidates and re.fullmatch(r"[0-9a-fA-F]{4,32}", ref):
        candidates = vault.store.find_prefix(KIND, ref)
        if len(candidates) > 1:
            raise InvalidParameter(
                N_("the id prefix {ref} matches several personas; type more"), ref=ref
            )
    if candidates:
        rec = candidates[0]
        return _decode(rec.id, rec.version, rec.data)
    # Last, a unique name prefix ("jane" for "Jane Doe"): personas are few, so scan them.
    prefix = _name_term(ref)
    loaded = [_decode(r.id, r.version, r.data) for r in vault.store.iter_kind(KIND)]
    hits = [pair for pair in loaded if _name_term(pair[0].name).startswith(prefix)]
    if len(hits) > 1:
        raise InvalidParameter(N_("several personas have names starting so; use the id"))
    if not hits:
        raise RecordNotFound(N_("persona (no id, name or UID matches)"))
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
        persona, secret = load_with_secret(vault, ref)
        new_name = _check_name(name) if name is not None else persona.name
        attrs = _check_attributes(attributes) if attributes is not None else persona.attributes
        if (new_name, attrs) == persona.profile():
            return persona
        _ensure_unique_name(vault, new_name, persona.uid, own_id=persona.id)
        updated = replace(persona, name=new_name, attributes=attrs, updated=vault.clock.iso())
        version = t.update(
            KIND, persona.id, _encode(updated, secret), terms=_terms(new_name, persona.uid)
        )
        t.audit("persona.edit", persona=persona.id, attributes=len(attrs))
    return replace(updated, version=version)


def edit(
    vault: Vault,
    ref: str,
    *,
    name: str | None = None,
    set: Iterable[tuple[AttributeRef, str]] = (),
    add: Iterable[tuple[str, str]] = (),
    remove: Iterable[AttributeRef] = (),
    sensitive: Iterable[AttributeRef] = (),
    not_sensitive: Iterable[AttributeRef] = (),
) -> Persona:
    """Rename a persona and change its attributes as `attributes.apply_edits` says, all in one
    transaction (every change or none); return it updated. Its keys never change; a persona
    left as it was gets no new version and no audit entry."""
    with vault.store.write():
        persona = get_persona(vault, ref)
        attrs = apply_edits(
            persona.attributes,
            set=set,
            add=add,
            remove=remove,
            sensitive=sensitive,
            not_sensitive=not_sensitive,
        )
        return update_persona(vault, persona.id, name=name, attributes=attrs)


def delete_persona(vault: Vault, ref: str) -> Persona:
    """Delete a persona and its secret: its keys cannot be derived again afterwards.

    Refused while content items name the persona as author (their authorship could no longer
    be proven): forget or reassign them first.
    """
    with vault.store.write() as t:
        persona, _secret = load_with_secret(vault, ref)
        authored = len(vault.store.find(AUTHORED_KIND, "persona", persona.id))
        if authored:
            raise InvalidParameter(
                Text(
                    N_plural(
                        "{n} content item is authored by this persona; remove it first",
                        "{n} content items are authored by this persona; remove them first",
                    ),
                    n=authored,
                )
            )
        t.delete(KIND, persona.id)
        t.audit("persona.rm", persona=persona.id)
    return persona


@dataclass(frozen=True)
class PersonaExport:
    """A persona as the text of a file; `left_out` counts the sensitive attributes left out."""

    persona: str
    format: str
    text: str
    left_out: int


def export(
    vault: Vault, ref: str, *, fmt: str = "vcard", include_sensitive: bool = False
) -> PersonaExport:
    """A persona as vCard 4.0, jCard (RFC 7095) or JSON Resume text (EXPORT_FORMATS), its
    sensitive attributes left out unless `include_sensitive`; recorded in the audit log."""
    # Imported here: the format modules import this package's API, which imports this module.
    from vault.personas import jsonresume, vcard

    if fmt not in EXPORT_FORMATS:
        raise InvalidParameter(
            N_("a persona exports as {formats}, not {fmt!r}"),
            formats=", ".join(EXPORT_FORMATS),
            fmt=fmt,
        )
    with vault.store.write() as txn:
        persona = get_persona(vault, ref)
        shown = persona if include_sensitive else persona.without_sensitive()
        if fmt == "vcard":
            text = vcard.to_vcard([shown])
        elif fmt == "jcard":
            text = json.dumps(vcard.to_jcard([shown]), indent=2, ensure_ascii=False) + "\n"
        else:
            text = json.dumps(jsonresume.to_jsonresume(shown), indent=2, ensure_ascii=False) + "\n"
        txn.audit("persona.export", persona=persona.id, sensitive=int(include_sensitive))
    return PersonaExport(persona.id, fmt, text, len(persona.attributes) - len(shown.attributes))


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
    vault: Vault,
    drafts: Iterable[PersonaDraft],
    *,
    fmt: str,
    skipped: Iterable[str] = (),
    ignored: int | None = None,
    notes: Iterable[str] = (),
) -> ImportSummary:
    """Store drafts in one transaction: a draft whose UID (or, without one, whose name) is
    already in the vault updates that persona, so importing the same file twice adds nothing.
    Any failure leaves the vault unchanged and names the card it came from. `fmt` names the
    import format; `skipped` gives why the file's other cards are not personas, `ignored`
    how many they are (one per reason when not given), `notes` what was assumed."""
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
                raise type(exc)(
                    N_("{source}: {detail}"), source=draft.source, detail=sentence(exc.detail or "")
                ) from None
        txn.audit(f"persona.import.{fmt}", added=len(added), updated=len(updated))
    reasons = tuple(skipped)
    return ImportSummary(
        fmt,
        added=len(added),
        added_ids=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        ignored=len(reasons) if ignored is None else ignored,
        skipped=reasons,
        notes=tuple(notes),
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
        raise InvalidParameter(N_("there is no persona yet; add one with `coffre persona add`"))
    raise InvalidParameter(N_("there are several personas; name one with --persona"))
