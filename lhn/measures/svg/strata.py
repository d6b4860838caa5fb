"""Server-rendered SVG of a measure's strata side by side: one line per stratum over the periods, broken where a
value is hidden (small numbers), and under it the gap between the best and the worst recorded stratum.

As the other charts: no JavaScript, no inline styles (colours from classes in lhn.css), a <title> on every point;
the page beside it has a table of the same data.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from markupsafe import Markup, escape

from lhn.measures.services.strata import StrataView
from lhn.measures.services.stratifiers import UNKNOWN
from lhn.measures.svg import fmt, fraction, nice_ticks, padded

WIDTH, HEIGHT, GAP_HEIGHT = 760, 320, 150
LEFT, RIGHT, TOP, BOTTOM = 58, 150, 20, 40
SERIES_CLASSES = 6  # .series-0 … .series-5 in lhn.css; "Not recorded" is always .series-unknown


def _frame(values: list[float], height: int, view: StrataView, x_of_count: int) -> tuple[list[str], float, float]:
    low, high = padded(values)
    plot_h = height - TOP - BOTTOM
    out = []
    suffix = view.measure.value_suffix
    for tick in nice_ticks(low, high):
        y = TOP + plot_h - fraction(tick, low, high) * plot_h
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(tick, 2))}{suffix}</text>'
        )
    n = max(x_of_count, 1)
    step = max(1, math.ceil(n / 9))
    plot_w = WIDTH - LEFT - RIGHT
    for i, label in enumerate(view.periods):
        if i % step == 0:
            x = LEFT + (i + 0.5) * plot_w / n
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{height - BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>'
            )
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    return out, low, high


def _line(values: list[float | None], x_of: Callable[[int], float], y_of: Callable[[float], float]) -> str:
    segments: list[list[str]] = []
    current: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{x_of(i):.1f},{y_of(value):.1f}")
    if current:
        segments.append(current)
    return " ".join("M" + " L".join(segment) for segment in segments)


def render_strata(view: StrataView, *, title: str) -> Markup:
    """The strata chart and, under it, the gap chart, as one <svg> each joined."""
    n = max(len(view.periods), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [p.value for s in view.series for p in s.points if p.value is not None]
    hidden = sum(1 for p in view.series[0].points if p.hidden) if view.series else 0
    desc = f"{len(view.series)} strata over {len(view.periods)} periods."
    if hidden:
        desc += f" {hidden} periods hidden (small numbers)."
    out = [
        f'<svg class="spc-chart strata-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="strata-title strata-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="strata-title">{escape(title)}</title><desc id="strata-desc">{escape(desc)}</desc>',
    ]
    frame, low, high = _frame(values, HEIGHT, view, n)
    out += frame

    def x_of(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / n

    def y_of(v: float) -> float:
        return TOP + plot_h - fraction(v, low, high) * plot_h

    suffix = view.measure.value_suffix
    for index, series in enumerate(view.series):
        css = "series-unknown" if series.code == UNKNOWN else f"series-{index % SERIES_CLASSES}"
        line = _line([p.value for p in series.points], x_of, y_of)
        out.append(
            f'<g class="series {css}"><path class="data-line" d="{line}"><title>{escape(series.label)}</title></path>'
        )
        for i, point in enumerate(series.points):
            if point.value is None:
                continue
            text = f"{series.label}, {point.period}: {fmt(point.value, 2)}{suffix}"
            out.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(point.value):.1f}" r="3.5">'
                f"<title>{escape(text)}</title></circle>"
            )
        legend_y = TOP + 8 + 16 * index
        out.append(
            f'<line class="legend-swatch" x1="{WIDTH - RIGHT + 10}" x2="{WIDTH - RIGHT + 26}" '
            f'y1="{legend_y}" y2="{legend_y}"/>'
            f'<text class="legend-label" x="{WIDTH - RIGHT + 30}" y="{legend_y + 4}">{escape(series.label)}</text></g>'
        )
    for i, point in enumerate(view.series[0].points if view.series else []):
        if point.hidden:
            out.append(
                f'<rect class="masked" x="{x_of(i) - 4:.1f}" y="{TOP + plot_h - 10}" width="8" height="8">'
                f"<title>{escape(point.period)}: hidden (small numbers)</title></rect>"
            )
    out.append("</svg>")
    out.append(_gap_chart(view))
    return Markup("".join(out))  # noqa: S704 - built from numbers and escape()d text only


def _gap_chart(view: StrataView) -> str:
    n = max(len(view.periods), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, GAP_HEIGHT - TOP - BOTTOM
    values = [g for g in view.gaps if g is not None] + [0.0]
    out = [
        f'<svg class="spc-chart gap-chart" viewBox="0 0 {WIDTH} {GAP_HEIGHT}" role="img" '
        f'aria-labelledby="gap-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="gap-title">Gap between the best and the worst recorded stratum, per period</title>',
    ]
    frame, low, high = _frame(values, GAP_HEIGHT, view, n)
    out += frame
    out.append(f'<text class="axis-title" x="{LEFT}" y="{TOP - 6}">Gap: best − worst recorded stratum</text>')

    def x_of(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / n

    def y_of(v: float) -> float:
        return TOP + plot_h - fraction(v, low, high) * plot_h

    out.append(f'<path class="data-line gap-line" d="{_line(list(view.gaps), x_of, y_of)}"/>')
    suffix = view.measure.value_suffix
    for i, gap in enumerate(view.gaps):
        if gap is None:
            continue
        text = f"{view.periods[i]}: gap {fmt(gap, 2)}{suffix}"
        out.append(
            f'<circle class="point" cx="{x_of(i):.1f}" cy="{y_of(gap):.1f}" r="3">'
            f"<title>{escape(text)}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)
