"""The bulk renderers of raw samples write exactly what the per-sample code wrote.

The reference below is the straightforward per-sample implementation (a dict per sample,
json.dumps, csv.writer); the library renders whole columns at a time instead. Random ids are
the only difference, so they are replaced before comparing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import tarfile
import uuid
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.core.errors import InvalidParameter
from vault.core.vault import Vault
from vault.data import chunks, csvfmt, export, metrics, query, render
from vault.data.ingest import QSWriter
from vault.data.model import MAX_MS, MIN_MS, SLEEP_STAGE_NAMES, SLEEP_STAGES, Sample

P = "0123456789abcdef0123456789abcdef"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
STRINGS = ("", "Watch", "Ana's iPhone", 'say "hi", ok', "é€😀\n\t\\", "a{0}%s}", "nul\x00")


def _iso(ms: int, offset_min: int) -> str:
    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    d = dt.datetime.fromtimestamp(ms / 1000, tz)
    return d.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def _ref_quantity(value: float, unit: str) -> dict[str, Any]:
    q: dict[str, Any] = {"value": round(value, 6), "unit": unit}
    if unit:
        q.update(system=export.UCUM, code=unit)
    return q


def ref_fhir(metric: str, row: tuple[int, int, int, float, str, str], subject: str | None) -> str:
    start, end, off, value, unit, source = row
    m = metrics.METRICS.get(metric)
    coding = [{"system": export.LOINC, "code": m.loinc, "display": m.name}] if m and m.loinc else []
    coding.append({"system": export.COFFRE_METRICS, "code": metric})
    vital = metric in {"heart_rate", "body_mass", "blood_oxygen", "respiratory_rate"}
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(uuid.uuid4()),
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": export.OBS_CATEGORY, "code": "vital-signs" if vital else "activity"}
                ]
            }
        ],
        "code": {"coding": coding, "text": m.name if m else metric},
    }
    if subject:
        obs["subject"] = {"reference": subject}
    if start == end:
        obs["effectiveDateTime"] = _iso(start, off)
    else:
        obs["effectivePeriod"] = {"start": _iso(start, off), "end": _iso(end, off)}
    if metric == "sleep":
        obs["valueCodeableConcept"] = {"text": SLEEP_STAGE_NAMES.get(int(value), "unknown")}
        minutes = (end - start) / 60_000
        obs["component"] = [
            {"code": {"text": "duration"}, "valueQuantity": _ref_quantity(minutes, "min")}
        ]
    else:
        obs["valueQuantity"] = _ref_quantity(value, unit)
    if source:
        obs["device"] = {"display": source}
    return json.dumps({"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs}, ensure_ascii=False)


def ref_omh(metric: str, row: tuple[int, int, int, float, str, str], created: str) -> str:
    start, end, off, value, _, source = row
    ns, name, version, prop, unit = export.OMH_SCHEMAS[metric]
    header: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "creation_date_time": created,
        "schema_id": {"namespace": ns, "name": name, "version": version},
    }
    if source:
        header["acquisition_provenance"] = {"source_name": source}
    interval = {
        "time_interval": {"start_date_time": _iso(start, off), "end_date_time": _iso(end, off)}
    }
    frame = interval if start != end else {"date_time": _iso(start, off)}
    body: dict[str, Any] = {}
    if name == "physical-activity":
        body["activity_name"] = "walking"
        body[prop] = {"value": round(value, 6), "unit": unit}
        body["effective_time_frame"] = interval
    elif name == "sleep-episode":
        body["effective_time_frame"] = interval
        minutes = (end - start) / 60_000
        if int(value) in {SLEEP_STAGES[s] for s in ("asleep", "core", "deep", "rem")}:
            body["total_sleep_time"] = {"value": round(minutes, 3), "unit": "min"}
        elif int(value) == SLEEP_STAGES["awake"]:
            body["wake_after_sleep_onset"] = {"value": round(minutes, 3), "unit": "min"}
    else:
        body[prop] = {"value": round(value, 6), "unit": unit}
        body["effective_time_frame"] = frame
    return json.dumps({"header": header, "body": body}, ensure_ascii=False)


def ref_csv(metric: str, rows: list[tuple[int, int, int, float, str, str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for start, end, off, value, stored_unit, source, device in rows:
        text = repr(float(value))
        text = text[:-2] if text.endswith(".0") else text
        unit = stored_unit
        if metric == "sleep":
            text, unit = SLEEP_STAGE_NAMES.get(int(value), text), ""
        writer.writerow([_iso(start, off), _iso(end, off), metric, text, unit, source, device])
    return buf.getvalue()


def _ids_out(text: str) -> str:
    return UUID.sub("ID", text)


# --- columns strategy ---------------------------------------------------------------------------

METRICS = ("steps", "heart_rate", "body_mass", "sleep", "distance", "x:Thing,%s{}")


@st.composite
def columns(draw: st.DrawFn) -> tuple[str, chunks.Columns]:
    metric = draw(st.sampled_from(METRICS))
    n = draw(st.integers(1, 25))
    starts = sorted(draw(st.lists(st.integers(MIN_MS, MAX_MS - 10**9), min_size=n, max_size=n)))
    spans = draw(
        st.lists(
            st.sampled_from([0, 0, 1, 999, 1000, 60_000, 430_500, 86_399_999]),
            min_size=n,
            max_size=n,
        )
    )
    if metric == "sleep":
        value_st = st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 2.7])
    else:
        value_st = st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.sampled_from([0.0, -0.0, 812.0, 0.1, 1e-7, 123.4567894, 2.5e16]),
        )
    values = draw(st.lists(value_st, min_size=n, max_size=n))
    offsets = draw(
        st.lists(st.sampled_from([0, 60, -300, -330, 345, 840, -720]), min_size=n, max_size=n)
    )
    if draw(st.booleans()):
        offsets = [offsets[0]] * n
    strings = ("", *draw(st.lists(st.sampled_from(STRINGS[1:]), unique=True, max_size=4)))
    src = draw(st.lists(st.integers(0, len(strings) - 1), min_size=n, max_size=n))
    dev = draw(st.lists(st.integers(0, len(strings) - 1), min_size=n, max_size=n))
    unit = draw(st.sampled_from(["", "count", "/min", "kg", "%", "{steps}", "u\x013\x010%s"]))
    cols = chunks.Columns(
        np.array(starts, dtype=np.int64),
        np.array(starts, dtype=np.int64) + np.array(spans, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.array(offsets, dtype=np.int16),
        np.array(src, dtype=np.int64),
        np.array(dev, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        strings,
        unit,
    )
    return metric, cols


def _rows(cols: chunks.Columns, include_sources: bool) -> list[tuple[Any, ...]]:
    return [
        (
            int(cols.start[i]),
            int(cols.end[i]),
            int(cols.offset[i]),
            float(cols.value[i]),
            cols.unit,
            cols.strings[int(cols.source[i])] if include_sources else "",
            cols.strings[int(cols.device[i])] if include_sources else "",
        )
        for i in range(len(cols))
    ]


@settings(max_examples=150, deadline=None)
@given(columns(), st.booleans())
def test_fhir_matches_the_per_sample_rendering(
    case: tuple[str, chunks.Columns], sources: bool
) -> None:
    metric, cols = case
    subject = "urn:uuid:11111111-2222-4333-8444-555555555555"
    fast = export._RawFormat(metric, "fhir", subject=subject).text(cols, sources).split(",\n")
    ref = [ref_fhir(metric, r[:6], subject) for r in _rows(cols, sources)]
    assert [_ids_out(t) for t in fast] == [_ids_out(t) for t in ref]
    ids = [json.loads(t)["resource"]["id"] for t in fast]
    assert len(set(ids)) == len(ids)
    assert all(
        json.loads(t)["fullUrl"] == f"urn:uuid:{json.loads(t)['resource']['id']}" for t in fast
    )


@settings(max_examples=150, deadline=None)
@given(columns(), st.booleans())
def test_omh_matches_the_per_sample_rendering(
    case: tuple[str, chunks.Columns], sources: bool
) -> None:
    metric, cols = case
    if metric not in export.OMH_SCHEMAS:
        metric = "heart_rate" if metric != "sleep" else metric
    created = "2026-01-02T03:04:05+00:00"
    fast = export._RawFormat(metric, "omh", created=created).text(cols, sources).split(",\n")
    ref = [ref_omh(metric, r[:6], created) for r in _rows(cols, sources)]
    assert [_ids_out(t) for t in fast] == [_ids_out(t) for t in ref]


@settings(max_examples=150, deadline=None)
@given(columns(), st.booleans())
def test_csv_matches_the_per_sample_rendering(
    case: tuple[str, chunks.Columns], sources: bool
) -> None:
    metric, cols = case
    fast = csvfmt.raw_text(metric, cols, include_sources=sources)
    assert fast == ref_csv(metric, _rows(cols, sources))
    parsed = list(csv.reader(io.StringIO(fast)))
    assert [r[5] for r in parsed] == [r[5] for r in _rows(cols, sources)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(MIN_MS, MAX_MS - 1), min_size=1, max_size=40),
    st.lists(st.integers(-14 * 60, 14 * 60), min_size=1, max_size=40),
)
def test_iso_instants_match_query_iso(ms: list[int], offsets: list[int]) -> None:
    n = min(len(ms), len(offsets))
    parts = render.iso_parts(
        np.array(ms[:n], dtype=np.int64), np.array(offsets[:n], dtype=np.int16)
    )
    got = render.Assembler().rows([*parts, b"|"], n)
    assert got == [f"{query.iso(m, o)}|".encode() for m, o in zip(ms[:n], offsets[:n], strict=True)]


def test_random_uuids_are_version_4_and_distinct() -> None:
    ids = render.random_uuids(1000)
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    assert render.random_uuids(0) == []


# --- through a vault ----------------------------------------------------------------------------


def _fill(v: Vault) -> list[Sample]:
    rows = [
        Sample(
            "heart_rate",
            1_700_000_000_000 + i * 61_500,
            1_700_000_000_000 + i * 61_500,
            60.0 + i % 7,
            "/min",
            "Watch" if i % 3 else 'Ana\'s "phone"',
            "",
            60 * (i % 2),
        )
        for i in range(300)
    ] + [
        Sample(
            "steps",
            1_700_000_000_000 + i * 900_000,
            1_700_000_900_000 + i * 900_000,
            float(i),
            "count",
            "Phone,1",
            "dev",
        )
        for i in range(200)
    ]
    with QSWriter(v, P) as w:
        for s in rows:
            w.add(s)
    return rows


@pytest.mark.parametrize("metric", ["heart_rate", "steps"])
@pytest.mark.parametrize("sources", [True, False])
def test_exports_through_a_vault_match_the_reference(
    fresh_vault: Vault, metric: str, sources: bool
) -> None:
    _fill(fresh_vault)
    stored = list(query.samples(fresh_vault, P, metric))
    rows = [
        (
            s.start,
            s.end,
            s.offset_min,
            s.value,
            s.unit,
            s.source if sources else "",
            s.device if sources else "",
        )
        for s in stored
    ]
    subject = "urn:uuid:11111111-2222-4333-8444-555555555555"

    buf = io.StringIO()
    n = export.export_fhir(
        fresh_vault, P, metric, None, None, "raw", buf, subject=subject, include_sources=sources
    )
    doc = json.loads(buf.getvalue())
    assert n == len(stored) == len(doc["entry"])
    body = buf.getvalue().split('"entry": [', 1)[1]
    assert _ids_out(body) == _ids_out(
        "\n" + ",\n".join(ref_fhir(metric, r[:6], subject) for r in rows) + "\n]}\n"
    )

    buf = io.StringIO()
    assert (
        export.export_omh(fresh_vault, P, metric, None, None, "raw", buf, include_sources=sources)
        == n
    )
    created = json.loads(buf.getvalue())[0]["header"]["creation_date_time"]
    expected = "[\n" + ",\n".join(ref_omh(metric, r[:6], created) for r in rows) + "\n]\n"
    assert _ids_out(buf.getvalue()) == _ids_out(expected)

    buf = io.StringIO()
    assert (
        export.export_csv(fresh_vault, P, metric, None, None, "raw", buf, include_sources=sources)
        == n
    )
    assert buf.getvalue() == "start,end,metric,value,unit,source,device\n" + ref_csv(metric, rows)


def test_empty_range_writes_empty_documents(fresh_vault: Vault) -> None:
    _fill(fresh_vault)
    for fn, expected in (
        (export.export_omh, "[]\n"),
        (export.export_csv, "start,end,metric,value,unit,source,device\n"),
    ):
        buf = io.StringIO()
        assert fn(fresh_vault, P, "steps", 0, 1, "raw", buf) == 0
        assert buf.getvalue() == expected
    buf = io.StringIO()
    assert export.export_fhir(fresh_vault, P, "steps", 0, 1, "raw", buf) == 0
    assert json.loads(buf.getvalue())["entry"] == []


# --- sizes known before rendering ---------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(columns(), st.booleans(), st.sampled_from(["fhir", "omh"]))
def test_json_size_is_the_size_of_the_rendering(
    case: tuple[str, chunks.Columns], sources: bool, fmt: str
) -> None:
    metric, cols = case
    if fmt == "omh" and metric not in export.OMH_SCHEMAS:
        metric = "steps"
    raw = export._RawFormat(metric, fmt, subject="urn:uuid:é", created="2026-01-02T03:04:05Z")
    size = raw.size(cols, sources)
    assert size == len(raw.text(cols, sources).encode()) - 2 * (len(cols) - 1)


@settings(max_examples=150, deadline=None)
@given(columns(), st.booleans())
def test_csv_size_is_the_size_of_the_rendering(
    case: tuple[str, chunks.Columns], sources: bool
) -> None:
    metric, cols = case
    text = csvfmt.raw_text(metric, cols, include_sources=sources)
    assert csvfmt.raw_size(metric, cols, include_sources=sources) == len(text.encode())


@pytest.mark.parametrize("metric", ["heart_rate", "steps"])
def test_documents_announce_their_size_and_match_the_exports(
    fresh_vault: Vault, metric: str
) -> None:
    _fill(fresh_vault)
    parts = query.load(fresh_vault, P, metric)
    subject = "urn:uuid:11111111-2222-4333-8444-555555555555"
    cases = [
        (
            export.fhir_document(parts, metric, subject=subject),
            lambda out: export.export_fhir(
                fresh_vault, P, metric, None, None, "raw", out, subject=subject
            ),
        ),
        (
            export.omh_document(parts, metric),
            lambda out: export.export_omh(fresh_vault, P, metric, None, None, "raw", out),
        ),
        (
            export.csv_document(parts, metric),
            lambda out: export.export_csv(fresh_vault, P, metric, None, None, "raw", out),
        ),
    ]
    for doc, write in cases:
        data = b"".join(doc.chunks())
        assert len(data) == doc.size
        assert doc.count == len(parts)
        buf = io.StringIO()
        assert write(buf) == doc.count
        stamp = re.compile(r'"(timestamp|creation_date_time)": "[^"]*"')
        assert stamp.sub("T", _ids_out(data.decode())) == stamp.sub("T", _ids_out(buf.getvalue()))


def test_documents_of_nothing_are_empty_documents() -> None:
    nothing = chunks.empty("count")
    assert b"".join(export.omh_document(nothing, "steps").chunks()) == b"[]\n"
    fhir = export.fhir_document(nothing, "steps")
    data = b"".join(fhir.chunks())
    assert json.loads(data)["entry"] == [] and len(data) == fhir.size and fhir.count == 0
    csv_doc = export.csv_document(nothing, "steps")
    assert b"".join(csv_doc.chunks()) == b"start,end,metric,value,unit,source,device\n"
    with pytest.raises(InvalidParameter):
        export.omh_document(nothing, "distance")


# --- tar entries with a known hash --------------------------------------------------------------


def test_tar_lists_a_known_hash_without_hashing_and_still_checks_the_size() -> None:
    from vault.sharing.bundles.tarstream import Entry, Written, tar_stream

    data = b"x" * 1000
    known = hashlib.sha256(data).hexdigest()
    written: list[Written] = []
    entries = [
        Entry("a.bin", len(data), lambda: (data[:300], data[300:]), known),
        Entry("b.txt", 3, lambda: (b"abc",)),
    ]
    archive = b"".join(tar_stream(entries, 0, written.append))
    assert [(w.name, w.size, w.sha256) for w in written] == [
        ("a.bin", 1000, known),
        ("b.txt", 3, hashlib.sha256(b"abc").hexdigest()),
    ]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("a.bin")
        assert member is not None and member.read() == data
    short = [Entry("a.bin", 1001, lambda: (data,), known)]
    with pytest.raises(ValueError, match="instead of"):
        b"".join(tar_stream(short, 0, written.append))


@settings(max_examples=100, deadline=None)
@given(columns(), st.booleans(), st.integers(1, 9))
def test_documents_render_in_slices_what_they_announce(
    case: tuple[str, chunks.Columns], sources: bool, slice_rows: int
) -> None:
    metric, cols = case
    omh_metric = metric if metric in export.OMH_SCHEMAS else "steps"
    with mock.patch.object(export, "SLICE_ROWS", slice_rows):
        docs = [
            (export.fhir_document(cols, metric, include_sources=sources), "fhir"),
            (export.omh_document(cols, omh_metric, include_sources=sources), "omh"),
            (export.csv_document(cols, metric, include_sources=sources), "csv"),
        ]
        for doc, kind in docs:
            data = b"".join(doc.chunks()).decode()
            assert len(data.encode()) == doc.size and doc.count == len(cols)
            rows = _rows(cols, sources)
            if kind == "csv":
                assert data == csvfmt.csv_header() + ref_csv(metric, rows)
            elif kind == "omh":
                created = json.loads(data)[0]["header"]["creation_date_time"]
                items = [ref_omh(omh_metric, r[:6], created) for r in rows]
                assert _ids_out(data) == _ids_out("[\n" + ",\n".join(items) + "\n]\n")
            else:
                items = [ref_fhir(metric, r[:6], None) for r in rows]
                body = data.split('"entry": [', 1)[1]
                assert _ids_out(body) == _ids_out("\n" + ",\n".join(items) + "\n]}\n")


# --- rows laid out as bytes ---------------------------------------------------------------------

TEXTS = st.lists(
    st.text(max_size=6) | st.sampled_from(["", "a\x00", "\x00", "é€😀"]), min_size=1, max_size=5
)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[render.Part], list[list[bytes]], int]:
    """Parts of rows (literals, fixed-width columns, ragged columns gathered from a table)
    and, for the reference, the bytes of each part in every row."""
    n = draw(st.integers(1, 12))
    parts: list[render.Part] = []
    truth: list[list[bytes]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["literal", "fixed", "table"]))
        if kind == "literal":
            text = draw(st.text(max_size=5)).encode()
            parts.append(text)
            truth.append([text] * n)
        elif kind == "fixed":  # rendered fields of one width hold no NUL (digits, ids)
            width = draw(st.integers(1, 4))
            cell = st.binary(min_size=width, max_size=width).filter(lambda b: b"\0" not in b)
            cells = draw(st.lists(cell, min_size=n, max_size=n))
            data = np.frombuffer(b"".join(cells), dtype=np.uint8).reshape(n, width)
            parts.append(render.Column(data))
            truth.append(cells)
        else:
            texts = draw(TEXTS)
            index = draw(st.lists(st.integers(0, len(texts) - 1), min_size=n, max_size=n))
            parts.append(render.Table.of(texts).column(np.array(index, dtype=np.int64)))
            truth.append([texts[i].encode() for i in index])
    return parts, truth, n


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_rows_are_their_parts_side_by_side(
    case: tuple[list[render.Part], list[list[bytes]], int],
) -> None:
    parts, truth, n = case
    expected = [b"".join(t[i] for t in truth) for i in range(n)]
    assembler = render.Assembler()
    assert assembler.rows(parts, n) == expected
    pieces = assembler.join(parts, n)
    assert b"".join(pieces) == b"".join(expected)
    longest = max(len(row) for row in expected)
    assert all(len(p) <= max(render.PIECE, longest) for p in pieces)
    # the same layout again, from the matrices kept: nothing of the first rows is left over
    rows = np.arange(n - 1, -1, -1, dtype=np.int64)
    again = assembler.join(render.take(parts, rows), n)
    assert b"".join(again) == b"".join(reversed(expected))
