"""Server-rendered inline SVG for chart views: the full chart and the dashboard's small multiples.

No JavaScript and no inline styles (the CSP forbids them): geometry in attributes, colours from classes in
lhn.css. Every point has a <title> (period, value, and the rules it signals), read on hover and by screen
readers; the page beside the chart lists the same signals and has a table of the same data.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from datetime import date

from markupsafe import Markup, escape  # every dynamic part below is escaped

from lhn.measures.models import Measure
from lhn.measures.services import periods
from lhn.measures.services.charts import Annotation, ChartView, PointView
from lhn.measures.services.funnel import Z95, Z998, Funnel
from lhn.measures.spc import RULE_LABELS

WIDTH, HEIGHT = 760, 320
LARGEST = sys.float_info.max
LEFT, RIGHT, TOP, BOTTOM = 58, 18, 26, 46


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = _half_span(low, high) / count * 2
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    if not math.isfinite(start):  # the tick below the lowest float: start from the one above it
        start = math.ceil(low / step) * step
    ticks = []
    value = start
    for _ in range(count + 3):  # step ≥ (high − low) / count: no more fit, even where a sum overflows to inf
        if value > high + step * 1e-9:
            break
        if value >= low - step * 1e-9 and math.isfinite(value):
            ticks.append(round(value, 10))
        value += step
    return ticks


def _half_span(low: float, high: float) -> float:
    """(high − low) / 2, exactly, without overflowing where they are the largest floats of opposite signs."""
    return high / 2 - low / 2


def fraction(value: float, low: float, high: float) -> float:
    """Where `value` sits from `low` (0) to `high` (1); in halves, so the span never overflows."""
    return (value / 2 - low / 2) / _half_span(low, high)


def _range(view: ChartView, target: float | None) -> tuple[float, float]:
    values: list[float] = []
    for p in view.points:
        values += [v for v in (p.value, p.cl, p.lcl, p.ucl) if v is not None]
    if target is not None:
        values.append(target)
    return padded(values)


def padded(values: list[float]) -> tuple[float, float]:
    """The y range that shows `values` with a margin, within the floats (no overflow to inf or NaN)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = _half_span(low, high) * 0.16 or abs(high) * 0.1 or 1.0
    low = max(low - pad, -LARGEST)
    if min(values) >= 0 > low:
        low = 0.0
    return low, min(high + pad, LARGEST)


def _path(segments: Iterable[list[tuple[float, float]]]) -> str:
    parts = []
    for segment in segments:
        if len(segment) >= 1:
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in segment))
    return " ".join(parts)


def _step_line(points: list[PointView], attr: str, x_of: Callable[[int], float], y_of: Callable[[float], float]) -> str:
    """A line that steps with the point's own value (variable limits), broken where it is missing."""
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    half = (x_of(1) - x_of(0)) / 2 if len(points) > 1 else 10
    last_phase = None
    for i, point in enumerate(points):
        value = getattr(point, attr)
        if value is None or point.phase != last_phase:
            if current:
                segments.append(current)
            current = []
        last_phase = point.phase
        if value is None:
            continue
        y = y_of(value)
        current += [(x_of(i) - half, y), (x_of(i) + half, y)]
    if current:
        segments.append(current)
    return _path(segments)


def annotation_index(view: ChartView, on: date) -> int | None:
    """The point whose period contains `on`, or None when no period of the chart does (a date before its first
    period or after its last is listed under the chart, not pinned to the nearest point)."""
    kind = view.measure.period.value
    for i, p in enumerate(view.points):
        if p.start <= on <= periods.end_of(p.start, kind):
            return i
    return None


def _data_line(view: ChartView, x_of: Callable[[int], float], y_of: Callable[[float], float]) -> str:
    """The line through the values, broken where a value is missing or masked."""
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for i, p in enumerate(view.points):
        if p.value is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append((x_of(i), y_of(p.value)))
    if current:
        segments.append(current)
    return f'<path class="data-line" d="{_path(segments)}"/>'


