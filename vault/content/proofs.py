"""Proofs of authorship: the signed statement of one version of an item, as the three files
`content prove` writes (statement, its minisign signature, the persona's public key), and
their verification. Anyone can check them with `minisign -V`; docs/formats.md describes the
statement, which `items` signs when it stores each version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.content.items import get_version
from vault.core import minisign
from vault.core.errors import BadSignature, InvalidParameter
from vault.core.i18n import N_
from vault.core.outputs import write_files

if TYPE_CHECKING:
    from vault.core.vault import Vault


@dataclass(frozen=True)
class Proof:
    """The three files `content prove` writes: statement, its `.minisig`, the `.pub` key."""

    name: str
    statement: bytes
    signature: str
    public_key: str


def proof(vault: Vault, ref: str, number: int | None = None) -> Proof:
    """The signed authorship statement of a version, with the persona's public key."""
    version = get_version(vault, ref, number)
    statement = json.loads(version.statement)
    public = minisign.parse_public_key(statement["persona_public_key"])
    return Proof(
        name=f"{version.item[:12]}-v{version.number}",
        statement=version.statement,
        signature=version.signature,
        public_key=minisign.public_key_file(public.key, public.key_id),
    )


def write_proof(
    vault: Vault, ref: str, out_dir: Path, number: int | None = None, *, force: bool = False
) -> list[Path]:
    """Write `<name>.json`, `<name>.json.minisig` and `<name>.pub` into `out_dir` as output
    files (`vault.core.outputs`): none is replaced unless `force`."""
    p = proof(vault, ref, number)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameter(
            N_("cannot create the folder {folder} ({reason})"), folder=out_dir, reason=exc.strerror
        ) from None
    return write_files(
        {
            out_dir / f"{p.name}.json": p.statement,
            out_dir / f"{p.name}.json.minisig": p.signature.encode("utf-8"),
            out_dir / f"{p.name}.pub": p.public_key.encode("utf-8"),
        },
        force=force,
    )


def verify_statement(statement: bytes, signature: str, public_key: str | bytes) -> dict[str, Any]:
    """Check a proof: the signature verifies under the key the statement names. Returns the
    statement's fields (raises BadSignature otherwise)."""
    minisign.verify(public_key, statement, signature)
    fields: dict[str, Any] = json.loads(statement)
    named = minisign.parse_public_key(fields.get("persona_public_key", ""))
    given = minisign.parse_public_key(public_key)
    if named != given:
        raise BadSignature(N_("the statement names another persona key than the one given"))
    return fields
