"""The QS writer: canonical units, dedup, merging with stored chunks, atomicity, bounds."""

from __future__ import annotations

import pytest

from tests.conftest import raw_vault_bytes
from vault.core.vault import Vault
from vault.data import catalog, chunks, ingest
from vault.data.model import ActivitySummary, RoutePoint, Sample, Workout, WorkoutEvent

P = "0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
MIN = 60_000


def hr(i: int, source: str = "Apple Watch", value: float | None = None) -> Sample:
    t = T0 + i * MIN
    return Sample("heart_rate", t, t, 60.0 + i % 30 if value is None else value, "count/min",
                  source, "Watch7,1", 60)  # fmt: skip


def stored(vault: Vault, metric: str) -> chunks.Columns:
    _, days = catalog.load_days(vault.store, P, metric)
    parts = [chunks.decode(vault.store.get(catalog.KIND_CHUNK, rid).data) for rid in days.values()]
    merged, _ = chunks.merge(None, parts[0])
    for p in parts[1:]:
        merged, _ = chunks.merge(merged, p)
    return merged


def test_add_converts_and_files_by_day(fresh_vault: Vault) -> None:
    with ingest.QSWriter(fresh_vault, P) as w:
        w.add(Sample("body_mass", T0, T0, 154.0, "lb", "Scale"))
        w.add(Sample("body_mass", T0 + 86_400_000, T0 + 86_400_000, 70.0, "kg", "Scale"))
    assert w.summary.added == 2
    cols = stored(fresh_vault, "body_mass")
    assert cols.unit == "kg"
    assert cols.value.tolist() == pytest.approx([154.0 * 0.45359237, 70.0])
    _, days = catalog.load_days(fresh_vault.store, P, "body_mass")
    assert sorted(days) == ["2023-11-14", "2023-11-15"]


def test_reimport_adds_nothing_and_overlapping_sources_stay(fresh_vault: Vault) -> None:
    batch = [hr(i) for i in range(500)] + [hr(i, "iPhone") for i in range(100)]
    with ingest.QSWriter(fresh_vault, P) as w:
        for s in batch + batch[:50]:  # duplicates inside one import too
            w.add(s)
    assert (w.summary.added, w.summary.duplicates) == (600, 50)
    with ingest.QSWriter(fresh_vault, P) as w2:
        for s in batch:
            w2.add(s)
        w2.add(hr(10_000))
    assert (w2.summary.added, w2.summary.duplicates) == (1, 600)
    _, cat = catalog.load_catalog(fresh_vault.store, P)
    assert cat["heart_rate"].samples == 601
    assert cat["heart_rate"].sources == {"Apple Watch": 501, "iPhone": 100}
    assert cat["heart_rate"].first == T0
    cols = stored(fresh_vault, "heart_rate")
    assert len(cols) == 601
    assert (cols.start[1:] >= cols.start[:-1]).all()


