"""Shared fixtures: small vaults with the `minimum` KDF profile, so tests stay fast."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.core.vault import Vault

PASSPHRASE = "correct horse battery staple"
# The shared real-world samples live beside the checkout; COFFRE_SAMPLES points elsewhere.
SAMPLES = Path(
    os.environ.get("COFFRE_SAMPLES") or Path(__file__).resolve().parents[2] / "shared" / "samples"
)
# Small real files written by others, kept in this repository with their origin and licence
# (tests/corpus/<format>/SOURCES.md).
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read English text: whatever the machine's locale, Coffre speaks English here
    (the French tests ask for French themselves)."""
    monkeypatch.setenv("LANGUAGE", "en")


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def fresh_vault(vault_dir: Path) -> Iterator[Vault]:
    """A new, empty, unlocked vault (closed after the test)."""
    v = Vault.create(vault_dir, PASSPHRASE, kdf="minimum")
    try:
        yield v
    finally:
        v.close()


@pytest.fixture
def samples() -> Path:
    """The shared real-world sample files (Apple Health, Garmin FIT, vCard...)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"shared samples not found at {SAMPLES} (set COFFRE_SAMPLES)")
    return SAMPLES


@pytest.fixture
def corpus() -> Path:
    """The corpus of real third-party files kept in this repository (tests/corpus/)."""
    return CORPUS


def raw_vault_bytes(path: Path) -> bytes:
    """Every byte of every file in a vault directory (for forensic assertions)."""
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())
