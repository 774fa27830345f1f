"""The content tests' vault: a fresh one with one persona, Ada, to author items."""

from __future__ import annotations

import pytest

from vault.core.vault import Vault
from vault.personas import add_persona


@pytest.fixture
def vault(fresh_vault: Vault) -> Vault:
    add_persona(fresh_vault, "Ada")
    return fresh_vault
