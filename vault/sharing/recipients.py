"""Recipients: the platforms, apps, doctors or researchers a person shares with.

A recipient is named by the person and holds an age X25519 public key (`age1...`), to which
its bundles are encrypted, and optionally a minisign public key of its own. Its fingerprint,
the SHA-256 of the canonical age key, is what the persona's pairwise keys are derived from,
so each recipient sees a different, unlinkable pseudonym.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from vault.core import crypto, minisign
from vault.core.clock import SYSTEM_CLOCK
from vault.core.errors import (
    AlreadyExists,
    BadSignature,
    InvalidParameter,
    MalformedAgeKey,
    RecordNotFound,
    TamperedRecord,
)
from vault.core.i18n import N_
from vault.core.outputs import output_file

if TYPE_CHECKING:
    from vault.core.vault import Vault

KIND: Final = "consent.recipient"
_RECORD_VERSION: Final = 1
_URL_RE: Final = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Recipient:
    """Someone a persona may share with; `fingerprint` is the SHA-256 of its age key."""

    id: str
    name: str
    age_key: str
    fingerprint: str
    contact: str = ""
    homepage: str = ""
    minisign_key: str = ""
    created: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "age_key": self.age_key,
            "fingerprint": self.fingerprint,
            "contact": self.contact,
            "homepage": self.homepage,
            "minisign_key": self.minisign_key,
            "created": self.created,
        }


def check_age_key(text: str) -> str:
    """The canonical age X25519 recipient (`age1...`); MalformedAgeKey otherwise."""
    value = text.strip()
    if not value.startswith("age1"):
        raise MalformedAgeKey(N_("an age public key starts with age1 (as age-keygen prints it)"))
    try:
        return crypto.age_check_recipient(value)
    except crypto.CryptoFailure:
        raise MalformedAgeKey(N_("not a valid age X25519 public key (bad Bech32)")) from None


def fingerprint_of(age_key: str) -> str:
    """SHA-256 (hex) of the canonical age key: `printf %s age1... | sha256sum` gives it."""
    return hashlib.sha256(check_age_key(age_key).encode("ascii")).hexdigest()


def _name_term(name: str) -> str:
    return " ".join(name.split()).casefold()


def _decode(rec_id: str, raw: bytes) -> Recipient:
    try:
        d = json.loads(raw)
        return Recipient(
            id=rec_id,
            name=str(d["name"]),
            age_key=str(d["age_key"]),
            fingerprint=str(d["fingerprint"]),
            contact=str(d.get("contact", "")),
            homepage=str(d.get("homepage", "")),
            minisign_key=str(d.get("minisign_key", "")),
            created=str(d.get("created", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TamperedRecord(N_("a recipient record is unreadable")) from exc


def add_recipient(
    vault: Vault,
    name: str,
    age_key: str,
    *,
    contact: str = "",
    homepage: str = "",
    minisign_key: str = "",
) -> Recipient:
    """Register a recipient; names and age keys are unique within a vault."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidParameter(N_("a recipient needs a non-empty name"))
    if len(clean) > 200:
        raise InvalidParameter(N_("a recipient name is at most 200 characters"))
    key = check_age_key(age_key)
    fp = hashlib.sha256(key.encode("ascii")).hexdigest()
    homepage = homepage.strip()
    if homepage and not _URL_RE.match(homepage):
        raise InvalidParameter(N_("the homepage must be an http(s) URL"))
    ms_key = ""
    if minisign_key.strip():
        try:
            parsed = minisign.parse_public_key(minisign_key.strip())
        except (BadSignature, InvalidParameter) as exc:
            raise InvalidParameter(N_("the minisign key is not a minisign public key")) from exc
        ms_key = minisign.public_key_line(parsed.key, parsed.key_id)
    rec = Recipient("", clean, key, fp, contact.strip(), homepage, ms_key, vault.clock.iso())
    store = vault.store
    with store.write() as txn:
        for found in store.find(KIND, "name", _name_term(clean)):
            raise AlreadyExists(N_("a recipient with that name exists (id {id})"), id=found.id[:8])
        for found in store.find(KIND, "fingerprint", fp):
            raise AlreadyExists(
                N_("a recipient with that age key exists (id {id})"), id=found.id[:8]
            )
        data = rec.as_dict()
        del data["id"]
        data["v"] = _RECORD_VERSION
        rid = txn.put(
            KIND,
            json.dumps(data, ensure_ascii=False).encode("utf-8"),
            terms=[("name", _name_term(clean)), ("fingerprint", fp)],
        )
        txn.audit("recipient.add", recipient=rid)
    return replace(rec, id=rid)


def list_recipients(vault: Vault) -> list[Recipient]:
    """Every recipient, sorted by name."""
    found = [_decode(r.id, r.data) for r in vault.store.iter_kind(KIND)]
    return sorted(found, key=lambda r: (r.name.casefold(), r.id))


def get_recipient(vault: Vault, ref: str) -> Recipient:
    """A recipient by id, unique id prefix (4+ hex digits), name (any case) or fingerprint."""
    ref = ref.strip()
    if not ref:
        raise RecordNotFound(N_("recipient (empty reference)"))
    store = vault.store
    found = store.find(KIND, "name", _name_term(ref)) or store.find(KIND, "fingerprint", ref)
    if not found and re.fullmatch(r"[0-9a-fA-F]{4,32}", ref):
        found = store.find_prefix(KIND, ref.lower())
        if len(found) > 1:
            raise InvalidParameter(
                N_("the id prefix {ref} matches several recipients; type more"), ref=ref
            )
    if not found:
        raise RecordNotFound(N_("recipient (no id, name or fingerprint matches)"))
    return _decode(found[0].id, found[0].data)


# --- identities (the recipient's own secret key, for tests and second devices) ---------------


def identity_file_text(secret: str, public: str) -> str:
    """An identity file in the layout `age-keygen` writes (`age -d -i FILE` reads it); the
    recipient's key, made outside any vault, so stamped by the system clock."""
    return f"# created: {SYSTEM_CLOCK.iso()}\n# public key: {public}\n{secret}\n"


def write_identity(path: Path) -> str:
    """Create an age identity in a new output file (mode 0600, never replaced); return its
    public key."""
    secret, public = crypto.age_keygen()
    with output_file(path, force=False) as f:
        f.write(identity_file_text(secret, public).encode("ascii"))
    return public


def read_identities(path: Path) -> list[str]:
    """The `AGE-SECRET-KEY-1...` lines of an identity file (comments and blanks skipped)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(N_("cannot read the identity file {file}"), file=path.name) from exc
    keys: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.upper().startswith("AGE-SECRET-KEY-1"):
            raise MalformedAgeKey(
                N_("{file} line {lineno}: not an age X25519 identity"),
                file=path.name,
                lineno=lineno,
            )
        try:
            crypto.age_identity_public(line)
        except crypto.CryptoFailure:
            raise MalformedAgeKey(
                N_("{file} line {lineno}: invalid identity"), file=path.name, lineno=lineno
            ) from None
        keys.append(line)
    if not keys:
        raise MalformedAgeKey(N_("{file} holds no age identity"), file=path.name)
    return keys
