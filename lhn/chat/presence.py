"""Who is online in a channel: ephemeral, kept in the shared socket state (memory or Redis), never in
the database. People who opted out are neither listed nor counted; patient spaces show a count only.

Each person's badge is remembered in the shared state when their socket connects, so a presence
snapshot needs no database query. Changes are broadcast at most once per PRESENCE_DELAY per channel
and process, and less often in big rooms (one second per 50 people, up to 15 s): a crowd joining at
once costs a few snapshots, not one per person — presence is quadratic otherwise (each change goes to
everyone in the room).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import current_app

from lhn.extensions import socketio
from lhn.realtime import PRESENCE, channel_room
from lhn.socket_state import PresenceEntry

if TYPE_CHECKING:
    from lhn.socket_state import MemoryState, RedisState
    from lhn.sockets import SocketUser

PRESENCE_DELAY = 1.0  # seconds
MAX_DELAY = 15.0
MAX_NAMES = 50  # beyond this the panel shows the count and the first names

_pending: set[tuple[int, int]] = set()  # (id(state), channel id) with a broadcast scheduled
_pending_lock = threading.Lock()


def _state() -> MemoryState | RedisState:
    return current_app.extensions["lhn_sockets"].state


def snapshot(channel_id: int, *, patient_space: bool, state: Any = None) -> dict[str, Any]:
    """{channel_id, count, online}: online is a list of people (by name), or None in patient spaces."""
    state = state or _state()
    visible = sorted({e.user_id for e in state.presence(channel_id) if e.visible})
    data: dict[str, Any] = {"channel_id": channel_id, "count": len(visible), "online": None}
    if not patient_space:
        people = state.people(visible)
        data["online"] = sorted(people.values(), key=lambda p: p["display_name"].lower())[:MAX_NAMES]
    return data


def joined(socket: SocketUser, sid: str, channel_id: int, *, patient_space: bool) -> None:
    state = _state()
    if socket.show_presence and socket.person:
        state.remember_person(socket.user_id, socket.person)
    state.presence_add(channel_id, PresenceEntry(socket.user_id, sid, socket.show_presence))
    if socket.show_presence:
        schedule_broadcast(channel_id, patient_space=patient_space)


def left(socket: SocketUser, sid: str, channel_id: int) -> None:
    _state().presence_remove(channel_id, socket.user_id, sid)
    if socket.show_presence:
        schedule_broadcast(channel_id, patient_space=channel_id in socket.patient_spaces)


def left_everywhere(socket: SocketUser, sid: str) -> None:
    for channel_id in list(socket.channels):
        left(socket, sid, channel_id)
    socket.channels.clear()


def presence_entries(sockets: list[tuple[str, SocketUser]]) -> list[tuple[int, PresenceEntry]]:
    """This process's presence entries, for the periodic refresh in Redis."""
    return [(cid, PresenceEntry(s.user_id, sid, s.show_presence)) for sid, s in sockets for cid in s.channels]


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
