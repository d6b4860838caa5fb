"""Patient-reported outcomes over JSON: a community's questionnaires (owners offer a shipped one or import a FHIR
R5 Questionnaire), an instrument as its Questionnaire, answering (a draft, or finished and scored), the reader's
own responses, and all of them as a FHIR Bundle. Same services as the pages; nobody reads another's answers."""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.api.openapi import BOOLEAN, ID, NUMBER, TEXT, body_schema, nullable, op, path_param, ref
from lhn.communities import services as communities
from lhn.communities.permissions import can_manage
from lhn.database import iso_or_none, transactional
from lhn.errors import ValidationFailed
from lhn.limits import user_rate_limited
from lhn.pro import services as pro
from lhn.pro.instruments import SHIPPED
from lhn.pro.models import Instrument, ProResponse, Purpose, Statistic

PERIODS = ("week", "month", "quarter")
SCHEDULE = nullable({"type": "integer", "minimum": 1, "maximum": 366, "description": "Days between answers"})


def instrument_json(instrument: Instrument) -> dict[str, Any]:
    return {"id": instrument.id, "community": instrument.community.slug, "code": instrument.code,
            "title": instrument.title, "schedule_days": instrument.schedule_days}  # fmt: skip


def response_json(response: ProResponse) -> dict[str, Any]:
    return {"id": response.id, "instrument_id": response.instrument_id, "status": response.status.value,
            "answers": response.answers, "total": response.total, "band": response.band or None,
            "completed_at": iso_or_none(response.completed_at), "fhir": response.resource}  # fmt: skip


