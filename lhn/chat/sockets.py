"""Chat's Socket.IO events (protocol in docs/realtime.md). Thin: parse, call a service, commit, answer.

Errors raised here become an `error` event plus a failed ack ({ok: false, error}) in lhn.realtime.
FEATURE plugs the events and chat's connect, disconnect, refresh and revalidation hooks into the server.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from flask_socketio import emit, join_room, leave_room
from sqlalchemy import select

from lhn import inputs
from lhn.accounts.models import User
from lhn.chat import limits as chat_limits
from lhn.chat import permissions, presence
from lhn.chat import services as chat
from lhn.chat.models import Channel
from lhn.chat.presence import chat_socket
from lhn.chat.services import channel_room
from lhn.chat.services.events import (
    DELETE_MESSAGE,
    EDIT_MESSAGE,
    JOIN_CHANNEL,
    LEAVE_CHANNEL,
    MARK_READ,
    SEND_MESSAGE,
    SYNC,
    TYPING,
)
from lhn.communities.models import Membership
from lhn.database import end_snapshot, keep_loaded, mark_read_only, transaction
from lhn.errors import NotFound
from lhn.extensions import db, socketio
from lhn.realtime import SocketFeature, Sockets
from lhn.realtime.server import current_sid, int_field, load_user, ok, payload, socket_user

TYPING_INTERVAL = 2.0  # seconds: a socket's typing events closer than this are dropped
_last_typing: dict[tuple[str, int], float] = {}


def on_join_channel(data: Any = None) -> dict[str, Any]:
    """Join a channel's room after the membership check, then answer with what the client missed.

    The room is joined before history is read, so nothing falls between the two (duplicates are
    dropped by id on the client).
    """
    mark_read_only()
    data = payload(data, "channel_id")
    channel_id = int_field(data, "channel_id")
    last_id = int_field(data, "last_id", required=False)
    last_seq = int_field(data, "last_seq", required=False)
    user = load_user()
    channel, membership = chat.get_channel(channel_id, by=user)
    join_room(channel_room(channel.id))
    end_snapshot()  # the checks above stand; what changes (the channel's last event) is read again below
    result = chat.replay(channel, last_id=last_id, last_seq=last_seq)
    roles = chat.sender_roles(channel.community_id, result.messages)
    socket = socket_user()
    mine = chat_socket(socket)
    if channel.id not in mine.channels:
        mine.channels.add(channel.id)
        if channel.is_patient_space:
            mine.patient_spaces.add(channel.id)
        presence.joined(socket, user, current_sid(), channel.id, patient_space=channel.is_patient_space)
    return ok(
        channel=chat.channel_json(channel, slow_mode=result.slow_mode),
        messages=[
            chat.message_json(m, viewer=user, membership=membership, roles=roles, html=True) for m in result.messages
        ],
        last_seq=result.last_seq,
        has_more=result.has_more,
        reset=result.reset,
        presence=presence.snapshot(channel.id, patient_space=channel.is_patient_space),
    )


def on_leave_channel(data: Any = None) -> dict[str, Any]:
    mark_read_only()
    channel_id = int_field(payload(data, "channel_id"), "channel_id")
    socket = socket_user()
    mine = chat_socket(socket)
    if channel_id in mine.channels:
        leave_room(channel_room(channel_id))
        presence.left(socket, current_sid(), channel_id)
        mine.channels.discard(channel_id)
        mine.patient_spaces.discard(channel_id)
    return ok(channel_id=channel_id)


def on_send_message(data: Any = None) -> dict[str, Any]:
    """Store (or find, for a retry), commit, then ack with the server id; the room gets message_created."""
    data = payload(data, "channel_id", "client_id", "body")
    channel_id = int_field(data, "channel_id")
    client_id, body = inputs.text(data, "client_id"), inputs.text(data, "body")
    confirm_phi = inputs.phi_confirmed(data)
    user = load_user()  # in the event's read snapshot: the write transaction begins with the service's writes
    # Nothing reloads between the service's read and write phases (it re-reads the locked channel itself).
    with keep_loaded(), transaction():
        message, created = chat.post_message(channel_id, by=user, client_id=client_id, body=body,
                                             confirm_phi=confirm_phi)  # fmt: skip
        answer = ok(id=message.id, seq=message.seq, channel_id=message.channel_id, duplicate=not created)
    return answer


def on_edit_message(data: Any = None) -> dict[str, Any]:
    data = payload(data, "message_id", "body")
    message_id, body = int_field(data, "message_id"), inputs.text(data, "body")
    confirm_phi = inputs.phi_confirmed(data)
    with transaction():
        message = chat.edit_message(message_id, by=load_user(), body=body, confirm_phi=confirm_phi)
        answer = ok(id=message.id, seq=message.change_seq)
    return answer


def counted_write(handler: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """A socket's write that has no limit of its own counts against the "write" backstop that every HTTP write has,
    per event (Flask-Limiter sees only HTTP). Sends and edits have chat's own limit, in the service."""

    @functools.wraps(handler)
    def counted(data: Any = None) -> dict[str, Any]:
        chat_limits.hit_write(load_user(), handler.__name__)
        return handler(data)

    return counted


