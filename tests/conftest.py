"""Shared fixtures: small vaults with the `minimum` KDF profile, so tests stay fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.core.vault import Vault

PASSPHRASE = "correct horse battery staple"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


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
        pytest.skip("shared samples are not available next to this checkout")
    return SAMPLES


def raw_vault_bytes(path: Path) -> bytes:
    """Every byte of every file in a vault directory (for forensic assertions)."""
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())
