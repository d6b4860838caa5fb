"""Measures over JSON, the people around a measure: co-owner invitations and owners, site data leads, each site's
consent, a site's submission history, the change log, and the CSV preview. Same services as the pages. (Who has
sent which period, and reminders: lhn/measures/api/submissions.py.)"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.accounts.models import Institution
from lhn.api import bp, created, json_body, page_json, person_json, require_user
from lhn.api.openapi import BOOLEAN, CURSOR, TEXT, body_schema, page_of, path_param, ref
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.measures import services as measures
from lhn.measures.api.common import (
    SITE,
    SITE_SLUG,
    acting_on,
    get_site,
    items_of,
    measure_creation,
    measure_op,
    measure_read,
    measure_removal,
    person_or_none,
    removal_route,
    site_json,
    uploaded_csv,
)
from lhn.measures.models import DataConsent, DataPoint, MeasureChange, OwnerInvitation, SiteDataLead
from lhn.measures.services import periods


def invitation_json(invitation: OwnerInvitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "measure": invitation.measure_id,
        "user": person_json(invitation.user),
        "invited_by": person_or_none(invitation.invited_by),
        "status": invitation.status.value,
        "created_at": invitation.created_at.isoformat(),
        "decided_at": iso_or_none(invitation.decided_at),
    }


def lead_json(lead: SiteDataLead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "site": site_json(lead.institution),
        "user": person_json(lead.user),
        "appointed_at": lead.appointed_at.isoformat(),
    }


def consent_json(consent: DataConsent, site: Institution) -> dict[str, Any]:
    return {
        "id": consent.id,
        "site": site_json(site),
        "purpose": consent.purpose,
        "statement": consent.statement,
        "given_by": person_or_none(consent.given_by),
        "given_at": consent.given_at.isoformat(),
        "withdrawn_by": person_or_none(consent.withdrawn_by),
        "withdrawn_at": iso_or_none(consent.withdrawn_at),
        "active": consent.withdrawn_at is None,
    }


def submission_json(point: DataPoint, names: tuple[str, ...], period: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": point.id, "period": period, names[0]: point.numerator}
    if len(names) > 1:
        payload[names[1]] = point.denominator
    return payload | {
        "measure_version": point.measure_version,
        "source": point.source,
        "submitted_by": person_or_none(point.submitted_by),
        "submitted_at": point.submitted_at.isoformat(),
        "superseded_at": iso_or_none(point.superseded_at),
        "current": point.superseded_at is None,
    }


def change_json(change: MeasureChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "version": change.version,
        "kind": change.kind,
        "summary": change.summary,
        "definition": change.definition,
        "changed_by": person_or_none(change.changed_by),
        "changed_at": change.changed_at.isoformat(),
    }


# --- owners and invitations ---------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/invitations")
def list_invitations(measure_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    items = measures.list_invitations(measure, viewer=current_user)
    return jsonify(items=[invitation_json(i) for i in items])


@bp.post("/measures/<int:measure_id>/invitations")
@transactional
def invite_owner(measure_id: int) -> ResponseReturnValue:
    user, username = require_user(), inputs.text(json_body(), "username", missing="")
    measure = measures.get_measure(measure_id, viewer=user)
    return created(invitation_json(measures.invite_owner(measure, username, by=user)))


@bp.post("/measures/<int:measure_id>/invitations/<int:invitation_id>/withdraw")
@transactional
def withdraw_invitation(measure_id: int, invitation_id: int) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    return jsonify(invitation_json(measures.withdraw_invitation(measure, invitation_id, by=user)))


@bp.post("/measures/<int:measure_id>/invitation/accept", defaults={"accept": True})
@bp.post("/measures/<int:measure_id>/invitation/decline", defaults={"accept": False})
@transactional
def answer_invitation(measure_id: int, accept: bool) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    return jsonify(invitation_json(measures.answer_invitation(measure, by=user, accept=accept)))


removal_route("owners/<username>", "remove_owner", measures.remove_owner)


# --- site data leads ------------------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/leads")
def list_leads(measure_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    return jsonify(items=[lead_json(lead) for lead in measures.list_site_leads(measure)])


@bp.post("/measures/<int:measure_id>/leads")
@transactional
def appoint_lead(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    username, site = inputs.text(body, "username", missing=""), inputs.text(body, "site", missing="")
    measure = measures.get_measure(measure_id, viewer=user)
    lead = measures.appoint_site_lead(measure, username, site, by=user)
    return created(lead_json(lead))


removal_route("leads/<int:lead_id>", "remove_lead", measures.remove_site_lead)


# --- consent ----------------------------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/consents")
def list_consents(measure_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    items = [
        {
            "site": site_json(entry.site),
            "statement": entry.statement,
            "active": consent_json(entry.active, entry.site) if entry.active else None,
            "history": [consent_json(c, entry.site) for c in entry.history],
        }
        for entry in measures.list_consents(measure, viewer=current_user)
    ]
    return jsonify(items=items)


@bp.post("/measures/<int:measure_id>/consents")
@transactional
def give_consent(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    # Not agreeing (false, or not sent) is the service's to refuse, with its own words.
    slug, agreed = inputs.text(body, "site", missing=""), inputs.boolean(body, "agree", False)
    measure, site = measures.get_measure(measure_id, viewer=user), get_site(slug)
    consent = measures.give_consent(measure, site, by=user, agreed=agreed)
    return created(consent_json(consent, site))


@bp.post("/measures/<int:measure_id>/consents/<slug>/withdraw")
@transactional
def withdraw_consent(measure_id: int, slug: str) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    site = get_site(slug)
    return jsonify(consent_json(measures.withdraw_consent(measure, site, by=user), site))


# --- history, change log, CSV preview ---------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/sites/<slug>/history")
@transactional
def site_history(measure_id: int, slug: str) -> ResponseReturnValue:
    user, cursor = require_user(), inputs.arg_cursor()
    measure = measures.get_measure(measure_id, viewer=user)
    page = measures.history(measure, get_site(slug), viewer=user, cursor=cursor)
    kind, names = measure.period.value, measure.type.fields
    items = [submission_json(p, names, periods.label(p.period_start, kind)) for p in page.items]
    return jsonify(page_json(items, page.next_cursor))


@bp.get("/measures/<int:measure_id>/changes")
def list_changes(measure_id: int) -> ResponseReturnValue:
    cursor = inputs.arg_cursor()
    measure = measures.get_measure(measure_id, viewer=current_user)
    page = measures.list_changes(measure, viewer=current_user, cursor=cursor)
    return jsonify(page_json([change_json(c) for c in page.items], page.next_cursor))


@bp.post("/measures/<int:measure_id>/data.csv/preview")
@user_rate_limited("import")
def preview_csv(measure_id: int) -> ResponseReturnValue:
    user, measure, text = uploaded_csv(measure_id)
    rows = measures.preview_csv(measure, text, by=user)  # reads only: no write lock
    return jsonify(
        valid=bool(rows) and not any(errors for _, errors in rows),
        rows=[
            {
                "line": row.line,
                "site": row.site,
                "period": row.period,
                "values": row.values,
                "errors": [{"field": e.field, "message": e.message} for e in errors],
            }
            for row, errors in rows
        ],
    )


# --- OpenAPI ------------------------------------------------------------------------------------------------------

PERSON = ref("Person")
OPENAPI_SCHEMAS = {
    "MeasureInvitation": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "measure": {"type": "integer"},
            "user": PERSON,
            "invited_by": PERSON,
            "status": {"enum": ["pending", "accepted", "declined", "withdrawn"]},
            "created_at": {"type": "string"},
            "decided_at": {"type": ["string", "null"]},
        },
    },
    "SiteDataLead": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "site": SITE, "user": PERSON, "appointed_at": {"type": "string"}},
    },
    "DataConsent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "site": SITE,
            "purpose": {"type": "string"},
            "statement": {"type": "string", "description": "The exact text that was agreed to"},
            "given_by": PERSON,
            "given_at": {"type": "string"},
            "withdrawn_by": PERSON,
            "withdrawn_at": {"type": ["string", "null"]},
            "active": {"type": "boolean"},
        },
    },
    "Submission": {
        "type": "object",
        "description": "One submitted value: the type's fields (numerator + denominator, events + exposure, count, "
        "or value + n), and whether a resubmission replaced it",
        "properties": {
            "id": {"type": "integer"},
            "period": {"type": "string"},
            "measure_version": {"type": "integer"},
            "source": {"enum": ["form", "csv", "fhir", "api", "demo", "test"]},
            "submitted_by": PERSON,
            "submitted_at": {"type": "string"},
            "superseded_at": {"type": ["string", "null"]},
            "current": {"type": "boolean"},
        },
    },
    "MeasureChange": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "integer"},
            "kind": {"enum": ["definition", "ownership", "site_lead", "phase", "baseline"]},
            "summary": {"type": "string"},
            "definition": {"type": ["object", "null"]},
            "changed_by": PERSON,
            "changed_at": {"type": "string"},
        },
    },
}
SLUG = path_param("slug")
OPENAPI_PATHS = {
    "/measures/{measure_id}/invitations": {
        "get": measure_read(
            "Invitations to co-own the measure with their state: all of them for owners, your own otherwise",
            response=items_of(ref("MeasureInvitation")),
        ),
        "post": measure_creation(
            "Invite a community member to co-own the measure (owners); answers the open invitation if there is one",
            "MeasureInvitation",
            body_schema({"username": TEXT}),
            errors=("401", "403", "404", "409", "422"),
        ),
    },
    "/measures/{measure_id}/invitations/{invitation_id}/withdraw": {
        "post": measure_op(
            "Withdraw an open invitation (owners); it stays listed as withdrawn",
            response=ref("MeasureInvitation"),
            params=[path_param("invitation_id", "integer")],
            errors=("401", "403", "404", "409"),
        ),
    },
    "/measures/{measure_id}/invitation/accept": {
        "post": measure_op(
            "Accept your open invitation: you become a co-owner (logged)",
            response=ref("MeasureInvitation"),
            errors=("401", "404"),
        ),
    },
    "/measures/{measure_id}/invitation/decline": {
        "post": measure_op(
            "Decline your open invitation",
            response=ref("MeasureInvitation"),
            errors=("401", "404"),
        ),
    },
    "/measures/{measure_id}/owners/{username}": {
        "delete": measure_removal(
            "Remove an owner (owners), or step down yourself; a measure keeps at least one owner. Logged",
            path_param("username"),
        ),
    },
    "/measures/{measure_id}/leads": {
        "get": measure_read(
            "The site data leads the owners appointed",
            response=items_of(ref("SiteDataLead")),
        ),
        "post": measure_creation(
            "Appoint a community member to submit data for a site (owners). Logged",
            "SiteDataLead",
            body_schema({"username": TEXT, "site": SITE_SLUG}),
        ),
    },
    "/measures/{measure_id}/leads/{lead_id}": {
        "delete": measure_removal("Remove a site data lead (owners). Logged", path_param("lead_id", "integer")),
    },
    "/measures/{measure_id}/consents": {
        "get": measure_read(
            "Consent of each site whose team you are on: the statement, the active consent and its history",
            response=items_of(
                {
                    "type": "object",
                    "properties": {
                        "site": SITE,
                        "statement": {"type": "string"},
                        "active": {"oneOf": [ref("DataConsent"), {"type": "null"}]},
                        "history": {"type": "array", "items": ref("DataConsent")},
                    },
                }
            ),
        ),
        "post": measure_creation(
            "Record a site's consent to contribute data to the community (its team), agreeing to the statement",
            "DataConsent",
            body_schema({"site": SITE_SLUG, "agree": {**BOOLEAN, "const": True}}),
        ),
    },
    "/measures/{measure_id}/consents/{slug}/withdraw": {
        "post": measure_op(
            "Withdraw a site's consent (its team): its data leaves every cross-site view and the network aggregate",
            response=ref("DataConsent"),
            params=[SLUG],
        ),
    },
    "/measures/{measure_id}/sites/{slug}/history": {
        "get": measure_op(
            "Every value submitted for a site, newest period first (the site's team only; audited)",
            response=page_of(ref("Submission")),
            params=[SLUG, CURSOR],
            errors=("401", "404", "422"),
        ),
    },
    "/measures/{measure_id}/changes": {
        "get": measure_op(
            "The change log, newest first: definition versions (with the full definition), ownership, site data "
            "lead and phase changes",
            auth=False,
            response=page_of(ref("MeasureChange")),
            params=[CURSOR],
            errors=("404", "422"),
        ),
    },
    "/measures/{measure_id}/data.csv/preview": {
        "post": measure_op(
            "Check a CSV file (text/csv) without storing anything: each row with its problems",
            response={
                "type": "object",
                "properties": {
                    "valid": {"type": "boolean"},
                    "rows": {"type": "array", "items": {"type": "object"}},
                },
            },
            errors=("401", "404", "413", "422"),
        )
        | {
            "description": f"The file the import takes: {measures.IMPORT_CAPS}; a larger one is refused whole with 413 "
            "`payload_too_large`, `fields.file` saying which cap."
        },
    },
}