@counted_write
def on_delete_message(data: Any = None) -> dict[str, Any]:
    data = payload(data, "message_id")
    with transaction():
        message = chat.delete_message(int_field(data, "message_id"), by=load_user())
        answer = ok(id=message.id, seq=message.change_seq)
    return answer


@counted_write
def on_mark_read(data: Any = None) -> dict[str, Any]:
    data = payload(data, "channel_id")
    with transaction():
        user = load_user()
        channel, _ = chat.get_channel(int_field(data, "channel_id"), by=user)
        position = chat.mark_read(channel, by=user, last_id=int_field(data, "last_id", required=False))
    return ok(last_read_id=position)


def on_typing(data: Any = None) -> dict[str, Any]:
    """Tell the channel someone is typing. Only for channels this socket joined (after the membership
    check), so no query; named unless it is a patient space or the person hides their presence."""
    channel_id = int_field(payload(data, "channel_id"), "channel_id")
    socket = socket_user()
    if channel_id not in chat_socket(socket).channels:
        raise NotFound("Join the channel first.")
    key, now = (current_sid(), channel_id), time.monotonic()
    if now - _last_typing.get(key, 0.0) < TYPING_INTERVAL:
        return ok(sent=False)
    _last_typing[key] = now
    if len(_last_typing) > 10_000:  # forget old sockets now and then
        for stale in [k for k, t in _last_typing.items() if now - t > 60]:
            _last_typing.pop(stale, None)
    who = (
        {"username": socket.username, "display_name": socket.display_name}
        if presence.named_typing(socket, channel_id)
        else None
    )
    emit(TYPING, {"channel_id": channel_id, "user": who}, to=channel_room(channel_id), include_self=False)
    return ok(sent=True)


def revalidate_channels(sockets: Sockets) -> None:
    """Make this process's sockets leave channels their user may no longer read (a removal whose
    disconnect was lost in a queue outage). Called by lhn.realtime's upkeep inside an app context."""
    pairs = [(sid, s, cid) for sid, s in sockets for cid in list(chat_socket(s).channels)]
    if not pairs:
        return
    channels = {c.id: c for c in db.session.scalars(select(Channel).where(Channel.id.in_({p[2] for p in pairs})))}
    user_ids = {s.user_id for _, s, _ in pairs}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    memberships = {
        (m.user_id, m.community_id): m
        for m in db.session.scalars(select(Membership).where(Membership.user_id.in_(user_ids)))
    }
    for sid, socket, channel_id in pairs:
        channel, user = channels.get(channel_id), users.get(socket.user_id)
        membership = memberships.get((socket.user_id, channel.community_id)) if channel else None
        if channel is None or user is None or not permissions.can_read(user, channel, membership):
            socketio.server.leave_room(sid, channel_room(channel_id), namespace="/")
            presence.left(socket, sid, channel_id)
            chat_socket(socket).channels.discard(channel_id)


FEATURE = SocketFeature(
    name="chat",
    events={
        JOIN_CHANNEL: on_join_channel,
        SYNC: on_join_channel,  # the same answer; joining twice is harmless
        LEAVE_CHANNEL: on_leave_channel,
        SEND_MESSAGE: on_send_message,
        EDIT_MESSAGE: on_edit_message,
        DELETE_MESSAGE: on_delete_message,
        TYPING: on_typing,
        MARK_READ: on_mark_read,
    },
    on_disconnect=presence.left_everywhere,
    on_refresh=presence.refresh,
    on_revalidate=revalidate_channels,
)
