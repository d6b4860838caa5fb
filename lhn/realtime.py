"""Room names, event names and payloads, and emit_after_commit: events leave only after a commit.

Rooms are computed by the server, never taken from a client: `user:<id>` (a person's own sockets),
`community:<id>`, `channel:<id>` (chat, joined after the membership check), and watchable rooms such
as `post:<id>` that a live page asks to watch; each feature registers who may watch its kind of room
(register_watchable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lhn.extensions import db, socketio

# Server -> client events of the live pages (chat documents its own in docs/realtime.md).
EVENT_NOTIFICATION = "notification"  # {id?, kind?, text?, url?, created_at?, unread}
EVENT_ANSWER_POSTED = "answer_posted"
EVENT_ANSWER_VETTED = "answer_vetted"
EVENT_VOTE_CHANGED = "vote_changed"  # {post_id, answer_id (None for the post itself), score}
EVENT_ERROR = "error"
EVENT_BADGE_CHANGED = "badge_changed"  # {username, verification}: a verification was granted or revoked
SITE_ROOM = "site"  # every signed-in socket (badges are public: what any page may show)

# --- chat protocol (docs/realtime.md) ---------------------------------------------------------------
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
WATCH = "watch"  # {room: "post:12"} -> {ok: true} | {ok: false, error}
UNWATCH = "unwatch"  # {room}
# Server -> client.
MESSAGE_CREATED = "message_created"  # a message payload (below)
MESSAGE_UPDATED = "message_updated"  # the whole message again: edited, hidden or unhidden
MESSAGE_DELETED = "message_deleted"  # the message as a tombstone (deleted: true, no body)
CHANNEL_UPDATED = "channel_updated"  # {channel_id, slow_mode_seconds}: a moderator changed slow mode
PRESENCE = "presence"  # {channel_id, count, online: [person] | null (patient spaces: count only)}
RESYNC = "resync"  # {}: the server may have missed deliveries (message queue outage): sync every channel

_PENDING = "lhn_pending_emits"
_PENDING_CALLS = "lhn_pending_calls"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def community_room(community_id: int) -> str:
    return f"community:{community_id}"


def post_room(post_id: int) -> str:
    return f"post:{post_id}"


def channel_room(channel_id: int) -> str:
    return f"channel:{channel_id}"


# --- watchable rooms ------------------------------------------------------------------------------
# (user, object id) -> may this user watch the room of that object? Features register at import.
Authorizer = Callable[[Any, int], bool]
_watchable: dict[str, Authorizer] = {}


def register_watchable(kind: str, may_watch: Authorizer) -> None:
    _watchable[kind] = may_watch


def watch_room(user: Any, room: str) -> str | None:
    """The room to join if `user` may watch `room` ("post:12"), else None. Unknown kinds: None."""
    kind, _, raw_id = room.partition(":")
    authorizer = _watchable.get(kind)
    if authorizer is None or not raw_id.isdigit():
        return None
    return f"{kind}:{int(raw_id)}" if authorizer(user, int(raw_id)) else None


# --- payloads ----------------------------------------------------------------------------------------


def person_payload(user: Any, community_role: Any = None) -> dict[str, Any] | None:
    """A person's badge as the live events carry it (the same fields as the API's person_json)."""
    if user is None:
        return None
    from lhn.api import person_json

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
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "hidden": {"reason": message.hidden_reason, "at": message.hidden_at.isoformat()} if hidden else None,
    }


# --- emit after commit ----------------------------------------------------------------------------


def emit_after_commit(event_name: str, payload: dict[str, Any], *, to: str, namespace: str = "/") -> None:
    """Queue an event for the room `to`; it is sent once the current transaction commits.

    Nothing is sent if the transaction rolls back, so clients never see uncommitted state.
    """
    db.session.info.setdefault(_PENDING, []).append((event_name, payload, to, namespace))


def call_after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (e.g. disconnect a logged-out user's sockets)."""
    db.session.info.setdefault(_PENDING_CALLS, []).append(callback)


def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    calls = session.info.pop(_PENDING_CALLS, [])
    if pending and socketio.server is not None:
        for event_name, payload, room, namespace in pending:
            socketio.emit(event_name, payload, to=room, namespace=namespace)
    for callback in calls:
        callback()


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_CALLS, None)


_installed = False


def install_session_hooks() -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "after_commit", _send_pending)
    event.listen(Session, "after_soft_rollback", lambda session, _tx: _drop_pending(session))
    _installed = True
