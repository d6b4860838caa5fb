"""Equity strata over JSON: a site's breakdown of a period by a stratifier, and the strata side by side."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.api.openapi import NUMBER, TEXT, body_schema, path_param
from lhn.database import transaction, transactional
from lhn.errors import ValidationFailed
from lhn.limits import user_rate_limited
from lhn.measures import services as measures
from lhn.measures.api.common import SITE, SITE_SLUG, measure_op, site_json

VALUE_FIELDS = ("numerator", "denominator", "events", "exposure", "count", "value", "n")
MAX_STRATA = 16


def _strata(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"<stratum>": {"numerator": 3, ...}, ...}: numbers by the measure's field names, per stratum."""
    raw = body.get("strata")
    if not isinstance(raw, dict) or not 0 < len(raw) <= MAX_STRATA:
        raise ValidationFailed({"strata": f"Give 1 to {MAX_STRATA} strata, each an object of values."})
    out = {}
    for code, values in raw.items():
        if not isinstance(values, dict):
            raise ValidationFailed({f"strata.{code}"[:60]: "Give the stratum's values as an object."})
        out[code] = {name: inputs.number(values, name) for name in VALUE_FIELDS if name in values}
    return out


@bp.post("/measures/<int:measure_id>/strata")
@user_rate_limited("strata")
@transactional
def submit_strata(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    site, period = inputs.text(body, "site", missing=""), inputs.text(body, "period", missing="")
    stratifier, strata = inputs.text(body, "stratifier", missing=""), _strata(body)
    measure = measures.get_measure(measure_id, viewer=user)
    stored = measures.record_strata(measure, site, period, stratifier, strata, by=user, source="api")
    names = measure.type.fields
    values = {
        row.stratum: {names[0]: row.numerator, **({names[1]: row.denominator} if len(names) > 1 else {})}
        for row in stored
    }
    return created({"site": site, "period": period, "stratifier": stratifier, "strata": values})


@bp.get("/measures/<int:measure_id>/strata/<code>")
def show_strata(measure_id: int, code: str) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    view = measures.strata_view(measure, code, viewer=current_user)
    payload = _strata_json(view)
    if view.restricted:  # a site's team seeing its withheld cells is audited; everyone else stays read-only
        with transaction():
            measures.record_strata_view(view, by=current_user)
    return jsonify(payload)


def _strata_json(view: measures.StrataView) -> dict[str, Any]:
    points = [[{"period": p.period, "value": p.value, "numerator": p.numerator, "denominator": p.denominator,
                "hidden": p.hidden} for p in s.points] for s in view.series]  # fmt: skip
    return {
        "measure": view.measure.id,
        "stratifier": view.stratifier,
        "periods": view.periods,
        "series": [
            {"stratum": s.code, "label": s.label, "points": p} for s, p in zip(view.series, points, strict=True)
        ],
        "gaps": view.gaps,
        "cells": [
            {
                "site": site_json(c.site),
                "period": c.period,
                "stratum": c.stratum,
                "numerator": c.numerator,
                "denominator": c.denominator,
                "masked": c.masked,
            }
            for c in view.cells
        ],
    }


STRATA_BODY = body_schema(
    {"site": SITE_SLUG, "period": {**TEXT, "description": "2024-01, 2024-W05 or 2024-Q1 (the measure's period)"},
     "stratifier": {**TEXT, "description": "The stratifier's code, e.g. age_band"},
     "strata": {"type": "object", "minProperties": 1, "maxProperties": MAX_STRATA,
                "additionalProperties": {"type": "object", "properties": dict.fromkeys(VALUE_FIELDS, NUMBER)},
                "description": "Values by stratum code, with the measure type's fields; a stratum left out has nobody "
                "in it. They must add up to the site's total for the period (submitted first)"}},
    description="A site's breakdown of one period by one stratifier (the site's team)",
)  # fmt: skip
POINT = {
    "type": "object",
    "properties": {"period": TEXT, "value": {"type": ["number", "null"]}, "hidden": {"type": "boolean"}},
}
OPENAPI_SCHEMAS: dict[str, Any] = {}
OPENAPI_PATHS = {
    "/measures/{measure_id}/strata": {
        "post": measure_op(
            "Submit a site's breakdown of one period by a stratifier; it must add up to the site's total, and "
            "replaces the earlier breakdown (kept as history)",
            status="201",
            body=STRATA_BODY,
        ),
    },
    "/measures/{measure_id}/strata/{code}": {
        "get": measure_op(
            "Each stratum's network value per period, the gap between the best and worst recorded stratum, and the "
            "sites' stratum cells, with small-cell suppression per stratum (hidden and masked values are null)",
            auth=False,
            params=[path_param("code")],
            response={
                "type": "object",
                "properties": {
                    "periods": {"type": "array", "items": TEXT},
                    "series": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"stratum": TEXT, "label": TEXT, "points": {"type": "array", "items": POINT}},
                        },
                    },
                    "gaps": {"type": "array", "items": {"type": ["number", "null"]}},
                    "cells": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "site": SITE,
                                "period": TEXT,
                                "stratum": TEXT,
                                "masked": {"type": "boolean"},
                            },
                        },
                    },
                },
            },
            errors=("404",),
        ),
    },
}
