"""Measures over JSON: define and read measures, submit data, charts with signals, CSV and FHIR R5 in and out."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.accounts import services as accounts
from lhn.api import bp, created, json_body, page_json, person_json, require_user
from lhn.api.openapi import (
    CURSOR,
    NUMBER,
    TEXT,
    body_schema,
    choice_param,
    nullable,
    op,
    page_of,
    path_param,
    query_param,
    ref,
)
from lhn.communities import services as communities
from lhn.database import iso_or_none, transaction, transactional
from lhn.errors import NotFound, ValidationFailed
from lhn.limits import user_rate_limited
from lhn.measures import services as measures
from lhn.measures import spc
from lhn.measures.api.common import measure_op, measure_read, site_json, uploaded_csv
from lhn.measures.models import Measure
from lhn.measures.services.funnel import FUNNEL_TYPES, funnel

MEASURE_FIELDS = tuple(measures.MeasureFields.__dataclass_fields__)
TEXT_FIELDS = ("name", "type", "period", "improvement", "unit", "description", "data_source", "rule_set")
VALUE_FIELDS = ("numerator", "denominator", "events", "exposure", "count", "value", "n")


def measure_json(measure: Measure, *, owners: list[Any] | None = None) -> dict[str, Any]:
    owners = owners if owners is not None else measures.list_owners(measure)
    people = [o.user for o in owners]
    return {
        "id": measure.id,
        "community": measure.community.slug,
        "name": measure.name,
        "description": measure.description,
        "description_html": measure.description_html,
        "type": measure.type.value,
        "period": measure.period.value,
        "improvement": measure.improvement.value,
        "unit": measure.unit,
        "target": measure.target,
        "multiplier": measure.multiplier,
        "data_source": measure.data_source,
        "rule_set": measure.rule_set,
        "baseline_points": measure.baseline_points,
        "stratifiers": measure.stratifiers,
        "version": measure.version,
        "fields": list(measure.type.fields),
        "co_owned": measures.co_owned(people),
        "owners": [person_json(u) for u in people],
        "updated_at": measure.updated_at.isoformat(),
    }


def chart_json(view: measures.ChartView) -> dict[str, Any]:
    return {
        "measure": view.measure.id,
        "version": view.measure.version,
        "site": view.site.slug if view.site else None,
        "chart": view.kind,
        "rules": view.rules,
        "multiplier": view.measure.multiplier if view.measure.type.value in ("proportion", "rate") else 1,
        "target": view.measure.target,
        "full_access": view.full_access,
        "points": [
            {
                "period": p.period,
                "value": p.value,
                "numerator": p.numerator,
                "denominator": p.denominator,
                "masked": p.masked,
                "cl": p.cl,
                "lcl": p.lcl,
                "ucl": p.ucl,
                "phase": p.phase,
                "baseline": p.baseline,
                "excluded": p.excluded,
                "measure_version": p.version,
                "rules": p.rules,
            }
            for p in view.points
        ],
        "signals": [
            {"period": s.period, "rule": s.rule, "label": s.rule_label, "scope": s.scope} for s in view.signals
        ],
        "phases": view.phases,
        "moving_ranges": view.moving_ranges if view.kind == spc.I else None,
    }


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    """The definition fields sent: text as text (null: not sent); target, multiplier and baseline_points as
    numbers, or null for none (the type's usual multiplier; limits from every point of a phase)."""
    fields = {name: value for name in TEXT_FIELDS if (value := inputs.text(body, name, None)) is not None}
    fields |= {name: inputs.number(body, name, None) for name in ("target", "multiplier") if name in body}
    if "baseline_points" in body:
        fields["baseline_points"] = inputs.integer(body, "baseline_points", None)
    if "stratifiers" in body:  # text or a list of objects, checked by the service
        fields["stratifiers"] = body["stratifiers"]
    return fields


@bp.get("/communities/<slug>/measures")
def list_measures(slug: str) -> ResponseReturnValue:
    cursor = inputs.arg_cursor()
    community, _membership = communities.get_readable_community(current_user, slug)
    page = measures.list_measures(community, viewer=current_user, cursor=cursor)
    return jsonify(page_json([measure_json(m) for m in page.items], page.next_cursor))


@bp.post("/communities/<slug>/measures")
@transactional
def create_measure(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    fields = measures.MeasureFields(**_definition(body))
    fields.rule_set = fields.rule_set or spc.DEFAULT_RULESET
    measure = measures.create_measure(communities.get_community(slug), fields, by=user)
    return created(measure_json(measure))


@bp.get("/measures/<int:measure_id>")
def show_measure(measure_id: int) -> ResponseReturnValue:
    return jsonify(measure_json(measures.get_measure(measure_id, viewer=current_user)))


@bp.patch("/measures/<int:measure_id>")
@transactional
def update_measure(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    unknown = sorted(set(body) - set(MEASURE_FIELDS))
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "This field can't be changed."))
    changes, measure = _definition(body), measures.get_measure(measure_id, viewer=user)
    measures.update_measure(measure, changes, by=user)
    return jsonify(measure_json(measure))


@bp.post("/measures/<int:measure_id>/data")
@transactional
def submit_data(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    site, period = inputs.text(body, "site", missing=""), inputs.text(body, "period", missing="")
    values = {name: inputs.number(body, name) for name in VALUE_FIELDS if name in body}
    measure = measures.get_measure(measure_id, viewer=user)
    stored = measures.record_value(measure, site, period, values, by=user, source="api")
    names = measure.type.fields
    payload = {
        "site": site,
        "period": period,
        "measure_version": stored.measure_version,
        names[0]: stored.numerator,
    }
    if len(names) > 1:
        payload[names[1]] = stored.denominator
    return created(payload)


@bp.get("/measures/<int:measure_id>/chart")
def measure_chart(measure_id: int) -> ResponseReturnValue:
    # chart and rules are checked by chart_view, which names both when both are wrong.
    slug, kind, rules = inputs.arg_text("site"), inputs.arg_text("chart") or None, inputs.arg_text("rules") or None
    measure = measures.get_measure(measure_id, viewer=current_user)
    acc = measures.access(measure, current_user)
    site = accounts.find_institution(slug) if slug else None
    if slug and site is None:
        raise NotFound("No such site.")
    view = measures.chart_view(measure, acc, site=site, kind=kind, rules=rules)
    payload = chart_json(view)
    if view.restricted:  # a site's team seeing its withheld data is audited; everyone else stays read-only
        with transaction():
            measures.record_view(view, by=current_user)
    return jsonify(payload)


@bp.get("/measures/<int:measure_id>/funnel")
def measure_funnel(measure_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    if measure.type not in FUNNEL_TYPES:
        raise ValidationFailed({"measure": "A funnel plot compares sites' proportions or rates."})
    plot = funnel(measures.load_data(measure), measures.access(measure, current_user))
    scale = measure.multiplier

    def shown(pair: tuple[float, float]) -> list[float]:
        return [pair[0] * scale, pair[1] * scale]

    return jsonify(
        window={"from": iso_or_none(plot.first), "to": iso_or_none(plot.last)},
        centre=plot.centre * scale if plot.centre is not None else None,
        left_out=plot.left_out,
        sites=[
            {"site": site_json(s.site), "numerator": s.numerator, "denominator": s.denominator,
             "value": s.value * scale, "limits95": shown(s.limits95), "limits998": shown(s.limits998),
             "position": s.position}
            for s in plot.sites
        ],
    )  # fmt: skip


@bp.get("/measures/<int:measure_id>/data.csv")
@transactional
def export_csv(measure_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    return Response(measures.export_csv(measure, viewer=current_user), mimetype="text/csv")


@bp.post("/measures/<int:measure_id>/data.csv")
@user_rate_limited("import")
def import_csv(measure_id: int) -> ResponseReturnValue:
    user, measure, text = uploaded_csv(measure_id)
    with transaction():  # the service parses and checks the file before its write begins
        result = measures.import_csv(measure, text, by=user)
    return created({"stored": result.stored, "replaced": result.replaced})


@bp.get("/measures/<int:measure_id>/fhir")
@transactional
def export_fhir(measure_id: int) -> ResponseReturnValue:
    resource = inputs.arg_choice("resource", ("Bundle", "Measure"), "Bundle")
    measure = measures.get_measure(measure_id, viewer=current_user)
    if resource == "Measure":
        payload = measures.measure_resource(measure, base_url=request.host_url)
    else:
        payload = measures.report_bundle(measure, viewer=current_user, base_url=request.host_url)
    response = jsonify(payload)
    response.mimetype = "application/fhir+json"
    return response


@bp.post("/measures/<int:measure_id>/fhir")
@user_rate_limited("import")
def import_fhir(measure_id: int) -> ResponseReturnValue:
    user = require_user()
    measures.check_upload_size(request.content_length)  # before the body is read
    bundle = json_body(max_depth=inputs.FHIR_MAX_DEPTH)
    measure = measures.get_measure(measure_id, viewer=user)
    with transaction():  # the service validates the Bundle before its write begins
        result = measures.import_bundle(measure, bundle, by=user)
    return created({"stored": result.stored, "replaced": result.replaced})


DEFINITION_REQUIRED = {
    "name": TEXT,
    "type": {"enum": ["proportion", "rate", "count", "continuous"]},
    "period": {"enum": ["week", "month", "quarter"]},
    "improvement": {"enum": ["up", "down"]},
}
STRATIFIER = {
    "type": "object",
    "required": ["code", "strata"],
    "properties": {"code": TEXT, "label": TEXT, "strata": {"type": "array", "items": {
        "anyOf": [TEXT, {"type": "object", "required": ["code"], "properties": {"code": TEXT, "label": TEXT}}]}}},
}  # fmt: skip
DEFINITION_OPTIONAL = {
    "unit": TEXT, "description": TEXT, "data_source": TEXT, "rule_set": {"enum": list(spc.RULESETS)},
    "stratifiers": {"anyOf": [TEXT, {"type": "array", "items": STRATIFIER}], "description": "Equity strata: "
                    "text, one a line (age_band: 0-11, 12-17, 18+), or a list; a Not recorded stratum is added"},
}  # fmt: skip
# null is a value here: no target, the type's usual multiplier, limits from every point of a phase.
DEFINITION_NULLABLE = {
    "target": nullable(NUMBER),
    "multiplier": nullable(NUMBER),
    "baseline_points": {"type": ["integer", "null"], "minimum": 2, "maximum": 120},
}
MEASURE_BODY = body_schema(DEFINITION_REQUIRED, DEFINITION_OPTIONAL)
MEASURE_BODY["properties"] |= DEFINITION_NULLABLE
EDIT_MEASURE_BODY = body_schema(
    optional=DEFINITION_REQUIRED | DEFINITION_OPTIONAL, closed=True,
    description="The fields to change (other fields are refused); null keeps a text field, and clears "
    "target, multiplier and baseline_points",
)  # fmt: skip
EDIT_MEASURE_BODY["properties"] |= DEFINITION_NULLABLE
DATA_BODY = body_schema(
    {"site": {**TEXT, "description": "Institution slug"}, "period": {**TEXT, "description": "2024-01, 2024-W05 or "
     "2024-Q1 (the measure's period)"}},
    dict.fromkeys(VALUE_FIELDS, NUMBER),
    description="Then numerator + denominator (proportion), events + exposure (rate; exposure may be fractional), "
    "count, or value + n "
    "(continuous)",
)  # fmt: skip
# Imports and the CSV preview (api_teams) answer 413 for a file over the caps, `fields.file` saying which.
IMPORT_ERRORS = ("401", "403", "404", "413", "422")
IMPORT_DESCRIPTION = (
    f"A file takes {measures.IMPORT_CAPS}; a larger one is refused whole with 413 `payload_too_large`, "
    "`fields.file` saying which cap. Nothing is stored unless every row passes."
)
OPENAPI_SCHEMAS = {
    "Measure": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "community": {"type": "string"},
            "name": {"type": "string"},
            "type": {"type": "string"},
            "period": {"type": "string"},
            "improvement": {"type": "string"},
            "unit": {"type": "string"},
            "target": {"type": ["number", "null"]},
            "stratifiers": {"type": "array", "items": STRATIFIER},
            "version": {"type": "integer"},
            "co_owned": {"type": "boolean"},
            "owners": {"type": "array", "items": ref("Person")},
        },
    },
    "Chart": {
        "type": "object",
        "properties": {
            "chart": {"enum": list(spc.CHARTS)},
            "rules": {"enum": list(spc.RULESETS)},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "period": {"type": "string"},
                        "value": {"type": ["number", "null"]},
                        "masked": {"type": "boolean"},
                        "cl": {"type": ["number", "null"]},
                        "lcl": {"type": ["number", "null"]},
                        "ucl": {"type": ["number", "null"]},
                        "baseline": {"type": "boolean", "description": "Its value is in its phase's limits"},
                        "excluded": {"type": "boolean", "description": "Left out of the baseline by a person"},
                    },
                },
            },
            "signals": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "period": {"type": "string"},
                        "rule": {"type": "string"},
                        "scope": {"enum": ["point", "phase"]},
                    },
                },
            },
        },
    },
}
OPENAPI_PATHS = {
    "/communities/{slug}/measures": {
        "get": op(
            "The community's measures",
            auth=False,
            response=page_of(ref("Measure")),
            params=[path_param("slug"), CURSOR],
            errors=("403", "404", "422"),
            tag="measures",
        ),
        "post": op(
            "Define a measure (members); you become its first owner",
            status="201",
            response=ref("Measure"),
            params=[path_param("slug")],
            body=MEASURE_BODY,
            tag="measures",
        ),
    },
    "/measures/{measure_id}": {
        "get": measure_read(
            "A measure with its owners and co-owned state",
            response=ref("Measure"),
        ),
        "patch": measure_op(
            "Change the definition (owners); a change bumps the version and is logged",
            response=ref("Measure"),
            body=EDIT_MEASURE_BODY,
        ),
    },
    "/measures/{measure_id}/data": {
        "post": measure_op(
            "Submit one site's value for one period (the site's team); resubmitting keeps history",
            status="201",
            body=DATA_BODY,
        ),
    },
    "/measures/{measure_id}/funnel": {
        "get": measure_op(
            "Sites compared over the latest 12 periods: each site's value and its 95 % and 99.8 % limits around the "
            "pooled value, in display units (proportion and rate measures; sites with small or masked counts in the "
            "window are left out and counted)",
            response={
                "type": "object",
                "properties": {
                    "window": {"type": "object"},
                    "centre": {"type": ["number", "null"]},
                    "left_out": {"type": "integer"},
                    "sites": {"type": "array", "items": {"type": "object", "properties": {
                        "site": {"type": "object"}, "numerator": NUMBER, "denominator": NUMBER, "value": NUMBER,
                        "limits95": {"type": "array"}, "limits998": {"type": "array"},
                        "position": {"enum": ["above", "below", "warning", "within"]},
                    }}},
                },
            },
            auth=False,
            errors=("404", "422"),
        ),
    },
    "/measures/{measure_id}/chart": {
        "get": measure_op(
            "Chart points, centre line and limits per point, and signals [{period, rule}] (suppressed for "
            "readers outside the site's team)",
            auth=False,
            response=ref("Chart"),
            params=[
                query_param("site", "Institution slug; empty for the network aggregate"),
                choice_param("chart", "The chart (default: the measure type's)", spc.CHARTS),
                choice_param("rules", "The rules for signals (default: the measure's)", spc.RULESETS),
            ],
            errors=("404", "422"),
        ),
    },
    "/measures/{measure_id}/data.csv": {
        "get": measure_op(
            "CSV export of every value the reader may see (masked cells empty)",
            auth=False,
            errors=("404",),
        ),
        "post": measure_op(
            "CSV import (text/csv, header site,period,<fields>): all or nothing, every bad line reported",
            status="201",
            errors=IMPORT_ERRORS,
        )
        | {"description": IMPORT_DESCRIPTION},
    },
    "/measures/{measure_id}/fhir": {
        "get": measure_op(
            "FHIR R5: a Bundle of MeasureReport (summary, per site and period, masked counts marked); "
            "?resource=Measure for the definition",
            auth=False,
            params=[choice_param("resource", "Measure for the definition; default the Bundle", ["Bundle", "Measure"])],
            errors=("404",),
        ),
        "post": measure_op(
            "Import a FHIR R5 Bundle of MeasureReport: all or nothing, every problem reported by entry",
            status="201",
            body={
                "type": "object",
                "required": ["resourceType"],
                "properties": {"resourceType": {"const": "Bundle"}},
                "description": f"A FHIR R5 Bundle (nesting at most {inputs.FHIR_MAX_DEPTH} levels)",
            },
            errors=IMPORT_ERRORS,
        )
        | {"description": IMPORT_DESCRIPTION.replace("rows", "entries (site reports)", 1)},
    },
}
