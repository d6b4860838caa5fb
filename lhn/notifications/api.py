"""Notifications over JSON: notices, what I follow, my preferences and my next digest."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from lhn import inputs
from lhn.api import bp, json_body, page_json, require_user
from lhn.api.openapi import CURSOR, ID, body_schema, op, page_of, path_param, query_param
from lhn.database import transactional
from lhn.notifications import services as notifications
from lhn.notifications.models import Follow, Notification
from lhn.notifications.services import Preferences


def notification_json(notice: Notification) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "text": notice.text,
        "url": notice.url,
        "actor": notice.actor.username if notice.actor else None,
        "created_at": notice.created_at.isoformat(),
        "read": notice.read_at is not None,
    }


@bp.get("/notifications")
def list_notifications() -> ResponseReturnValue:
    user, unread_only, cursor = require_user(), inputs.arg_bool("unread"), inputs.arg_cursor()
    page = notifications.list_notifications(user, unread_only=unread_only, cursor=cursor)
    data = page_json([notification_json(n) for n in page.items], page.next_cursor)
    return jsonify({**data, "unread": notifications.unread_count(user)})


@bp.post("/notifications/read")
@transactional
def mark_read() -> ResponseReturnValue:
    user = require_user()
    ids = inputs.ident_list(json_body(), "ids", None) if request.get_data() else None
    changed = notifications.mark_read(user, ids)
    return jsonify(marked=changed, unread=notifications.unread_count(user))


def follow_json(row: Follow) -> dict[str, Any]:
    return {"target_type": row.target_type, "target_id": row.target_id, "community_id": row.community_id,
            "created_at": row.created_at.isoformat()}  # fmt: skip


def preferences_json(prefs: Preferences) -> dict[str, Any]:
    return {"deliveries": prefs.deliveries, "time_zone": prefs.time_zone, "quiet_start": prefs.quiet_start,
            "quiet_end": prefs.quiet_end}  # fmt: skip


@bp.get("/follows")
def list_follows() -> ResponseReturnValue:
    return jsonify(items=[follow_json(f) for f in notifications.list_follows(require_user())])


@bp.post("/follows")
@transactional
def follow() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    kind = inputs.choice(data, "target_type", notifications.TARGET_TYPES)
    return jsonify(follow_json(notifications.follow(user, kind, inputs.ident(data, "target_id"))))


@bp.delete("/follows/<target_type>/<int:target_id>")
@transactional
def unfollow(target_type: str, target_id: int) -> ResponseReturnValue:
    return jsonify(followed=notifications.unfollow(require_user(), target_type, target_id))


@bp.get("/notifications/preferences")
def get_preferences() -> ResponseReturnValue:
    return jsonify(preferences_json(notifications.get_preferences(require_user())))


@bp.patch("/notifications/preferences")
@transactional
def update_preferences() -> ResponseReturnValue:
    user, data = require_user(), json_body()
    deliveries = inputs.text_map(data, "deliveries", None)
    clear = "quiet_start" in data and data["quiet_start"] is None and data.get("quiet_end") is None
    prefs = notifications.update_preferences(
        user, deliveries=deliveries, time_zone=inputs.text(data, "time_zone", None),
        quiet_start=inputs.integer(data, "quiet_start", None, maximum=23),
        quiet_end=inputs.integer(data, "quiet_end", None, maximum=23), clear_quiet=clear,
    )  # fmt: skip
    return jsonify(preferences_json(prefs))


@bp.get("/notifications/digest")
def digest_preview() -> ResponseReturnValue:
    digests = notifications.preview(require_user())
    return jsonify({period: [{"id": i.notice_id, "text": i.line, "url": i.link, "category": i.category}
                             for i in items] for period, items in digests.items()})  # fmt: skip


NOTIFICATION = {"type": "object", "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                "text": {"type": "string"}, "url": {"type": "string"}, "read": {"type": "boolean"}}}  # fmt: skip
TARGET_TYPE = {"enum": ["post", "measure", "channel", "community"]}
FOLLOW = {
    "type": "object",
    "properties": {
        "target_type": TARGET_TYPE,
        "target_id": {"type": "integer"},
        "community_id": {"type": "integer"},
        "created_at": {"type": "string"},
    },
}
DELIVERY = {"enum": ["site", "email", "daily", "weekly", "never"]}
CATEGORY_DELIVERIES = {
    "type": "object",
    "properties": dict.fromkeys(("replies", "following", "mentions", "account", "reminders"), DELIVERY),
    "additionalProperties": False,
}
PREFERENCES = {
    "type": "object",
    "properties": {
        "deliveries": CATEGORY_DELIVERIES,
        "time_zone": {"type": "string"},
        "quiet_start": {"type": ["integer", "null"]},
        "quiet_end": {"type": ["integer", "null"]},
    },
}
HOUR = {"type": "integer", "minimum": 0, "maximum": 23}
OPENAPI_SCHEMAS = {"Notification": NOTIFICATION, "Follow": FOLLOW, "NotificationPreferences": PREFERENCES}
OPENAPI_PATHS = {
    "/notifications": {
        "get": op("My notifications, newest first, with the unread count; `unread=1` for unread only",
                  response=page_of({"$ref": "#/components/schemas/Notification"}), errors=("401", "422"),
                  params=[query_param("unread", "1 or true for unread only", {"enum": ["", "0", "1", "false", "true"]}),
                          CURSOR]),
    },
    "/notifications/read": {
        "post": op("Mark notifications read: {\"ids\": [...]} or an empty body for all", errors=("401", "422"),
                   body=body_schema(optional={"ids": {"type": "array", "items": ID, "maxItems": 500}}),
                   body_required=False),
    },
    "/follows": {
        "get": op("What I follow, newest first", response={"type": "object", "properties": {"items": {
                  "type": "array", "items": {"$ref": "#/components/schemas/Follow"}}}}, errors=("401",)),
        "post": op("Follow a post, measure, channel or community I may read (idempotent)",
                   body=body_schema(required={"target_type": TARGET_TYPE, "target_id": ID}),
                   response={"$ref": "#/components/schemas/Follow"}),
    },
    "/follows/{target_type}/{target_id}": {
        "delete": op("Stop following (idempotent): {\"followed\": whether I did}", errors=("401", "404", "422"),
                     params=[path_param("target_type"), path_param("target_id", "integer")]),
    },
    "/notifications/preferences": {
        "get": op("My notification preferences (defaults for my role filled in)", errors=("401",),
                  response={"$ref": "#/components/schemas/NotificationPreferences"}),
        "patch": op("Change my preferences: deliveries per category, time zone (IANA), quiet hours (both null: off)",
                    body=body_schema(optional={"deliveries": CATEGORY_DELIVERIES, "time_zone": {"type": "string",
                                     "maxLength": 64}, "quiet_start": HOUR, "quiet_end": HOUR}),
                    response={"$ref": "#/components/schemas/NotificationPreferences"}, errors=("401", "422")),
    },
    "/notifications/digest": {
        "get": op("What my next daily and weekly digests would list now", errors=("401",)),
    },
}  # fmt: skip
