"""Showing text Coffre did not write: names, purposes and file names from a bundle, titles
and file names from an import, on a terminal that would act on what they hold.

A control character or an escape sequence in such a string can move the cursor, clear the
screen, rewrite earlier lines, set the window title, or reverse the order of what follows
(bidirectional overrides), so a forged bundle could make a warning disappear or a refusal
look like success. `printable` shows each such character as an escape (`\\x1b`, `\\u202e`)
instead; everything else, accented letters and emoji included, is left as it is.
"""

from __future__ import annotations

import re
from typing import Final

# C0 and C1 controls and DEL; then the characters that change the order or the lines of
# what follows without being seen: the Arabic letter mark, left-to-right and right-to-left
# marks, line and paragraph separators, embeddings, overrides and isolates.
_CONTROLS: Final = "\x00-\x1f\x7f-\x9f"
_INVISIBLE_LAYOUT: Final = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE: Final = re.compile(f"[{_CONTROLS}{_INVISIBLE_LAYOUT}]")
# In JSON text, C0 controls only occur escaped (json.dumps escapes them) or as its own
# line breaks and indentation: the others are the ones to escape.
_UNSAFE_IN_JSON: Final = re.compile(f"[\x7f-\x9f{_INVISIBLE_LAYOUT}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """VALUE as one line of text safe to show: every control character, escape sequence
    start and invisible layout character escaped (a newline too)."""
    return _UNSAFE.sub(_escape, str(value))


def printable_json(text: str) -> str:
    """JSON text (from `json.dumps`) with the characters it leaves raw and a terminal would
    act on written as `\\uXXXX` escapes: the same JSON value, safe to show."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
