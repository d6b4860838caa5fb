"""Research studies over JSON: a community's studies, posting one (fields, or an imported FHIR R5 ResearchStudy),
a study with its ResearchStudy, closing and reopening, the reader's research profile and matches, "contact me" and
withdrawing it, and (for a study's lead) how many may match and the contacts. Same services as the pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.api.openapi import ID, NUMBER, PHI_CONFIRM, TEXT, TEXTS, body_schema, nullable, op, path_param, ref
from lhn.communities import services as communities
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.research import services as research
from lhn.research.fhir import StudyFields
from lhn.research.matching import AGE_BANDS
from lhn.research.models import ResearchProfile, Study, StudyContact, StudyStatus

STATUSES = [s.value for s in StudyStatus]


def study_json(study: Study) -> dict[str, Any]:
    lead = study.created_by
    return {"id": study.id, "community": study.community.slug, "title": study.title, "condition": study.condition,
            "sites": study.sites, "status": study.status.value, "target_number": study.target_number,
            "ethics_reference": study.ethics_reference,
            "criteria": {k: v for k, v in study.criteria.items() if k != "instrument_id"},
            "eligibility_text": study.eligibility_text, "eligibility_html": study.eligibility_html,
            "lead": lead.display_name if lead else None, "fhir": study.resource}  # fmt: skip


def profile_json(profile: ResearchProfile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {"age_band": profile.age_band or None, "diagnosis": profile.diagnosis or None,
            "diagnosis_year": profile.diagnosis_year, "country": profile.country or None,
            "site": profile.site or None, "instrument_ids": profile.instrument_ids}  # fmt: skip


def contact_json(contact: StudyContact) -> dict[str, Any]:
    return {"study_id": contact.study_id, "shared": contact.shared, "at": iso_or_none(contact.created_at),
            "withdrawn_at": iso_or_none(contact.withdrawn_at)}  # fmt: skip


def _study_fields(body: dict[str, Any]) -> StudyFields:
    num = inputs.number
    return StudyFields(
        title=inputs.text(body, "title", ""), condition=inputs.text(body, "condition", ""),
        sites=inputs.text_list(body, "sites", [], max_items=50),
        status=inputs.choice(body, "status", STATUSES, StudyStatus.RECRUITING.value),
        target_number=inputs.integer(body, "target_number", None, minimum=1, maximum=1_000_000),
        ethics_reference=inputs.text(body, "ethics_reference", ""),
        age_min=inputs.integer(body, "age_min", None, maximum=130),
        age_max=inputs.integer(body, "age_max", None, maximum=130),
        diagnoses=inputs.text_list(body, "diagnoses", [], max_items=20),
        countries=inputs.text_list(body, "countries", [], max_items=20),
        eligible_sites=inputs.text_list(body, "eligible_sites", [], max_items=50),
        roles=inputs.text_list(body, "roles", [], max_items=5),
        instrument_code=inputs.text(body, "instrument_code", ""),
        score_min=num(body, "score_min", None), score_max=num(body, "score_max", None),
        eligibility_text=inputs.text(body, "eligibility_text", ""))  # fmt: skip


@bp.get("/communities/<slug>/studies")
def list_studies(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    return jsonify(items=[study_json(s) for s in research.list_studies(community)])


@bp.post("/communities/<slug>/studies")
@user_rate_limited("research")
@transactional
def post_study(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body(max_depth=16)
    community, _membership = communities.get_readable_community(user, slug)
    confirm = inputs.phi_confirmed(body)
    if body.get("research_study") is not None:
        return created(study_json(research.import_study(community, body["research_study"], by=user,
                                                        confirm_phi=confirm)))  # fmt: skip
    return created(study_json(research.post_study(community, _study_fields(body), by=user, confirm_phi=confirm)))


@bp.get("/studies/<int:study_id>")
def show_study(study_id: int) -> ResponseReturnValue:
    return jsonify(study_json(research.get_study(study_id, viewer=current_user)))


@bp.put("/studies/<int:study_id>/status")
@user_rate_limited("research")
@transactional
def set_status(study_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    study = research.get_study(study_id, viewer=user)
    return jsonify(study_json(research.set_status(study, inputs.choice(body, "status", STATUSES), by=user)))


@bp.get("/communities/<slug>/my-research-profile")
def my_profile(slug: str) -> ResponseReturnValue:
    user = require_user()
    community, _membership = communities.get_readable_community(user, slug)
    return jsonify(profile=profile_json(research.find_profile(community, user)),
                   consents_to_contact=research.consents_to_contact(community, user))  # fmt: skip


@bp.put("/communities/<slug>/my-research-profile")
@user_rate_limited("research")
@transactional
def save_profile(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    community, _membership = communities.get_readable_community(user, slug)
    fields = research.ProfileFields(
        age_band=inputs.text(body, "age_band", ""), diagnosis=inputs.text(body, "diagnosis", ""),
        diagnosis_year=inputs.integer(body, "diagnosis_year", None, minimum=1900, maximum=3000),
        country=inputs.text(body, "country", ""), site=inputs.text(body, "site", ""),
        instrument_ids=inputs.ident_list(body, "instrument_ids", [], max_items=50))  # fmt: skip
    profile = research.save_profile(community, user, fields, confirm_phi=inputs.phi_confirmed(body))
    return jsonify(profile=profile_json(profile), consents_to_contact=True)


@bp.get("/communities/<slug>/my-study-matches")
def my_matches(slug: str) -> ResponseReturnValue:
    user = require_user()
    community, _membership = communities.get_readable_community(user, slug)
    return jsonify(items=[study_json(s) for s in research.my_matches(community, user)])


@bp.post("/studies/<int:study_id>/contact")
@user_rate_limited("research")
@transactional
def contact(study_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    study = research.get_study(study_id, viewer=user)
    made = research.contact_study(study, user, share=inputs.text_list(body, "share", [], max_items=10),
                                  message=inputs.text(body, "message", ""), confirm_phi=inputs.phi_confirmed(body))
    return created(contact_json(made))


@bp.delete("/studies/<int:study_id>/contact")
@user_rate_limited("research")
@transactional
def withdraw(study_id: int) -> ResponseReturnValue:
    user = require_user()
    study = research.get_study(study_id, viewer=user)
    return jsonify(contact_json(research.withdraw_contact(study, user)))


@bp.get("/studies/<int:study_id>/reach")
@user_rate_limited("research")  # each view is written to the study's audit
@transactional
def reach(study_id: int) -> ResponseReturnValue:
    user = require_user()
    found = research.study_reach(research.get_study(study_id, viewer=user), by=user)
    band = {"from": found.may_match[0], "to": found.may_match[1]} if found.may_match else None
    return jsonify(may_match=band, suppressed=found.may_match is None,
                   contacts=[contact_json(c) for c in found.contacts])  # fmt: skip


STUDY_ID = path_param("study_id", "integer")
PROFILE_FIELDS = {
    "age_band": {"enum": ["", *AGE_BANDS]}, "diagnosis": TEXT, "diagnosis_year": nullable(
        {"type": "integer", "minimum": 1900, "maximum": 3000}), "country": TEXT,
    "site": {"type": "string", "description": "An institution's slug, or empty"},
    "instrument_ids": {"type": "array", "items": ID, "description": "Questionnaires whose latest score may be matched"},
    "confirm_phi": PHI_CONFIRM,
}  # fmt: skip
STUDY_FIELDS = {
    "title": TEXT, "condition": TEXT, "sites": {**TEXTS, "description": "Institution slugs"},
    "status": {"enum": STATUSES}, "target_number": nullable({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
    "ethics_reference": TEXT, "age_min": nullable({"type": "integer", "minimum": 0, "maximum": 130}),
    "age_max": nullable({"type": "integer", "minimum": 0, "maximum": 130}), "diagnoses": TEXTS, "countries": TEXTS,
    "eligible_sites": TEXTS, "roles": {"type": "array", "items": {"enum": ["patient", "caregiver"]}},
    "instrument_code": TEXT, "score_min": nullable(NUMBER), "score_max": nullable(NUMBER), "eligibility_text": TEXT,
    "research_study": {"type": "object", "description": "Instead of the fields: a FHIR R5 ResearchStudy"},
    "confirm_phi": PHI_CONFIRM,
}  # fmt: skip
OPENAPI_SCHEMAS = {
    "Study": {"type": "object", "properties": {
        "id": ID, "community": TEXT, "title": TEXT, "condition": TEXT, "sites": TEXTS, "status": {"enum": STATUSES},
        "target_number": nullable({"type": "integer"}), "ethics_reference": TEXT, "criteria": {"type": "object"},
        "eligibility_text": TEXT, "eligibility_html": TEXT, "lead": nullable(TEXT),
        "fhir": {"type": "object", "description": "The FHIR R5 ResearchStudy, eligibility as a contained Group"}}},
    "StudyContact": {"type": "object", "properties": {
        "study_id": ID, "shared": {"type": "object", "description": "Exactly what the person chose to share"},
        "at": TEXT, "withdrawn_at": nullable(TEXT)}},
}  # fmt: skip
OPENAPI_PATHS = {
    "/communities/{slug}/studies": {
        "get": op("A community's research studies, recruiting first", params=[path_param("slug")], auth=False,
                  tag="research", errors=("403", "404")),
        "post": op("Post a study (verified researchers and clinicians who are members): the fields, or "
                   "`research_study` a FHIR R5 ResearchStudy", params=[path_param("slug")], status="201",
                   tag="research", response=ref("Study"), body=body_schema(None, STUDY_FIELDS),
                   errors=("401", "403", "404", "422", "429")),
    },
    "/studies/{study_id}": {
        "get": op("A study, with its FHIR R5 ResearchStudy", params=[STUDY_ID], auth=False, tag="research",
                  response=ref("Study"), errors=("404",)),
    },
    "/studies/{study_id}/status": {
        "put": op("Close a study (its lead, the community's moderators) or reopen it (its lead)", params=[STUDY_ID],
                  tag="research", response=ref("Study"), body=body_schema({"status": {"enum": STATUSES}}),
                  errors=("401", "403", "404", "422", "429")),
    },
    "/studies/{study_id}/contact": {
        "post": op("Contact me (members who may fit a recruiting study and consent to be contacted): shares your "
                   "display name, your message and the profile fields in `share`", params=[STUDY_ID], status="201",
                   tag="research", response=ref("StudyContact"),
                   body=body_schema(None, {"share": {"type": "array", "items": {"enum": list(research.SHAREABLE)}},
                                           "message": TEXT, "confirm_phi": PHI_CONFIRM}),
                   body_required=False, errors=("401", "403", "404", "422", "429")),
        "delete": op("Withdraw your contact: the study's lead no longer sees it", params=[STUDY_ID], tag="research",
                     response=ref("StudyContact"), errors=("401", "404", "422", "429")),
    },
    "/studies/{study_id}/reach": {
        "get": op("For the study's lead: how many may match, as a band {from, to} of five (null below 11), and the "
                  "contacts; audited",
                  params=[STUDY_ID], tag="research", errors=("401", "403", "404")),
    },
    "/communities/{slug}/my-research-profile": {
        "get": op("Your own research profile (only you read it)", params=[path_param("slug")], tag="research",
                  errors=("401", "403", "404")),
        "put": op("Save your research profile (members who consent to be contacted about studies)",
                  params=[path_param("slug")], tag="research", body=body_schema(None, PROFILE_FIELDS),
                  errors=("401", "403", "404", "422", "429")),
    },
    "/communities/{slug}/my-study-matches": {
        "get": op("The recruiting studies you may fit", params=[path_param("slug")], tag="research",
                  errors=("401", "403", "404")),
    },
}  # fmt: skip
