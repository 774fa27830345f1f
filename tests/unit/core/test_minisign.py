"""Minisign keys and signatures, checked against themselves and the real `minisign` tool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.core import crypto, minisign
from vault.core.errors import BadSignature, InvalidParameter

SEED = bytes(range(32))
PK = crypto.ed25519_public_key(SEED)
KID = minisign.key_id_for(PK)

needs_minisign = pytest.mark.skipif(shutil.which("minisign") is None, reason="needs minisign")


def test_sign_verify_round_trip() -> None:
    sig = minisign.sign(SEED, KID, b"hello", "item:1 version:1")
    assert minisign.verify(minisign.public_key_line(PK, KID), b"hello", sig) == "item:1 version:1"
    assert minisign.verify(PK, b"hello", sig) == "item:1 version:1"
    assert minisign.verify(minisign.public_key_file(PK, KID), b"hello", sig.encode()) == (
        "item:1 version:1"
    )


def test_streamed_data_signs_like_bytes() -> None:
    chunks = [b"a" * 1000, b"b" * 3, b""]
    sig = minisign.sign(SEED, None, chunks, "c")
    assert minisign.verify(PK, b"".join(chunks), sig) == "c"


def test_public_key_file_shape() -> None:
    text = minisign.public_key_file(PK, KID)
    first, second = text.splitlines()
    key_id_hex = minisign.PublicKey(KID, PK).key_id_hex
    assert first == f"untrusted comment: minisign public key {key_id_hex}"
    parsed = minisign.parse_public_key(second)
    assert (parsed.key_id, parsed.key) == (KID, PK)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda lines: [lines[0], lines[1], "trusted comment: forged", lines[3]],
        lambda lines: [lines[0], lines[1][:-4] + "AAA=", lines[2], lines[3]],
        lambda lines: [lines[0], lines[1], lines[2], lines[3][:-4] + "AAA="],
        lambda lines: lines[:2],
        lambda lines: [lines[0], "not base64!", lines[2], lines[3]],
    ],
)
def test_tampering_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    lines = minisign.sign(SEED, KID, b"data", "ok").splitlines()
    with pytest.raises(BadSignature):
        minisign.verify(PK, b"data", "\n".join(mutate(lines)) + "\n")


def test_other_data_or_key_is_refused() -> None:
    sig = minisign.sign(SEED, KID, b"data", "ok")
    with pytest.raises(BadSignature, match="invalid"):
        minisign.verify(PK, b"datA", sig)
    other = crypto.ed25519_public_key(bytes(32))
    with pytest.raises(BadSignature, match="key ids differ"):
        minisign.verify(other, b"data", sig)
    # Same key id, another key: the signature check itself fails.
    with pytest.raises(BadSignature):
        minisign.verify(minisign.PublicKey(KID, other), b"data", sig)


def test_multiline_comments_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        minisign.sign(SEED, KID, b"x", "two\nlines")
    with pytest.raises(InvalidParameter):
        minisign.public_key_line(b"short")


@pytest.mark.interop
@needs_minisign
def test_minisign_tool_verifies_our_signature(tmp_path: Path) -> None:
    data = tmp_path / "statement.json"
    data.write_bytes(b'{"x": 1}\n' * 1000)
    (tmp_path / "statement.json.minisig").write_text(
        minisign.sign(SEED, KID, data.read_bytes(), "coffre test comment")
    )
    out = subprocess.run(
        ["minisign", "-Vm", str(data), "-P", minisign.public_key_line(PK, KID)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "coffre test comment" in out.stdout
    pub = tmp_path / "key.pub"
    pub.write_text(minisign.public_key_file(PK, KID))
    out = subprocess.run(
        ["minisign", "-Vm", str(data), "-p", str(pub)], capture_output=True, check=False
    )
    assert out.returncode == 0
    data.write_bytes(b"changed")
    out = subprocess.run(
        ["minisign", "-Vm", str(data), "-p", str(pub)], capture_output=True, check=False
    )
    assert out.returncode != 0


@pytest.mark.interop
@needs_minisign
@pytest.mark.parametrize("legacy", [False, True])
def test_we_verify_the_minisign_tool(tmp_path: Path, legacy: bool) -> None:
    pub, sec, data = tmp_path / "k.pub", tmp_path / "k.key", tmp_path / "file.bin"
    subprocess.run(
        ["minisign", "-G", "-W", "-p", str(pub), "-s", str(sec)], capture_output=True, check=True
    )
    data.write_bytes(b"\x00\x01 some bytes" * 500)
    cmd = ["minisign", "-S", "-s", str(sec), "-m", str(data), "-t", "made by the tool"]
    subprocess.run([*cmd, "-l"] if legacy else cmd, capture_output=True, check=True)
    sig = (tmp_path / "file.bin.minisig").read_text()
    assert minisign.verify(pub.read_text(), data.read_bytes(), sig) == "made by the tool"
    with pytest.raises(BadSignature):
        minisign.verify(pub.read_text(), data.read_bytes() + b"!", sig)


@given(
    data=st.binary(max_size=4096),
    comment=st.text(
        alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
        max_size=80,
    ),
)
def test_any_data_and_comment_round_trip(data: bytes, comment: str) -> None:
    sig = minisign.sign(SEED, KID, data, comment)
    assert minisign.verify(PK, data, sig) == comment


def test_a_comment_utf_8_cannot_carry_is_refused() -> None:
    with pytest.raises(InvalidParameter):
        minisign.sign(SEED, KID, b"", "lone \ud800 surrogate")
