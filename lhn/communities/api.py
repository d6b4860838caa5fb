"""Communities over JSON: directory, create/edit, join and leave, members, join requests, verification review."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.accounts import services as accounts
from lhn.accounts.models import User, VerificationRequest
from lhn.api import bp, created, json_body, page_json, person_json, require_user
from lhn.api.openapi import (
    BOOLEAN,
    CURSOR,
    DATE,
    PHI_CONFIRM,
    TEXT,
    body_schema,
    op,
    page_of,
    path_param,
    query_param,
    ref,
)
from lhn.communities import permissions
from lhn.communities import services as communities
from lhn.communities.models import Community, JoinRequest, Membership
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited


def community_json(community: Community, membership: Membership | None, *, user: object) -> dict[str, Any]:
    readable = permissions.can_read(user, community, membership)
    data: dict[str, Any] = {
        "slug": community.slug,
        "name": community.name,
        "condition": {
            "name": community.condition_name,
            "code": community.condition_code or None,
            "system": community.condition_system.value if community.condition_system else None,
        },
        "description_html": community.description_html,
        "visibility": community.visibility.value,
        "member_count": community.member_count,
        "my_role": membership.role.value if membership else None,
        "can_read": readable,
    }
    if readable:
        data["guidelines_html"] = community.guidelines_html
        data["guidelines_version"] = community.guidelines_version
    return data


def membership_json(membership: Membership) -> dict[str, Any]:
    return {
        **person_json(membership.user, membership.role.value),
        "joined_at": membership.joined_at.isoformat(),
    }


def join_request_json(row: JoinRequest) -> dict[str, Any]:
    return {
        "id": row.id,
        "community": row.community.slug,
        "person": person_json(row.user),
        "message": row.message,
        "status": row.status.value,
        "created_at": row.created_at.isoformat(),
        "decided_at": iso_or_none(row.decided_at),
        "note": row.decision_note,
    }


def verification_json(row: VerificationRequest, *, evidence: bool = True) -> dict[str, Any]:
    """What site staff see: the evidence, to check it. Moderators (evidence=False) see that it waits."""
    data: dict[str, Any] = {
        "id": row.id,
        "person": person_json(row.user),
        "role": row.role.value,
        "status": row.status.value,
        "created_at": row.created_at.isoformat(),
    }
    if evidence:
        data |= {
            "licence_number": row.licence_number,
            "licence_issuer": row.licence_issuer,
            "institutional_email": row.institutional_email,
            "orcid": row.orcid,
            "statement": row.statement,
        }
    return data


def _fields(data: dict[str, Any], community: Community | None = None) -> communities.CommunityFields:
    """CommunityFields from JSON. A field not sent (or null) keeps its current value on PATCH and is empty
    on create, where the service names every required one that is empty."""

    def text(name: str, default: str = "") -> str:
        current = getattr(community, name) if community else default
        return inputs.text(data, name, getattr(current, "value", current) or "")  # enums as their value

    return communities.CommunityFields(
        name=text("name"),
        condition_name=text("condition_name"),
        description=text("description"),
        guidelines=text("guidelines"),
        visibility=text("visibility", "public"),
        condition_code=text("condition_code"),
        condition_system=text("condition_system") or None,
        slug=text("slug"),
    )


@bp.get("/communities")
def list_communities() -> ResponseReturnValue:
    page = communities.list_communities(q=inputs.arg_text("q"), cursor=inputs.arg_cursor())
    mine = communities.memberships_of(current_user)
    items = [community_json(c, mine.get(c.id), user=current_user) for c in page.items]
    return jsonify(page_json(items, page.next_cursor))


@bp.post("/communities")
@transactional
def create_community() -> ResponseReturnValue:
    user = require_user()
    community = communities.create_community(_fields(json_body()), by=user)
    return created(community_json(community, communities.find_membership(user, community), user=user))


@bp.get("/me/communities")
def my_communities() -> ResponseReturnValue:
    user = require_user()
    mine = sorted(communities.memberships_of(user).values(), key=lambda m: m.community.name)
    return jsonify(items=[community_json(m.community, m, user=user) for m in mine])


@bp.get("/communities/<slug>")
def show_community(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    membership = communities.find_membership(current_user, community)
    return jsonify(community_json(community, membership, user=current_user))


@bp.patch("/communities/<slug>")
@transactional
def update_community(slug: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    community = communities.get_community(slug)
    communities.update_community(community, _fields(data, community), by=user)
    return jsonify(community_json(community, communities.find_membership(user, community), user=user))


@bp.post("/communities/<slug>/join")
@transactional
def join_community(slug: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    # Not accepting (false, or not sent) is the service's to refuse, with its own words.
    accept, message = inputs.boolean(data, "accept_guidelines", False), inputs.text(data, "message", "")
    joined = communities.join_or_request(
        user,
        communities.get_community(slug),
        accept_guidelines=accept,
        message=message,
        confirm_phi=inputs.phi_confirmed(data),
    )
    if isinstance(joined, JoinRequest):
        return jsonify(status="requested", join_request=join_request_json(joined)), 202
    return jsonify(status="joined", membership=membership_json(joined))


@bp.post("/communities/<slug>/leave")
@transactional
def leave_community(slug: str) -> ResponseReturnValue:
    communities.leave_community(require_user(), communities.get_community(slug))
    return "", 204


@bp.get("/communities/<slug>/members")
def list_members(slug: str) -> ResponseReturnValue:
    role, cursor = inputs.arg_text("role"), inputs.arg_cursor()
    page = communities.list_members(communities.get_community(slug), by=current_user, role=role, cursor=cursor)
    return jsonify(page_json([membership_json(m) for m in page.items], page.next_cursor))


@bp.put("/communities/<slug>/members/<username>")
@transactional
def set_member_role(slug: str, username: str) -> ResponseReturnValue:
    user, role = require_user(), inputs.text(json_body(), "role", missing="")
    membership = communities.set_member_role(communities.get_community(slug), username, role, by=user)
    return jsonify(membership_json(membership))


@bp.get("/communities/<slug>/join-requests")
def list_join_requests(slug: str) -> ResponseReturnValue:
    rows = communities.list_join_requests(communities.get_community(slug), by=require_user())
    return jsonify(items=[join_request_json(r) for r in rows])


@bp.post("/join-requests/<int:request_id>")
@transactional
def decide_join_request(request_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    decision, note = inputs.choice(data, "decision", ("approve", "deny")), inputs.text(data, "note", "")
    row = communities.decide_join_request(request_id, by=user, approve=decision == "approve", note=note)
    return jsonify(join_request_json(row))


@bp.get("/verification-requests")
@transactional
def verification_queue() -> ResponseReturnValue:
    user: User = require_user()
    queue = communities.list_verification_queue(by=user)
    communities.record_evidence_views(user, queue)
    return jsonify(may_decide=queue.may_decide,
                   items=[verification_json(r, evidence=queue.may_decide) for r in queue.requests])  # fmt: skip


@bp.post("/verification-requests/<int:request_id>")
@user_rate_limited("staff")
@transactional
def review_verification(request_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    decision, note = inputs.choice(data, "decision", ("approve", "reject")), inputs.text(data, "note", "")
    expires_on = inputs.text(data, "expires_on", None)
    row = accounts.decide_verification(request_id, by=user, approve=decision == "approve", note=note,
                                       expires_on=expires_on)  # fmt: skip
    return jsonify({**verification_json(row), "note": row.decision_note,
                    "expires_on": iso_or_none(row.expires_on)})  # fmt: skip


COMMUNITY_REQUIRED = {"name": TEXT, "condition_name": TEXT, "guidelines": TEXT}
COMMUNITY_OPTIONAL = {
    "slug": {**TEXT, "description": "Lowercase letters, digits and hyphens; derived from the name if empty"},
    "condition_code": TEXT, "condition_system": {"enum": ["", "icd-10", "snomed-ct"]},
    "description": TEXT, "visibility": {"enum": ["public", "restricted"]},
}  # fmt: skip
NEW_COMMUNITY_BODY = body_schema(COMMUNITY_REQUIRED, COMMUNITY_OPTIONAL)
EDIT_COMMUNITY_BODY = body_schema(optional=COMMUNITY_REQUIRED | COMMUNITY_OPTIONAL,
                                  description="Fields not sent (or null) keep their value")  # fmt: skip
SLUG = path_param("slug")


def decision(*words: str) -> dict[str, Any]:
    return body_schema({"decision": {"enum": list(words)}}, {"note": TEXT})


OPENAPI_SCHEMAS = {
    "Community": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "visibility": {"type": "string"},
            "can_read": {"type": "boolean"},
        },
    }
}
OPENAPI_PATHS = {
    "/communities": {
        "get": op("The community directory; `q` searches name and condition", auth=False, errors=("422",),
                  response=page_of(ref("Community")),
                  params=[query_param("q", "Search by name or condition"), CURSOR]),
        "post": op("Create a community (site admins, verified clinicians and researchers)", status="201",
                   response=ref("Community"), body=NEW_COMMUNITY_BODY, errors=("401", "403", "422")),
    },
    "/me/communities": {"get": op("Communities I belong to", errors=("401",))},
    "/communities/{slug}": {
        "get": op("A community (name and description only for a restricted one I'm not in)",
                  response=ref("Community"), params=[SLUG], auth=False, errors=("404",)),
        "patch": op("Edit a community (owners)", response=ref("Community"), params=[SLUG], body=EDIT_COMMUNITY_BODY),
    },
    "/communities/{slug}/join": {
        "post": op("Join, accepting the guidelines; 202 with a join request for a restricted community",
                   also={"202": "Requested: the moderators of a restricted community decide"}, params=[SLUG],
                   body=body_schema({"accept_guidelines": {**BOOLEAN, "const": True}}, {
                       "message": {**TEXT, "description": "To the moderators of a restricted community"},
                       "confirm_phi": PHI_CONFIRM})),
    },
    "/communities/{slug}/leave": {"post": op("Leave the community", status="204", params=[SLUG])},
    "/communities/{slug}/members": {
        "get": op("Members with their badges; `role` filters by community or site role", auth=False,
                  response=page_of(ref("Person")), errors=("403", "404", "422"),
                  params=[SLUG, query_param("role", "owner, moderator, member, patient, clinician, ..."), CURSOR]),
    },
    "/communities/{slug}/members/{username}": {
        "put": op("Appoint or remove a moderator (owners): {\"role\": \"moderator\"|\"member\"}",
                  response=ref("Person"), params=[SLUG, path_param("username")],
                  body=body_schema({"role": {"enum": ["moderator", "member"]}})),
    },
    "/communities/{slug}/join-requests": {"get": op("Pending join requests (moderators)", params=[SLUG])},
    "/join-requests/{request_id}": {
        "post": op("Approve or deny a join request: {\"decision\": \"approve\"|\"deny\", \"note\"}",
                   params=[path_param("request_id", "integer")], body=decision("approve", "deny"),
                   errors=("401", "404", "409", "422")),
    },
    "/verification-requests": {"get": op("Pending verification requests: with the evidence for site staff, "
                                         "without it for moderators of the applicants' communities",
                                         errors=("401",))},
    "/verification-requests/{request_id}": {
        "post": op("Approve or reject verification (site staff): {\"decision\": \"approve\"|\"reject\", \"note\", "
                   "\"expires_on\"}", params=[path_param("request_id", "integer")],
                   body=body_schema({"decision": {"enum": ["approve", "reject"]}},
                                    {"note": TEXT, "expires_on": DATE}),
                   errors=("401", "404", "409", "422", "429")),
    },
}  # fmt: skip
