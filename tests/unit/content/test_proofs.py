"""Proofs of authorship: every version signed, the statement's fields, `minisign -V`."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vault import content
from vault.core import minisign
from vault.core.errors import (
    BadSignature,
)
from vault.core.vault import Vault


def _meta(title: str = "A note", **kw: object) -> content.ItemMeta:
    return content.ItemMeta(title=title, **kw)  # type: ignore[arg-type]


def test_statement_fields_and_signature(vault: Vault) -> None:
    item = content.add(vault, [b"my work"], _meta("Work", license="CC-BY-4.0"))
    p = content.proof(vault, item.id)
    fields = content.verify_statement(p.statement, p.signature, p.public_key)
    assert fields["type"] == content.STATEMENT_TYPE
    assert fields["item"] == item.id
    assert fields["version"] == 1
    assert fields["title"] == "Work"
    assert fields["license"] == "CC-BY-4.0"
    assert fields["content_sha256"] == hashlib.sha256(b"my work").hexdigest()
    key = minisign.parse_public_key(p.public_key)
    comment = minisign.verify(key, p.statement, p.signature)
    assert f"item:{item.id}" in comment
    assert "sha256:" + fields["content_sha256"] in comment
    forged = p.statement.replace(b"CC-BY-4.0", b"CC0-1.0")
    with pytest.raises(BadSignature):
        content.verify_statement(forged, p.signature, p.public_key)


def test_each_version_is_signed(vault: Vault) -> None:
    item = content.add(vault, [b"one"], _meta())
    content.edit(vault, item.id, body=[b"two"])
    p1, p2 = content.proof(vault, item.id, 1), content.proof(vault, item.id, 2)
    assert json.loads(p1.statement)["content_sha256"] == hashlib.sha256(b"one").hexdigest()
    assert json.loads(p2.statement)["content_sha256"] == hashlib.sha256(b"two").hexdigest()
    assert p1.public_key == p2.public_key


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("minisign") is None, reason="needs minisign")
def test_minisign_verifies_written_proof(vault: Vault, tmp_path: Path) -> None:
    item = content.add(vault, [b"a photo, say"], _meta("Photo", kind="photo"))
    statement, sig, pub = content.write_proof(vault, item.id, tmp_path / "proof")
    assert sig.name == statement.name + ".minisig"
    key_line = pub.read_text().splitlines()[1]
    out = subprocess.run(
        ["minisign", "-Vm", str(statement), "-P", key_line],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert f"item:{item.id}" in out.stdout
