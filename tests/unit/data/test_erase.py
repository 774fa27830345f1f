"""Erasing QS data: a metric over a range, or a persona's all; indexes stay consistent."""

from __future__ import annotations

from tests.conftest import raw_vault_bytes
from vault.core.vault import Vault
from vault.data import catalog, erase, query
from vault.data.ingest import QSWriter
from vault.data.model import ActivitySummary, Sample, Workout

P = "0123456789abcdef0123456789abcdef"
OTHER = "f" * 32
DAY = 86_400_000
T0 = query.parse_instant("2024-03-01T12:00:00Z")


def _fill(vault: Vault, persona: str = P, source: str = "Apple Watch") -> None:
    with QSWriter(vault, persona) as w:
        for d in range(5):
            for k in range(3):
                t = T0 + d * DAY + k * 60_000
                w.add(Sample("heart_rate", t, t, 60 + d, "/min", source if k else "iPhone"))
        w.add(Sample("steps", T0, T0 + 60_000, 10, "count", source))
        w.add_workout(Workout("running", T0, T0 + 600_000))
        w.add_summary(ActivitySummary("2024-03-01", 300.0))


def test_erase_range(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    got = erase.erase_range(fresh_vault, P, "heart_rate", T0 + DAY, T0 + 3 * DAY + 60_000)
    assert (got.samples, got.chunks) == (7, 3)
    left = query.load(fresh_vault, P, "heart_rate")
    assert sorted(set(left.value.tolist())) == [60, 63, 64]
    info = {m.metric: m for m in query.list_metrics(fresh_vault, P)}["heart_rate"]
    assert info.samples == 8
    assert info.sources == {"Apple Watch": 6, "iPhone": 2}
    _, days = catalog.load_days(fresh_vault.store, P, "heart_rate")
    assert sorted(days) == ["2024-03-01", "2024-03-04", "2024-03-05"]
    assert erase.erase_range(fresh_vault, P, "heart_rate", 0, 1) == erase.Erased()
    assert fresh_vault.audit_log()[-1].action == "qs.erase"


def test_erase_whole_metric_updates_catalogue(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    assert erase.erase_range(fresh_vault, P, "heart_rate").samples == 15
    assert [m.metric for m in query.list_metrics(fresh_vault, P)] == ["steps", "workout"]
    assert catalog.load_days(fresh_vault.store, P, "heart_rate") == (None, {})
    # A later import starts cleanly again.
    _fill(fresh_vault)
    info = {m.metric: m for m in query.list_metrics(fresh_vault, P)}["heart_rate"]
    assert (info.samples, info.first) == (15, T0)


def test_erase_persona_leaves_others_and_no_trace(fresh_vault: Vault) -> None:
    _fill(fresh_vault, source="ForgottenWatchName")
    _fill(fresh_vault, OTHER)
    before = fresh_vault.store.counts()["records"]
    got = erase.erase_persona(fresh_vault, P)
    assert (got.samples, got.workouts, got.summaries) == (17, 1, 1)
    assert query.list_metrics(fresh_vault, P) == []
    assert query.workouts(fresh_vault, P) == []
    assert query.activity_summaries(fresh_vault, P) == []
    assert len(query.list_metrics(fresh_vault, OTHER)) == 3
    assert fresh_vault.store.counts()["records"] < before
    fresh_vault.store.checkpoint()
    assert b"ForgottenWatchName" not in raw_vault_bytes(fresh_vault.path)
    assert fresh_vault.check() == []
