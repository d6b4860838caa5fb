"""Moderation over JSON: flags, the review queue and its actions (409 when stale), the public log, my data."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user

from lhn import inputs
from lhn.api import bp, created, json_body, page_json, person_json, require_user
from lhn.api.openapi import (
    BOOLEAN,
    COUNT,
    CURSOR,
    ID,
    PHI_CONFIRM,
    TEXT,
    TEXTS,
    body_schema,
    choice_param,
    op,
    page_of,
    path_param,
    ref,
)
from lhn.communities import services as communities
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.moderation import mydata as my_data
from lhn.moderation import services
from lhn.moderation.forms import queue_filters
from lhn.moderation.models import FlagReason, ModerationLogEntry, ReviewKind, ReviewStatus, Sanction
from lhn.moderation.services import actions, queue, sanctions
from lhn.moderation.services import log as modlog


def item_json(view: queue.ItemView, *, original: str | None = None) -> dict[str, Any]:
    item, target = view.item, view.target
    data: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind.value,
        "status": item.status.value,
        "version": item.version,
        "community": item.community.slug if item.community else None,
        "score": item.score,
        "flag_count": item.flag_count,
        "reasons": view.reasons,
        "flags": [
            {
                "reason": f.reason.value,
                "details": f.details,
                "weight": f.weight,
                "flagger": person_json(f.flagger),
                "created_at": iso_or_none(f.created_at),
            }
            for f in item.flags
        ],
        "subject": person_json(view.subject) if view.subject else None,
        "target": None,
        "actions": view.actions,
        "created_at": iso_or_none(item.created_at),
        "resolution": item.resolution or None,
        "resolved_at": iso_or_none(item.resolved_at),
        "resolved_by": person_json(item.resolved_by) if item.resolved_by else None,
    }
    if target is not None:
        # Hidden content's original is only in the single-item answer, where reading it is audited.
        data["target"] = {
            "type": target.type,
            "id": target.id,
            "label": target.label,
            "url": target.url,
            "hidden": target.hidden,
            "hidden_reason": target.hidden_reason or None,
            "excerpt": target.excerpt if view.shows_original or original is not None else None,
        }
    if view.join_request is not None:
        data["join_request"] = {"id": view.join_request.id, "message": view.join_request.message}
    if original is not None:
        data["original"] = original
        if view.verification is not None:
            v = view.verification
            data["verification"] = {
                "id": v.id,
                "role": v.role.value,
                "licence_number": v.licence_number,
                "licence_issuer": v.licence_issuer,
                "institutional_email": v.institutional_email,
                "orcid": v.orcid,
                "statement": v.statement,
            }
    return data


def log_json(entry: ModerationLogEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "created_at": iso_or_none(entry.created_at),
        "action": entry.action,
        "by": person_json(entry.actor) if entry.actor else None,
        "automatic": entry.automatic,
        "target": {
            "type": entry.target_type,
            "id": entry.target_id,
            "label": entry.target_label,
            "url": entry.target_url or None,
        },
        "reason": entry.reason or None,
        "details": entry.details or None,
    }


def sanction_json(row: Sanction) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind.value,
        "community": row.community.slug if row.community else None,
        "reason": row.reason,
        "created_at": iso_or_none(row.created_at),
        "ends_at": iso_or_none(row.ends_at),
        "lifted_at": iso_or_none(row.lifted_at),
    }


@bp.post("/flags")
@user_rate_limited("flag")
@transactional
def create_flag() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    flag = services.flag_target(
        user,
        target_type=inputs.text(data, "target_type", missing=""),
        target_id=inputs.ident(data, "target_id"),
        reason=inputs.text(data, "reason", missing=""),
        details=inputs.text(data, "details", ""),
        community=inputs.text(data, "community", "") or None,
        confirm_phi=inputs.phi_confirmed(data),
    )
    return created({"id": flag.id, "reason": flag.reason.value, "created_at": iso_or_none(flag.created_at)})


@bp.post("/redactions")
@user_rate_limited("redact")
@transactional
def redact() -> ResponseReturnValue:
    """The author (or a moderator) erases personal details from a post, answer or comment, or one revision of it:
    the `fragments` given, or (none sent) everything the PHI guard finds there."""
    user, data = require_user(), json_body()
    count = actions.redact_target(
        user,
        target_type=inputs.text(data, "target_type", missing=""),
        target_id=inputs.ident(data, "target_id"),
        revision_id=inputs.ident(data, "revision", None),
        fragments=inputs.text_list(data, "fragments", None) or None,
    )
    return jsonify(removed=count)


@bp.get("/communities/<slug>/review-queue")
def community_review_queue(slug: str) -> ResponseReturnValue:
    user, filters = require_user(), queue_filters()
    page = queue.list_review_queue(by=user, community=communities.get_community(slug), **filters)
    return jsonify(page_json([item_json(v) for v in page.items], page.next_cursor))


@bp.get("/review-queue")
def review_queue() -> ResponseReturnValue:
    page = queue.list_review_queue(by=require_user(), community=None, **queue_filters())
    return jsonify(page_json([item_json(v) for v in page.items], page.next_cursor))


@bp.get("/review-items/<int:item_id>")
@transactional
def review_item(item_id: int) -> ResponseReturnValue:
    view, text = queue.view_original(item_id, by=require_user())
    return jsonify(item_json(view, original=text))


@bp.post("/review-items/<int:item_id>/actions")
@transactional
def act_on_review_item(item_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    actions.act_on_item(
        item_id,
        by=user,
        action=inputs.text(data, "action", missing=""),
        version=inputs.integer(data, "version"),
        reason=inputs.text(data, "reason", ""),
        days=inputs.integer(data, "days", None),
        fragments=inputs.text_list(data, "fragments", []),
        revision_id=inputs.ident(data, "revision_id", None),
        hide_target=inputs.boolean(data, "hide", False),
    )
    return jsonify(item_json(queue.get_item_view(item_id, by=user)))


@bp.get("/communities/<slug>/moderation-log")
def moderation_log(slug: str) -> ResponseReturnValue:
    cursor = inputs.arg_cursor()
    page = modlog.list_moderation_log(communities.get_community(slug), by=current_user, cursor=cursor)
    return jsonify(page_json([log_json(e) for e in page.items], page.next_cursor))


@bp.get("/me/sanctions")
def my_sanctions() -> ResponseReturnValue:
    return jsonify(items=[sanction_json(s) for s in sanctions.list_my_sanctions(require_user())])


@bp.get("/me/export")
@transactional
def export_me() -> ResponseReturnValue:
    return jsonify(my_data.export_my_data(require_user()))


@bp.delete("/me")
@transactional
def delete_me() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    password, mode = inputs.text(data, "password", missing=""), inputs.text(data, "mode", missing="")
    my_data.delete_account(user, password=password, mode=mode)
    logout_user()
    return "", 204


SLUG = path_param("slug")
ITEM_ID = path_param("item_id", "integer")
OPENAPI_SCHEMAS = {
    "ReviewItem": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "status": {"enum": ["open", "resolved"]},
            "version": {"type": "integer", "description": "Send it back with an action (optimistic lock)"},
            "community": {"type": ["string", "null"]},
            "score": {"type": "number"},
            "flag_count": {"type": "integer"},
            "target": {"type": ["object", "null"]},
            "subject": {"type": ["object", "null"]},
            "actions": {"type": "array", "items": {"type": "string"}},
            "flags": {"type": "array"},
            "resolution": {"type": ["string", "null"]},
        },
    },
    "ModerationLogEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "created_at": {"type": "string"},
            "action": {"type": "string"},
            "by": {"type": ["object", "null"]},
            "automatic": {"type": "boolean"},
            "target": {"type": "object"},
            "reason": {"type": ["string", "null"]},
            "details": {"type": ["string", "null"]},
        },
    },
    "Sanction": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "reason": {"type": "string"},
            "ends_at": {"type": ["string", "null"]},
        },
    },
}
QUEUE_PARAMS = [
    choice_param("kind", "One kind of item; every kind by default", [k.value for k in ReviewKind]),
    choice_param("status", "open (default) or resolved", [s.value for s in ReviewStatus]),
    CURSOR,
]
OPENAPI_PATHS = {
    "/redactions": {
        "post": op(
            "Erase personal details from your own post, answer or comment (or one revision of it); moderators too. "
            "The public log says what kind went, never the text (rate limited per user)",
            body=body_schema(
                {"target_type": {"enum": ["post", "answer", "comment"]}, "target_id": ID},
                {
                    "revision": {**ID, "description": "A revision number of a post or answer; none: the current text"},
                    "fragments": {**TEXTS, "maxItems": 100, "description": "Exact text; none: what the guard finds"},
                },
            ),
            errors=("401", "403", "404", "422"),
        ),
    },
    "/flags": {
        "post": op(
            "Flag a post, answer, comment, chat message or member (rate limited per user)",
            status="201",
            body=body_schema(
                {
                    "target_type": {"enum": ["user", "post", "answer", "comment", "chat_message"]},
                    "target_id": ID,
                    "reason": {"enum": [r.value for r in FlagReason]},
                },
                {
                    "details": {**TEXT, "description": "Required with reason 'other'"},
                    "community": {**TEXT, "description": "For a member: the slug of a community you share"},
                    "confirm_phi": PHI_CONFIRM,
                },
            ),
        ),
    },
    "/communities/{slug}/review-queue": {
        "get": op(
            "The community's review queue (its moderators): each item with its allowed actions",
            params=[SLUG, *QUEUE_PARAMS],
            response=page_of(ref("ReviewItem")),
        ),
    },
    "/review-queue": {
        "get": op(
            "Every item I may review (site-wide for site admins)",
            params=QUEUE_PARAMS,
            response=page_of(ref("ReviewItem")),
        ),
    },
    "/review-items/{item_id}": {
        "get": op(
            "One item with the original text (reading hidden content or evidence is audited)",
            params=[ITEM_ID],
            response=ref("ReviewItem"),
            errors=("401", "404"),
        ),
    },
    "/review-items/{item_id}/actions": {
        "post": op(
            "Act on an item with the version you saw; 409 if someone else handled it first",
            params=[ITEM_ID],
            response=ref("ReviewItem"),
            errors=("401", "403", "404", "409", "422"),
            body=body_schema(
                {
                    "action": {
                        "enum": ["dismiss", "hide", "restore", "redact", "warn", "mute", "suspend", "approve", "reject"]
                    },
                    "version": COUNT,
                },
                {
                    "reason": TEXT,
                    "days": {**COUNT, "description": "mute: 1, 3, 7, 30; suspend: 1, 7, 30, 365, 0"},
                    "fragments": {**TEXTS, "maxItems": 100, "description": "redact: exact text to remove"},
                    "revision_id": ID,
                    "hide": BOOLEAN,
                },
            ),
        ),
    },
    "/communities/{slug}/moderation-log": {
        "get": op(
            "The community's public moderation log, newest first",
            auth=False,
            params=[SLUG, CURSOR],
            response=page_of(ref("ModerationLogEntry")),
            errors=("403", "404", "422"),
        ),
    },
    "/me/sanctions": {"get": op("My warnings, mutes and suspensions", errors=("401",))},
    "/me/export": {"get": op("Everything I wrote and my profile, as JSON (audited)", errors=("401",))},
    "/me": {
        "delete": op(
            "Delete my account: {password, mode: keep|remove}",
            status="204",
            errors=("401", "422"),
            body=body_schema({"password": TEXT, "mode": {"enum": list(my_data.DELETE_MODES)}}),
        ),
    },
}