def test_merge_with_flushed_buffers(fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small budgets force cold buffers out mid-import; the result is the same."""
    monkeypatch.setattr(ingest, "MAX_PENDING", 40)
    monkeypatch.setattr(ingest, "MAX_BUFFERS", 4)
    monkeypatch.setattr(ingest, "MAX_CHUNK_BUFFER", 30)
    days = 6
    with ingest.QSWriter(fresh_vault, P) as w:
        for i in range(300):  # interleave days so buffers go cold and come back
            day = i % days
            w.add(hr(i + day * 1440))
    assert w.summary.added == 300
    assert len(stored(fresh_vault, "heart_rate")) == 300


def test_unknown_metric_is_kept_and_bad_samples_are_issues(fresh_vault: Vault) -> None:
    with ingest.QSWriter(fresh_vault, P) as w:
        w.add(Sample("x:HKQuantityTypeIdentifierNewThing", T0, T0, 3.0, "zz", "App"))
        w.add(Sample("heart_rate", T0, T0, 3.0, "furlongs", "App"))
        w.add(Sample("heart_rate", T0, T0 - 1, 3.0, "/min", "App"))
        w.add(Sample("heart_rate", T0, T0, float("nan"), "/min", "App"))
        w.add(Sample("no_such_metric", T0, T0, 1.0, "", "App"))
    s = w.summary
    assert s.added == 1
    assert s.unknown_types == {"x:HKQuantityTypeIdentifierNewThing": 1}
    problems = [e.problem for e in s.errors]
    assert len(problems) == 4
    assert "unit 'furlongs' is not known for heart_rate" in problems
    assert any("unknown metric" in p for p in problems)
    assert stored(fresh_vault, "x:HKQuantityTypeIdentifierNewThing").unit == "zz"


def test_samples_of_unknown_types_already_stored_are_not_counted_as_kept(
    fresh_vault: Vault,
) -> None:
    new_thing = "x:HKQuantityTypeIdentifierNewThing"
    samples = [Sample(new_thing, T0 + i, T0 + i, 3.0, "zz", "App") for i in range(3)]
    with ingest.QSWriter(fresh_vault, P) as w:
        for sample in samples[:2]:
            w.add(sample)
    assert w.summary.unknown_types == {new_thing: 2}
    with ingest.QSWriter(fresh_vault, P) as again:  # the same two, and one more
        for sample in samples:
            again.add(sample)
    assert (again.summary.added, again.summary.duplicates) == (1, 2)
    assert again.summary.unknown_types == {new_thing: 1}
    with ingest.QSWriter(fresh_vault, P) as third:
        for sample in samples:
            third.add(sample)
    assert third.summary.unknown_types == {}


def test_exception_rolls_back_everything(fresh_vault: Vault) -> None:
    before = fresh_vault.store.counts()
    with pytest.raises(RuntimeError), ingest.QSWriter(fresh_vault, P) as w:
        for i in range(100):
            w.add(hr(i))
        w.add_workout(Workout("running", T0, T0 + 30 * MIN))
        raise RuntimeError("the importer failed")
    assert fresh_vault.store.counts() == before
    assert catalog.load_catalog(fresh_vault.store, P) == (None, {})


def test_workouts_and_summaries(fresh_vault: Vault) -> None:
    wk = Workout(
        "running", T0, T0 + 30 * MIN, 60, 1800.0, 5000.0, 350.0, "Apple Watch", "Watch",
        (WorkoutEvent("pause", T0 + MIN, T0 + 2 * MIN),),
        (RoutePoint(T0, 48.85, 2.35, 35.0), RoutePoint(T0 + MIN, 48.86, 2.36, None)),
        (("HKIndoorWorkout", "0"),),
    )  # fmt: skip
    day = ActivitySummary("2023-11-14", 400.0, 500.0, 30.0, 30.0, 10.0, 12.0)
    for _ in range(2):
        with ingest.QSWriter(fresh_vault, P) as w:
            w.add_workout(wk)
            w.add_summary(day)
    assert (w.summary.workouts, w.summary.summaries, w.summary.duplicates) == (0, 0, 2)
    records = fresh_vault.store.find(catalog.KIND_WORKOUT, "persona", P)
    assert [ingest.workout_from_json(r.json()) for r in records] == [wk]
    (rec,) = fresh_vault.store.find(catalog.KIND_SUMMARY, "psd", f"{P}:2023-11-14")
    assert ingest.summary_from_json(rec.json()) == day
    assert stored(fresh_vault, "workout").value.tolist() == [30.0]
    _, cat = catalog.load_catalog(fresh_vault.store, P)
    assert cat["workout"].samples == 1


def test_audit_entry_holds_counts_only(fresh_vault: Vault) -> None:
    with ingest.QSWriter(fresh_vault, P) as w:
        w.add(hr(1))
        w.issue("export.xml:12", "a bad record")
    entry = fresh_vault.audit_log()[-1]
    assert entry.action == "qs.import"
    assert entry.details["added"] == 1
    assert entry.details["errors"] == 1
    assert "Apple Watch" not in repr(entry.details)


def test_nothing_readable_on_disk(fresh_vault: Vault) -> None:
    with ingest.QSWriter(fresh_vault, P) as w:
        for i in range(200):
            w.add(hr(i, source="SecretWatchName"))
    fresh_vault.store.checkpoint()
    raw = raw_vault_bytes(fresh_vault.path)
    for needle in (b"SecretWatchName", b"heart_rate", b"2023-11-14", P.encode()):
        assert needle not in raw


def test_issue_list_is_bounded(fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_LISTED_ISSUES", 3)
    with ingest.QSWriter(fresh_vault, P) as w:
        for i in range(5):
            w.issue(f"line {i}", "bad")
    assert len(w.summary.errors) == 3
    assert w.summary.notes == ("2 more problems were counted but not listed",)


def test_failure_while_committing_rolls_back(
    fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(cols: chunks.Columns) -> bytes:
        raise OSError("disk full")

    with ingest.QSWriter(fresh_vault, P) as w:
        w.add(hr(1))
    before = fresh_vault.store.counts()
    monkeypatch.setattr(chunks, "encode", broken)
    with pytest.raises(OSError, match="disk full"), ingest.QSWriter(fresh_vault, P) as w2:
        w2.add(hr(2))
    monkeypatch.undo()
    assert fresh_vault.store.counts() == before
    assert len(stored(fresh_vault, "heart_rate")) == 1
    with ingest.QSWriter(fresh_vault, P) as w3:  # the vault is usable afterwards
        w3.add(hr(2))
    assert w3.summary.added == 1


def test_failure_on_enter_releases_the_transaction(
    fresh_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.core.errors import TamperedRecord

    def damaged(*args: object) -> None:
        raise TamperedRecord("qs.catalog record")

    monkeypatch.setattr(catalog, "load_catalog", damaged)
    with pytest.raises(TamperedRecord), ingest.QSWriter(fresh_vault, P):
        pass
    monkeypatch.undo()
    with ingest.QSWriter(fresh_vault, P) as w:
        w.add(hr(1))
    assert w.summary.added == 1
