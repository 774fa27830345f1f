"""Attributes parsed from the command line's KEY[.LABEL]=VALUE form, and the rules of
editing them (by key, as the CLI does, or by the attribute as read, as the TUI does)."""

from __future__ import annotations

from typing import Any

import pytest

from vault.core.errors import InvalidParameter
from vault.personas import parse_attribute
from vault.personas.attributes import apply_edits


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


# --- editing ---

EMAILS = (
    parse_attribute("email.work", "jane@work.example"),
    parse_attribute("birth_date", "1990-05-01", sensitive=True),
    parse_attribute("email.home", "jane@home.example"),
)


def test_set_replaces_what_a_key_names_in_the_first_place_keeping_its_sensitivity() -> None:
    edited = apply_edits(EMAILS, set=[("email", "jane@example.org")])
    assert [(a.key, a.value) for a in edited] == [
        ("email", "jane@example.org"),
        ("birth_date", "1990-05-01"),
    ]
    born = apply_edits(EMAILS, set=[("birth_date", "19910102")])[1]
    assert (born.value, born.sensitive) == ("1991-01-02", True)
    added = apply_edits(EMAILS, set=[("phone", "+33612345678")])
    assert added[:3] == EMAILS and added[3].key == "phone"  # a key naming nothing adds


def test_add_remove_and_marks() -> None:
    edited = apply_edits(
        EMAILS,
        add=[("handle.mastodon", "@jane@example.social")],
        remove=["email.work"],
        sensitive=["email"],
        not_sensitive=["birth_date"],
    )
    assert [(a.key, a.sensitive) for a in edited] == [
        ("birth_date", False),
        ("email.home", True),
        ("handle.mastodon", False),
    ]
    only = apply_edits(EMAILS, remove=["email=jane@home.example"])
    assert only == EMAILS[:2]


@pytest.mark.parametrize(
    "change",
    [
        {"remove": ["phone"]},
        {"remove": ["email=nobody@example.org"]},
        {"sensitive": ["phone"]},
        {"not_sensitive": ["field.pronouns"]},
        {"add": [("birth_date", "soon")]},
        {"set": [("handle", "@me")]},  # a handle names its network
    ],
)
def test_a_change_that_names_nothing_or_reads_wrong_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        apply_edits(EMAILS, **change)


def test_an_attribute_as_read_names_that_one_only() -> None:
    """The TUI's way: the row selected, not every attribute of its kind."""
    home = EMAILS[2]
    changed = apply_edits(EMAILS, set=[(home, "jane@new.example")])
    assert [a.value for a in changed] == ["jane@work.example", "1990-05-01", "jane@new.example"]
    assert apply_edits(EMAILS, remove=[home]) == EMAILS[:2]
    assert [a.sensitive for a in apply_edits(EMAILS, sensitive=[home])] == [False, True, True]
    assert not apply_edits(EMAILS, not_sensitive=[EMAILS[1]])[1].sensitive
    twice = (home, home)
    assert apply_edits(twice, remove=[home]) == (home,)  # identical ones: one of them
    gone = parse_attribute("email.home", "jane@old.example")  # read before someone changed it
    for change in ({"set": [(gone, "x@y.z")]}, {"remove": [gone]}, {"sensitive": [gone]}):
        with pytest.raises(InvalidParameter, match="changed meanwhile"):
            apply_edits(EMAILS, **change)
