"""Numbers, durations and tables as `coffre data` shows them (vault/data/display.py)."""

from __future__ import annotations

import pytest

from vault.data import display
from vault.data.query import Bucket


@pytest.mark.parametrize(
    ("value", "whole", "text"),
    [
        (50177.2, True, "50,177"),  # a total of steps is a whole number
        (1_076_000.0, False, "1,076,000"),  # never 1.076e+06
        (72.46, False, "72.5"),
        (0.974, False, "0.97"),
        (61.0, False, "61"),
        (1234.56, False, "1,235"),
        (-3.25, False, "-3.25"),
    ],
)
def test_number(value: float, whole: bool, text: str) -> None:
    assert display.number(value, whole=whole) == text


def test_a_column_of_means_lines_up() -> None:
    assert [display.number(v, digits=1) for v in (106.0, 105.83, 1234.56)] == [
        "106.0", "105.8", "1,234.6"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(45, "45 min"), (60, "1 h 00 min"), (452, "7 h 32 min"), (3000, "2 d 2 h")],
)
def test_duration(minutes: float, text: str) -> None:
    assert display.duration(minutes) == text


def test_kinds_come_from_the_registry() -> None:
    assert [display.kind_of(m) for m in ("steps", "heart_rate", "sleep", "x:Mood")] == [
        "sum", "rate", "category", "rate"
    ]  # fmt: skip
    assert display.is_whole("steps") and display.is_whole("flights_climbed")
    assert not display.is_whole("active_energy") and not display.is_whole("x:Mood")


def test_a_table_aligns_numbers_right() -> None:
    table = display.Table(("metric", "samples"), (("steps", "51,000"), ("x", "5")), frozenset({1}))
    assert table.lines() == ["metric  samples", "steps    51,000", "x             5"]


def test_period_labels_are_local_dates() -> None:
    # 2024-03-31T22:00Z is midnight of 1 April in Paris (UTC+2 in summer time).
    b = Bucket(1_711_922_400_000, 1_712_008_800_000, 120, 1, 1.0, 1.0, 1.0, 1.0, "{steps}")
    assert display.period_label(b, "day") == "2024-04-01"
    assert display.period_label(b, "month") == "2024-04"
    assert display.period_label(b, "hour") == "2024-04-01 00:00"


# --- clinical records and ECG recordings ------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "value", "unit"),
    [
        ({"valueQuantity": {"value": 5.4, "unit": "%"}}, 5.4, "%"),
        ({"valueQuantity": {"value": 95, "code": "mg/dL"}}, 95, "mg/dL"),  # UCUM code only
        ({"valueCodeableConcept": {"coding": [{"display": "Positive"}]}}, "Positive", ""),
        ({"valueString": "negative"}, "negative", ""),
        ({"valueBoolean": False}, False, ""),
        (
            {
                "component": [
                    {"valueQuantity": {"value": 128, "unit": "mmHg"}},
                    {"valueQuantity": {"value": 82, "unit": "mmHg"}},
                ]
            },
            "128 / 82",
            "mmHg",
        ),
        ({"valueQuantity": {"value": "95"}}, None, ""),  # not a number: no value claimed
        ({"valueQuantity": {"value": True, "unit": "mg/dL"}}, None, ""),
        ({"code": {"text": "Colonoscopy"}}, None, ""),
    ],
)
def test_a_clinical_value_and_its_unit(
    resource: dict[str, object], value: object, unit: str
) -> None:
    found = display.clinical_value(resource)
    assert found == (value, unit)
    assert type(found[0]) is type(value)  # 95 stays an integer, as the provider wrote it


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("2021-10-05", "2021-10-05"),  # a date stays a date: no midnight UTC
        ("2018-02", "2018-02"),
        ("2022-06-01T08:30:00-04:00", "2022-06-01 08:30 -04:00"),  # in the zone it was written in
        ("2019-01-09T08:15:00Z", "2019-01-09 08:15 UTC"),
        (None, "-"),
    ],
)
def test_a_clinical_date_as_written(written: str | None, shown: str) -> None:
    assert display.clinical_date(written) == shown


def test_record_text_is_made_safe_to_show() -> None:
    from vault.data.health_records import StoredClinical

    hostile = {"resourceType": "Condition", "code": {"text": "Flu\x1b[2J"}, "status": "x\ny"}
    record = StoredClinical("r1", "Condition", None, "Flu\x1b[2J", hostile, "Clinic\x07")
    row = display.clinical_table([record]).rows[0]
    assert not any(c in cell for cell in row for c in "\x1b\n\x07")
    assert display.clinical_json(record)["label"] == "Flu\x1b[2J"  # JSON keeps it as written
