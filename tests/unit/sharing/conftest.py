"""The sharing tests' vault: the sharing world of tests/builders.py, in a fresh vault."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import World, build_world
from vault.core.vault import Vault


@pytest.fixture
def world(fresh_vault: Vault, tmp_path: Path) -> World:
    return build_world(fresh_vault, tmp_path)
