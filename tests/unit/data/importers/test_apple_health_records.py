"""Apple Health beyond export.xml's numbers: ECG recordings (`electrocardiograms/*.csv`),
beat-to-beat lists inside heart rate variability records, clinical records
(`clinical-records/*.json`) and what is said of `export_cda.xml`.

No public Apple export holding ECGs or clinical records under a permissive licence could be
found, so the ECG files are faithful reproductions of the layout the export writes (a header
of `key,value` lines: Name, Date of Birth, Recorded Date, Classification, Symptoms, Software
Version, Device, Sample Rate, Lead, Unit; then one voltage per line, with the phone's decimal
separator), as docs/formats.md describes it; the beat lists follow the
`HeartRateVariabilityMetadataList` of the export's own DTD (tests/corpus/apple-health/
ahcd-export.xml) with the time formats real exports carry. The clinical record is a real FHIR
example resource (tests/corpus/apple-health/fhir-observation-apgar.json) plus resources
built from the FHIR R4 and DSTU2 specifications.
"""

from __future__ import annotations

import json
import math
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import raw_vault_bytes
from vault.core.errors import MalformedInput
from vault.core.importing import RecordCounts
from vault.core.vault import Vault
from vault.data import health_records, query
from vault.data.importers import apple_health, import_apple_health, parse_apple_health
from vault.data.importers.apple_health import (
    BeatClock,
    beat_instant,
    number_bounds,
    parse_ecg_csv,
    read_decimals,
    read_digits,
    time_of_day_ms,
    times_of_day,
)
from vault.data.model import ClinicalRecord, Ecg, Sample, Series

P = "0123456789abcdef0123456789abcdef"
DAY_MS = 86_400_000


def ecg_csv(
    volts: list[float],
    *,
    recorded: str = "2024-03-05 09:14:40 -0400",
    classification: str = "Sinus Rhythm",
    rate: str = "512.844 hertz",
    decimal: str = ".",
) -> str:
    """An ECG file in the export's layout (the name and birth date are made up)."""
    head = [
        "Name,Sam Example",
        'Date of Birth,"Feb 5, 1952"',
        f"Recorded Date,{recorded}",
        f"Classification,{classification}",
        "Symptoms,Rapid or pounding heartbeat",
        "Software Version,1.90",
        'Device,"Watch6,7"',
        f"Sample Rate,{rate}",
        "",
        "",
        "Lead,Lead I",
        "Unit,\u00b5V",
        "",
        "",
    ]
    return "\n".join([*head, *(f"{v:.3f}".replace(".", decimal) for v in volts)]) + "\n"


def hrv_record(start: str, beats: list[tuple[str, str]], value: str = "48.5") -> str:
    listed = "".join(f'<InstantaneousBeatsPerMinute bpm="{b}" time="{t}"/>\n' for b, t in beats)
    return (
        f'<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" '
        f'device="&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch&gt;" unit="ms" '
        f'startDate="{start}" endDate="{start}" value="{value}">\n'
        f"<HeartRateVariabilityMetadataList>\n{listed}</HeartRateVariabilityMetadataList>\n"
        "</Record>\n"
    )


def export_xml(body: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
        f'<ExportDate value="2024-04-01 00:00:00 +0000"/>\n{body}</HealthData>\n'
    )


CONDITION_R4 = {
    "resourceType": "Condition",
    "id": "c1",
    "clinicalStatus": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "active",
            }
        ]
    },
    "code": {"text": "Seasonal allergic rhinitis"},
    "subject": {"reference": "Patient/p1"},
    "onsetDateTime": "2019-04-02T10:00:00-05:00",
}
IMMUNIZATION_DSTU2 = {
    "resourceType": "Immunization",
    "id": "i1",
    "status": "completed",
    "date": "2021-05-01",
    "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
    "wasNotGiven": False,
    "reported": False,
}
MEDICATION_R4 = {
    "resourceType": "MedicationStatement",
    "id": "m1",
    "status": "active",
    "medicationCodeableConcept": {"text": "Cetirizine 10 mg tablet"},
    "subject": {"reference": "Patient/p1"},
    "effectivePeriod": {"start": "2023-01-10"},
}
ALLERGY_NO_DATE = {
    "resourceType": "AllergyIntolerance",
    "id": "a1",
    "patient": {"reference": "Patient/p1"},
}


