"""`coffre data show METRIC --chart`: a terminal chart of the per-period aggregates, drawn
with plotext.

The library says what to plot (`vault.data.display.chart_series`: one point per period,
the aggregate that fits the metric's kind); this module only lays it out: the metric's name
and unit as the title, the y axis scaled to the data (a heart rate is not drawn from 0),
dates on the x axis, colour only on a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault.data.display import Series

DEFAULT_SIZE = (80, 20)
X_LABELS = 5  # dates written under the x axis


def y_limits(values: list[float]) -> tuple[float, float]:
    """The y range: the data's, with a tenth of it as margin on each side, never below 0
    for data that never is (totals, durations)."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) / 10 if hi > lo else max(abs(hi) / 10, 1.0)
    lower = lo - pad
    if lo >= 0 > lower:
        lower = 0.0
    return lower, hi + pad


def render(series: Series, *, size: tuple[int, int] = DEFAULT_SIZE, color: bool = False) -> str:
    """SERIES as a chart, as text (with colour codes only when COLOR)."""
    import plotext  # type: ignore[import-untyped]  # ships no type information

    fig = plotext.figure
    fig.clear()
    plotext.terminal.limit(False, False)  # the size asked for, whatever the terminal's
    fig.plot_size(*size)
    fig.theme("default" if color else "clear")
    xs = list(range(len(series.values)))
    fig.draw(fig.signal(xs, series.values).lines(len(xs) > 1))  # joined when there are two
    step = max(1, (len(xs) - 1) // (X_LABELS - 1)) if len(xs) > 1 else 1
    ticks = xs[::step]
    fig.ruler("x").ticks(ticks, [series.labels[i] for i in ticks])
    if len(xs) == 1:
        fig.ruler("x").lim(-1, 1)
    fig.ruler("y").lim(*y_limits(series.values))
    fig.title(series.title)
    text: str = fig.build().string(colorless=not color)
    fig.clear()
    return text
