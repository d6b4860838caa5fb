"""Real-time, knowing no feature: event names, rooms, emit_after_commit, the Socket.IO server and the
connection state shared by processes. Features plug in their events and hooks (SocketFeature) and say
who may watch their kind of room (register_watchable).

This face is what services need (it imports no service, so any may import it); socket handlers and the
app factory take the server's helpers from lhn.realtime.server. Modules: events (names), rooms (room
names, watchable rooms), emit (after commit), hub (this process's sockets, feature hooks, upkeep), queue
(the Redis message queue), state (sockets and presence shared by processes), server (setup, connect,
helpers for handlers, errors, disconnecting a person).
"""

from lhn.extensions import socketio
from lhn.realtime.emit import call_after_commit, emit_after_commit, install_session_hooks
from lhn.realtime.events import (
    EVENT_ANSWER_POSTED,
    EVENT_ANSWER_VETTED,
    EVENT_BADGE_CHANGED,
    EVENT_ERROR,
    EVENT_NOTIFICATION,
    EVENT_VOTE_CHANGED,
    RESYNC,
    UNWATCH,
    WATCH,
)
from lhn.realtime.hub import SocketFeature, SocketHub, Sockets, SocketUser, hub
from lhn.realtime.rooms import SITE_ROOM, post_room, register_watchable, user_room, watch_room
from lhn.realtime.state import MemoryState, PresenceEntry, RedisState

__all__ = [
    "EVENT_ANSWER_POSTED", "EVENT_ANSWER_VETTED", "EVENT_BADGE_CHANGED", "EVENT_ERROR", "EVENT_NOTIFICATION",
    "EVENT_VOTE_CHANGED", "RESYNC", "SITE_ROOM", "UNWATCH", "WATCH", "MemoryState", "PresenceEntry",
    "RedisState", "SocketFeature", "SocketHub", "SocketUser", "Sockets", "call_after_commit",
    "emit_after_commit", "hub", "install_session_hooks", "post_room", "register_watchable",
    "socketio", "user_room", "watch_room",
]  # fmt: skip
