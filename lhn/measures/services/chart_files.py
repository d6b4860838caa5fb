"""A chart as a file for slides: the chart a reader sees on a measure's chart page (the same site, chart, rules and
suppression: chart_page.chart_page, drawn by lhn.measures.svg), as a standalone SVG document that carries its own
styles, a white background, its title and a legend, or as a PNG drawn from that document by cairosvg."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import cairosvg
from flask import current_app
from markupsafe import escape

from lhn.database import slow_work
from lhn.errors import ValidationFailed
from lhn.measures import spc, svg
from lhn.measures.models import Measure
from lhn.measures.services.chart_page import ChartPage, chart_page
from lhn.measures.services.charts import ChartView

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
PNG_SCALE = 2  # pixels per SVG unit: 1520 × 808, sharp on a projector and a high-density screen
HEAD, FOOT, MARGIN = 58, 30, 14  # the title above the chart, the legend below it, the left margin of the title
FONTS = "'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
# The page's stylesheet doesn't travel with a file: the chart's own rules are taken from it (those under .spc-chart),
# its custom properties resolved, and these added for what only the file draws.
FILE_STYLES = """.file-title { font-size: 16px; font-weight: 700; fill: #1d2733; }
.file-title.long { font-size: 13px; }
.file-subtitle, .file-legend, .file-note { font-size: 11px; fill: #5a6877; }
.file-note { fill: #1d2733; }
.file-legend .legend-data { fill: none; stroke: #1d2733; stroke-width: 1.8; }"""
TITLE_CHARS = 110  # a longer title is cut with an ellipsis (the full one stays in the chart's <title>)
NOTE_LINE, NOTE_CHARS, MAX_NOTES = 16, 120, 8  # the annotations' texts under the legend


@dataclass
class ChartFile:
    body: bytes
    mimetype: str
    filename: str  # safe in a Content-Disposition header: [a-z0-9-.] only
    view: ChartView  # what was drawn, for the audit of a restricted view (charts.record_view)


def chart_file(measure: Measure, *, viewer: object, site_slug: str | None, kind: str | None, rules: str | None,
               file_format: str) -> ChartFile:  # fmt: skip
    """The chart page's chart as a file `file_format` ("svg" or "png"), for anyone who may read the measure: the
    same chart, rules and suppression as the page (a chart or rules the measure doesn't have fall back to its own,
    as on the page). Reads only, and draws nothing while holding the write lock: a restricted view is audited by the
    caller afterwards (charts.record_view), as the page does. Raises NotFound (the measure, the site or its data not
    visible to the viewer), ValidationFailed (an unknown format)."""
    if file_format not in FORMATS:
        raise ValidationFailed({"format": f"Choose one of: {', '.join(FORMATS)}."})
    page = chart_page(measure, viewer=viewer, site_slug=site_slug, kind=kind, rules=rules)
    document = standalone_svg(page)
    body = document.encode() if file_format == "svg" else _png(document)
    return ChartFile(body, FORMATS[file_format], file_name(page, file_format), page.view)


def standalone_svg(page: ChartPage) -> str:
    """An SVG document of the page's chart that looks the same anywhere: its styles inside, a white background, the
    title and what was drawn above the chart, a legend and the numbered annotations' texts below."""
    view = page.view
    chart = svg.render_chart(view, title=page.title, annotations=page.annotations)
    notes = _annotation_lines(page)
    width, height = svg.WIDTH, HEAD + svg.HEIGHT + FOOT + (NOTE_LINE * len(notes) + 8 if notes else 0)
    title = page.title if len(page.title) <= TITLE_CHARS else page.title[: TITLE_CHARS - 1].rstrip() + "…"
    about = [spc.RULESETS[view.rules]]
    if not view.full_access or view.masked_count:
        about.append("shown with small-cell suppression: masked values are not drawn")
    if not view.points:
        about.append("no data yet")
    below = HEAD + svg.HEIGHT
    return "".join([
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{FONTS}">',
        f"<title>{escape(page.title)}</title>",
        f"<style>{chart_styles(_stylesheet())}\n{FILE_STYLES}</style>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text class="file-title{" long" if len(title) > 80 else ""}" x="{MARGIN}" y="24">{escape(title)}</text>',
        f'<text class="file-subtitle" x="{MARGIN}" y="42">{escape(" · ".join(about))}</text>',
        f'<svg x="0" y="{HEAD}" width="{svg.WIDTH}" height="{svg.HEIGHT}">{chart}</svg>',
        _legend(view, bool(notes), y=below + 12),
        *(f'<text class="file-note" x="{svg.LEFT}" y="{below + FOOT + NOTE_LINE * i + 4}">{escape(line)}</text>'
          for i, line in enumerate(notes)),
        "</svg>\n",
    ])  # fmt: skip


def _annotation_lines(page: ChartPage) -> list[str]:
    """The texts of the numbered marks drawn on the chart (numbered as svg.render_chart numbers them), at most
    MAX_NOTES, a long one cut."""
    lines = [
        f"{number}. {note.on.strftime('%d %b %Y')} — {note.text}"
        for number, note in enumerate(page.annotations, start=1)
        if svg.annotation_index(page.view, note.on) is not None
    ]
    lines = [line if len(line) <= NOTE_CHARS else line[: NOTE_CHARS - 1].rstrip() + "…" for line in lines]
    if len(lines) > MAX_NOTES:
        lines = [*lines[: MAX_NOTES - 1], f"… and {len(lines) - MAX_NOTES + 1} more on the chart's page"]
    return lines


def _legend(view: ChartView, annotated: bool, *, y: float) -> str:
    """What the lines and marks are, as under the chart on the page."""
    items = [("legend-data", "values"), ("centre", "median" if view.kind == spc.RUN else "centre line")]
    if view.kind != spc.RUN:
        items.append(("limit", "3σ limits"))
    if view.measure.target is not None:
        items.append(("target", "target"))
    out, x = [f'<g class="file-legend spc-chart" transform="translate(0 {y:.0f})">'], float(svg.LEFT)
    for css, text in items:
        out.append(f'<line class="{css}" x1="{x:.0f}" x2="{x + 22:.0f}" y1="0" y2="0"/>'
                   f'<text x="{x + 28:.0f}" y="4">{escape(text)}</text>')  # fmt: skip
        x += 40 + 6.2 * len(text)
    out.append(f'<circle class="point signal" cx="{x + 6:.0f}" cy="0" r="5"/>'
               f'<text x="{x + 16:.0f}" y="4">signal</text>')  # fmt: skip
    if annotated:
        x += 62
        out.append(f'<g class="annotation"><circle cx="{x + 6:.0f}" cy="0" r="5"/></g>'
                   f'<text x="{x + 16:.0f}" y="4">annotation (below)</text>')  # fmt: skip
        x += 100
    if view.masked_count:
        x += 62
        out.append(f'<rect class="masked" x="{x + 2:.0f}" y="-4" width="8" height="8"/>'
                   f'<text x="{x + 16:.0f}" y="4">masked (small numbers)</text>')  # fmt: skip
    out.append("</g>")
    return "".join(out)


def _png(document: str) -> bytes:
    slow_work("drawing a chart as PNG")
    png: bytes = cairosvg.svg2png(bytestring=document.encode(), output_width=svg.WIDTH * PNG_SCALE)
    return png


def file_name(page: ChartPage, file_format: str) -> str:
    """measure-name-site-chart.svg: lowercase letters, digits and hyphens from the measure's name (a name without any
    is "measure-<id>"), the site's slug (or "all-sites") and the chart."""
    words = re.sub(r"[^a-z0-9]+", "-", page.measure.name.lower()).strip("-")[:60].strip("-")
    where = re.sub(r"[^a-z0-9]+", "-", page.site.slug.lower()).strip("-") if page.site else "all-sites"
    parts = [words or f"measure-{page.measure.id}", where or "site", page.view.kind]
    return f"{'-'.join(parts)}.{file_format}"


def _stylesheet() -> str:
    return str(Path(current_app.static_folder or "static") / "css" / "lhn.css")


_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*?))?\s*\)")


@functools.cache
def chart_styles(path: str) -> str:
    """The rules of the stylesheet at `path` that style a chart's parts (selectors under `.spc-chart `, the others
    of a shared rule left out), each `var(--name)` replaced by the value `:root` gives it, for a file that travels
    without the page's stylesheet (and renderers such as cairosvg that know no custom properties)."""
    css = re.sub(r"/\*.*?\*/", "", Path(path).read_text(encoding="utf-8"), flags=re.DOTALL)
    variables: dict[str, str] = {}
    rules: list[tuple[str, str]] = []
    for selectors, body in _RULE.findall(css):
        names = [s.strip() for s in selectors.split(",")]
        if names == [":root"]:
            variables |= {k.strip(): v.strip() for k, _, v in
                          (d.partition(":") for d in body.split(";")) if k.strip().startswith("--")}  # fmt: skip
        chart = [s for s in names if s.startswith(".spc-chart ")]
        if chart:
            rules.append((", ".join(chart), " ".join(body.split())))

    def value(match: re.Match[str]) -> str:
        return variables.get(match[1]) or (match[2] or "").strip() or "initial"

    return "\n".join(f"{selectors} {{ {_VAR.sub(value, body)} }}" for selectors, body in rules)