def _baseline_windows(view: ChartView, x_of: Callable[[int], float], slot: float, plot_h: float) -> list[str]:
    """A light band over each phase's baseline: the points whose values make its centre line and limits (points
    left out of it inside the band are drawn as rings)."""
    out = []
    for number in range(len(view.phases)):
        inside = [i for i, p in enumerate(view.points) if p.phase == number and p.baseline]
        if not inside:
            continue
        first, last = inside[0], inside[-1]
        x0, x1 = x_of(first) - slot / 2, x_of(last) + slot / 2
        points = view.points
        text = (
            f"Baseline of phase {number + 1}: {points[first].label} – {points[last].label} "
            f"({len(inside)} points make its centre line and limits)"
        )
        out.append(
            f'<rect class="baseline-window" x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{plot_h:.1f}">'
            f"<title>{escape(text)}</title></rect>"
        )
        out.append(f'<text class="baseline-label" x="{x0 + 4:.1f}" y="{TOP + 12}">Baseline</text>')
    return out


def _y_axis(measure: Measure, low: float, high: float, plot_h: float) -> list[str]:
    """Grid lines and tick labels from `low` to `high` (display units), and the axis title (the measure's unit)."""
    out = []
    for tick in nice_ticks(low, high):
        y = TOP + plot_h - fraction(tick, low, high) * plot_h
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(tick, 2))}{measure.value_suffix}</text>"
        )
    if measure.unit:  # the y axis says what a value is in
        middle = TOP + plot_h / 2
        out.append(
            f'<text class="axis-title" x="14" y="{middle:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle:.1f})">{escape(measure.unit)}</text>'
        )
    return out


def render_chart(view: ChartView, *, title: str, annotations: list[Annotation] | None = None) -> Markup:
    measure = view.measure
    target = measure.target
    low, high = _range(view, target)
    n = max(len(view.points), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / n

    def y_of(v: float) -> float:
        return TOP + plot_h - fraction(v, low, high) * plot_h

    unit = measure.value_suffix
    out = [
        f'<svg class="spc-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_description(view))}</desc>',
    ]
    out += _y_axis(measure, low, high, plot_h)
    out += _baseline_windows(view, x_of, plot_w / n, plot_h)
    step = max(1, math.ceil(n / 9))
    for i, p in enumerate(view.points):
        if i % step == 0:
            out.append(
                f'<text class="tick" x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle">{escape(p.label)}</text>'
            )
    for number, _phase in enumerate(view.phases):
        if number == 0:
            continue
        start = next((i for i, p in enumerate(view.points) if p.phase == number), None)
        if start is not None:
            x = x_of(start) - plot_w / n / 2
            out.append(f'<line class="phase-line" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>')
            out.append(f'<text class="phase-label" x="{x + 4:.1f}" y="{TOP + plot_h - 6}">Phase {number + 1}</text>')
    if target is not None:
        y = y_of(target)
        out.append(
            f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}"><title>Target {escape(fmt(target, 2))}{unit}</title></line>'
        )
        out.append(
            f'<text class="target-label" x="{LEFT + 6}" y="{y - 5:.1f}">Target {escape(fmt(target, 2))}{unit}</text>'
        )
    phase_signal = {s.rule for s in view.signals if s.scope == "phase"}
    cl_class = "centre centre-signal" if phase_signal else "centre"
    for attr, css in (("ucl", "limit"), ("lcl", "limit"), ("cl", cl_class)):
        d = _step_line(view.points, attr, x_of, y_of)
        if d:
            label = {"ucl": "Upper control limit", "lcl": "Lower control limit", "cl": "Centre line"}[attr]
            out.append(f'<path class="{css}" d="{d}"><title>{label}</title></path>')
    last_cl = next((p.cl for p in reversed(view.points) if p.cl is not None), None)
    if last_cl is not None:
        name = "Median" if view.kind == "run" else "Mean"
        out.append(
            f'<text class="line-label" x="{WIDTH - RIGHT - 4}" y="{y_of(last_cl) + 14:.1f}" '
            f'text-anchor="end">{name} {escape(fmt(last_cl, 2))}{unit}</text>'
        )
    out.append(_data_line(view, x_of, y_of))
    for i, p in enumerate(view.points):
        x = x_of(i)
        if p.masked:
            out.append(
                f'<rect class="masked" x="{x - 4:.1f}" y="{TOP + plot_h - 10}" width="8" height="8">'
                f"<title>{escape(p.label)}: masked (small numbers)</title></rect>"
            )
            continue
        if p.value is None:
            continue
        text = f"{p.label}: {fmt(p.value, 2)}{unit}"
        if p.numerator is not None and p.denominator is not None and measure.type.value in ("proportion", "rate"):
            text += f" ({fmt(p.numerator, 0)} / {fmt(p.denominator, 0)})"
        if p.rules:
            text += " — signal: " + "; ".join(RULE_LABELS[r] for r in p.rules)
        if p.excluded:  # a ring: on the chart, out of the centre line and limits
            text += " — left out of the baseline"
        css = " ".join(["point", *(["signal"] if p.rules else []), *(["excluded"] if p.excluded else [])])
        out.append(
            f'<circle class="{css}" cx="{x:.1f}" cy="{y_of(p.value):.1f}" '
            f'r="{6 if p.rules or p.excluded else 3.5}"><title>{escape(text)}</title></circle>'
        )
    for number, note in enumerate(annotations or [], start=1):
        index = annotation_index(view, note.on)
        if index is None:
            continue
        x = x_of(index)
        out.append(
            f'<g class="annotation annotation-{note.kind}"><title>'
            f"{number}. {escape(note.text)} ({note.on.isoformat()})</title>"
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            f'<circle cx="{x:.1f}" cy="{TOP - 12}" r="9"/>'
            f'<text x="{x:.1f}" y="{TOP - 8}" text-anchor="middle">{number}</text></g>'
        )
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - built from numbers and escape()d text only


