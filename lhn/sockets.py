"""The Socket.IO server layer: who may connect, the user room, watchable rooms, errors for bad events,
the socket cap in threading mode, and disconnecting a person's sockets in every process.

Features add their own events in `<feature>/sockets.py` (listed in FEATURE_SOCKETS). Handlers never
use `current_user` after connect: the user id is cached per socket (Flask-Login's loader would
otherwise run on every event) and the session version is checked again when a handler loads the user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flask import Flask, current_app, has_app_context, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room
from sqlalchemy import select

from lhn import inputs, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.accounts.permissions import is_suspended
from lhn.database import mark_read_only
from lhn.errors import DomainError, NotFound, Unauthenticated, ValidationFailed
from lhn.extensions import db, socketio
from lhn.realtime import (
    EVENT_ERROR,
    RESYNC,
    SITE_ROOM,
    UNWATCH,
    WATCH,
    call_after_commit,
    person_payload,
    user_room,
    watch_room,
)
from lhn.socket_state import REFRESH, MemoryState, RedisState

log = logging.getLogger(__name__)
ASYNC_MODES = ("threading", "gevent")  # never eventlet (deprecated; see docs/deployment.md)
REVALIDATE = 5.0  # seconds between checks of this process's sockets against the database (scale-out)
INTERNAL_ERROR = "Something went wrong on our side. It has been logged; please try again."


@dataclass
class SocketUser:
    """What the server remembers about one open socket (in the process that holds it)."""

    user_id: int
    session_version: int
    show_presence: bool
    username: str = ""
    display_name: str = ""
    person: dict[str, Any] | None = None  # the badge shown in "who is online"
    channels: set[int] = field(default_factory=set)  # chat channels joined after the membership check
    patient_spaces: set[int] = field(default_factory=set)  # joined channels that show counts, not names
    rooms: set[str] = field(default_factory=set)  # watched rooms ("post:12")

    def named_typing(self, channel_id: int) -> bool:
        """Typing shows a name unless the person hides their presence or it is a patient space."""
        return self.show_presence and channel_id not in self.patient_spaces


class SocketHub:
    """Per app: this process's sockets, the shared state (memory or Redis) and upkeep."""

    def __init__(self, app: Flask) -> None:
        self.threading = app.config["SOCKETIO_ASYNC_MODE"] == "threading"
        self.max_sockets = int(app.config["MAX_SOCKETS"])
        self.local: dict[str, SocketUser] = {}
        self.lock = threading.Lock()
        queue = app.config.get("SOCKETIO_MESSAGE_QUEUE")
        prefix = app.config.get("REALTIME_KEY_PREFIX") or "lhn"
        self.state: MemoryState | RedisState = RedisState(queue, prefix) if queue else MemoryState()
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

    def snapshot(self) -> list[tuple[str, SocketUser]]:
        with self.lock:
            return list(self.local.items())

    # Upkeep (message-queue mode only): vouch for this process's entries and heal queue outages.
    def start_upkeep(self) -> None:
        if self._upkeep_started or not isinstance(self.state, RedisState):
            return
        self._upkeep_started = True
        socketio.start_background_task(self._upkeep)

    def _upkeep(self) -> None:
        from lhn.chat.presence import presence_entries

        last_refresh = last_check = 0.0
        while True:
            socketio.sleep(1)
            try:
                now = time.monotonic()
                if now - last_refresh >= REFRESH:
                    last_refresh = now
                    sockets = self.snapshot()
                    self.state.refresh([(sid, s.user_id) for sid, s in sockets], presence_entries(sockets))
                    self.state.remember_people(
                        {s.user_id: s.person for _, s in sockets if s.person and s.show_presence}
                    )
                if now - last_check >= REVALIDATE:
                    last_check = now
                    self.revalidate(self.snapshot())
                manager = socketio.server.manager if socketio.server else None
                if isinstance(manager, QueueManager):
                    manager.recover()
            except Exception:  # the loop must survive anything; the next tick tries again
                log.exception("realtime upkeep failed")

    def revalidate_soon(self) -> None:
        socketio.start_background_task(lambda: self.revalidate(self.snapshot()))

    def revalidate(self, sockets: list[tuple[str, SocketUser]]) -> None:
        """Safety net for lost queue messages: close sockets whose session ended and leave channels
        their user may no longer read. Four queries per REVALIDATE for all of this process's sockets."""
        from lhn.chat.sockets import revalidate_channels

        if not sockets:
            return
        with self.app.app_context():
            try:
                mark_read_only()
                ids = {s.user_id for _, s in sockets}
                versions = dict(db.session.execute(select(User.id, User.session_version).where(User.id.in_(ids))).all())
                ended = [sid for sid, s in sockets if versions.get(s.user_id) != s.session_version]
                for sid in ended:
                    socketio.server.disconnect(sid, namespace="/", ignore_queue=True)
                revalidate_channels([(sid, s) for sid, s in sockets if sid not in ended])
            finally:
                db.session.remove()


