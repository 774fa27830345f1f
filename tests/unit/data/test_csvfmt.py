"""The long CSV format: import with line/column errors, atomicity, round trip through export."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import MalformedInput
from vault.core.vault import Vault
from vault.data import csvfmt, query
from vault.data.model import SLEEP_STAGES

P = "0123456789abcdef0123456789abcdef"

GOOD = """start,end,metric,value,unit,source
2024-03-01T10:00:00+01:00,2024-03-01T10:10:00+01:00,steps,812,count,iPhone
2024-03-01T10:00:00+01:00,,heart_rate,61,/min,Apple Watch
2024-03-01T08:00:00+01:00,,body_mass,154.5,[lb_av],Scale
2024-03-01T08:00:00+01:00,,HKQuantityTypeIdentifierStepCount,5,,Other App
2024-03-01T08:00:00+01:00,,mood,4,{score},Diary
2024-03-01T00:00:00+01:00,2024-03-01T01:30:00+01:00,sleep,deep,,Apple Watch
"""


def test_import_reads_every_kind_of_row(fresh_vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    f.write_text(GOOD, encoding="utf-8")
    summary = csvfmt.import_csv(fresh_vault, P, f)
    assert summary.added == 6
    assert summary.unknown_types == {"x:mood": 1}
    (mass,) = query.samples(fresh_vault, P, "body_mass")
    assert mass.value == pytest.approx(154.5 * 0.45359237)
    assert (mass.unit, mass.offset_min, mass.source) == ("kg", 60, "Scale")
    assert query.iso(mass.start, mass.offset_min) == "2024-03-01T08:00:00+01:00"
    assert len(list(query.samples(fresh_vault, P, "steps"))) == 2  # HK identifier resolved
    (sleep,) = query.samples(fresh_vault, P, "sleep")
    assert sleep.value == SLEEP_STAGES["deep"]
    (mood,) = query.samples(fresh_vault, P, "x:mood")
    assert mood.unit == "{score}"
    again = csvfmt.import_csv(fresh_vault, P, f)
    assert (again.added, again.duplicates) == (0, 6)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2024-03-01T10:00:00,,steps,1,count,x", "line 3, column 1 (start): not an ISO 8601"),
        ("2024-03-01T10:00:00Z,nope,steps,1,count,x", "line 3, column 2 (end)"),
        ("2024-03-01T10:00:00Z,2024-03-01T09:00:00Z,steps,1,count,x", "(end): before start"),
        ("2024-03-01T10:00:00Z,,steps,many,count,x", "line 3, column 4 (value): not a number"),
        ("2024-03-01T10:00:00Z,,steps,nan,count,x", "column 4 (value): not a finite number"),
        ("2024-03-01T10:00:00Z,,steps,1,furlong,x", "line 3, column 5 (unit): 'furlong'"),
        ("2024-03-01T10:00:00Z,,,1,count,x", "line 3, column 3 (metric): empty"),
        ("2024-03-01T10:00:00Z,,sleep,nap,,x", "column 4 (value)"),
        ("2024-03-01T10:00:00Z,,steps,1", "line 3: 4 fields, the header has 6"),
        ("0001-01-01T00:00:00Z,,steps,1,count,x", "column 1 (start): outside the years"),
    ],
)
def test_bad_row_names_line_and_column_and_changes_nothing(
    fresh_vault: Vault, tmp_path: Path, row: str, message: str
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "start,end,metric,value,unit,source\n2024-03-01T09:00:00Z,,steps,3,count,x\n" + row + "\n"
    )
    before = fresh_vault.store.counts()
    with pytest.raises(MalformedInput) as err:
        csvfmt.import_csv(fresh_vault, P, f)
    assert message in err.value.message
    assert "bad.csv" in err.value.message
    assert fresh_vault.store.counts() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("start,end,metric,value\n", "missing column(s) unit, source"),
        ("start,end,metric,value,unit,source,colour\n", "unknown column(s) colour"),
    ],
)
def test_bad_header(fresh_vault: Vault, text: str, message: str) -> None:
    with pytest.raises(MalformedInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        csvfmt.import_csv_text(fresh_vault, P, text)


def test_not_utf8(fresh_vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "latin.csv"
    f.write_bytes(b"start,end,metric,value,unit,source\n2024-03-01T09:00:00Z,,steps,3,count,\xe9\n")
    with pytest.raises(MalformedInput, match="not UTF-8"):
        csvfmt.import_csv(fresh_vault, P, f)


def test_export_round_trips(fresh_vault: Vault, tmp_path: Path) -> None:
    csvfmt.import_csv_text(fresh_vault, P, GOOD)
    for metric in ("steps", "body_mass", "sleep", "x:mood", "heart_rate"):
        out = io.StringIO()
        csvfmt.export_csv(fresh_vault, P, metric, None, None, "raw", out)
        text = out.getvalue()
        assert text.startswith("start,end,metric,value,unit,source,device\n")
        other = tmp_path / metric.replace(":", "_")
        other.mkdir()
        v2 = Vault.create(other / "v", "another passphrase", kdf="minimum")
        try:
            csvfmt.import_csv_text(v2, P, text)
            assert list(query.samples(v2, P, metric)) == list(query.samples(fresh_vault, P, metric))
        finally:
            v2.close()
    out = io.StringIO()
    csvfmt.export_csv(fresh_vault, P, "sleep", None, None, "raw", out)
    assert ",sleep,deep,," in out.getvalue()


def test_export_aggregates(fresh_vault: Vault) -> None:
    csvfmt.import_csv_text(fresh_vault, P, GOOD)
    out = io.StringIO()
    n = csvfmt.export_csv(fresh_vault, P, "steps", None, None, "day", out, tz="+01:00")
    assert n == 1
    assert out.getvalue().splitlines() == [
        "start,end,metric,count,sum,min,avg,max,unit",
        "2024-03-01T00:00:00+01:00,2024-03-02T00:00:00+01:00,steps,2,817,5,408.5,812,{steps}",
    ]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    """Whatever the bytes, the parser yields samples or raises MalformedInput, nothing else."""
    body = "start,end,metric,value,unit,source\n" + text
    try:
        for _, sample in csvfmt.parse_rows(io.StringIO(body, newline="")):
            assert sample.start <= sample.end
    except MalformedInput as exc:
        assert "line" in exc.message or "empty" in exc.message


_ROWS = st.lists(
    st.tuples(
        st.integers(0, 4_000_000_000_000),
        st.integers(0, 10_000_000),
        st.sampled_from(["steps", "heart_rate", "body_mass", "x:custom thing"]),
        st.floats(0, 1e6, allow_nan=False),
        st.sampled_from(["", "Apple Watch", 'Quote "me", please', "Ünïcode"]),
        st.integers(-720, 840),
    ),
    max_size=20,
)


@settings(max_examples=40, deadline=None)
@given(_ROWS)
def test_rows_written_are_read_back(rows: list[tuple[int, int, str, float, str, int]]) -> None:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csvfmt.COLUMNS)
    for start, dur, metric, value, source, offset in rows:
        writer.writerow(
            [query.iso(start, offset), query.iso(start + dur, offset), metric,
             csvfmt.number(value), "", source]
        )  # fmt: skip
    out.seek(0)
    got = [s for _, s in csvfmt.parse_rows(out)]
    assert [(s.start, s.end, s.metric, s.value, s.source, s.offset_min) for s in got] == [
        (a, a + d, m, v, src, o) for a, d, m, v, src, o in rows
    ]


def test_number_format() -> None:
    assert [csvfmt.number(v) for v in (3.0, 0.1, 1e-7, 70.25)] == ["3", "0.1", "1e-07", "70.25"]
