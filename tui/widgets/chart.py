"""A small chart of one series, as bars or a line, drawn with block characters.

It draws what it is given (labels and values); the Data screen computes the buckets with the
library. When there are more points than columns, neighbours are averaged for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_BLOCKS = " ▁▂▃▄▅▆▇█"
_AXIS = 9  # width of the value labels on the left


def _fit(values: Sequence[float], width: int) -> list[float]:
    """Average neighbouring values so the series fits `width` columns."""
    if len(values) <= width or width <= 0:
        return list(values)
    out = []
    for i in range(width):
        lo = i * len(values) // width
        hi = max(lo + 1, (i + 1) * len(values) // width)
        part = values[lo:hi]
        out.append(sum(part) / len(part))
    return out


def _label(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


class Chart(Widget):
    """Bars or a line over a series; `first`/`last` label the horizontal axis."""

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"chart--bar"}
    style: reactive[str] = reactive("bars")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._values: list[float] = []
        self._first = ""
        self._last = ""
        self._empty = "No data in this range."
        self._zero = True

    def show(self, values: Sequence[float], first: str, last: str, *, zero: bool = True) -> None:
        """Draw `values`; `zero` starts the axis at 0 (totals), else the axis spans the
        values with a margin (rates: a heart rate varies far from 0)."""
        self._values, self._first, self._last = list(values), first, last
        self._zero = zero
        self.refresh()

    def axis(self, values: Sequence[float]) -> tuple[float, float]:
        """The vertical axis's bottom and top for `values` (as drawn)."""
        low, top = min(values), max(values)
        if self._zero:
            return min(0.0, low), top
        margin = (top - low) * 0.1 or abs(top) * 0.05 or 1.0
        return low - margin, top + margin

    def per_column(self) -> int:
        """How many values a column averages at most (1 when every value has its own)."""
        width = self.size.width - _AXIS - 1
        if width <= 0 or len(self._values) <= width:
            return 1
        return -(-len(self._values) // width)

    def drawn(self) -> list[float]:
        """The values as the columns plot them at the present width (neighbours averaged
        when there are more values than columns)."""
        return _fit(self._values, self.size.width - _AXIS - 1)

    def clear(self, message: str) -> None:
        self._values, self._empty = [], message
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if not self._values or width <= _AXIS + 2 or height < 3:
            return Text(self._empty, style="dim")
        plot_w, plot_h = width - _AXIS - 1, height - 1
        values = _fit(self._values, plot_w)
        cell = max(1, plot_w // len(values))  # columns per value when there is room
        bar = cell - 1 if cell >= 3 else cell
        low, top = self.axis(values)
        span = (top - low) or 1.0
        levels = [round((v - low) / span * plot_h * 8) for v in values]
        rows = []
        color = self.get_component_rich_style("chart--bar", partial=True)
        for row in range(plot_h, 0, -1):
            line = Text()
            label = ""
            if row == plot_h:
                label = _label(top)
            elif row == 1:
                label = _label(low)
            elif row == (plot_h + 1) // 2 and plot_h >= 5:
                label = _label(low + span * (row - 0.5) / plot_h)
            line.append(f"{label:>{_AXIS}}│", style="dim")
            floor = (row - 1) * 8
            for level in levels:
                if self.style == "line":
                    hit = floor <= level - 1 < floor + 8 or (row == 1 and level == 0)
                    glyph = "•" if hit else " "
                    line.append(glyph.center(cell) if cell > 1 else glyph, style=color)
                else:
                    fill = max(0, min(8, level - floor))
                    line.append(_BLOCKS[fill] * bar + " " * (cell - bar), style=color)
            rows.append(line)
        axis = Text(" " * _AXIS + "└", style="dim")
        room = min(plot_w, cell * len(values))
        merged = self.per_column()
        middle = f" columns average ≤{merged} " if merged > 1 else ""
        if len(self._first) + len(self._last) + len(middle) + 2 > room:
            middle = ""
        gap = max(1, room - len(self._first) - len(self._last) - len(middle))
        left = gap // 2 if middle else gap
        axis.append(
            self._first + " " * left + middle + " " * (gap - left) + self._last, style="dim"
        )
        rows.append(axis)
        return Text("\n").join(rows)


def spark(values: Sequence[float]) -> str:
    """A one-line sparkline of `values`, scaled between their minimum and maximum so a
    trend shows even when the values are close; a gap (no data) is a blank."""
    present = [v for v in values if v > 0]
    if not present:
        return " " * len(values)
    low, top = min(present), max(present)
    span = top - low
    out = []
    for v in values:
        if v <= 0:
            out.append(" ")
        else:
            out.append(_BLOCKS[1 + round((v - low) / span * 7) if span else 4])
    return "".join(out)
