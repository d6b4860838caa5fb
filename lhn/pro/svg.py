"""A person's own trend on an instrument: totals over time over the instrument's severity bands, as an accessible
SVG (a title and a description; the page has the same numbers as a table)."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from lhn.pro.models import ProResponse
from lhn.pro.scoring import Spec

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 240, 48, 16, 12, 36
BAND_FILLS = ["#eef6ee", "#f7f4e6", "#fbefe3", "#f9e6e3", "#f3dede"]


def _fmt(value: float) -> str:
    return f"{value:g}"


def render_trend(spec: Spec, responses: list[ProResponse]) -> Markup:
    top = spec.highest or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    def x_of(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / max(len(responses), 1))

    parts = [f'<svg class="pro-trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="pro-t pro-d" '
             f'xmlns="http://www.w3.org/2000/svg">', f'<title id="pro-t">{escape(spec.title)}: your totals</title>']
    latest = responses[-1] if responses else None
    described = (f"{len(responses)} answers; the latest total is {_fmt(latest.total or 0)} of {_fmt(top)}"
                 f"{f' ({latest.band})' if latest and latest.band else ''}." if latest else "No answers yet.")
    parts.append(f'<desc id="pro-d">{escape(described)}</desc>')
    for index, (low, high, label) in enumerate(spec.bands):
        y1, y2 = y_of(min(high + 0.5, top)), y_of(max(low - 0.5, 0))
        parts.append(f'<rect x="{LEFT}" y="{y1:.1f}" width="{plot_w}" height="{y2 - y1:.1f}" '
                     f'fill="{BAND_FILLS[index % len(BAND_FILLS)]}"/>')
        parts.append(f'<text class="band-label" x="{WIDTH - RIGHT - 4}" y="{(y1 + y2) / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(label)}</text>')
    for tick in sorted({0.0, top / 2, top}):
        y = y_of(tick) + 4
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    points = [(x_of(i), y_of(r.total or 0.0)) for i, r in enumerate(responses)]
    if len(points) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        parts.append(f'<path d="{path}" fill="none" stroke="#0b5f5f" stroke-width="2"/>')
    for (x, y), response in zip(points, responses, strict=True):
        when = response.completed_at.strftime("%d %b %Y") if response.completed_at else ""
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#0b5f5f"><title>{escape(when)}: '
                     f'{_fmt(response.total or 0)}{escape(f" ({response.band})" if response.band else "")}</title>'
                     '</circle>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(when[3:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built here from numbers and escaped text
