"""Line charts drawn as inline SVG on the server: no script, no stylesheet, nothing fetched.

A chart has a time axis (one point per minute), a value axis with round ticks and grid lines,
a label saying the unit, and a legend naming each series in its colour.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, PLOT_HEIGHT = 720, 180
LEFT, RIGHT, BOTTOM = 64, 20, 40
LEGEND_ROW = 18
# Distinguishable colours, also for the colour-blind (Okabe and Ito's palette).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]


def axis_ticks(largest: float, *, whole: bool) -> list[float]:
    """Round ticks from 0 to at least `largest`: a step of 1, 2, 2.5 or 5 times a power of ten,
    at most four of them; whole numbers only for counts."""
    rough = max(largest, 1e-9) / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    if whole:
        step = max(1, math.ceil(step))
    count = max(1, math.ceil(largest / step))
    return [step * i for i in range(count + 1)]


def _format(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


def line_chart(
    *, minutes: list[datetime], series: dict[str, list[float | None]], unit: str, label: str, whole: bool
) -> SafeString:
    """`series` names a list of values per minute; None leaves a gap in that line. `whole`:
    the values are counts, so the axis has no fractions."""
    legend, rows = _legend(list(series))
    plot_top = 14 + rows * LEGEND_ROW
    plot_width, plot_height = WIDTH - LEFT - RIGHT, PLOT_HEIGHT
    plot_middle = plot_top + plot_height / 2
    height = plot_top + plot_height + BOTTOM
    values = [v for points in series.values() for v in points if v is not None]
    ticks = axis_ticks(max(values, default=1), whole=whole)
    step = plot_width / max(len(minutes) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(value: float) -> float:
        return plot_top + plot_height * (1 - value / ticks[-1])

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" class="pipeline-chart">',
        f"<title>{escape(label)}</title>",
        f'<rect x="{LEFT}" y="{plot_top}" width="{plot_width}" height="{plot_height}" fill="#fff" '
        f'stroke="#ccc"/>',
    ]
    for value in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
            f"{_format(value)}</text>"
        )
    for i, minute in enumerate(minutes):
        if minute.minute % 10 == 0:
            parts.append(
                f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{plot_top}" y2="{plot_top + plot_height}" '
                f'stroke="#eee"/>'
                f'<text x="{x(i):.1f}" y="{plot_top + plot_height + 16}" text-anchor="middle" font-size="11" '
                f'fill="#555">{minute:%H:%M}</text>'
            )
    parts.append(
        f'<text x="14" y="{plot_middle:.1f}" transform="rotate(-90 14 {plot_middle:.1f})" '
        f'text-anchor="middle" font-size="12" fill="#333">{escape(unit)}</text>'
        f'<text x="{LEFT + plot_width / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" '
        f'fill="#333">time (UTC), one point per minute</text>'
    )
    for (name, points), colour, (legend_x, legend_y) in zip(series.items(), COLOURS, legend, strict=False):
        parts.append(_line(points, x, y, colour))
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 17}" y="{legend_y + 10}" font-size="12" fill="#333">{escape(name)}</text>'
        )
    if not values:
        parts.append(
            f'<text x="{LEFT + plot_width / 2:.1f}" y="{plot_middle:.1f}" text-anchor="middle" '
            f'font-size="13" fill="#888">no events handled in the last hour</text>'
        )
    parts.append("</svg>")
    # Every name and label above is escaped.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


def _legend(names: list[str]) -> tuple[list[tuple[int, int]], int]:
    """Where each legend entry goes, left to right in rows above the plot; and how many rows."""
    places, x, row = [], LEFT, 0
    for name in names:
        width = 30 + 7 * len(name)  # a square, a gap and about 7 units per character at size 12
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = LEFT, row + 1
        places.append((x, 6 + row * LEGEND_ROW))
        x += width
    return places, row + 1


def _line(points: list[float | None], x, y, colour: str) -> str:
    """One path; a None starts a new segment, and a lone point is drawn as a dot."""
    commands, dots, previous = [], [], None
    for i, value in enumerate(points):
        if value is None:
            previous = None
            continue
        commands.append(f"{'L' if previous is not None else 'M'}{x(i):.1f},{y(value):.1f}")
        nxt = points[i + 1] if i + 1 < len(points) else None
        if previous is None and nxt is None:
            dots.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}"/>')
        previous = value
    path = (
        f'<path d="{" ".join(commands)}" fill="none" stroke="{colour}" stroke-width="2"/>' if commands else ""
    )
    return path + "".join(dots)
