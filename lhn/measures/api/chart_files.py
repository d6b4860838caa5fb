"""Measures over the API, charts as files for slides: the chart a reader sees (`GET /measures/<id>/chart`'s, the same
site, chart, rules and suppression) as a standalone SVG or a PNG. Same service as the chart page's downloads."""

from __future__ import annotations

from flask import Response
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp
from lhn.api.openapi import choice_param, query_param
from lhn.database import transaction
from lhn.limits import user_rate_limited
from lhn.measures import services as measures
from lhn.measures import spc
from lhn.measures.api.common import measure_op


@bp.get("/measures/<int:measure_id>/chart.svg", defaults={"file_format": "svg"})
@bp.get("/measures/<int:measure_id>/chart.png", defaults={"file_format": "png"})
@user_rate_limited("preview", methods=["GET"])  # drawing a PNG costs CPU everyone shares
def chart_file(measure_id: int, file_format: str) -> ResponseReturnValue:
    site, kind, rules = (inputs.arg_text(name) or None for name in ("site", "chart", "rules"))
    measure = measures.get_measure(measure_id, viewer=current_user)
    file = measures.chart_file(measure, viewer=current_user, site_slug=site, kind=kind, rules=rules,
                               file_format=file_format)  # fmt: skip
    if file.view.restricted:  # a site's team seeing its withheld data is audited, after the drawing
        with transaction():
            measures.record_view(file.view, by=current_user)
    return Response(file.body, mimetype=file.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})  # fmt: skip


def _file_op(what: str, mimetype: str) -> dict[str, object]:
    operation = measure_op(
        f"The chart as {what} for slides: the one `GET /measures/{{measure_id}}/chart` describes (same site, chart, "
        "rules and suppression; a chart or rules the measure doesn't have give its own, as on the page), with its "
        "title, styles, legend and a white background. An attachment named after the measure, site and chart. "
        "Rate limited (CPU)",
        auth=False,
        params=[
            query_param("site", "Institution slug; empty for the network aggregate"),
            choice_param("chart", "The chart (default: the measure type's)", spc.CHARTS),
            choice_param("rules", "The rules for signals (default: the measure's)", spc.RULESETS),
        ],
        errors=("404", "422", "429"),
    )
    operation["responses"]["200"]["content"] = {mimetype: {"schema": {"type": "string", "format": "binary"}}}
    return operation


OPENAPI_SCHEMAS: dict[str, object] = {}
OPENAPI_PATHS = {
    "/measures/{measure_id}/chart.svg": {"get": _file_op("a standalone SVG document", "image/svg+xml")},
    "/measures/{measure_id}/chart.png": {"get": _file_op("a PNG image (1520 pixels wide)", "image/png")},
}