def hub() -> SocketHub:
    return current_app.extensions["lhn_sockets"]


# --- the message queue ------------------------------------------------------------------------------


def _queue_manager_class() -> type:
    import socketio as python_socketio

    class _QueueManager(python_socketio.RedisManager):
        """Redis pub/sub that tells clients to sync from the database after an outage.

        Redis pub/sub is at-most-once: while it is down, events for other processes are dropped. The
        database has every message, so the fix is to make clients ask for what they missed: after a
        failed publish (once publishing works again) every client of every process gets `resync`, and
        after the listener re-subscribes this process's clients get it too.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.publish_failed = False
            self._next_recovery = 0.0
            self.on_resubscribed: Callable[[], None] | None = None

        def _publish(self, data: Any) -> Any:
            result = super()._publish(data)
            if result is None:  # the parent gave up after its retries
                self.publish_failed = True
            return result

        def _redis_listen_with_retries(self):  # type: ignore[no-untyped-def]
            # As the parent's, with a short back-off (the parent's grows to 60 s) and a resync hook.
            retry_sleep, first = 0.5, True
            while True:
                try:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    if not first:
                        # Events (and disconnects) published while we were not subscribed are lost:
                        # clients sync from the database, and sockets are checked against it again.
                        log.warning("message queue back: asking this process's clients to sync")
                        self.server.emit(RESYNC, {}, ignore_queue=True)
                        if self.on_resubscribed is not None:
                            self.on_resubscribed()
                    first, retry_sleep = False, 0.5
                    yield from self.pubsub.listen()
                except Exception as exc:
                    log.error("message queue: cannot receive (%s); retrying in %s s", exc, retry_sleep)
                    time.sleep(retry_sleep)
                    retry_sleep = min(retry_sleep * 2, 1)

        def recover(self) -> None:
            if not self.publish_failed or time.monotonic() < self._next_recovery:
                return
            self._next_recovery = time.monotonic() + 2
            self.publish_failed = False
            self.server.emit(RESYNC, {})  # sets publish_failed again while the queue is still down

    return _QueueManager


QueueManager: type = _queue_manager_class()


# --- setup ------------------------------------------------------------------------------------------


def _redis_options() -> dict[str, Any]:
    """Fail fast and let our loop retry: redis-py's own retries back off for seconds, and while the
    listener is not subscribed, events from other processes (disconnects too) are dropped."""
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry

    return {"socket_connect_timeout": 2, "socket_keepalive": True, "health_check_interval": 15,
            "retry": Retry(ConstantBackoff(0.1), 1)}  # fmt: skip


def init_socketio(app: Flask) -> None:
    """Bind Flask-SocketIO with an explicit async mode, same-origin only, and register the events."""
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    if mode not in ASYNC_MODES:
        raise RuntimeError(f"LHN_SOCKETIO_ASYNC_MODE must be one of {ASYNC_MODES}, not {mode!r}.")
    queue = app.config.get("SOCKETIO_MESSAGE_QUEUE") or None
    if queue and not queue.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError("LHN_SOCKETIO_MESSAGE_QUEUE must be a redis:// URL.")
    app.config["SOCKETIO_MESSAGE_QUEUE"] = queue
    origins = [app.config["PUBLIC_ORIGIN"]] if app.config["PUBLIC_ORIGIN"] else None
    socketio.init_app(
        app,
        async_mode=mode,  # explicit: auto-detection may pick eventlet
        # Always passed (None = in-memory): Flask-SocketIO keeps options between init_app calls.
        client_manager=QueueManager(queue, channel=app.config["SOCKETIO_CHANNEL"], redis_options=_redis_options())
        if queue
        else None,
        cors_allowed_origins=origins,  # None = same origin only (blocks cross-site WebSocket hijacking)
        max_http_buffer_size=int(app.config["SOCKETIO_MAX_PAYLOAD"]),
        ping_interval=25,
        ping_timeout=20,
    )
    app.extensions["lhn_sockets"] = hub_ = SocketHub(app)
    if queue:
        socketio.server.manager.on_resubscribed = hub_.revalidate_soon
    _register(FEATURE_SOCKETS)


def _register(features: list[Any]) -> None:
    socketio.on_event("connect", on_connect)
    socketio.on_event("disconnect", on_disconnect)
    socketio.on_event(WATCH, on_watch)
    socketio.on_event(UNWATCH, on_unwatch)
    socketio.on_event("*", on_unknown_event)
    socketio.on_error_default(on_error)
    for feature in features:
        feature.register(socketio)


# --- helpers for handlers ----------------------------------------------------------------------------


def socket_user() -> SocketUser:
    """The calling socket's cached user (no query)."""
    found = hub().get(request.sid)  # type: ignore[attr-defined]
    if found is None:
        raise Unauthenticated("This connection is closed; reconnect.")
    return found


