"""Learning sessions over JSON: a community's sessions, announcing and changing one (its owners), registering and
giving up a place, who registered (owners), and the storyboards sites bring. Same services as the pages; times
are sent as local date-times in the session's time zone and answered in UTC (ISO 8601) with that zone beside."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import attachments, inputs
from lhn.api import bp, created, json_body, person_json, require_user
from lhn.api.openapi import BOOLEAN, ID, PHI_CONFIRM, TEXT, body_schema, nullable, op, path_param, ref
from lhn.attachments import Attachment
from lhn.attachments.api import attachment_json
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme.models import LearningSession, SessionRegistration, Storyboard

SESSION_FIELDS = ("title", "starts", "ends", "time_zone", "location", "agenda")


def session_json(session: LearningSession, *, viewer: object, taken: int | None = None) -> dict[str, Any]:
    """A session as `viewer` may see it: an online session's link only for people with a place and the owners."""
    hidden = session.online and not programme.may_see_join_link(session, viewer)
    payload = {
        "id": session.id,
        "community": session.community.slug,
        "title": session.title,
        "starts_at": iso_or_none(session.starts_at),
        "ends_at": iso_or_none(session.ends_at),
        "time_zone": session.time_zone,
        "when": programme.local_time(session),
        "online": session.online,
        "location": None if hidden else session.location,
        "capacity": session.capacity,
        "agenda": session.agenda,
        "agenda_html": session.agenda_html,
        "cancelled": session.cancelled_at is not None,
        "registration_open": programme.registration_open(session),
        "url": url_for("programme.session", session_id=session.id),
        "calendar": url_for("programme.invitation", session_id=session.id),
    }
    if taken is not None:
        payload["registered"] = taken
    return payload


def places_json(session: LearningSession, viewer: object) -> dict[str, Any]:
    places = programme.places(session, viewer)
    return {"registered": places.registered, "waiting": places.waiting,
            "mine": places.mine.value if places.mine else None, "my_position": places.my_position}  # fmt: skip


def registration_json(row: SessionRegistration) -> dict[str, Any]:
    return {"person": person_json(row.user), "status": row.status.value, "since": iso_or_none(row.created_at)}


def storyboard_json(board: Storyboard, files: list[Attachment]) -> dict[str, Any]:
    site = board.institution.slug
    return {
        "id": board.id,
        "session_id": board.session_id,
        "site": site,
        "site_name": board.institution.name,
        "aim": board.aim,
        "charts": [
            {"measure_id": measure_id, "chart": url_for("api.measure_chart", measure_id=measure_id, site=site)}
            for measure_id in board.measure_ids
        ],
        **{name: getattr(board, name) for name in ("changes", "learned", "notes")},
        **{f"{name}_html": getattr(board, f"{name}_html") for name in ("changes", "learned", "notes")},
        "attachments": [attachment_json(a) for a in files],
        "updated_at": iso_or_none(board.updated_at),
        "url": url_for("programme.storyboard", session_id=board.session_id, storyboard_id=board.id),
    }


def _files(board: Storyboard) -> list[Attachment]:
    return attachments.attachments_of(programme.STORYBOARD, attachments.stamps(programme.STORYBOARD, [board]))[board.id]


def _session_fields(body: dict[str, Any], session: LearningSession | None = None) -> programme.SessionFields:
    """The fields sent; on a PATCH (`session`) an absent one keeps its value, and a null capacity removes the cap."""
    now = programme.SessionFields.of(session) if session else programme.SessionFields()
    values = {name: inputs.text(body, name, missing=getattr(now, name)) for name in SESSION_FIELDS}
    capacity = inputs.integer(body, "capacity", None, missing=int(now.capacity) if now.capacity else None,
                              minimum=1, maximum=programme.CAPACITY_MAX)
    online = inputs.boolean(body, "online", missing=now.online)
    return programme.SessionFields(**values, online=online, capacity="" if capacity is None else str(capacity))


