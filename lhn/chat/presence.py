"""Who is online in a channel: ephemeral, kept in the shared socket state (memory or Redis), never in
the database. People who opted out are neither listed nor counted; patient spaces show a count only.

Each person's badge is remembered in the shared state when their socket first joins a channel, so a presence
snapshot needs no database query. Changes are broadcast at most once per PRESENCE_DELAY per channel
and process, and less often in big rooms (one second per 50 people, up to 15 s): a crowd joining at
once costs a few snapshots, not one per person — presence is quadratic otherwise (each change goes to
everyone in the room).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from lhn.accounts.badges import person_json
from lhn.accounts.models import User
from lhn.chat.services import channel_room
from lhn.chat.services.events import PRESENCE, render_fragment
from lhn.extensions import socketio
from lhn.realtime import MemoryState, PresenceEntry, RedisState, Sockets, SocketUser, hub

PRESENCE_DELAY = 1.0  # seconds
MAX_DELAY = 15.0
MAX_NAMES = 50  # beyond this the panel shows the count and the first names

_pending: set[tuple[int, int]] = set()  # (id(state), channel id) with a broadcast scheduled
_pending_lock = threading.Lock()


@dataclass
class ChatSocket:
    """What chat remembers about one open socket (SocketUser.features["chat"])."""

    person: dict[str, Any] | None = None  # the badge shown in "who is online"
    channels: set[int] = field(default_factory=set)  # channels joined after the membership check
    patient_spaces: set[int] = field(default_factory=set)  # joined channels that show counts, not names


def chat_socket(socket: SocketUser) -> ChatSocket:
    found: ChatSocket = socket.features.setdefault("chat", ChatSocket())
    return found


def named_typing(socket: SocketUser, channel_id: int) -> bool:
    """Typing shows a name unless the person hides their presence or it is a patient space."""
    return socket.show_presence and channel_id not in chat_socket(socket).patient_spaces


def _state() -> MemoryState | RedisState:
    return hub().state


def snapshot(channel_id: int, *, patient_space: bool, state: Any = None) -> dict[str, Any]:
    """{channel_id, count, online}: online is a list of people (by name), or None in patient spaces."""
    state = state or _state()
    visible = sorted({e.user_id for e in state.presence(channel_id) if e.visible})
    data: dict[str, Any] = {"channel_id": channel_id, "count": len(visible), "online": None}
    if not patient_space:
        people = state.people(visible)
        data["online"] = sorted(people.values(), key=lambda p: p["display_name"].lower())[:MAX_NAMES]
    return data


def joined(socket: SocketUser, user: User, sid: str, channel_id: int, *, patient_space: bool) -> None:
    mine, state = chat_socket(socket), _state()
    if socket.show_presence:  # people who hide their presence are never listed: no badge to draw
        if mine.person is None:  # drawn once a socket, so that a presence snapshot runs no query
            mine.person = _badge(user)
        state.remember_person(socket.user_id, mine.person)
    state.presence_add(channel_id, PresenceEntry(socket.user_id, sid, socket.show_presence))
    if socket.show_presence:
        schedule_broadcast(channel_id, patient_space=patient_space)


def _badge(user: User) -> dict[str, Any]:
    """The person's badge as every page draws it, for the list (chat/render.js)."""
    person = person_json(user)
    person["html"] = render_fragment("_macros/badges.html", "person", user, show_institution=False)
    return person


def left(socket: SocketUser, sid: str, channel_id: int) -> None:
    _state().presence_remove(channel_id, socket.user_id, sid)
    if socket.show_presence:
        schedule_broadcast(channel_id, patient_space=channel_id in chat_socket(socket).patient_spaces)


def left_everywhere(socket: SocketUser, sid: str) -> None:
    """A socket closed: it leaves every channel it had joined."""
    mine = chat_socket(socket)
    for channel_id in list(mine.channels):
        left(socket, sid, channel_id)
    mine.channels.clear()


def refresh(sockets: Sockets, state: MemoryState | RedisState) -> None:
    """Vouch again in Redis for this process's presence entries and the badges of its visible people."""
    mine = [(sid, s, chat_socket(s)) for sid, s in sockets]
    state.refresh(
        [], [(cid, PresenceEntry(s.user_id, sid, s.show_presence)) for sid, s, c in mine for cid in c.channels]
    )
    state.remember_people({s.user_id: c.person for _, s, c in mine if c.person and s.show_presence})


def schedule_broadcast(channel_id: int, *, patient_space: bool) -> None:
    state = _state()
    key = (id(state), channel_id)
    with _pending_lock:
        if key in _pending:
            return
        _pending.add(key)
    delay = min(MAX_DELAY, max(PRESENCE_DELAY, len(state.presence(channel_id)) / 50))
    socketio.start_background_task(_broadcast_later, state, channel_id, patient_space, delay)


def _broadcast_later(state: Any, channel_id: int, patient_space: bool, delay: float) -> None:
    socketio.sleep(delay)
    with _pending_lock:
        _pending.discard((id(state), channel_id))
    socketio.emit(PRESENCE, snapshot(channel_id, patient_space=patient_space, state=state), to=channel_room(channel_id))
