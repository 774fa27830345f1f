"""Process hygiene: an unlocked vault turns core dumps off (read back in a process that
opened one), and helper processes get a minimal environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from vault.core import process
from vault.core.vault import Vault

_OPEN_AND_REPORT = """
import ctypes, json, resource, sys
from vault.core.vault import Vault

def dumpable():
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE

before = dumpable()
with Vault.open(sys.argv[1], sys.argv[2]):
    print(json.dumps({"before": before, "after": dumpable(),
                      "core": resource.getrlimit(resource.RLIMIT_CORE)}))
"""


def test_a_process_that_opened_a_vault_makes_no_core_dump(vault_dir: Path) -> None:
    Vault.create(vault_dir, PASSPHRASE, kdf="minimum").close()
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_REPORT, str(vault_dir), PASSPHRASE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root)},
    )
    report = json.loads(done.stdout)
    assert report["core"] == [0, 0]
    if sys.platform.startswith("linux"):
        assert (report["before"], report["after"]) == (1, 0)


def test_harden_sets_both_core_limits_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    resource = pytest.importorskip("resource")
    calls: list[tuple[int, tuple[int, int]]] = []
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append((which, limits)))
    process.harden()
    assert calls == [(resource.RLIMIT_CORE, (0, 0))]


def test_a_helper_gets_only_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COFFRE_PASSPHRASE", "secret")
    monkeypatch.setenv("COFFRE_VAULT", "/somewhere")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another secret")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = process.helper_environment("/src")
    assert env["PYTHONPATH"] == "/src" and env["PATH"] == "/usr/bin"
    assert not [name for name in env if name.startswith("COFFRE_") or "SECRET" in name]