@bp.get("/communities/<slug>/sessions")
def list_sessions(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    upcoming, past = programme.list_sessions(community)
    return jsonify(upcoming=[session_json(s, viewer=current_user, taken=n) for s, n in upcoming],
                   past=[session_json(s, viewer=current_user, taken=n) for s, n in past])  # fmt: skip


@bp.post("/communities/<slug>/sessions")
@user_rate_limited("programme")
@transactional
def create_session(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    community, _can_edit = programme.readable_community(user, slug)
    session = programme.create_session(community, _session_fields(body), by=user,
                                       confirm_phi=inputs.phi_confirmed(body))  # fmt: skip
    return created(session_json(session, viewer=user))


@bp.get("/sessions/<int:session_id>")
def show_session(session_id: int) -> ResponseReturnValue:
    session = programme.get_session(session_id, viewer=current_user)
    return jsonify(session_json(session, viewer=current_user) | {"places": places_json(session, current_user)})


@bp.patch("/sessions/<int:session_id>")
@user_rate_limited("programme")
@transactional
def update_session(session_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    session = programme.get_session(session_id, viewer=user)
    session = programme.update_session(session, _session_fields(body, session), by=user,
                                       confirm_phi=inputs.phi_confirmed(body))  # fmt: skip
    return jsonify(session_json(session, viewer=user))


@bp.post("/sessions/<int:session_id>/cancel")
@user_rate_limited("programme")
@transactional
def cancel_session(session_id: int) -> ResponseReturnValue:
    user = require_user()
    session = programme.get_session(session_id, viewer=user)
    programme.cancel_session(session, by=user)
    return jsonify(session_json(session, viewer=user))


@bp.put("/sessions/<int:session_id>/registration")
@user_rate_limited("programme")
@transactional
def register(session_id: int) -> ResponseReturnValue:
    user = require_user()
    session = programme.get_session(session_id, viewer=user)
    row = programme.register(session, by=user)
    return jsonify(places_json(session, user) | {"status": row.status.value})


@bp.delete("/sessions/<int:session_id>/registration")
@user_rate_limited("programme")
@transactional
def unregister(session_id: int) -> ResponseReturnValue:
    user = require_user()
    session = programme.get_session(session_id, viewer=user)
    programme.cancel_registration(session, by=user)
    return "", 204


@bp.get("/sessions/<int:session_id>/registrations")
def registrations(session_id: int) -> ResponseReturnValue:
    user = require_user()
    session = programme.get_session(session_id, viewer=user)
    return jsonify(items=[registration_json(r) for r in programme.registered_people(session, by=user)])


@bp.get("/sessions/<int:session_id>/storyboards")
def list_storyboards(session_id: int) -> ResponseReturnValue:
    session = programme.get_session(session_id, viewer=current_user)
    boards = programme.list_storyboards(session)
    files = attachments.attachments_of(programme.STORYBOARD, attachments.stamps(programme.STORYBOARD, boards))
    return jsonify(items=[storyboard_json(b, files[b.id]) for b in boards])


@bp.get("/sessions/<int:session_id>/storyboards/<site>")
def show_storyboard(session_id: int, site: str) -> ResponseReturnValue:
    session = programme.get_session(session_id, viewer=current_user)
    board = programme.site_storyboard(session, site)
    return jsonify(storyboard_json(board, _files(board)))


@bp.put("/sessions/<int:session_id>/storyboards/<site>")
@user_rate_limited("programme")
@transactional
def save_storyboard(session_id: int, site: str) -> ResponseReturnValue:
    """A site's storyboard, written or replaced whole (after the session only `notes` is kept)."""
    user, body = require_user(), json_body()
    session = programme.get_session(session_id, viewer=user)
    fields = programme.StoryboardFields(
        site=site, aim=inputs.text(body, "aim", missing=""), measure_ids=inputs.ident_list(body, "measure_ids", []),
        **{name: inputs.text(body, name, "") for name in ("changes", "learned", "notes")},
    )  # fmt: skip
    board = programme.save_storyboard(session, fields, by=user, confirm_phi=inputs.phi_confirmed(body))
    return jsonify(storyboard_json(board, _files(board)))


SESSION_ID = path_param("session_id", "integer")
LOCAL = {"type": "string", "description": "A local date-time in `time_zone`, such as 2027-03-10T14:00"}
INPUT_FIELDS = {"title": TEXT, "starts": LOCAL, "ends": LOCAL, "time_zone": {**TEXT, "description": "IANA name"},
                "online": BOOLEAN, "location": {**TEXT, "description": "A place, or the https:// link to join"},
                "capacity": nullable({"type": "integer", "minimum": 1, "maximum": 10000}), "agenda": TEXT,
                "confirm_phi": PHI_CONFIRM}  # fmt: skip
PLACES = {"type": "object", "properties": {
    "registered": {"type": "integer"}, "waiting": {"type": "integer"},
    "mine": {"enum": ["registered", "waitlisted", None]}, "my_position": nullable({"type": "integer"})}}  # fmt: skip
OPENAPI_SCHEMAS = {
    "LearningSession": {"type": "object", "properties": {
        "id": ID, "community": TEXT, "title": TEXT, "starts_at": TEXT, "ends_at": TEXT, "time_zone": TEXT,
        "when": TEXT, "online": BOOLEAN,
        "location": nullable({**TEXT, "description": "Null for an online session's link unless you have a place"}),
        "capacity": nullable({"type": "integer"}), "agenda": TEXT, "agenda_html": TEXT, "cancelled": BOOLEAN,
        "registration_open": BOOLEAN, "url": TEXT, "calendar": TEXT, "registered": {"type": "integer"},
        "places": PLACES}},
    "Storyboard": {"type": "object", "properties": {
        "id": ID, "session_id": ID, "site": TEXT, "site_name": TEXT, "aim": TEXT,
        "charts": {"type": "array", "description": "Each measure's live chart at the site (suppression applied)"},
        "changes": TEXT, "learned": TEXT, "notes": TEXT, "updated_at": TEXT, "url": TEXT,
        "attachments": {"type": "array", "items": ref("Attachment")}}},
}  # fmt: skip
OWNER_ERRORS = ("401", "403", "404", "422", "429")
OPENAPI_PATHS = {
    "/communities/{slug}/sessions": {
        "get": op("A community's learning sessions: upcoming soonest first, past latest first", tag="programme",
                  params=[path_param("slug")], auth=False, errors=("403", "404"),
                  response={"type": "object", "properties": {
                      "upcoming": {"type": "array", "items": ref("LearningSession")},
                      "past": {"type": "array", "items": ref("LearningSession")}}}),
        "post": op("Announce a learning session (the community's owners)", params=[path_param("slug")],
                   status="201", tag="programme", response=ref("LearningSession"), errors=OWNER_ERRORS,
                   body=body_schema({"title": TEXT, "starts": LOCAL, "ends": LOCAL, "time_zone": TEXT},
                                    {k: v for k, v in INPUT_FIELDS.items() if k not in ("title", "starts", "ends",
                                                                                        "time_zone")})),
    },
    "/sessions/{session_id}": {
        "get": op("A learning session, with its places and yours", params=[SESSION_ID], auth=False, tag="programme",
                  response=ref("LearningSession"), errors=("404",)),
        "patch": op("Change a session (owners); absent fields keep their value, a bigger cap moves people up from "
                    "the waiting list", params=[SESSION_ID], tag="programme", response=ref("LearningSession"),
                    body=body_schema(None, INPUT_FIELDS), errors=OWNER_ERRORS),
    },
    "/sessions/{session_id}/cancel": {
        "post": op("Cancel a session (owners): it stays listed as cancelled", params=[SESSION_ID], tag="programme",
                   response=ref("LearningSession"), errors=OWNER_ERRORS),
    },
    "/sessions/{session_id}/registration": {
        "put": op("Take a place, or a place in the waiting list when it is full (members; again changes nothing)",
                  params=[SESSION_ID], tag="programme", response=PLACES, errors=OWNER_ERRORS),
        "delete": op("Give up your place; the first person waiting moves up", params=[SESSION_ID], status="204",
                     tag="programme", errors=("401", "404", "429")),
    },
    "/sessions/{session_id}/registrations": {
        "get": op("Who registered and who waits, first come first served (owners)", params=[SESSION_ID],
                  tag="programme", errors=("401", "403", "404")),
    },
    "/sessions/{session_id}/storyboards": {
        "get": op("The storyboards sites brought", params=[SESSION_ID], auth=False, tag="programme",
                  errors=("404",), response={"type": "object", "properties": {
                      "items": {"type": "array", "items": ref("Storyboard")}}}),
    },
    "/sessions/{session_id}/storyboards/{site}": {
        "get": op("A site's storyboard", params=[SESSION_ID, path_param("site")], auth=False, tag="programme",
                  response=ref("Storyboard"), errors=("404",)),
        "put": op("Write or replace your site's storyboard (its team: verified clinicians and researchers of the "
                  "site, its data leads); after the session only `notes` changes",
                  params=[SESSION_ID, path_param("site")], tag="programme", response=ref("Storyboard"),
                  body=body_schema({"aim": TEXT}, {"measure_ids": {"type": "array", "items": ID, "maxItems": 4},
                                                   "changes": TEXT, "learned": TEXT, "notes": TEXT,
                                                   "confirm_phi": PHI_CONFIRM}),
                  errors=OWNER_ERRORS),
    },
}  # fmt: skip
