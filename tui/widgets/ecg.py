"""An ECG strip: one recording's voltages drawn as a trace in braille dots (two columns and
four rows of dots per character cell), the way a printed rhythm strip reads.

It draws what it is given; the Data screen loads the recording with the library. When there
are more samples than dot columns, each column draws its samples' lowest and highest values
joined, so a QRS spike stays as tall as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

_BRAILLE = 0x2800
# The bit of each dot: _DOTS[column][row], rows from the top (Unicode's braille layout).
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def trace(values: Sequence[float], width: int, height: int) -> list[str]:
    """`values` as `height` lines of `width` braille characters: per dot column, a vertical
    run from the lowest to the highest value its samples hold (scaled to the whole trace)."""
    if not values or width <= 0 or height <= 0:
        return []
    dots_w, dots_h = width * 2, height * 4
    low, top = min(values), max(values)
    span = (top - low) or 1.0
    grid = [[0] * width for _ in range(height)]
    n = len(values)
    for x in range(dots_w):
        lo = x * n // dots_w
        hi = max(lo + 1, (x + 1) * n // dots_w)
        if lo >= n:
            break
        part = values[lo : min(hi, n)]
        # Rows from the top: the highest value is row 0.
        y_top = round((top - max(part)) / span * (dots_h - 1))
        y_low = round((top - min(part)) / span * (dots_h - 1))
        for y in range(y_top, y_low + 1):
            grid[y // 4][x // 2] |= _DOTS[x % 2][y % 4]
    return ["".join(chr(_BRAILLE + bits) for bits in row) for row in grid]


class EcgStrip(Widget):
    """One ECG recording: a title line, then its trace across the widget's width."""

    DEFAULT_CSS = """
    EcgStrip { height: 8; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"ecg--trace"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._values: list[float] = []
        self._title = ""
        self._empty = ""

    def show(self, values: Sequence[float], title: str) -> None:
        """Draw `values` (the voltages, in order) under `title`."""
        self._values, self._title = list(values), title
        self.refresh()

    def clear(self, message: str = "") -> None:
        self._values, self._empty = [], message
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if not self._values or height < 2:
            return Text(self._empty, style="dim")
        style = self.get_component_rich_style("ecg--trace", partial=True)
        lines = [Text(self._title, style="bold")]
        lines += [Text(row, style=style) for row in trace(self._values, width, height - 1)]
        return Text("\n").join(lines)
