"""Bundles never carry source or device names: they could name the person or link personas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault import personas as identities
from vault.core.vault import Vault
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.sharing import ScopeRequest, add_recipient, create_grant
from vault.sharing.bundles import export_bundle
from vault.sharing.bundles.recipient import open_bundle
from vault.sharing.recipients import read_identities, write_identity

SOURCE, DEVICE = "Ana Lima's Apple Watch", "Watch6,2 serial AB12CD"


@pytest.mark.parametrize("granularity", ["raw", "day"])
def test_no_source_or_device_name_leaves(
    fresh_vault: Vault, tmp_path: Path, granularity: str
) -> None:
    persona = identities.add_persona(fresh_vault, "Ana")
    now = datetime.now(UTC)
    t0 = int((now - timedelta(days=3)).timestamp() * 1000)
    with QSWriter(fresh_vault, persona.id) as w:
        for i in range(72):
            t = t0 + i * 3_600_000
            w.add(Sample("heart_rate", t, t, 60 + i % 7, "/min", source=SOURCE, device=DEVICE))
            w.add(Sample("steps", t, t + 60_000, 100, "count", source=SOURCE, device=DEVICE))
    key_file = tmp_path / "clinic.key"
    add_recipient(fresh_vault, "Clinic", write_identity(key_file))
    grant = create_grant(
        fresh_vault,
        recipient="Clinic",
        persona="Ana",
        scope=ScopeRequest(metrics="heart_rate,steps"),
        granularity=granularity,
        purpose="dpv:ServiceProvision",
        valid_until=(now + timedelta(days=9)).date().isoformat(),
    )
    export_bundle(fresh_vault, grant.id, tmp_path / "b.age")
    out = tmp_path / "opened"
    open_bundle(tmp_path / "b.age", read_identities(key_file), out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name.startswith("heart_rate") for p in files)
    for p in files:
        text = p.read_bytes()
        assert b"Apple Watch" not in text and b"AB12CD" not in text, p.name
