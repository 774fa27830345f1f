"""Retention rules: parsing, storage, what is due, applying them."""

from __future__ import annotations

import io

import pytest

from vault import content
from vault import personas as identities
from vault.core.errors import InvalidParameter, RecordNotFound
from vault.core.vault import Vault
from vault.data import query
from vault.data.ingest import QSWriter
from vault.data.model import Sample
from vault.forget import rules

DAY = 86_400_000
NOW = 1_750_000_000_000


def test_parse_keep() -> None:
    assert rules.parse_keep("730d") == 730
    assert rules.parse_keep("2w") == 14
    assert rules.parse_keep("1y") == 365
    for bad in ("", "0d", "12", "3m", "-1d"):
        with pytest.raises(InvalidParameter):
            rules.parse_keep(bad)


def test_add_list_remove(fresh_vault: Vault) -> None:
    r = rules.add_rule(fresh_vault, "metric", "heart_rate", "730d")
    rules.add_rule(fresh_vault, "tag", "Diary", "1y")
    with pytest.raises(InvalidParameter):
        rules.add_rule(fresh_vault, "metric", "heart_rate", "10d")
    with pytest.raises(InvalidParameter):
        rules.add_rule(fresh_vault, "metric", "nope", "10d")
    with pytest.raises(InvalidParameter):
        rules.add_rule(fresh_vault, "category", "pd:Nothing", "10d")
    assert [(x.selector, x.value) for x in rules.list_rules(fresh_vault)] == [
        ("metric", "heart_rate"),
        ("tag", "diary"),
    ]
    rules.remove_rule(fresh_vault, r.id[:8])
    assert len(rules.list_rules(fresh_vault)) == 1
    with pytest.raises(RecordNotFound):
        rules.remove_rule(fresh_vault, r.id)


def test_apply_forgets_only_what_is_older(fresh_vault: Vault) -> None:
    p = identities.add_persona(fresh_vault, "Ana")
    with QSWriter(fresh_vault, p.id) as w:
        for d in range(10):
            t = NOW - d * DAY - 3_600_000
            w.add(Sample("heart_rate", t, t, 60, "/min", source="Watch"))
            w.add(Sample("steps", t, t, 10, "count", source="Watch"))
    content.add(
        fresh_vault,
        io.BytesIO(b"old"),
        content.ItemMeta(title="old diary", tags=("diary",), created="2020-01-01T00:00:00Z"),
        persona=p.id,
    )
    content.add(
        fresh_vault,
        io.BytesIO(b"new"),
        content.ItemMeta(title="new diary", tags=("diary",)),
        persona=p.id,
    )
    assert rules.due(fresh_vault, NOW) is None
    rules.add_rule(fresh_vault, "metric", "heart_rate", "5d")
    rules.add_rule(fresh_vault, "tag", "diary", "1y")
    plan = rules.due(fresh_vault, NOW)
    assert plan is not None
    assert plan.counts["samples"] == 5
    assert plan.counts["content_items"] == 1
    result = rules.apply_rules(fresh_vault, NOW)
    assert result is not None
    kept = list(query.samples(fresh_vault, p.id, "heart_rate", NOW - 20 * DAY, NOW))
    assert len(kept) == 5 and min(s.start for s in kept) >= NOW - 5 * DAY
    assert len(list(query.samples(fresh_vault, p.id, "steps", NOW - 20 * DAY, NOW))) == 10
    assert [i.title for i in content.list_items(fresh_vault)] == ["new diary"]
    assert rules.due(fresh_vault, NOW) is None
    assert fresh_vault.check() == []