def load_user() -> User:
    """The calling socket's user, loaded once for this event; refuses sessions ended since connect."""
    cached = socket_user()
    user = db.session.get(User, cached.user_id)
    if user is None or user.session_version != cached.session_version:
        socketio.server.disconnect(request.sid)  # type: ignore[attr-defined]
        raise Unauthenticated("Your session has ended. Please log in again.")
    return user


def payload(data: Any, *fields: str) -> dict[str, Any]:
    """The event's JSON object through the input boundary, or ValidationFailed (answered with an `error` event).
    Handlers take `data: Any = None`: python-socketio's client sends `emit(event, None)` with no argument."""
    return inputs.payload(data, *fields)


def int_field(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """A whole number (an id, a position) in an event's payload; None when optional and absent."""
    return inputs.integer(data, name) if required else inputs.integer(data, name, None)


def ok(**data: Any) -> dict[str, Any]:
    return {"ok": True, **data}


# --- connect, disconnect ----------------------------------------------------------------------------


def _authenticate(auth: Any) -> User | None:
    if isinstance(auth, dict) and "token" in auth:
        token = auth["token"]
        # Through the boundary: text that can't be stored (a lone surrogate) is nobody's token.
        valid = isinstance(token, str) and inputs.text_problem(token) is None
        row = accounts.find_token(token) if valid else None
        user = row.user if row is not None else None
        # A suspended account's tokens stay valid for when the suspension ends, but open no socket now
        # (the API answers them 403 account_suspended; the session loader refuses suspended cookies).
        return None if user is None or is_suspended(user) else user
    if current_user.is_authenticated:
        return current_user._get_current_object()  # type: ignore[attr-defined]
    return None


def on_connect(auth: Any = None) -> None:
    """A logged-in session (cookie) or a personal access token in `auth`; the Origin was checked by
    Engine.IO before this runs. Refused beyond MAX_SOCKETS in threading mode."""
    mark_read_only()
    user = _authenticate(auth)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    h = hub()
    sid = request.sid  # type: ignore[attr-defined]
    socket = SocketUser(user.id, user.session_version, user.show_presence, user.username, user.display_name,
                        person_payload(user))  # fmt: skip
    if not h.attach(sid, socket):
        log.warning("socket refused: %s sockets open (MAX_SOCKETS)", h.max_sockets)
        raise ConnectionRefusedError("busy")
    join_room(user_room(user.id))
    join_room(SITE_ROOM)
    h.start_upkeep()


def on_disconnect(reason: Any = None) -> None:
    from lhn.chat.presence import left_everywhere

    socket = hub().detach(request.sid)  # type: ignore[attr-defined]
    if socket is not None:
        left_everywhere(socket, request.sid)  # type: ignore[attr-defined]


# --- watchable rooms (live pages) ---------------------------------------------------------------------


def _room_arg(data: Any) -> str:
    room: str = inputs.text(payload(data, "room"), "room")
    if len(room) > 64:
        raise ValidationFailed({"room": "Send a room name like 'post:12'."}, "Malformed event payload.")
    return room


def on_watch(data: Any = None) -> dict[str, Any]:
    """Join a live page's room if the feature that owns its kind says this user may watch it."""
    mark_read_only()
    room = _room_arg(data)
    allowed = watch_room(load_user(), room)
    if allowed is None:
        raise NotFound("No such page, or you can't watch it.")
    join_room(allowed)
    socket_user().rooms.add(allowed)
    return ok(room=allowed)


def on_unwatch(data: Any = None) -> dict[str, Any]:
    room = _room_arg(data)
    socket = socket_user()
    if room in socket.rooms:
        leave_room(room)
        socket.rooms.discard(room)
    return ok(room=room)


# --- errors -------------------------------------------------------------------------------------------


def _event_name() -> str:
    event = getattr(request, "event", None) or {}
    return str(event.get("message", ""))[:64]


def error_event(
    code: str, message: str, fields: dict[str, str] | None = None, kinds: list[str] | None = None
) -> dict[str, Any]:
    """Send `error` to the calling socket and return the matching failed ack. `kinds`: what the PHI guard
    found (code phi_confirmation_required), e.g. ["phone"]."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if kinds:
        body["kinds"] = kinds
    emit(EVENT_ERROR, {"event": _event_name(), **body})
    return {"ok": False, "error": body}


def on_unknown_event(event: str, *_args: Any) -> dict[str, Any]:
    return error_event("unknown_event", f"Unknown event {str(event)[:64]!r}.")


def on_error(exc: BaseException) -> dict[str, Any]:
    """Every exception in a handler becomes an `error` event and a failed ack, never a crash."""
    db.session.rollback()
    if isinstance(exc, DomainError):
        return error_event(exc.code, exc.message, getattr(exc, "errors", None), getattr(exc, "kinds", None))
    log.exception("error in socket event %r", _event_name(), exc_info=exc)
    return error_event("internal_error", INTERNAL_ERROR)


# --- disconnecting a person (logout, password change, leaving a community, suspension) ------------------


def disconnect_user(user_id: int) -> int:
    """Disconnect every socket of `user_id` in every process (through the message queue).

    Callable by any feature (issue 6 calls it when it suspends someone); run it after commit
    (`realtime.call_after_commit`). The client reconnects, and every room is authorized again at
    that point: a refused session stays out. Returns how many sockets were asked to close.
    """
    if not has_app_context() or "lhn_sockets" not in current_app.extensions or socketio.server is None:
        return 0
    h = hub()
    sids = set(h.state.sids_of(user_id)) | {sid for sid, s in h.snapshot() if s.user_id == user_id}
    for sid in sids:
        socketio.server.disconnect(sid, namespace="/")
    return len(sids)


def _after_commit_disconnect(user_id: int) -> Callable[[], None]:
    return partial(disconnect_user, user_id)


@signals.sessions_invalidated.connect
def _sessions_invalidated(user: User, **_: Any) -> None:
    call_after_commit(_after_commit_disconnect(user.id))


@signals.user_suspended.connect
def _user_suspended(user: User, **_: Any) -> None:
    # Suspension also invalidates sessions (and so disconnects); this receiver makes the contract explicit
    # and holds even for a suspension that didn't (disconnecting twice is harmless).
    call_after_commit(_after_commit_disconnect(user.id))


@signals.member_removed.connect
def _member_removed(community: Any, *, user: User, **_: Any) -> None:
    # Reconnecting re-checks every room (chat channels and watched pages), in every process.
    call_after_commit(_after_commit_disconnect(user.id))


from lhn.chat import sockets as chat_sockets  # noqa: E402 - chat's handlers import helpers above

FEATURE_SOCKETS: list[Any] = [chat_sockets]
