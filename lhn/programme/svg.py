"""A driver diagram drawn as SVG: the aim on the left, then primary drivers, secondary drivers and change ideas in
columns, each node beside the span of what it leads to, change ideas coloured and labelled by status. The page
puts the same tree beside it as a nested list (screen readers, phones); the SVG says what it shows in its title
and description."""

from __future__ import annotations

import textwrap
from html import escape

from lhn.programme.services.drivers import STATUS_LABELS, DiagramView, NodeView

COLUMN_WIDTH, GAP, ROW, BOX_HEIGHT, PAD = 210, 36, 74, 62, 12
CHARS_PER_LINE, LINES = 26, 3  # 13px text in a 210px box
HEADINGS = ("Aim", "Primary drivers", "Secondary drivers", "Change ideas")
HEAD = 30  # the column headings' band


def _lines(text: str, lines: int = LINES) -> list[str]:
    wrapped = textwrap.wrap(text, CHARS_PER_LINE) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: CHARS_PER_LINE - 1].rstrip() + "…"
    return wrapped


def _box(x: float, y_mid: float, text: str, *, css: str, status: str | None = None, height: float = BOX_HEIGHT) -> str:
    top = y_mid - height / 2
    room = max(LINES, int(height // 16) - 1)  # the aim's taller box holds more lines
    lines = _lines(text, room - 1 if status else room)
    first = y_mid - (len(lines) + (1 if status else 0) - 1) * 8
    spans = "".join(
        f'<tspan x="{x + PAD:.0f}" y="{first + i * 16:.0f}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    badge = ""
    if status:
        badge = (f'<text class="dd-status" x="{x + PAD:.0f}" y="{first + len(lines) * 16:.0f}">'
                 f"{escape(STATUS_LABELS[status])}</text>")  # fmt: skip
    return (
        f'<g class="dd-node {css}"><title>{escape(text)}</title>'
        f'<rect x="{x:.0f}" y="{top:.0f}" width="{COLUMN_WIDTH}" height="{height:.0f}" rx="6"/>'
        f'<text x="{x + PAD:.0f}" y="{first:.0f}">{spans}</text>{badge}</g>'
    )


def _link(x1: float, y1: float, x2: float, y2: float) -> str:
    middle = (x1 + x2) / 2
    return f'<path class="dd-link" d="M{x1:.0f},{y1:.0f} H{middle:.0f} V{y2:.0f} H{x2:.0f}"/>'


def _leaves(node: NodeView) -> int:
    return max(1, sum(_leaves(child) for child in node.children))


def render_diagram(view: DiagramView, *, svg_id: str = "driver-diagram") -> str:
    """The diagram as one SVG element (empty drivers: the aim alone)."""
    rows = sum(_leaves(p) for p in view.drivers) or 1
    height = HEAD + rows * ROW
    width = len(HEADINGS) * COLUMN_WIDTH + (len(HEADINGS) - 1) * GAP
    parts: list[str] = []

    def column_x(depth: int) -> float:
        return depth * (COLUMN_WIDTH + GAP)

    def place(node: NodeView, depth: int, first_row: int) -> float:
        """Draw `node` and its subtree from `first_row`; return its vertical middle."""
        span = _leaves(node)
        middle = HEAD + (first_row + span / 2) * ROW
        row = first_row
        for child in node.children:
            child_middle = place(child, depth + 1, row)
            parts.append(_link(column_x(depth) + COLUMN_WIDTH, middle, column_x(depth + 1), child_middle))
            row += _leaves(child)
        css = f"dd-{node.kind.value}" + (f" dd-{node.status}" if node.status else "")
        parts.append(_box(column_x(depth), middle, node.label, css=css, status=node.status))
        return middle

    aim_middle = HEAD + rows * ROW / 2
    row = 0
    for driver in view.drivers:
        driver_middle = place(driver, 1, row)
        parts.append(_link(column_x(0) + COLUMN_WIDTH, aim_middle, column_x(1), driver_middle))
        row += _leaves(driver)
    aim_height = max(BOX_HEIGHT, min(rows * ROW - 12, 200))
    aim = _box(column_x(0), aim_middle, view.diagram.aim, css="dd-aim", height=aim_height)
    headings = "".join(
        f'<text class="dd-heading" x="{column_x(i):.0f}" y="18">{escape(h)}</text>' for i, h in enumerate(HEADINGS)
    )
    counts = view.status_counts()
    changes = sum(counts.values())
    summary = ", ".join(f"{n} {STATUS_LABELS[s].lower()}" for s, n in counts.items() if n)
    secondaries = sum(len(p.children) for p in view.drivers)
    desc = (f"Aim: {view.diagram.aim} {len(view.drivers)} primary drivers, {secondaries} secondary drivers, "
            f"{changes} change ideas" + (f": {summary}." if summary else "."))  # fmt: skip
    return (
        f'<svg class="driver-diagram" id="{svg_id}" role="img" aria-labelledby="{svg_id}-title {svg_id}-desc" '
        f'viewBox="0 0 {width} {height:.0f}" width="{width}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{svg_id}-title">Driver diagram: {escape(view.diagram.title)}</title>'
        f'<desc id="{svg_id}-desc">{escape(desc)}</desc>'
        f"{headings}{''.join(parts)}{aim}</svg>"
    )