def make_zip(tmp_path: Path, files: dict[str, str | bytes], name: str = "export.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, content in files.items():
            zf.writestr(f"apple_health_export/{member}", content)
    return path


def parse(path: Path) -> tuple[list[object], list[tuple[str, str]], list[str]]:
    issues: list[tuple[str, str]] = []
    notes: list[str] = []
    items = list(parse_apple_health(path, lambda loc, p: issues.append((loc, p)), notes.append))
    return items, issues, notes


def wave(n: int) -> list[float]:
    """A plausible trace: a spike once a second at 512 Hz over a small sine."""
    return [
        1200.0 if i % 512 == 100 else round(60 * math.sin(i / 512 * 2 * math.pi), 3)
        for i in range(n)
    ]


# --- ECG files ----------------------------------------------------------------------------------


def test_an_ecg_file_keeps_its_header_and_every_voltage() -> None:
    volts = wave(1536)
    ecg = parse_ecg_csv(ecg_csv(volts).encode(), "electrocardiograms/ecg_2024-03-05.csv")
    expected_start = datetime(2024, 3, 5, 13, 14, 40, tzinfo=UTC).timestamp() * 1000
    assert (ecg.start, ecg.offset_min) == (expected_start, -240)
    assert ecg.sample_rate_hz == 512.844
    assert (ecg.classification, ecg.classification_text) == ("sinus_rhythm", "Sinus Rhythm")
    assert (ecg.symptoms, ecg.lead, ecg.unit) == ("Rapid or pounding heartbeat", "Lead I", "uV")
    assert (ecg.device, ecg.software_version) == ("Watch6,7", "1.90")
    assert ecg.average_heart_rate is None  # the export's CSV does not state it
    stored = np.frombuffer(ecg.voltages, dtype="<f4")
    assert len(stored) == len(volts)
    assert np.allclose(stored, volts, atol=1e-3)
    assert ecg.end == ecg.start + round(len(volts) * 1000 / 512.844)
    assert "Sam" not in repr(ecg) and "1952" not in repr(ecg)  # the name and birth date stay out


def test_a_decimal_comma_export_reads_the_same_voltages() -> None:
    volts = [-265.868, 12.5, 0.0, 1034.25]
    ecg = parse_ecg_csv(ecg_csv(volts, decimal=",").encode(), "ecg.csv")
    assert np.allclose(np.frombuffer(ecg.voltages, dtype="<f4"), volts, atol=1e-3)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Atrial Fibrillation", "atrial_fibrillation"),
        ("Heart Rate Over 150", "inconclusive_high_heart_rate"),
        ("Heart Rate Under 50", "inconclusive_low_heart_rate"),
        ("Poor Recording", "inconclusive_poor_reading"),
        ("Inconclusive", "inconclusive_other"),
        ("Fibrillation auriculaire", "unrecognized"),
    ],
)
def test_classifications_map_to_healthkit_codes_and_keep_their_text(text: str, code: str) -> None:
    ecg = parse_ecg_csv(ecg_csv([1.0, 2.0], classification=text).encode(), "ecg.csv")
    assert (ecg.classification, ecg.classification_text) == (code, text)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("Name,X\nClassification,Sinus Rhythm\n\n1.0\n", "no Recorded Date or Sample Rate"),
        (ecg_csv([1.0], recorded="yesterday"), "impossible Recorded Date"),
        (ecg_csv([1.0], rate="0 hertz"), "impossible Sample Rate"),
        (ecg_csv([]), "no voltage samples"),
        (ecg_csv([1.0, 2.0]) + "secret-text\n", "a sample line is not a number"),
    ],
)
def test_a_bad_ecg_file_is_refused_without_quoting_it(content: str, problem: str) -> None:
    with pytest.raises(MalformedInput, match=problem) as caught:
        parse_ecg_csv(content.encode(), "ecg.csv")
    assert "secret" not in str(caught.value)


_NUMBER_LIKE = st.one_of(
    st.text("0123456789.-", min_size=1, max_size=18),
    st.floats(-5000, 5000).map(lambda v: f"{v:.3f}"),
    st.floats(-1, 1).map(lambda v: f"{v:.15f}"),
)


@given(st.lists(_NUMBER_LIKE, min_size=1, max_size=30), st.sampled_from([" ", "\n", "\r\n", "\t"]))
def test_voltages_read_in_bulk_as_float_reads_them(tokens: list[str], sep: str) -> None:
    """Every number as the same double `float` gives (a number too long for the grid read
    by `float` itself); anything `float` refuses is refused."""
    text = sep.join(tokens).encode()
    bounds = number_bounds(text, len(tokens))
    assert bounds is not None and number_bounds(text, len(tokens) - 1) is None
    try:
        want = np.array([float(t) for t in tokens])
    except ValueError:
        with pytest.raises(ValueError):
            read_decimals(text, *bounds)
        return
    assert read_decimals(text, *bounds).tobytes() == want.tobytes()


