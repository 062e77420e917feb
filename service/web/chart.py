"""Bar geometry for the small charts the pages draw as inline SVG.

The page's Content-Security-Policy forbids inline styles and scripts, so a chart is computed
here, in SVG user units, and the template only writes each bar's x, y, width and height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar, e.g. "Apr"
    value: float
    caption: str  # the value as people read it, e.g. "£1,156.00"
    x: float
    y: float  # the top of the bar; SVG's y grows downwards
    width: float
    height: float

    @property
    def centre(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float  # the y of the axis the bars stand on
    label_y: float  # the y of the labels' baseline, under the axis
    bars: tuple[Bar, ...]


def bar_chart(
    values: Sequence[tuple[str, float, str]],
    *,
    width: int = 640,
    height: int = 200,
    top_margin: int = 8,
    label_room: int = 22,
    fill: float = 0.7,
) -> BarChart:
    """Bars for ``(label, value, caption)`` triples, left to right, on a scale from zero.

    Each bar gets an equal slot of the width and fills ``fill`` of it; the largest value
    reaches ``top_margin`` from the top, and zero values are bars of height zero, so there is
    always one bar per value.
    """
    if any(value < 0 for _label, value, _caption in values):
        raise ValueError("bars start at zero: every value must be zero or more")
    if not 0 < fill <= 1:
        raise ValueError(f"fill must be in (0, 1], not {fill}")
    baseline = float(height - label_room)
    plot = baseline - top_margin
    if plot <= 0:
        raise ValueError(f"height {height} leaves no room for bars")
    largest = max((value for _label, value, _caption in values), default=0.0)
    slot = width / len(values) if values else float(width)
    bars = []
    for i, (label, value, caption) in enumerate(values):
        tall = plot * value / largest if largest > 0 else 0.0
        bars.append(
            Bar(
                label=label,
                value=value,
                caption=caption,
                x=round(i * slot + slot * (1 - fill) / 2, 1),
                y=round(baseline - tall, 1),
                width=round(slot * fill, 1),
                height=round(tall, 1),
            )
        )
    return BarChart(width, height, baseline, float(height - 6), tuple(bars))
