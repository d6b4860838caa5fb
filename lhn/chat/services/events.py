"""Chat's live protocol (docs/realtime.md): its event names, the channel room, and a message as every
event, replay and API answer carries it, with its markup for the room (rendered by the page's own
template, chat/_message.html). Events go out after commit (lhn.realtime.emit_after_commit)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from flask import current_app, get_template_attribute, has_request_context

from lhn.accounts.badges import person_json
from lhn.chat.models import ChatMessage
from lhn.communities.models import CommunityRole
from lhn.database import iso_or_none
from lhn.realtime import emit_after_commit

# Client -> server. Each may carry an ack callback; the ack is {"ok": true, ...} or
# {"ok": false, "error": {"code", "message", "fields"?}}.
JOIN_CHANNEL = "join_channel"  # {channel_id, last_id?, last_seq?} -> {ok, channel, messages, last_seq, ...}
LEAVE_CHANNEL = "leave_channel"  # {channel_id}
SEND_MESSAGE = "send_message"  # {channel_id, client_id, body, confirm_phi?} -> {ok, id, seq}
EDIT_MESSAGE = "edit_message"  # {message_id, body, confirm_phi?} -> {ok, id}
DELETE_MESSAGE = "delete_message"  # {message_id} -> {ok, id}
TYPING = "typing"  # {channel_id}; also server -> client {channel_id, user | null}
SYNC = "sync"  # {channel_id, last_id?, last_seq?} -> same answer as join_channel
MARK_READ = "mark_read"  # {channel_id, last_id}
# Server -> client.
MESSAGE_CREATED = "message_created"  # a message payload (below)
MESSAGE_UPDATED = "message_updated"  # the whole message again: edited, hidden or unhidden
MESSAGE_DELETED = "message_deleted"  # the message as a tombstone (deleted: true, no body)
CHANNEL_UPDATED = "channel_updated"  # {channel_id, slow_mode_seconds}: a moderator changed slow mode
PRESENCE = "presence"  # {channel_id, count, online: [person] | null (patient spaces: count only)}


def channel_room(channel_id: int) -> str:
    """Joined by a socket after the membership check (join_channel), never by a name the client sent."""
    return f"channel:{channel_id}"


def person_payload(user: Any, community_role: Any = None) -> dict[str, Any] | None:
    """A person's badge as the live events carry it (the API's person_json)."""
    if user is None:
        return None
    return person_json(user, getattr(community_role, "value", community_role))


def message_payload(message: Any, *, sender_role: Any = None, show_hidden: bool = False) -> dict[str, Any]:
    """One chat message, as every event, replay and API answer carries it.

    `seq` is the channel event number of the message's latest change (gap detection and sync).
    Deleted messages carry no body. Hidden ones carry their body only when `show_hidden` (the
    author and the community's moderators); everyone else gets the reason for the placeholder.
    """
    hidden = message.hidden_at is not None
    deleted = message.deleted_at is not None
    with_body = not deleted and (not hidden or show_hidden)
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "seq": message.change_seq,
        "client_id": message.client_id,
        "sender": person_payload(message.sender, sender_role),
        "body": message.body if with_body else None,
        "body_html": message.body_html if with_body else None,
        "created_at": message.created_at.isoformat(),
        "edited_at": iso_or_none(message.edited_at),
        "deleted": deleted,
        "hidden": {"reason": message.hidden_reason, "at": message.hidden_at.isoformat()} if hidden else None,
    }


def render_fragment(template: str, macro: str, *args: Any, **kwargs: Any) -> str:
    """A macro of a template, rendered outside any page: its links need a request to be built, and an event
    may come from the CLI or a background task (a relative URL depends on no request's details)."""
    with nullcontext() if has_request_context() else current_app.test_request_context():
        return str(get_template_attribute(template, macro)(*args, **kwargs))


def message_html(message: ChatMessage, role: CommunityRole | None) -> str:
    """The message's markup for everyone in the room: the page's template with every reader's parts, which
    the page narrows to its reader (static/js/chat/render.js). No hidden text, no CSRF token."""
    return render_fragment("chat/_message.html", "chat_message", message, role)


def message_event(message: ChatMessage, role: CommunityRole | None, **payload_options: Any) -> dict[str, Any]:
    """What live events and the join answer carry: the payload, and the message's markup as `html`."""
    return {**message_payload(message, sender_role=role, **payload_options), "html": message_html(message, role)}


def emit_message(event: str, message: ChatMessage, role: CommunityRole | None) -> None:
    # The room gets the public view: a hidden message's text goes only to those who fetch it.
    emit_after_commit(event, message_event(message, role), to=channel_room(message.channel_id))
