"""Chunk encoding: exact round trips, merge semantics, and refusal of damaged bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import TamperedRecord
from vault.data import chunks

_NAMES = st.sampled_from(["", "Apple Watch", "iPhone", "Garmin Fēnix", '{"k":"v"}'])
_ROW = st.tuples(
    st.integers(-2_000_000_000_000, 7_000_000_000_000),  # start
    st.integers(0, 86_400_000),  # duration
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-720, 840),  # offset
    _NAMES,
    _NAMES,
    _NAMES,
)


def columns(
    rows: list[tuple[int, int, float, int, str, str, str]], unit: str = "/min"
) -> chunks.Columns:
    strings = [""]
    table = {"": 0}

    def ix(s: str) -> int:
        if s not in table:
            table[s] = len(strings)
            strings.append(s)
        return table[s]

    cols = ([], [], [], [], [], [], [])  # type: ignore[var-annotated]
    for start, dur, value, off, src, dev, meta in rows:
        for col, v in zip(
            cols, (start, start + dur, value, off, ix(src), ix(dev), ix(meta)), strict=True
        ):
            col.append(v)
    return chunks.from_lists(cols, strings, unit)


def as_tuples(c: chunks.Columns) -> list[tuple[object, ...]]:
    s = c.strings
    return [
        (a, b, v, o, s[x], s[y], s[z])
        for a, b, v, o, x, y, z in zip(
            c.start.tolist(), c.end.tolist(), c.value.tolist(), c.offset.tolist(),
            c.source.tolist(), c.device.tolist(), c.meta.tolist(), strict=True,
        )
    ]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, max_size=60), st.lists(_ROW, max_size=30))
def test_encode_decode_and_merge(
    old_rows: list[tuple[int, int, float, int, str, str, str]],
    new_rows: list[tuple[int, int, float, int, str, str, str]],
) -> None:
    old, _ = chunks.merge(None, columns(old_rows))
    decoded = chunks.decode(chunks.encode(old))
    assert as_tuples(decoded) == as_tuples(old)
    assert decoded.unit == "/min"
    merged, dups = chunks.merge(decoded, columns(new_rows))
    # Sorted by start, no exact duplicate (metadata aside), nothing lost.
    got = as_tuples(merged)
    assert [r[0] for r in got] == sorted(r[0] for r in got)
    keys = [(r[0], r[1], r[2], r[4], r[5]) for r in got]
    assert len(keys) == len(set(keys))
    want = {(a, a + d, v, s, dv) for a, d, v, _, s, dv, _ in old_rows + new_rows}
    assert set(keys) == want
    assert dups == len(old_rows) + len(new_rows) - len(got) - (len(old_rows) - len(old))
    # Merging the same rows again adds nothing.
    again, _ = chunks.merge(merged, columns(new_rows))
    assert as_tuples(again) == got
    # Unused strings are dropped.
    used = {0, *merged.source.tolist(), *merged.device.tolist(), *merged.meta.tolist()}
    assert used == set(range(len(merged.strings)))


def _names(record: str, kind: str = "Observation") -> str:
    """A sample's metadata as the writer keeps it for a clinical record."""
    return json.dumps({chunks.RECORD_KEY: record, "resource_type": kind}, sort_keys=True,
                      separators=(",", ":"))  # fmt: skip


def test_samples_naming_different_records_at_one_instant_all_stay() -> None:
    """A lab panel: a report and its results, same time and provider, are records apart."""
    panel = [(5, 0, 1.0, 0, "Clinic", "", _names(f"r{i}")) for i in range(4)]
    merged, dups = chunks.merge(None, columns(panel))
    assert (len(merged), dups) == (len(panel), 0)
    again, dups = chunks.merge(merged, columns(panel))  # the same records again: nothing new
    assert (len(again), dups) == (len(panel), len(panel))
    assert sorted(chunks.naming(again, "r2").tolist()) == [False] * (len(panel) - 1) + [True]


def test_other_metadata_still_makes_no_difference_to_a_duplicate() -> None:
    """The merge's rule for every other metric is unchanged: metadata aside."""
    rows = [(5, 0, 1.0, 0, "Watch", "", '{"a":"1"}'), (5, 0, 1.0, 0, "Watch", "", '{"a":"2"}')]
    rows.append((5, 0, 1.0, 0, "Watch", "", '{"note":"\\"record\\": 1"}'))
    merged, dups = chunks.merge(None, columns(rows))
    assert (len(merged), dups) == (1, len(rows) - 1)


def test_a_sync_union_keeps_the_records_of_both_sides_apart() -> None:
    from vault.remote.merge import canonical_union

    left, _ = chunks.merge(None, columns([(5, 0, 1.0, 0, "Clinic", "", _names("a"))]))
    right, _ = chunks.merge(None, columns([(5, 0, 1.0, 0, "Clinic", "", _names("b")),
                                           (5, 0, 1.0, 0, "Clinic", "", _names("a"))]))  # fmt: skip
    a, b = chunks.encode(left), chunks.encode(right)
    union = canonical_union(a, b)
    assert union == canonical_union(b, a)
    got = chunks.decode(union)
    assert sorted(json.loads(got.strings[m])[chunks.RECORD_KEY] for m in got.meta) == ["a", "b"]


def test_wide_string_tables_round_trip() -> None:
    rows = [(i, 0, 1.0, 0, f"s{i}", "", "") for i in range(70_000)]
    cols, _ = chunks.merge(None, columns(rows))
    assert len(cols.strings) > 0xFFFF
    assert as_tuples(chunks.decode(chunks.encode(cols))) == as_tuples(cols)


@pytest.mark.parametrize("cut", [0, 5, 20, -1])
def test_damaged_bytes_are_refused(cut: int) -> None:
    cols, _ = chunks.merge(None, columns([(1, 2, 3.0, 0, "a", "b", "")] * 3))
    data = chunks.encode(cols)
    with pytest.raises(TamperedRecord):
        chunks.decode(data[:cut])
    with pytest.raises(TamperedRecord):
        chunks.decode(b"XXXX" + data[4:])


def test_encode_drops_strings_of_removed_rows() -> None:
    cols, _ = chunks.merge(
        None, columns([(1, 0, 1.0, 0, "Kept", "", ""), (2, 0, 2.0, 0, "Gone", "x", "m")])
    )
    kept = cols.take(cols.start == 1)  # what a forget keeps
    data = chunks.encode(kept)
    assert b"Gone" not in data
    assert as_tuples(chunks.decode(data)) == [(1, 1, 1.0, 0, "Kept", "", "")]


def test_days() -> None:
    assert chunks.utc_day(0) == "1970-01-01"
    assert chunks.utc_day(-1) == "1969-12-31"
    assert chunks.day_start_ms("2024-03-01") == 1_709_251_200_000
    assert chunks.utc_day(1_709_251_200_000 + 86_399_999) == "2024-03-01"
