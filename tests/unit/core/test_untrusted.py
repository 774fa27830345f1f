"""Text Coffre did not write, shown safely: controls, escape sequences and invisible layout
characters escaped; every other character, and JSON values, unchanged."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from vault.core.untrusted import printable, printable_json


def test_controls_and_layout_characters_are_escaped() -> None:
    assert printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert printable("a\nb\tc\rd\x00\x7f") == "a\\x0ab\\x09c\\x0dd\\x00\\x7f"
    assert printable("\x9b2J") == "\\x9b2J"  # the one-byte CSI of C1
    assert printable("abc\u202edef\u2066\u2028") == "abc\\u202edef\\u2066\\u2028"


def test_everything_else_is_left_as_it_is() -> None:
    text = "Zoë — 東京 👩‍👩‍👧 [b]x[/b] C:\\path"  # accents, CJK, an emoji joined by ZWJ
    assert printable(text) == text
    assert printable(12) == "12"


@given(st.text())
def test_the_result_holds_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)


@given(
    st.recursive(
        st.text() | st.integers(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
    )
)
def test_json_keeps_its_value_and_loses_what_a_terminal_acts_on(value: object) -> None:
    text = printable_json(json.dumps(value, indent=2, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(0x7F <= ord(c) <= 0x9F or c in "\u202e\u2028" for c in text)
