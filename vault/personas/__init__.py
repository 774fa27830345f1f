"""Personas: the several identities of one person, their attributes and their keys.

A persona (legal self, professional self, a pseudonym) has a display name and attributes
(names, emails, phones, addresses, handles, birth date, avatar, free fields...), each of which
can be marked sensitive. Every persona holds one random 32-byte secret, sealed in its record
and never exported: its Ed25519 signing key, its X25519 key and, for each recipient, a pairwise
signing key and pseudonymous id are all derived from it, so two recipients comparing what they
received cannot link the persona. Derived attributes (`age_over:N`, `birth_year`, `country`)
are computed on demand and never stored. vCard and JSON Resume carry personas in and out.

The modules: `attributes` (values, parsing), `derived`, `keys`, `records` (the vault's
personas: add, list, get, update, delete, import), `vcard`, `jsonresume`.
"""

from vault.personas.attributes import (
    ADDRESS,
    ADDRESS_PARTS,
    ATTRIBUTE_KINDS,
    AVATAR,
    BIRTH_DATE,
    EMAIL,
    FIELD,
    HANDLE,
    NAME,
    NAME_PARTS,
    NICKNAME,
    NOTE,
    ORG,
    PHONE,
    RESUME,
    TITLE,
    URL,
    VCARD,
    Attribute,
    Params,
    Persona,
    address_attribute,
    format_address,
    format_name,
    matches,
    name_attribute,
    normalize_birth_date,
    parse_attribute,
)
from vault.personas.derived import DERIVED, country_code, derive
from vault.personas.keys import (
    Signer,
    age_identity,
    age_recipient,
    pairwise_id,
    signer,
    x25519_public_key,
    x25519_secret_key,
)
from vault.personas.records import (
    AUTHORED_KIND,
    KIND,
    ImportResult,
    PersonaDraft,
    add_persona,
    delete_persona,
    find_by_uid,
    get_persona,
    import_drafts,
    list_personas,
    resolve_persona,
    update_persona,
)

__all__ = [
    "ADDRESS",
    "ADDRESS_PARTS",
    "ATTRIBUTE_KINDS",
    "AUTHORED_KIND",
    "AVATAR",
    "BIRTH_DATE",
    "DERIVED",
    "EMAIL",
    "FIELD",
    "HANDLE",
    "KIND",
    "NAME",
    "NAME_PARTS",
    "NICKNAME",
    "NOTE",
    "ORG",
    "PHONE",
    "RESUME",
    "TITLE",
    "URL",
    "VCARD",
    "Attribute",
    "ImportResult",
    "Params",
    "Persona",
    "PersonaDraft",
    "Signer",
    "add_persona",
    "address_attribute",
    "age_identity",
    "age_recipient",
    "country_code",
    "delete_persona",
    "derive",
    "find_by_uid",
    "format_address",
    "format_name",
    "get_persona",
    "import_drafts",
    "list_personas",
    "matches",
    "name_attribute",
    "normalize_birth_date",
    "pairwise_id",
    "parse_attribute",
    "resolve_persona",
    "signer",
    "update_persona",
    "x25519_public_key",
    "x25519_secret_key",
]