def test_voltages_are_read_a_group_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of numbers read one after the other give what one group gives, a group with a
    number too long for the grid included."""
    tokens = [f"{(-1) ** i * i * 1.001:.3f}" for i in range(50)] + ["0.1234567890123456789"]
    text = "\n".join(tokens).encode()
    bounds = number_bounds(text, len(tokens))
    assert bounds is not None
    monkeypatch.setattr(apple_health, "_DECIMALS_AT_ONCE", 7)
    assert read_decimals(text, *bounds).tolist() == [float(t) for t in tokens]
    bad = text + b"\n1..2"  # more points than numbers, in a later group
    bad_bounds = number_bounds(bad, len(tokens) + 1)
    assert bad_bounds is not None
    with pytest.raises(ValueError):
        read_decimals(bad, *bad_bounds)


def test_a_file_with_no_voltage_after_a_long_header_is_refused_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = ecg_csv([1.0])
    monkeypatch.setattr(apple_health, "MAX_ECG_HEADER", len(real))
    assert parse_ecg_csv(real.encode(), "ecg.csv").count == 1  # a real header fits
    text = real.replace("Lead,", "Note,x\n" * len(real) + "Lead,")
    with pytest.raises(MalformedInput, match="no voltage in its first"):
        parse_ecg_csv(text.encode(), "ecg.csv")
    one_line = "Name," + "xy," * len(real) + "\n0\n"  # refused before the line is split
    with pytest.raises(MalformedInput, match="no voltage in its first"):
        parse_ecg_csv(one_line.encode(), "ecg.csv")


def test_an_ecg_longer_than_a_recording_can_be_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apple_health, "MAX_ECG_SAMPLES", 3)
    assert parse_ecg_csv(ecg_csv([1.0, 2.0, 3.0]).encode(), "ecg.csv").count == 3
    with pytest.raises(MalformedInput, match="more samples than an ECG recording can hold"):
        parse_ecg_csv(ecg_csv([1.0, 2.0, 3.0, 4.0]).encode(), "ecg.csv")


# --- beat-to-beat lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("6:14:48.94 PM", ((18 * 60 + 14) * 60 + 48.94) * 1000),
        ("3:10:02,11\u202fAM", ((3 * 60 + 10) * 60 + 2.11) * 1000),
        ("12:00:01.00 AM", 1000),
        ("12:00:01.00 PM", (12 * 3600 + 1) * 1000),
        ("20:14:07.68", ((20 * 60 + 14) * 60 + 7.68) * 1000),
        ("08:34:05,10", ((8 * 60 + 34) * 60 + 5.1) * 1000),
    ],
)
def test_beat_times_in_every_locale_format(text: str, ms: float) -> None:
    assert time_of_day_ms(text) == round(ms)
    clock = BeatClock()
    assert clock(text) == clock(text) == round(ms)  # read, then from its cached minute


@pytest.mark.parametrize(
    "text", ["", "25:00:00.00", "13:00:00.00 PM", "7:61:00.00", "noon", "7:00:nan", "7:00:61.5"]
)
def test_impossible_beat_times_are_refused(text: str) -> None:
    for read in (time_of_day_ms, BeatClock()):
        with pytest.raises(ValueError):
            read(text)


_TIME_FORMATS = st.sampled_from(["12h", "12h-narrow", "24h", "24h-comma", "24h-padded"])


def _written(ms: int, form: str) -> str:
    """A time of day as an export in that locale writes it."""
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, cs = divmod(rest // 10, 100)
    if form.startswith("12h"):
        space = "\u202f" if form == "12h-narrow" else " "
        return f"{h % 12 or 12}:{m:02d}:{s:02d}.{cs:02d}{space}{'PM' if h >= 12 else 'AM'}"
    sep = "," if form == "24h-comma" else "."
    return (
        f"{h:02d}:{m:02d}:{s:02d}{sep}{cs:02d}"
        if form != "24h"
        else f"{h}:{m:02d}:{s:02d}.{cs:02d}"
    )


def each(whens: list[str]) -> list[int]:
    """Each time read on its own, -1 where it cannot be."""
    out = []
    for w in whens:
        try:
            out.append(time_of_day_ms(w))
        except ValueError:
            out.append(-1)
    return out


def at_once(whens: list[str], clock: Any = time_of_day_ms) -> list[int]:
    """The times read in bulk, as the lifter reads them from the bytes of a run."""
    data = b"".join(w.encode() for w in whens)
    ends = np.cumsum([len(w.encode()) for w in whens], dtype=np.int64)
    return times_of_day(data, ends - [len(w.encode()) for w in whens], ends, clock).tolist()


class Refused:
    """A clock that is never to be asked: the bulk reading must do without it."""

    def __call__(self, text: str) -> int:
        raise AssertionError(f"read one by one: {text!r}")


@given(
    st.lists(st.integers(0, 86_399_990).map(lambda v: v - v % 10), min_size=1, max_size=80),
    _TIME_FORMATS,
)
def test_a_list_read_at_once_matches_reading_each_beat(moments: list[int], form: str) -> None:
    whens = [_written(ms, form) for ms in moments]
    # One locale's times are read as byte grids, one per width, never one by one.
    assert at_once(whens, Refused()) == each(whens) == moments


@given(
    st.lists(
        st.one_of(
            st.builds(_written, st.integers(0, 86_399_990), _TIME_FORMATS),
            st.sampled_from(["8:29:5x.42 PM", "13:29:59.42 PM", "24:00:00.00", "8:61:00.00 AM"]),
            st.sampled_from(["0:00:00.00 AM", "8:29:59.425\u00a0pm", "8:29:59.4 Pm", ""]),
            st.text(st.characters(codec="utf-8", exclude_characters='"<&>-\t\n\r'), max_size=14),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_any_mix_of_times_reads_in_bulk_as_each_alone(whens: list[str]) -> None:
    """Locales, widths, bad and odd times mixed: each time reads as it reads alone."""
    assert at_once(whens) == each(whens)


@pytest.mark.parametrize(
    "whens",
    [
        ["8:29:59.42 PM", "8:29:5x.42 PM"],
        ["8:29:59.42 PM", "8:29:59.42 AX"],
        ["13:29:59.42 PM"],
        ["24:00:00.00"],
        ["8:61:00.00 AM"],
        ["8-29-59.42 PM"],
    ],
)
def test_a_bad_time_in_a_list_is_unreadable_and_spoils_no_other(whens: list[str]) -> None:
    assert at_once(whens)[-1] == -1
    assert at_once(whens) == each(whens)


@given(st.lists(st.text("0123456789", min_size=1, max_size=16), min_size=1, max_size=30))
def test_rates_read_in_bulk_as_float_reads_them(rates: list[str]) -> None:
    text = "".join(f'bpm="{r}"' for r in rates).encode()
    quotes = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord('"')).reshape(-1, 2)
    got = read_digits(np.frombuffer(text, dtype=np.uint8), quotes[:, 0] + 1, quotes[:, 1])
    assert got.tolist() == [float(r) for r in rates]


def test_a_beat_list_past_midnight_moves_to_the_next_day() -> None:
    start = int(datetime(2024, 3, 5, 23, 59, 30, tzinfo=UTC).timestamp() * 1000)
    after = beat_instant(start, 0, time_of_day_ms("00:00:10.00"))
    assert after - start == 40_000
    # Local time: the record starts at 23:59:30 +0200, the beat is at 00:00:10 local.
    local_start = start - 120 * 60_000
    assert beat_instant(local_start, 120, time_of_day_ms("00:00:10.00")) - local_start == 40_000


def _beats(items: list[object]) -> list[Series]:
    return [i for i in items if isinstance(i, Series)]


def test_beats_become_instant_heart_rate_samples(tmp_path: Path) -> None:
    beats = [("55", "8:29:59.42 PM"), ("57", "8:30:00.47 PM"), ("56", "8:30:01.52 PM")]
    body = hrv_record("2024-03-05 20:29:58 -0500", beats)
    items, issues, notes = parse(make_zip(tmp_path, {"export.xml": export_xml(body)}))
    assert issues == []
    assert not any("not imported" in n for n in notes)
    sdnn = [s for s in items if isinstance(s, Sample) and s.metric == "hrv_sdnn"]
    (series,) = _beats(items)
    assert len(sdnn) == 1 and (series.metric, series.unit) == ("heart_rate_beat", "/min")
    base = round(datetime(2024, 3, 6, 1, 29, 59, 420_000, tzinfo=UTC).timestamp() * 1000)
    assert list(series.times) == [base, base + 1050, base + 2100]
    assert list(series.values) == [float(b) for b, _ in beats]
    assert series.offset_min == -300
    assert (series.device, series.source) == (sdnn[0].device, "Watch")


def test_a_beat_list_running_past_local_midnight(tmp_path: Path) -> None:
    beats = [("60", "11:59:59.50 PM"), ("61", "12:00:00.48 AM")]
    body = hrv_record("2024-03-05 23:59:58 +0200", beats)
    items, _, _ = parse(make_zip(tmp_path, {"export.xml": export_xml(body)}))
    (series,) = _beats(items)
    first = round(datetime(2024, 3, 5, 21, 59, 59, 500_000, tzinfo=UTC).timestamp() * 1000)
    assert list(series.times) == [first, first + 980]


def test_unreadable_beats_are_counted_and_the_rest_kept(tmp_path: Path) -> None:
    beats = [("55", "8:29:59.42 PM"), ("abc", "8:30:00.47 PM"), ("56", "soon"), ("900", "8:30:02")]
    body = hrv_record("2024-03-05 20:29:58 -0500", beats)
    items, _, notes = parse(make_zip(tmp_path, {"export.xml": export_xml(body)}))
    (series,) = _beats(items)
    assert list(series.values) == [55.0]
    assert any(f"{len(beats) - 1} beat-to-beat readings" in n for n in notes)


def test_beats_of_a_skipped_record_are_counted_as_skipped(tmp_path: Path) -> None:
    body = hrv_record("2024-03-05 20:29:58 -0500", [("55", "8:29:59.42 PM")], value="-4")
    items, _, notes = parse(make_zip(tmp_path, {"export.xml": export_xml(body)}))
    assert _beats(items) == []
    assert any("1 beat-to-beat reading with" in n for n in notes)


def test_a_series_straddling_utc_days_is_stored_sample_by_sample(fresh_vault: Vault) -> None:
    from array import array

    from vault.data.ingest import QSWriter

    day = round(datetime(2024, 3, 6, tzinfo=UTC).timestamp() * 1000)
    times = array("q", [day - 500, day + 500, day + 1500])
    with QSWriter(fresh_vault, P) as w:
        w.add_series(Series("heart_rate_beat", "/min", times, array("d", [60, 61, 62])))
        w.add_series(
            Series("heart_rate_beat", "count/s", array("q", [day + 9000]), array("d", [1]))
        )
    got = query.samples(fresh_vault, P, "heart_rate_beat", day - DAY_MS, day + DAY_MS)
    assert [(s.start, s.value) for s in got] == [
        (day - 500, 60.0),
        (day + 500, 61.0),
        (day + 1500, 62.0),
        (day + 9000, 60.0),
    ]


# --- the files beside export.xml ------------------------------------------------------------------


def test_an_export_with_ecgs_and_clinical_records_says_nothing_is_left_out(
    tmp_path: Path, corpus: Path
) -> None:
    apgar = (corpus / "apple-health/fhir-observation-apgar.json").read_bytes()
    xml = export_xml(
        '<ClinicalRecord type="HKClinicalTypeIdentifierConditionRecord" identifier="c1" '
        'sourceName="Example Hospital" sourceURL="https://fhir.example/" fhirVersion="4.0.1" '
        'receivedDate="2024-01-01 10:00:00 +0000" '
        'resourceFilePath="/clinical-records/Condition-c1.json"/>\n'
    )
    files: dict[str, str | bytes] = {
        "export.xml": xml,
        "export_cda.xml": "<ClinicalDocument/>",
        "electrocardiograms/ecg_2024-03-05.csv": ecg_csv(wave(512)),
        "electrocardiograms/ecg_2024-03-06.csv": ecg_csv(
            wave(1024), recorded="2024-03-06 08:00:00 +0100", classification="Atrial Fibrillation"
        ),
        "clinical-records/Condition-c1.json": json.dumps(CONDITION_R4),
        "clinical-records/Immunization-i1.json": json.dumps(IMMUNIZATION_DSTU2),
        "clinical-records/Observation-apgar.json": apgar,
    }
    items, issues, notes = parse(make_zip(tmp_path, files))
    assert issues == []
    ecgs = [i for i in items if isinstance(i, Ecg)]
    clinical = [i for i in items if isinstance(i, ClinicalRecord)]
    assert [e.count for e in ecgs] == [512, 1024]
    assert [e.classification for e in ecgs] == ["sinus_rhythm", "atrial_fibrillation"]
    by_type = {c.resource_type: c for c in clinical}
    assert sorted(by_type) == ["Condition", "Immunization", "Observation"]
    assert by_type["Condition"].source == "Example Hospital"  # named by export.xml
    assert by_type["Condition"].summary == "Seasonal allergic rhinitis"
    assert json.loads(by_type["Observation"].resource) == json.loads(apgar)
    assert not any("not imported" in n for n in notes)
    assert any("export_cda.xml was not read" in n for n in notes)


def test_a_bad_file_beside_the_export_is_skipped_whole_and_named(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "export.xml": export_xml(),
        "electrocardiograms/ecg_good.csv": ecg_csv([1.0, 2.0]),
        "electrocardiograms/ecg_bad.csv": "Name,X\n\n1.0\n",
        "clinical-records/Condition-c1.json": json.dumps(CONDITION_R4),
        "clinical-records/broken.json": '{"resourceType": "Condition", "id": ',
        "clinical-records/list.json": "[1, 2]",
    }
    items, issues, _ = parse(make_zip(tmp_path, files))
    assert sum(isinstance(i, Ecg) for i in items) == 1
    assert sum(isinstance(i, ClinicalRecord) for i in items) == 1
    named = sorted(loc.rsplit("/", 1)[-1] for loc, _ in issues)
    assert named == ["broken.json", "ecg_bad.csv", "list.json"]
    assert all("skipped whole" in problem for _, problem in issues)


def test_an_unzipped_export_reads_the_same_files(tmp_path: Path) -> None:
    folder = tmp_path / "apple_health_export"
    (folder / "electrocardiograms").mkdir(parents=True)
    (folder / "clinical-records").mkdir()
    (folder / "export.xml").write_text(export_xml())
    (folder / "electrocardiograms/ecg_a.csv").write_text(ecg_csv([1.0, 2.0, 3.0]))
    (folder / "clinical-records/Medication-m1.json").write_text(json.dumps(MEDICATION_R4))
    items, issues, _ = parse(folder)
    assert issues == []
    assert [type(i).__name__ for i in items] == ["Ecg", "ClinicalRecord"]


# --- into a vault ---------------------------------------------------------------------------------


def _full_export(tmp_path: Path) -> Path:
    body = hrv_record(
        "2024-03-05 20:29:58 -0500", [("55", "8:29:59.42 PM"), ("57", "8:30:00.47 PM")]
    )
    return make_zip(
        tmp_path,
        {
            "export.xml": export_xml(body),
            "electrocardiograms/ecg_a.csv": ecg_csv(wave(700)),
            "clinical-records/Condition-c1.json": json.dumps(CONDITION_R4),
            "clinical-records/Medication-m1.json": json.dumps(MEDICATION_R4),
            "clinical-records/Allergy-a1.json": json.dumps(ALLERGY_NO_DATE),
        },
    )


def test_import_stores_waveforms_and_fhir_once(fresh_vault: Vault, tmp_path: Path) -> None:
    path = _full_export(tmp_path)
    summary = import_apple_health(fresh_vault, P, path)
    assert summary.errors == ()
    assert summary.clinical_records == RecordCounts(added=3, undated=1)
    (ecg,) = health_records.list_ecgs(fresh_vault, P)
    volts = health_records.ecg_voltages(fresh_vault, ecg)
    assert np.allclose(volts, wave(700), atol=1e-3)
    assert ecg.header["classification"] == "sinus_rhythm"
    clinical = health_records.list_clinical(fresh_vault, P)
    assert [c.resource_type for c in clinical] == [
        "Condition",
        "MedicationStatement",
        "AllergyIntolerance",
    ]
    assert clinical[0].resource == CONDITION_R4
    assert clinical[-1].date is None
    counts = {m.metric: m.samples for m in query.list_metrics(fresh_vault, P)}
    assert counts["ecg"] == 1 and counts["heart_rate_beat"] == 2
    assert counts["clinical_record"] == 2  # the undated allergy is kept, under no day

    again = import_apple_health(fresh_vault, P, path)
    assert again.added == 0
    assert again.clinical_records == RecordCounts(unchanged=3)
    assert len(health_records.list_ecgs(fresh_vault, P)) == 1
    assert len(health_records.list_clinical(fresh_vault, P)) == 3


def test_elements_of_unknown_kinds_are_named_not_dropped_silently(tmp_path: Path) -> None:
    """A kind newer than the importer (Apple documents State of Mind and medication dose
    samples, but no export layout for them was found) is named in the notes."""
    body = (
        '<StateOfMind kind="1" valence="0.4" startDate="2024-03-05 20:00:00 +0000"/>\n'
        '<StateOfMind kind="2" valence="-0.2" startDate="2024-03-06 20:00:00 +0000"/>\n'
        '<MedicationDoseEvent status="taken"/>\n'
    )
    _, issues, notes = parse(make_zip(tmp_path, {"export.xml": export_xml(body)}))
    assert issues == []
    assert (
        "elements of kinds Coffre does not read were not imported: "
        "MedicationDoseEvent (1), StateOfMind (2)"
    ) in notes


def test_the_helper_process_gives_the_same_items(tmp_path: Path) -> None:
    path = _full_export(tmp_path)
    alone = list(parse_apple_health(path, lambda *_: None))
    helped = list(parse_apple_health(path, lambda *_: None, parallel=True))
    assert [type(i).__name__ for i in helped] == [type(i).__name__ for i in alone]
    assert helped == alone


# --- clinical records: one record and one sample each, the newer version kept --------------------
#
# The cases a new user's walk met, built from the DSTU2 (1.0.2) and R4 (4.0.1) definitions in
# the layout Apple's export writes: export.xml names each file's provider, the file holds the
# resource. A lab panel (a DiagnosticReport and its Observations) shares one instant.

LAB_TIME = "2019-01-09T08:15:00Z"


def _lab(code: str, value: float, *, status: str = "final", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"lab-{code}",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": code},
        "effectiveDateTime": LAB_TIME,
        "issued": "2019-01-09T14:20:00Z",
        "valueQuantity": {"value": value, "unit": "mg/dL"},
        **extra,
    }


def _walk_resources() -> list[dict[str, Any]]:
    labs = [_lab("2345-7", 92), _lab("2160-0", 0.9), _lab("3094-0", 14)]
    return [
        *labs,
        {
            "resourceType": "DiagnosticReport",
            "id": "bmp",
            "status": "final",
            "code": {"text": "BASIC METABOLIC PANEL"},
            "effectiveDateTime": LAB_TIME,
            "result": [{"reference": f"Observation/{lab['id']}"} for lab in labs],
        },
        {"resourceType": "MedicationOrder", "id": "med1", "dateWritten": "2019-01-12",
         "medicationCodeableConcept": {"text": "atorvastatin 20 MG tablet"}},
        {"resourceType": "Condition", "id": "cond1", "code": {"text": "Hyperlipidemia"},
         "dateRecorded": "2019-01-12"},
        {"resourceType": "Coverage", "id": "cov1", "status": "active",
         "period": {"start": "2019-01-01", "end": "2019-12-31"}},
        {"resourceType": "AllergyIntolerance", "id": "nka",
         "substance": {"text": "No Known Allergies"}},
    ]  # fmt: skip


def _clinical_export(
    tmp_path: Path, resources: list[dict[str, Any]], name: str, provider: str = "Sutter Health"
) -> Path:
    files: dict[str, str | bytes] = {}
    named = ""
    for r in resources:
        file = f"{r['resourceType']}-{r['id']}.json"
        files[f"clinical-records/{file}"] = json.dumps(r)
        named += (
            f'<ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" '
            f'identifier="{r["id"]}" sourceName="{provider}" fhirVersion="1.0.2" '
            f'resourceFilePath="/clinical-records/{file}"/>\n'
        )
    files["export.xml"] = export_xml(named)
    return make_zip(tmp_path, files, name)


def _dated(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if health_records._resource_date(r) is not None]


def _samples(vault: Vault) -> list[Sample]:
    return list(query.samples(vault, P, health_records.CLINICAL_METRIC))


def _stored_count(vault: Vault) -> int:
    listed = {m.metric: m.samples for m in query.list_metrics(vault, P)}
    return listed.get(health_records.CLINICAL_METRIC, 0)


def test_resources_at_one_instant_are_each_a_record_and_a_sample(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    resources = _walk_resources()
    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, resources, "a.zip"))
    dated = _dated(resources)
    assert summary.clinical_records == RecordCounts(
        added=len(resources), undated=len(resources) - len(dated)
    )
    assert (summary.added, summary.duplicates) == (0, 0)  # not samples, not duplicates
    samples = _samples(fresh_vault)
    assert len(samples) == len(dated) == _stored_count(fresh_vault)
    at_lab = [s for s in samples if s.start == query.parse_instant(LAB_TIME)]
    assert len(at_lab) == sum(r.get("effectiveDateTime") == LAB_TIME for r in resources)
    kinds = sorted(dict(s.metadata)["resource_type"] for s in samples)
    assert kinds == sorted(r["resourceType"] for r in dated)
    listed = health_records.list_clinical(fresh_vault, P)
    assert len(listed) == len(resources)
    coverage = next(c for c in listed if c.resource_type == "Coverage")
    assert coverage.date == query.parse_instant("2019-01-01T00:00:00Z")

    again = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, resources, "b.zip"))
    assert again.clinical_records == RecordCounts(unchanged=len(resources))
    assert len(_samples(fresh_vault)) == len(dated)


def test_an_amended_resource_replaces_the_stored_one(fresh_vault: Vault, tmp_path: Path) -> None:
    resources = _walk_resources()
    import_apple_health(fresh_vault, P, _clinical_export(tmp_path, resources, "a.zip"))
    (before,) = [
        c for c in health_records.list_clinical(fresh_vault, P) if c.resource["id"] == "lab-2345-7"
    ]
    sealed_before = _sealed(fresh_vault, before.record_id)
    amended = [_lab("2345-7", 195, status="amended"), *resources[1:]]
    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, amended, "b.zip"))
    changed = sum(a != r for a, r in zip(amended, resources, strict=True))
    assert summary.clinical_records == RecordCounts(
        updated=changed, unchanged=len(resources) - changed
    )
    listed = health_records.list_clinical(fresh_vault, P)
    assert len(listed) == len(resources)
    (glucose,) = [c for c in listed if c.resource["id"] == "lab-2345-7"]
    assert glucose.record_id == before.record_id
    assert glucose.resource["valueQuantity"]["value"] == 195
    assert glucose.resource["status"] == "amended"
    assert len(_samples(fresh_vault)) == len(_dated(resources)) == _stored_count(fresh_vault)
    # What a grant over all time sends: one version of each resource.
    now = datetime.now(UTC)
    ((_, doc, _),) = health_records.bundle_documents(
        fresh_vault, P, "clinical_record", start=None, end=None, subject="urn:x", now=now
    )
    sent = [e["resource"] for e in json.loads(doc)["entry"]]
    assert len(sent) == len({(r["resourceType"], r["id"]) for r in sent}) == len(resources)
    # The replaced version's sealed bytes are gone from every file of the vault.
    assert sealed_before not in raw_vault_bytes(fresh_vault.path)


def _sealed(vault: Vault, record_id: str) -> bytes:
    import sqlite3

    with sqlite3.connect(vault.path / "vault.db") as db:
        (data,) = db.execute(
            "SELECT data FROM records WHERE id=?", (bytes.fromhex(record_id),)
        ).fetchone()
    return bytes(data)


def test_an_amended_date_moves_the_record_s_sample(fresh_vault: Vault, tmp_path: Path) -> None:
    resources = _walk_resources()
    import_apple_health(fresh_vault, P, _clinical_export(tmp_path, resources, "a.zip"))
    moved = _lab("2345-7", 92, effectiveDateTime="2019-02-20T10:00:00Z")
    undated = {k: v for k, v in resources[-2].items() if k != "period"}  # the coverage
    changed = [moved, *resources[1:-2], undated, resources[-1]]
    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, changed, "b.zip"))
    assert summary.clinical_records == RecordCounts(
        updated=2, unchanged=len(resources) - 2, undated=1
    )
    samples = _samples(fresh_vault)
    assert len(samples) == len(_dated(changed)) == _stored_count(fresh_vault)
    lab_ms = query.parse_instant(LAB_TIME)
    assert sum(s.start == lab_ms for s in samples) == sum(
        r.get("effectiveDateTime") == LAB_TIME for r in changed
    )
    assert [s.start for s in samples if s.start > lab_ms + DAY_MS * 30] == [
        query.parse_instant("2019-02-20T10:00:00Z")
    ]
    assert query.parse_instant("2019-01-01T00:00:00Z") not in {s.start for s in samples}


def test_an_older_version_by_its_last_update_is_not_stored(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    newer = _lab("2345-7", 195, status="amended", meta={"lastUpdated": "2019-01-11T00:00:00Z"})
    older = _lab("2345-7", 92, meta={"lastUpdated": "2019-01-09T15:00:00Z"})
    import_apple_health(fresh_vault, P, _clinical_export(tmp_path, [newer], "a.zip"))
    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, [older], "b.zip"))
    assert summary.clinical_records == RecordCounts(older=1)
    (kept,) = health_records.list_clinical(fresh_vault, P)
    assert kept.resource == newer
    latest = _lab("2345-7", 190, status="corrected", meta={"lastUpdated": "2019-02-01T00:00:00Z"})
    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, [latest], "c.zip"))
    assert summary.clinical_records == RecordCounts(updated=1)
    (kept,) = health_records.list_clinical(fresh_vault, P)
    assert kept.resource == latest
    assert len(_samples(fresh_vault)) == 1


def test_the_same_id_from_two_providers_is_two_records(fresh_vault: Vault, tmp_path: Path) -> None:
    lab = _lab("2345-7", 92)
    import_apple_health(fresh_vault, P, _clinical_export(tmp_path, [lab], "a.zip"))
    other = _clinical_export(tmp_path, [_lab("2345-7", 90)], "b.zip", provider="Riverside Clinic")
    summary = import_apple_health(fresh_vault, P, other)
    assert summary.clinical_records == RecordCounts(added=1)
    assert len(health_records.list_clinical(fresh_vault, P)) == 2
    assert sorted(s.source for s in _samples(fresh_vault)) == ["Riverside Clinic", "Sutter Health"]


def test_forgetting_a_range_after_an_update_leaves_no_version(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    from vault import personas as identities
    from vault.forget import Target, forget

    sam = identities.add_persona(fresh_vault, "Sam").id
    resources = _walk_resources()
    import_apple_health(fresh_vault, sam, _clinical_export(tmp_path, resources, "a.zip"))
    amended = [_lab("2345-7", 195, status="amended"), *resources[1:]]
    import_apple_health(fresh_vault, sam, _clinical_export(tmp_path, amended, "b.zip"))
    lab_ms = query.parse_instant(LAB_TIME)
    target = Target.of_metric("clinical_record", persona=sam, start=lab_ms, end=lab_ms + 1)
    forget(fresh_vault, target)
    at_lab = sum(r.get("effectiveDateTime") == LAB_TIME for r in amended)
    left = health_records.list_clinical(fresh_vault, sam)
    assert len(left) == len(resources) - at_lab
    assert all(c.date != lab_ms for c in left)
    samples = list(query.samples(fresh_vault, sam, health_records.CLINICAL_METRIC))
    assert len(samples) == len(_dated(resources)) - at_lab


def test_the_same_resource_written_another_way_is_already_stored(fresh_vault: Vault) -> None:
    """Key order and spacing do not make a version: the content does (with or without an id)."""
    from vault.data.ingest import QSWriter

    with_id = {"resourceType": "Condition", "id": "c9", "dateRecorded": "2019-01-12"}
    no_id = {"resourceType": "AllergyIntolerance", "substance": {"text": "Peanut"}}
    resources = [with_id, no_id]
    for indent in (None, 2):
        with QSWriter(fresh_vault, P) as w:
            for r in resources:
                text = json.dumps(dict(reversed(r.items())) if indent else r, indent=indent)
                w.add_clinical(ClinicalRecord(r["resourceType"], text.encode(), None))
    assert w.summary.clinical_records == RecordCounts(unchanged=len(resources))
    assert len(health_records.list_clinical(fresh_vault, P)) == len(resources)


def test_a_vault_written_before_records_were_told_apart_is_repaired_by_the_next_import(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    """The layout earlier versions wrote, reproduced: each resource a record (no last-updated
    time, a Coverage left undated), the amended lab value a second record beside the first,
    and one keyless sample per instant and provider, however many records shared it."""
    from vault.data.ingest import QSWriter

    resources = _walk_resources()
    amended = [_lab("2345-7", 195, status="amended"), *resources[1:]]
    source = "Sutter Health"
    with fresh_vault.store.write() as txn:
        for i, r in enumerate([*resources, amended[0]]):
            date = None if r["resourceType"] == "Coverage" else health_records._resource_date(r)
            body = {"persona": P, "resource_type": r["resourceType"], "date": date,
                    "summary": "", "file": "", "source": source, "resource": r}  # fmt: skip
            terms = [("persona", P), ("ck", f"{P}:{i}")]
            txn.put(health_records.KIND_CLINICAL, json.dumps(body).encode(), terms=terms)
    with QSWriter(fresh_vault, P) as w:
        for r in resources:
            date = health_records._resource_date(r)
            if date is not None and r["resourceType"] != "Coverage":
                kind = (("resource_type", r["resourceType"]),)
                w.add(Sample("clinical_record", date, date, 1.0, "", source, "", 0, kind))
    places = {s.start for s in _samples(fresh_vault)}
    assert len(_samples(fresh_vault)) == len(places) < len(_dated(resources)) - 1

    summary = import_apple_health(fresh_vault, P, _clinical_export(tmp_path, amended, "b.zip"))
    assert summary.clinical_records == RecordCounts(updated=1, unchanged=len(resources) - 1)
    listed = health_records.list_clinical(fresh_vault, P)
    assert len(listed) == len(resources)
    (glucose,) = [c for c in listed if c.resource["id"] == "lab-2345-7"]
    assert glucose.resource["valueQuantity"]["value"] == 195
    coverage = next(c for c in listed if c.resource_type == "Coverage")
    assert coverage.date == query.parse_instant("2019-01-01T00:00:00Z")
    samples = _samples(fresh_vault)
    assert len(samples) == len(_dated(amended)) == _stored_count(fresh_vault)
    assert {dict(s.metadata)["record"] for s in samples} == {
        c.record_id for c in listed if c.date is not None
    }


def test_a_sample_that_stands_for_no_record_is_left_as_it_is(
    fresh_vault: Vault, tmp_path: Path
) -> None:
    """A `clinical_record` sample written by other means (a CSV) is no earlier import's."""
    from vault.data.ingest import QSWriter

    lab_ms = query.parse_instant(LAB_TIME)
    with QSWriter(fresh_vault, P) as w:
        w.add(Sample("clinical_record", lab_ms, lab_ms, 1.0, "", "A spreadsheet", "", 0))
    resources = _walk_resources()
    import_apple_health(fresh_vault, P, _clinical_export(tmp_path, resources, "a.zip"))
    samples = _samples(fresh_vault)
    assert len(samples) == len(_dated(resources)) + 1
    assert [s.source for s in samples if not s.metadata] == ["A spreadsheet"]


def test_numbers_of_points_are_refused_before_their_points_are_listed() -> None:
    """A file of words made of points (not numbers) costs no more memory to refuse than a
    file of as many voltages costs to read."""
    import tracemalloc

    def peak(text: bytes) -> int:
        bounds = number_bounds(text, 1 << 20)
        assert bounds is not None
        tracemalloc.start()
        try:
            read_decimals(text, *bounds)
        except ValueError:
            pass
        finally:
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return top

    words = 100_000
    good = peak(b"-48.673\n" * words)
    assert peak(b"0\n" + (b"." * 15 + b"\n") * words) <= good