def _description(view: ChartView) -> str:
    measure = view.measure
    where = view.site.name if view.site else "all sites (network aggregate)"
    signals = sorted({s.rule_label for s in view.signals})
    text = f"{len(view.points)} periods for {where}."
    text += f" Signals: {'; '.join(signals)}." if signals else " No signals."
    if measure.target is not None:
        text += f" Target {fmt(measure.target, 2)}."
    return text


def render_moving_ranges(view: ChartView) -> Markup:
    """The MR chart under an I chart: moving ranges, their mean and UCL = 3.267·MR̄."""
    values = [v for v in view.moving_ranges if v is not None] + [u for _, u in view.mr_limits if u is not None]
    if not values:
        return Markup("")
    height, top, bottom = 150, 14, 30
    high = min(max(values) * 1.1, LARGEST) or 1.0
    n = max(len(view.points), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - top - bottom

    def x_of(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / n

    def y_of(v: float) -> float:
        return top + plot_h - v / high * plot_h

    out = [
        f'<svg class="spc-chart mr-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Moving range chart" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in nice_ticks(0, high, 3):
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_of(tick):.1f}" y2="{y_of(tick):.1f}"/>'
            f'<text class="tick" x="{LEFT - 8}" y="{y_of(tick) + 4:.1f}" '
            f'text-anchor="end">{escape(fmt(tick, 2))}</text>'
        )
    for attr, css in ((1, "limit"), (0, "centre")):
        levels = [(i, lim[attr]) for i, lim in enumerate(view.mr_limits)]
        segments = [
            [(x_of(i) - plot_w / n / 2, y_of(level)), (x_of(i) + plot_w / n / 2, y_of(level))]
            for i, level in levels
            if level is not None
        ]
        out.append(f'<path class="{css}" d="{_path(segments)}"/>')
    segments = []
    current: list[tuple[float, float]] = []
    for i, v in enumerate(view.moving_ranges):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append((x_of(i), y_of(v)))
        ucl = view.mr_limits[i][1]
        css = "point signal" if ucl is not None and v > ucl else "point"
        out.append(
            f'<circle class="{css}" cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3"><title>'
            f"{escape(view.points[i].label)}: moving range {escape(fmt(v, 2))}</title></circle>"
        )
    if current:
        segments.append(current)
    out.append(f'<path class="data-line" d="{_path(segments)}"/></svg>')
    return Markup("".join(out))  # noqa: S704 - built from numbers and escape()d text only


def render_sparkline(view: ChartView) -> Markup:
    """A small multiple for the dashboard: the data, centre line, target and signals, no axes."""
    width, height, pad = 260, 76, 6
    target = view.measure.target
    low, high = _range(view, target)
    n = max(len(view.points), 1)

    def x_of(i: int) -> float:
        return pad + (i + 0.5) * (width - 2 * pad) / n

    def y_of(v: float) -> float:
        return pad + (height - 2 * pad) - fraction(v, low, high) * (height - 2 * pad)

    out = [
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">'
    ]
    if target is not None:
        out.append(
            f'<line class="target" x1="{pad}" x2="{width - pad}" y1="{y_of(target):.1f}" y2="{y_of(target):.1f}"/>'
        )
    d = _step_line(view.points, "cl", x_of, y_of)
    if d:
        out.append(f'<path class="centre" d="{d}"/>')
    out.append(_data_line(view, x_of, y_of))
    for i, p in enumerate(view.points):
        if p.value is not None and p.rules:
            out.append(f'<circle class="point signal" cx="{x_of(i):.1f}" cy="{y_of(p.value):.1f}" r="2.8"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - built from numbers and escape()d text only


def render_funnel(plot: Funnel) -> Markup:
    """Sites compared: each site's value against its denominator, inside the 95 % and 99.8 % funnels around the
    pooled value (lhn.measures.services.funnel). Values in the measure's display units."""
    measure = plot.measure
    scale, unit = measure.multiplier, measure.value_suffix
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    biggest = min(max(s.denominator for s in plot.sites) * 1.08, LARGEST)
    smallest = min(s.denominator for s in plot.sites) * 0.5
    if not biggest > smallest:
        biggest = smallest + 1.0
    xs = [smallest + (biggest - smallest) * k / 80 for k in range(81)]
    values = [v * scale for s in plot.sites for v in (s.value, *s.limits998)]
    low, high = padded(values + [v * scale for v in plot.limits(smallest, Z998)])

    def x_of(n: float) -> float:
        return LEFT + (n - smallest) / (biggest - smallest) * plot_w

    def y_of(v: float) -> float:
        return TOP + plot_h - fraction(min(max(v * scale, low), high), low, high) * plot_h

    title = f"{measure.name}: sites compared, {plot.window}"
    out = [
        f'<svg class="spc-chart funnel" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="funnel-title" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="funnel-title">{escape(title)}</title>',
    ]
    out += _y_axis(measure, low, high, plot_h)
    for tick in nice_ticks(smallest, biggest):
        if smallest <= tick <= biggest:
            out.append(
                f'<text class="tick" x="{x_of(tick):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                f"{escape(fmt(tick, 0))}</text>"
            )
    out.append(
        f'<text class="axis-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(measure.type.fields[1])} (the site's size)</text>"
    )
    for z, css, name in ((Z95, "funnel-95", "95 % limits"), (Z998, "limit", "99.8 % limits")):
        for side in (0, 1):
            d = _path([[(x_of(x), y_of(plot.limits(x, z)[side])) for x in xs]])
            out.append(f'<path class="{css}" d="{d}"><title>{name}</title></path>')
    y = y_of(plot.centre or 0.0)
    out.append(
        f'<line class="centre" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
        f"<title>All sites plotted: {escape(fmt((plot.centre or 0) * scale, 2))}{unit}</title></line>"
    )
    for s in plot.sites:
        css = "point signal" if s.position in ("above", "below") else "point"
        text = (
            f"{s.site.name}: {fmt(s.value * scale, 2)}{unit} ({fmt(s.numerator, 0)} / {fmt(s.denominator, 0)}), "
            f"{POSITION_WORDS[s.position]}"
        )
        out.append(
            f'<circle class="{css}" cx="{x_of(s.denominator):.1f}" cy="{y_of(s.value):.1f}" r="5">'
            f"<title>{escape(text)}</title></circle>"
        )
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - built from numbers and escape()d text only


POSITION_WORDS = {
    "above": "above the 99.8 % limit: more than chance would give a site this size",
    "below": "below the 99.8 % limit: less than chance would give a site this size",
    "warning": "outside the 95 % limits only: worth watching",
    "within": "within the limits: what chance gives a site this size",
}
