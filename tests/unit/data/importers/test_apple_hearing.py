"""Apple Health audiograms: each point of an `<Audiogram>` as hearing thresholds, one metric
per ear and frequency, imported whole and once.

No public export holding an audiogram under a permissive licence could be found, so the
audiograms are written here from the element and attribute names Apple's own export DTD
declares: the DTD of tests/corpus/apple-health/ahcd-export.xml (a real iOS 14 export,
HealthKit Export Version 11) is read by the first test, which checks that every attribute
used here is one it declares."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from tests.conftest import CORPUS
from vault.core.vault import Vault
from vault.data import metrics, query
from vault.data.importers import import_apple_health, parse_apple_health
from vault.data.model import Sample

P = "0123456789abcdef0123456789abcdef"
START = "2024-03-05 10:00:00 +0100"
# (frequency in Hz, left ear dB HL, right ear dB HL or None when not tested)
POINTS: list[tuple[int, float, float | None]] = [
    (500, 10.0, 15.0),
    (1000, 10.0, 10.0),  # the same threshold at two frequencies: two samples, not one
    (2000, 20.0, 25.0),
    (4000, 35.0, None),
    (12_500, 60.0, 55.0),  # off the standard list: kept under x:
]


def point(frequency: int, left: float, right: float | None) -> str:
    both = f' rightEarValue="{right:g}" rightEarUnit="dBHL"' if right is not None else ""
    return (
        f'<SensitivityPoint frequencyValue="{frequency}" frequencyUnit="Hz" '
        f'leftEarValue="{left:g}" leftEarUnit="dBHL"{both}/>\n'
    )


def audiogram(points: list[tuple[int, float, float | None]], start: str = START) -> str:
    body = "".join(point(*p) for p in points)
    return (
        f'<Audiogram type="HKDataTypeIdentifierAudiogram" sourceName="Mimi" '
        f'startDate="{start}" endDate="{start}">\n{body}</Audiogram>\n'
    )


def export(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
        f'<ExportDate value="2024-04-01 00:00:00 +0000"/>\n{body}</HealthData>\n'
    )


def parse(path: Path) -> tuple[list[Sample], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_apple_health(path, lambda loc, p: issues.append((loc, p)), notes.append))
    return [i for i in items if isinstance(i, Sample)], issues, notes


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "export.xml"
    path.write_text(export(body))
    return path


def test_the_attributes_read_are_those_apples_dtd_declares() -> None:
    dtd = (CORPUS / "apple-health" / "ahcd-export.xml").read_text().split("]>")[0]
    declared = {
        element: set(re.findall(r"^\s+(\w+)\s+CDATA", attrs, re.M))
        for element, attrs in re.findall(r"<!ATTLIST (\w+)(.*?)>", dtd, re.S)
    }
    used_point = set(re.findall(r"(\w+)=", point(1000, 1.0, 2.0)))
    used_audiogram = set(re.findall(r'(\w+)="', audiogram([]).split(">")[0]))
    assert used_point <= declared["SensitivityPoint"]
    assert used_audiogram <= declared["Audiogram"]


def test_each_point_is_a_threshold_of_its_ear_and_frequency(tmp_path: Path) -> None:
    samples, issues, notes = parse(write(tmp_path, audiogram(POINTS)))
    assert issues == []
    assert not any("not imported" in n for n in notes)
    at = int(datetime.strptime(START, "%Y-%m-%d %H:%M:%S %z").timestamp() * 1000)
    expected = {
        (metrics.hearing_metric(ear, f), value)
        for f, left, right in POINTS
        for ear, value in (("left", left), ("right", right))
        if value is not None
    }
    found = {(s.metric.removeprefix("x:"), s.value) for s in samples}
    assert found == expected
    assert len(samples) == len(expected)
    assert {(s.start, s.end, s.unit, s.source, s.offset_min) for s in samples} == {
        (at, at, "dB", "Mimi", 60)
    }
    odd = [s for s in samples if s.metric.startswith("x:")]
    assert {dict(s.metadata)["frequency_hz"] for s in odd} == {"12500"}
    assert all(s.metric in metrics.METRICS for s in samples if s not in odd)


def test_an_audiogram_written_as_a_record_is_read_the_same(tmp_path: Path) -> None:
    as_element, _, _ = parse(write(tmp_path, audiogram(POINTS)))
    record = (
        audiogram(POINTS).replace("<Audiogram ", "<Record ").replace("</Audiogram>", "</Record>")
    )
    as_record, issues, _ = parse(write(tmp_path, record))
    assert issues == []
    assert as_record == as_element


def test_bad_points_are_reported_and_the_good_ones_kept(tmp_path: Path) -> None:
    body = audiogram([(1000, 10.0, 15.0)]).replace(
        "</Audiogram>",
        '<SensitivityPoint frequencyValue="a lot" frequencyUnit="Hz" leftEarValue="5"/>\n'
        '<SensitivityPoint frequencyValue="2000" frequencyUnit="Hz" leftEarValue="900" '
        'leftEarUnit="dBHL"/>\n</Audiogram>',
    )
    samples, issues, _ = parse(write(tmp_path, body))
    assert sorted(s.metric for s in samples) == ["hearing_left_1000hz", "hearing_right_1000hz"]
    problems = [p for _, p in issues]
    assert any("without a frequency" in p for p in problems)
    assert any("outside -20 to 150 dB HL" in p for p in problems)
    undated = audiogram(POINTS, start="yesterday")
    samples, issues, _ = parse(write(tmp_path, undated))
    assert samples == [] and any("audiogram without" in p for _, p in issues)


def test_imported_once_and_listed(fresh_vault: Vault, tmp_path: Path) -> None:
    path = write(tmp_path, audiogram(POINTS))
    summary = import_apple_health(fresh_vault, P, path)
    tested = sum(1 + (right is not None) for _, _, right in POINTS)
    assert summary.added == tested
    listed = {m.metric for m in query.list_metrics(fresh_vault, P)}
    assert metrics.hearing_metric("left", 1000) in listed
    assert import_apple_health(fresh_vault, P, path).added == 0
