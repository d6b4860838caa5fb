"""This process's open sockets (SocketUser), the hooks features plug in (SocketFeature), and the
upkeep that vouches for them in the shared state and checks them against the database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import select

from lhn.accounts.models import ApiToken, User
from lhn.database import mark_read_only
from lhn.extensions import db, socketio
from lhn.realtime.queue import QueueManager
from lhn.realtime.state import REFRESH, MemoryState, RedisState

if TYPE_CHECKING:
    from flask_socketio import SocketIO

log = logging.getLogger(__name__)
REVALIDATE = 5.0  # seconds between checks of this process's sockets against the database (scale-out)


@dataclass
class SocketUser:
    """What the server remembers about one open socket (in the process that holds it)."""

    user_id: int
    session_version: int
    show_presence: bool
    username: str = ""
    display_name: str = ""
    token_id: int | None = None  # the personal access token it opened with (None: a session cookie)
    rooms: set[str] = field(default_factory=set)  # watched rooms ("post:12")
    features: dict[str, Any] = field(default_factory=dict)  # each feature's own state, by feature name


Sockets = list[tuple[str, SocketUser]]


@dataclass(frozen=True)
class SocketFeature:
    """What a feature plugs into the socket server (the app factory passes them to init_socketio).

    `events`: its client -> server events and their handlers. `on_disconnect(socket, sid)` when a socket
    closes; `on_refresh(sockets, state)` every REFRESH seconds in message-queue mode (vouch again for its
    entries in the shared state);
    `on_revalidate(sockets)` every REVALIDATE seconds, inside an app context, with the sockets whose
    session is still valid (leave the rooms their user may no longer read).
    """

    name: str
    events: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    on_disconnect: Callable[[SocketUser, str], None] | None = None
    on_refresh: Callable[[Sockets, MemoryState | RedisState], None] | None = None
    on_revalidate: Callable[[Sockets], None] | None = None

    def register(self, sio: SocketIO) -> None:
        for event, handler in self.events.items():
            sio.on_event(event, handler)


class SocketHub:
    """Per app: this process's sockets, the shared state (memory or Redis), the features and upkeep."""

    def __init__(self, app: Flask, features: list[SocketFeature]) -> None:
        self.threading = app.config["SOCKETIO_ASYNC_MODE"] == "threading"
        self.max_sockets = int(app.config["MAX_SOCKETS"])
        self.local: dict[str, SocketUser] = {}
        self.lock = threading.Lock()
        queue = app.config.get("SOCKETIO_MESSAGE_QUEUE")
        prefix = app.config.get("REALTIME_KEY_PREFIX") or "lhn"
        self.state: MemoryState | RedisState = RedisState(queue, prefix) if queue else MemoryState()
        self.features = list(features)
        self._upkeep_started = False
        self.app = app

    def attach(self, sid: str, socket_user: SocketUser) -> bool:
        """Remember a new socket; False when the threading-mode cap is reached."""
        with self.lock:
            if self.threading and len(self.local) >= self.max_sockets:
                return False
            self.local[sid] = socket_user
        self.state.add_socket(sid, socket_user.user_id)
        return True

    def detach(self, sid: str) -> SocketUser | None:
        with self.lock:
            socket_user = self.local.pop(sid, None)
        if socket_user is not None:
            self.state.remove_socket(sid, socket_user.user_id)
        return socket_user

    def get(self, sid: str) -> SocketUser | None:
        with self.lock:
            return self.local.get(sid)

    def count(self) -> int:
        with self.lock:
            return len(self.local)

    def snapshot(self) -> Sockets:
        with self.lock:
            return list(self.local.items())

    # Upkeep (message-queue mode only): vouch for this process's entries and heal queue outages.
    def start_upkeep(self) -> None:
        if self._upkeep_started or not isinstance(self.state, RedisState):
            return
        self._upkeep_started = True
        socketio.start_background_task(self._upkeep)

    def _upkeep(self) -> None:
        last_refresh = last_check = 0.0
        while True:
            socketio.sleep(1)
            try:
                now = time.monotonic()
                if now - last_refresh >= REFRESH:
                    last_refresh = now
                    self.refresh(self.snapshot())
                if now - last_check >= REVALIDATE:
                    last_check = now
                    self.revalidate(self.snapshot())
                manager = socketio.server.manager if socketio.server else None
                if isinstance(manager, QueueManager):
                    manager.recover()
            except Exception:  # the loop must survive anything; the next tick tries again
                log.exception("realtime upkeep failed")

    def refresh(self, sockets: Sockets) -> None:
        """Vouch again in the shared state for this process's sockets, and for the features' entries."""
        self.state.refresh([(sid, s.user_id) for sid, s in sockets], [])
        for feature in self.features:
            if feature.on_refresh is not None:
                feature.on_refresh(sockets, self.state)

    def revalidate_soon(self) -> None:
        socketio.start_background_task(lambda: self.revalidate(self.snapshot()))

    def revalidate(self, sockets: Sockets) -> None:
        """Safety net for lost queue messages: close sockets whose session ended or whose token was revoked, and let
        the features check the rooms of the others. One query here for all of this process's sockets (two when
        some opened with a token)."""
        if not sockets:
            return
        with self.app.app_context():
            try:
                mark_read_only()
                ids = {s.user_id for _, s in sockets}
                versions = dict(db.session.execute(select(User.id, User.session_version).where(User.id.in_(ids))).all())
                tokens = {s.token_id for _, s in sockets if s.token_id is not None}
                gone = select(ApiToken.id).where(ApiToken.id.in_(tokens), ApiToken.revoked_at.is_not(None))
                revoked = set(db.session.scalars(gone)) if tokens else set()
                ended = [
                    sid for sid, s in sockets if versions.get(s.user_id) != s.session_version or s.token_id in revoked
                ]
                for sid in ended:
                    socketio.server.disconnect(sid, namespace="/", ignore_queue=True)
                alive = [(sid, s) for sid, s in sockets if sid not in ended]
                for feature in self.features:
                    if feature.on_revalidate is not None:
                        feature.on_revalidate(alive)
            finally:
                db.session.remove()


def hub() -> SocketHub:
    installed: SocketHub = current_app.extensions["lhn_sockets"]
    return installed
