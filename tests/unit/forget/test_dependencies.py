"""Forgetting asks sharing directly: its plan reaches the consent records whatever was
imported first, and no domain package below it imports `vault.forget`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.builders import send_heart_rate
from tests.conftest import PASSPHRASE
from vault.core.vault import Vault
from vault.sharing import revocation

PLAN = f"""
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
from vault.core.vault import Vault
from vault.forget import Target, preview
with Vault.open(sys.argv[1], {PASSPHRASE!r}) as v:
    persona = preview(v, Target.of_persona("Ana"))
    metric = preview(v, Target.of_metric("heart_rate"))
    recipient = preview(v, Target.of_recipient("Clinic"))
print(json.dumps({{
    "persona": dict(persona.counts),
    "persona_holders": [h.name for h in persona.holders],
    "metric_holders": [h.name for h in metric.holders],
    "recipient": dict(recipient.counts),
}}))
"""


@pytest.fixture
def shared(vault_dir: Path, tmp_path: Path) -> Path:
    """A persona's heart rate sent to a recipient under a grant, then the grant revoked."""
    with Vault.create(vault_dir, PASSPHRASE, kdf="minimum") as v:
        grant_id = send_heart_rate(v, tmp_path / "bundle.age", now=datetime.now(UTC), hours=6)
        revocation.revoke(v, grant_id)
    return vault_dir


@pytest.mark.parametrize(
    "first",
    [
        ("vault.forget", "vault.sharing.revocation"),
        ("vault.sharing.revocation", "vault.forget"),
        ("vault.sharing.ledger", "vault.forget"),
    ],
    ids=" then ".join,
)
def test_forget_plan_reaches_consent_in_any_import_order(
    shared: Path, first: tuple[str, ...]
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PLAN, str(shared), *first],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == {
        "persona": {"personas": 1, "samples": 6, "metrics": 1, "grants": 1, "ledger_entries": 1},
        "persona_holders": ["Clinic"],
        "metric_holders": ["Clinic"],
        "recipient": {"recipients": 1, "grants": 1, "ledger_entries": 1, "erasure_requests": 1},
    }


def test_no_domain_package_imports_forget() -> None:
    """`vault.forget` sits above the domains: importing all of them loads none of it."""
    root = Path(__file__).resolve().parents[3] / "vault"
    modules = sorted(
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for package in ("core", "personas", "content", "data", "sharing")
        for p in (root / package).rglob("*.py")
    )
    code = (
        f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
        "assert not [m for m in sys.modules if m.startswith('vault.forget')], 'forget loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
