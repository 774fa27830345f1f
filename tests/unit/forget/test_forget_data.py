"""Forgetting quantified-self data: a metric over a range inside one day, straddling days or
whole, and all of a persona's; the day indexes and the catalogue follow, nothing forgotten
stays readable."""

from __future__ import annotations

import pytest

from tests.conftest import raw_vault_bytes
from vault import personas as identities
from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import catalog, chunks, query
from vault.data.ingest import QSWriter
from vault.data.model import ActivitySummary, Sample, Workout
from vault.forget import Target, forget, preview

DAY = 86_400_000
T0 = query.parse_instant("2024-03-01T12:00:00Z")
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]


def _fill(vault: Vault, persona: str, source: str = "Apple Watch") -> None:
    """Five days of three heart rate samples (the first from the phone), one steps sample,
    a workout and a daily summary."""
    with QSWriter(vault, persona) as w:
        for d in range(5):
            for k in range(3):
                t = T0 + d * DAY + k * 60_000
                w.add(Sample("heart_rate", t, t, 60 + d, "/min", source if k else "iPhone"))
        w.add(Sample("steps", T0, T0 + 60_000, 10, "count", source))
        w.add_workout(Workout("running", T0, T0 + 600_000))
        w.add_summary(ActivitySummary("2024-03-01", 300.0))


def _heart_rate(vault: Vault, persona: str) -> query.MetricInfo:
    return {m.metric: m for m in query.list_metrics(vault, persona)}["heart_rate"]


@pytest.fixture
def ana(fresh_vault: Vault) -> identities.Persona:
    persona = identities.add_persona(fresh_vault, "Ana")
    _fill(fresh_vault, persona.id)
    return persona


def test_range_inside_one_day(fresh_vault: Vault, ana: identities.Persona) -> None:
    with QSWriter(fresh_vault, ana.id) as w:
        t = T0 + DAY + 30_000
        w.add(Sample("heart_rate", t, t, 99, "/min", "ForgottenSourceName"))
    target = Target.of_metric(
        "heart_rate", persona=ana.id, start=T0 + DAY + 30_000, end=T0 + DAY + 90_000
    )
    plan = preview(fresh_vault, target)
    assert plan.counts == {"samples": 2}  # 12:00:30 and 12:01 of the second day
    assert len(plan.rewrites) == 1 and not plan.deletes
    forget(fresh_vault, target)
    left = query.samples(fresh_vault, ana.id, "heart_rate", T0, T0 + 5 * DAY)
    assert [s.start for s in left if T0 + DAY <= s.start < T0 + 2 * DAY] == [
        T0 + DAY,
        T0 + DAY + 120_000,
    ]
    info = _heart_rate(fresh_vault, ana.id)
    assert info.samples == 14
    assert info.sources == {"Apple Watch": 9, "iPhone": 5}
    assert (info.first, info.last) == (T0, T0 + 4 * DAY + 120_000)
    _, days = catalog.load_days(fresh_vault.store, ana.id, "heart_rate")
    assert sorted(days) == DAYS
    assert fresh_vault.check() == []
    # The rewritten chunk no longer carries the forgotten sample's source, even decrypted.
    day = chunks.decode(fresh_vault.store.get(catalog.KIND_CHUNK, days["2024-03-02"]).data)
    assert "ForgottenSourceName" not in day.strings and len(day) == 2
    assert b"ForgottenSourceName" not in raw_vault_bytes(fresh_vault.path)


def test_range_straddling_days(fresh_vault: Vault, ana: identities.Persona) -> None:
    # From noon of the second day to just after noon of the fourth: the second day's samples
    # all go (its chunk is deleted), the third whole, the fourth's first one (a rewrite).
    target = Target.of_metric(
        "heart_rate", persona=ana.id, start=T0 + DAY, end=T0 + 3 * DAY + 60_000
    )
    plan = preview(fresh_vault, target)
    assert plan.counts == {"samples": 7, "days": 2}
    assert len(plan.rewrites) == 1 and len(plan.deletes) == 2
    forget(fresh_vault, target)
    left = query.load(fresh_vault, ana.id, "heart_rate")
    assert sorted(set(left.value.tolist())) == [60, 63, 64]
    assert not [t for t in left.start.tolist() if T0 + DAY <= t < T0 + 3 * DAY + 60_000]
    info = _heart_rate(fresh_vault, ana.id)
    assert info.samples == 8
    assert info.sources == {"Apple Watch": 6, "iPhone": 2}
    _, days = catalog.load_days(fresh_vault.store, ana.id, "heart_rate")
    assert sorted(days) == ["2024-03-01", "2024-03-04", "2024-03-05"]
    assert fresh_vault.check() == []
    assert fresh_vault.audit_log()[-1].action == "forget"
    # A range holding nothing forgets nothing.
    nothing = Target.of_metric("heart_rate", persona=ana.id, start=0, end=1)
    assert preview(fresh_vault, nothing).empty
    with pytest.raises(InvalidParameter):
        forget(fresh_vault, nothing)


def test_whole_metric_updates_the_catalogue(fresh_vault: Vault, ana: identities.Persona) -> None:
    target = Target.of_metric("heart_rate", persona=ana.id)
    assert preview(fresh_vault, target).counts["samples"] == 15
    forget(fresh_vault, target)
    assert [m.metric for m in query.list_metrics(fresh_vault, ana.id)] == ["steps", "workout"]
    assert catalog.load_days(fresh_vault.store, ana.id, "heart_rate") == (None, {})
    assert fresh_vault.check() == []
    # A later import starts cleanly again.
    _fill(fresh_vault, ana.id)
    info = _heart_rate(fresh_vault, ana.id)
    assert (info.samples, info.first) == (15, T0)


def test_persona_leaves_others_and_no_trace(fresh_vault: Vault) -> None:
    gone = identities.add_persona(fresh_vault, "Gone")
    other = identities.add_persona(fresh_vault, "Other")
    _fill(fresh_vault, gone.id, source="ForgottenWatchName")
    _fill(fresh_vault, other.id)
    before = fresh_vault.store.counts()["records"]
    plan = preview(fresh_vault, Target.of_persona(gone.id))
    assert (plan.counts["samples"], plan.counts["workouts"], plan.counts["summaries"]) == (17, 1, 1)
    forget(fresh_vault, Target.of_persona(gone.id))
    assert query.list_metrics(fresh_vault, gone.id) == []
    assert query.workouts(fresh_vault, gone.id) == []
    assert query.activity_summaries(fresh_vault, gone.id) == []
    assert len(query.list_metrics(fresh_vault, other.id)) == 3
    assert fresh_vault.store.counts()["records"] < before
    fresh_vault.store.checkpoint()
    assert b"ForgottenWatchName" not in raw_vault_bytes(fresh_vault.path)
    assert fresh_vault.check() == []
