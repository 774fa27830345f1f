"""Attributes parsed from the command line's KEY[.LABEL]=VALUE form."""

from __future__ import annotations

import pytest

from vault.core.errors import InvalidParameter
from vault.personas import parse_attribute


def test_parse_attribute_forms() -> None:
    name = parse_attribute("name", "Mary Ann Smith")
    assert (name.part("given"), name.part("family"), name.value) == (
        "Mary Ann",
        "Smith",
        "Mary Ann Smith",
    )
    full = parse_attribute("name", "Public;John;Quinlan;Dr.;III")
    assert full.value == "Dr. John Quinlan Public III"
    assert parse_attribute("birth_date", "19850415").value == "1985-04-15"
    assert parse_attribute("birth_date", "--0229").value == "--02-29"
    assert parse_attribute("field.shoe", "42").key == "field.shoe"
    assert parse_attribute("shoe-size", "42").key == "field.shoe-size"
    assert parse_attribute("email", "a@b.c", sensitive=True).sensitive


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("birth_date", "1990-02-30"),
        ("birth_date", "yesterday"),
        ("handle", "@me"),
        ("field", "x"),
        ("vcard", "x"),
        ("email", "  "),
        ("address", "a;b;c;d;e;f"),
        ("", "x"),
    ],
)
def test_parse_attribute_rejects(key: str, value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_attribute(key, value)