@bp.get("/communities/<slug>/questionnaires")
def list_questionnaires(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    mine = pro.my_instruments(pro.list_instruments(community), current_user)
    return jsonify(items=[instrument_json(m.instrument) | {
        "my_last_total": m.last.total if m.last else None, "has_draft": m.has_draft, "due": m.due} for m in mine])


@bp.post("/communities/<slug>/questionnaires")
@user_rate_limited("pro")
@transactional
def offer_questionnaire(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body(max_depth=12)
    community = communities.get_community_where(user, slug, can_manage)
    schedule = inputs.integer(body, "schedule_days", None, minimum=1, maximum=366)
    code, resource = inputs.text(body, "code", None), body.get("questionnaire")
    if (code is None) == (resource is None):
        raise ValidationFailed({"code": "Send `code` (a questionnaire LHN ships) or `questionnaire` (FHIR R5)."})
    if code is not None:
        return created(instrument_json(pro.offer_shipped(community, code, schedule_days=schedule, by=user)))
    text = json.dumps(resource)
    return created(instrument_json(pro.import_questionnaire(community, text, schedule_days=schedule, by=user)))


@bp.get("/questionnaires/<int:instrument_id>")
def show_questionnaire(instrument_id: int) -> ResponseReturnValue:
    instrument = pro.get_instrument(instrument_id, viewer=current_user)
    return jsonify(instrument_json(instrument) | {"questionnaire": instrument.questionnaire})


@bp.post("/questionnaires/<int:instrument_id>/responses")
@user_rate_limited("pro")
@transactional
def answer(instrument_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    instrument = pro.get_instrument(instrument_id, viewer=user)
    answers = inputs.text_map(body, "answers", {}, max_items=100)
    response = pro.save_answers(instrument, answers, by=user, complete=inputs.boolean(body, "complete", False))
    return created(response_json(response) | {"safety_message": pro.needs_safety_message(instrument, response)})


@bp.get("/questionnaires/<int:instrument_id>/responses")
def my_responses(instrument_id: int) -> ResponseReturnValue:
    user = require_user()
    instrument = pro.get_instrument(instrument_id, viewer=user)
    draft = pro.draft_of(instrument, user)
    return jsonify(items=[response_json(r) for r in pro.history(instrument, user)],
                   draft=response_json(draft) if draft else None)  # fmt: skip


@bp.get("/me/questionnaire-responses")
def my_bundle() -> ResponseReturnValue:
    return jsonify(pro.my_bundle(require_user()))


def pro_measure_json(pro_measure: Any) -> dict[str, Any]:
    return {"measure_id": pro_measure.measure_id, "name": pro_measure.measure.name,
            "statistic": pro_measure.statistic.value, "threshold": pro_measure.threshold,
            "period": pro_measure.measure.period.value}  # fmt: skip


@bp.get("/questionnaires/<int:instrument_id>/measures")
def questionnaire_measures(instrument_id: int) -> ResponseReturnValue:
    user = require_user()
    instrument = pro.get_instrument(instrument_id, viewer=user)
    return jsonify(items=[pro_measure_json(m) for m in pro.measures_defined(instrument, viewer=user)])


@bp.post("/questionnaires/<int:instrument_id>/measures")
@user_rate_limited("pro")
@transactional
def define_questionnaire_measure(instrument_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    instrument = pro.get_instrument(instrument_id, viewer=user)
    request = pro.MeasureRequest(
        statistic=inputs.choice(body, "statistic", [s.value for s in Statistic]),
        threshold=inputs.number(body, "threshold", None), period=inputs.choice(body, "period", PERIODS, "month"),
        improvement=inputs.choice(body, "improvement", ("up", "down"), "down"), name=inputs.text(body, "name", ""))
    return created(pro_measure_json(pro.define_measure(instrument, request, by=user)))


def consent_json(community: Any, user: Any) -> dict[str, Any]:
    return {"consents": {p.value: granted for p, granted in pro.consents_of(community, user).items()},
            "record": [{"purpose": e.purpose.value, "what": e.what, "at": iso_or_none(e.at)}
                       for e in pro.my_record(community, user)]}  # fmt: skip


@bp.get("/communities/<slug>/my-consent")
def my_consent(slug: str) -> ResponseReturnValue:
    user = require_user()
    community, _membership = communities.get_readable_community(user, slug)
    return jsonify(consent_json(community, user))


@bp.put("/communities/<slug>/my-consent")
@user_rate_limited("pro")
@transactional
def set_my_consent(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    community, _membership = communities.get_readable_community(user, slug)
    current = pro.consents_of(community, user)
    chosen = {p: inputs.boolean(body, p.value, current[p]) for p in Purpose}
    pro.set_consents(community, user, chosen)
    return jsonify(consent_json(community, user))


INSTRUMENT_ID = path_param("instrument_id", "integer")
OPENAPI_SCHEMAS = {
    "Instrument": {"type": "object", "properties": {
        "id": ID, "community": TEXT, "code": TEXT, "title": TEXT, "schedule_days": SCHEDULE,
        "questionnaire": {"type": "object", "description": "The FHIR R5 Questionnaire (one instrument's page)"}}},
    "ProMeasure": {"type": "object", "description": "A co-owned measure LHN computes from a questionnaire's answers",
                   "properties": {"measure_id": ID, "name": TEXT, "statistic": {"enum": [s.value for s in Statistic]},
                                  "threshold": nullable(NUMBER), "period": {"enum": list(PERIODS)}}},
    "ProResponse": {"type": "object", "description": "Your own answers: nobody else can read them", "properties": {
        "id": ID, "instrument_id": ID, "status": {"enum": ["draft", "completed"]},
        "answers": {"type": "object", "description": "linkId -> answer code"}, "total": nullable({"type": "number"}),
        "band": nullable(TEXT), "completed_at": nullable(TEXT),
        "fhir": nullable({"type": "object", "description": "The FHIR R5 QuestionnaireResponse, when completed"}),
        "safety_message": BOOLEAN}},
}  # fmt: skip
OPENAPI_PATHS = {
    "/communities/{slug}/questionnaires": {
        "get": op("The questionnaires a community offers, with your last total, draft and whether one is due",
                  params=[path_param("slug")], auth=False, tag="questionnaires", errors=("403", "404")),
        "post": op(f"Offer a questionnaire (owners): `code` one LHN ships ({', '.join(SHIPPED)}) or `questionnaire` a "
                   "FHIR R5 Questionnaire of single-choice items weighted with itemWeight", params=[path_param("slug")],
                   status="201", tag="questionnaires", response=ref("Instrument"),
                   body=body_schema(None, {"code": {"enum": list(SHIPPED)}, "questionnaire": {"type": "object"},
                                           "schedule_days": SCHEDULE}),
                   errors=("401", "403", "404", "422", "429")),
    },
    "/questionnaires/{instrument_id}": {
        "get": op("A questionnaire, with its FHIR R5 Questionnaire", params=[INSTRUMENT_ID], auth=False,
                  tag="questionnaires", response=ref("Instrument"), errors=("404",)),
    },
    "/questionnaires/{instrument_id}/responses": {
        "post": op("Save your answers (patients and caregivers of the community): a draft, or with `complete` "
                   "finished, scored and kept as a QuestionnaireResponse", params=[INSTRUMENT_ID], status="201",
                   tag="questionnaires", response=ref("ProResponse"),
                   body=body_schema(None, {"answers": {"type": "object", "additionalProperties": TEXT},
                                           "complete": BOOLEAN}),
                   errors=("401", "403", "404", "422", "429")),
        "get": op("Your own finished responses, oldest first, and your draft", params=[INSTRUMENT_ID],
                  tag="questionnaires", errors=("401", "404")),
    },
    "/questionnaires/{instrument_id}/measures": {
        "get": op("The measures computed from a questionnaire (the community's owners)", params=[INSTRUMENT_ID],
                  tag="questionnaires", errors=("401", "404")),
        "post": op("Define a co-owned measure computed from a questionnaire (the community's owners): per site and "
                   "period, the share of consenting people whose latest total is at least `threshold`, or their mean "
                   "total", params=[INSTRUMENT_ID], status="201", tag="questionnaires", response=ref("ProMeasure"),
                   body=body_schema({"statistic": {"enum": [s.value for s in Statistic]}}, {
                       "threshold": NUMBER, "period": {"enum": list(PERIODS)},
                       "improvement": {"enum": ["up", "down"]}, "name": TEXT}),
                   errors=("401", "403", "404", "422", "429")),
    },
    "/communities/{slug}/my-consent": {
        "get": op("What your data may serve in this community (each purpose off until you turn it on), and your own "
                  "record of the changes", params=[path_param("slug")], tag="questionnaires",
                  errors=("401", "403", "404")),
        "put": op("Change what your data may serve (members); absent purposes keep their value; applies to "
                  "everything computed after it", params=[path_param("slug")], tag="questionnaires",
                  body=body_schema(None, {p.value: BOOLEAN for p in Purpose}),
                  errors=("401", "403", "404", "422", "429")),
    },
    "/me/questionnaire-responses": {
        "get": op("All your finished responses as a FHIR R5 Bundle (collection)", tag="questionnaires",
                  errors=("401",)),
    },
}  # fmt: skip
