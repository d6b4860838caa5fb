"""Chat over JSON: channels, message history by keyset, sending (the same service as the socket),
editing, deleting, hiding."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, page_json, require_user
from lhn.api.openapi import BOOLEAN, COUNT, TEXT, TEXTS, body_schema, op, path_param, query_param, ref
from lhn.chat import services as chat
from lhn.communities import services as communities
from lhn.database import transactional
from lhn.limits import limited_in_service


@bp.get("/communities/<slug>/channels")
def list_channels(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    rows = chat.list_channels(community, by=require_user())
    return jsonify(items=[chat.channel_json(r.channel, unread=r.unread) for r in rows])


@bp.post("/communities/<slug>/channels")
@transactional
def create_channel(slug: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    name, topic = inputs.text(data, "name", missing=""), inputs.text(data, "topic", "")
    roles = inputs.text_list(data, "roles", [])
    channel = chat.create_channel(communities.get_community(slug), by=user, name=name, topic=topic, roles=roles)
    return created(chat.channel_json(channel, unread=0))


@bp.get("/channels/<int:channel_id>/messages")
def list_messages(channel_id: int) -> ResponseReturnValue:
    user = require_user()
    before, after = inputs.arg_int("before"), inputs.arg_int("after")  # after=0: from the first message
    limit = inputs.arg_int("limit", chat.HISTORY_PAGE, minimum=1, maximum=100)
    channel, membership = chat.get_channel(channel_id, by=user)
    page = chat.list_messages(channel, before=before, after=after, limit=limit)  # type: ignore[arg-type]
    roles = chat.sender_roles(channel.community_id, page.items)
    items = [chat.message_json(m, viewer=user, membership=membership, roles=roles) for m in page.items]
    return jsonify({**page_json(items, page.next_cursor), "last_seq": channel.last_seq})


@bp.post("/channels/<int:channel_id>/messages")
@limited_in_service  # the "chat" limit, which socket sends share
@transactional
def post_message(channel_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    client_id = inputs.text(data, "client_id", "") or uuid.uuid4().hex  # send one to make retries safe
    body, confirm_phi = inputs.text(data, "body", missing=""), inputs.phi_confirmed(data)
    message, was_created = chat.post_message(channel_id, by=user, client_id=client_id, body=body,
                                             confirm_phi=confirm_phi)  # fmt: skip
    return _message_answer(message, user, 201 if was_created else 200)


@bp.put("/channels/<int:channel_id>/slow-mode")
@transactional
def set_channel_slow_mode(channel_id: int) -> ResponseReturnValue:
    user, seconds = require_user(), inputs.integer(json_body(), "seconds")
    return jsonify(channel_id=channel_id, slow_mode_seconds=chat.set_channel_slow_mode(channel_id, seconds, by=user))


def _message_answer(message: Any, user: Any, status: int = 200) -> ResponseReturnValue:
    membership = communities.find_membership(current_user, message.channel.community)
    roles = chat.sender_roles(message.channel.community_id, [message])
    return jsonify(chat.message_json(message, viewer=user, membership=membership, roles=roles)), status


@bp.patch("/messages/<int:message_id>")
@limited_in_service  # the "chat" limit, which socket sends share
@transactional
def edit_message(message_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    body, confirm_phi = inputs.text(data, "body", missing=""), inputs.phi_confirmed(data)
    return _message_answer(chat.edit_message(message_id, by=user, body=body, confirm_phi=confirm_phi), user)


@bp.delete("/messages/<int:message_id>")
@transactional
def delete_message(message_id: int) -> ResponseReturnValue:
    chat.delete_message(message_id, by=require_user())
    return "", 204


@bp.post("/messages/<int:message_id>/hide")
@transactional
def hide_message(message_id: int) -> ResponseReturnValue:
    user, reason = require_user(), inputs.text(json_body(), "reason", missing="")
    return _message_answer(chat.hide_message(message_id, by=user, reason=reason), user)


@bp.delete("/messages/<int:message_id>/hide")
@transactional
def unhide_message(message_id: int) -> ResponseReturnValue:
    user = require_user()
    return _message_answer(chat.unhide_message(message_id, by=user), user)


CHANNEL_ID = path_param("channel_id", "integer")
MESSAGE_ID = path_param("message_id", "integer")
CONFIRM_PHI = {
    **BOOLEAN,
    "description": "Publish although the PHI guard found likely identifiers "
    "(422 phi_confirmation_required with `kinds` otherwise)",
}
MESSAGE_BODY = {**TEXT, "maxLength": 4000}
CLIENT_ID_PATTERN = chat.CLIENT_ID_RE.pattern
BODY = body_schema({"body": MESSAGE_BODY}, {"confirm_phi": CONFIRM_PHI})
OPENAPI_SCHEMAS = {
    "Channel": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "community": {"type": "string"}, "name": {"type": "string"},
            "topic": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
            "audience": {"type": "string"}, "is_general": {"type": "boolean"},
            "patient_space": {"type": "boolean"}, "unread": {"type": "integer"},
        },
    },
    "ChatMessage": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "channel_id": {"type": "integer"},
            "seq": {"type": "integer", "description": "Channel event number of the latest change"},
            "client_id": {"type": "string"}, "sender": {"anyOf": [ref("Person"), {"type": "null"}]},
            "body": {"type": ["string", "null"]}, "body_html": {"type": ["string", "null"]},
            "created_at": {"type": "string"}, "edited_at": {"type": ["string", "null"]},
            "deleted": {"type": "boolean"},
            "hidden": {"anyOf": [{"type": "object", "properties": {"reason": {"type": "string"},
                                                                  "at": {"type": "string"}}},
                                 {"type": "null"}]},
        },
    },
}  # fmt: skip
OPENAPI_PATHS = {
    "/communities/{slug}/channels": {
        "get": op("Chat channels I may read, with unread counts (members only)", tag="chat",
                  response={"type": "object", "properties": {"items": {"type": "array", "items": ref("Channel")}}},
                  params=[path_param("slug")]),
        "post": op("Add a channel, optionally limited to roles (moderators)", tag="chat", status="201",
                   response=ref("Channel"), params=[path_param("slug")],
                   body=body_schema({"name": TEXT}, {"topic": TEXT, "roles": {
                       **TEXTS, "maxItems": 100, "description": 'Site roles, e.g. ["clinician"]; none for everyone'}})),
    },
    "/channels/{channel_id}/messages": {
        "get": op("Messages oldest-first by keyset: the latest page, or `before`/`after` a message id", tag="chat",
                  response={"type": "object", "properties": {
                      "items": {"type": "array", "items": ref("ChatMessage")},
                      "next_cursor": {"type": ["string", "null"]}, "last_seq": {"type": "integer"}}},
                  params=[CHANNEL_ID, query_param("before", "Messages older than this id", COUNT),
                          query_param("after", "Messages newer than this id (0: from the first; not with before)",
                                      COUNT),
                          query_param("limit", "Up to 100 (default 50)", {**COUNT, "minimum": 1, "maximum": 100})]),
        "post": op("Send a message (201; 200 with the stored message for a retried client_id). 403 while muted; "
                   "422 in slow mode, over the new-account link limit, or phi_confirmation_required; 429 too fast",
                   tag="chat", status="201", response=ref("ChatMessage"), params=[CHANNEL_ID],
                   also={"200": "A retry: the message already stored with this client_id"},
                   errors=("401", "403", "404", "422", "429"),
                   body=body_schema({"body": MESSAGE_BODY}, {"confirm_phi": CONFIRM_PHI, "client_id": {
                       "type": "string", "pattern": CLIENT_ID_PATTERN,
                       "description": "Your id for this message; retries are safe"}})),
    },
    "/channels/{channel_id}/slow-mode": {
        "put": op("Set slow mode: one message per member every `seconds` (0 = off; moderators)", tag="chat",
                  response={"type": "object", "properties": {"channel_id": {"type": "integer"},
                                                             "slow_mode_seconds": {"type": "integer"}}},
                  params=[CHANNEL_ID], errors=("401", "403", "404", "422"),
                  body=body_schema({"seconds": {"type": "integer", "enum": list(chat.SLOW_MODE_CHOICES)}})),
    },
    "/messages/{message_id}": {
        "patch": op("Edit my message", tag="chat", response=ref("ChatMessage"), params=[MESSAGE_ID], body=BODY),
        "delete": op("Delete my message (its text is erased)", tag="chat", status="204", params=[MESSAGE_ID]),
    },
    "/messages/{message_id}/hide": {
        "post": op("Hide a message with a reason (moderators)", tag="chat", response=ref("ChatMessage"),
                   params=[MESSAGE_ID], errors=("401", "403", "404", "409", "422"),
                   body=body_schema({"reason": TEXT})),
        "delete": op("Show a hidden message again (moderators)", tag="chat", response=ref("ChatMessage"),
                     params=[MESSAGE_ID], errors=("401", "403", "404", "409")),
    },
}  # fmt: skip
