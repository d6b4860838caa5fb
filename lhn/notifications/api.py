"""Notifications over JSON."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from lhn import inputs
from lhn.api import bp, json_body, page_json, require_user
from lhn.api.openapi import CURSOR, ID, body_schema, op, page_of, query_param
from lhn.database import transactional
from lhn.notifications import services as notifications
from lhn.notifications.models import Notification


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
def list_notifications():  # type: ignore[no-untyped-def]
    user, unread_only, cursor = require_user(), inputs.arg_bool("unread"), inputs.arg_cursor()
    page = notifications.list_notifications(user, unread_only=unread_only, cursor=cursor)
    data = page_json([notification_json(n) for n in page.items], page.next_cursor)
    return jsonify({**data, "unread": notifications.unread_count(user)})


@bp.post("/notifications/read")
@transactional
def mark_read():  # type: ignore[no-untyped-def]
    user = require_user()
    ids = inputs.ident_list(json_body(), "ids", None) if request.get_data() else None
    changed = notifications.mark_read(user, ids)
    return jsonify(marked=changed, unread=notifications.unread_count(user))


NOTIFICATION = {"type": "object", "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                "text": {"type": "string"}, "url": {"type": "string"}, "read": {"type": "boolean"}}}  # fmt: skip
OPENAPI_SCHEMAS = {"Notification": NOTIFICATION}
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
}  # fmt: skip
