"""The Socket.IO server: setup, who may connect, the user and site rooms, watchable rooms, errors for
bad events, the socket cap in threading mode, and disconnecting a person's sockets in every process.

Features add their events and hooks as a SocketFeature (lhn.realtime.hub), passed in by the app
factory. Handlers never use `current_user` after connect: the user id is cached per socket (Flask-Login's
loader would otherwise run on every event) and the session version is checked again when a handler
loads the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, overload

from flask import Flask, current_app, has_app_context, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room

from lhn import inputs, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.accounts.permissions import suspension_running
from lhn.database import mark_read_only
from lhn.errors import DomainError, NotFound, Unauthenticated, ValidationFailed, collision
from lhn.extensions import db, socketio
from lhn.realtime.emit import call_after_commit
from lhn.realtime.events import EVENT_ERROR, UNWATCH, WATCH
from lhn.realtime.hub import SocketFeature, SocketHub, SocketUser, hub
from lhn.realtime.queue import QueueManager, redis_options
from lhn.realtime.rooms import SITE_ROOM, user_room, watch_room

log = logging.getLogger(__name__)
ASYNC_MODES = ("threading", "gevent")  # never eventlet (deprecated; see docs/deployment.md)
INTERNAL_ERROR = "Something went wrong on our side. It has been logged; please try again."


def init_socketio(app: Flask, features: list[SocketFeature]) -> None:
    """Bind Flask-SocketIO with an explicit async mode, same-origin only, and register the events of
    the server and of `features`."""
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
        client_manager=QueueManager(queue, channel=app.config["SOCKETIO_CHANNEL"], redis_options=redis_options())
        if queue
        else None,
        cors_allowed_origins=origins,  # None = same origin only (blocks cross-site WebSocket hijacking)
        max_http_buffer_size=int(app.config["SOCKETIO_MAX_PAYLOAD"]),
        ping_interval=25,
        ping_timeout=20,
    )
    app.extensions["lhn_sockets"] = hub_ = SocketHub(app, features)
    if queue:
        socketio.server.manager.on_resubscribed = hub_.revalidate_soon
    socketio.on_event("connect", on_connect)
    socketio.on_event("disconnect", on_disconnect)
    socketio.on_event(WATCH, on_watch)
    socketio.on_event(UNWATCH, on_unwatch)
    socketio.on_event("*", on_unknown_event)
    socketio.on_error_default(on_error)
    for feature in features:
        feature.register(socketio)


# --- helpers for handlers ----------------------------------------------------------------------------


def current_sid() -> str:
    """The calling socket's id, which Flask-SocketIO sets on the request during an event."""
    sid: str = request.sid  # type: ignore[attr-defined]  # Flask's types don't know Flask-SocketIO's attribute
    return sid


def socket_user() -> SocketUser:
    """The calling socket's cached user (no query)."""
    found = hub().get(current_sid())
    if found is None:
        raise Unauthenticated("This connection is closed; reconnect.")
    return found


def load_user() -> User:
    """The calling socket's user, loaded once for this event; refuses sessions ended since connect."""
    cached = socket_user()
    user = db.session.get(User, cached.user_id)
    if user is None or user.session_version != cached.session_version:
        socketio.server.disconnect(current_sid())
        raise Unauthenticated("Your session has ended. Please log in again.")
    return user


def payload(data: Any, *fields: str) -> dict[str, Any]:
    """The event's JSON object through the input boundary, or ValidationFailed (answered with an `error` event).
    Handlers take `data: Any = None`: python-socketio's client sends `emit(event, None)` with no argument."""
    return inputs.payload(data, *fields)


@overload
def int_field(data: dict[str, Any], name: str, *, required: Literal[True] = True) -> int: ...
@overload
def int_field(data: dict[str, Any], name: str, *, required: bool) -> int | None: ...
def int_field(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """A whole number (an id, a position) in an event's payload; None when optional and absent."""
    value: int | None = inputs.integer(data, name) if required else inputs.integer(data, name, None)
    return value


def ok(**data: Any) -> dict[str, Any]:
    return {"ok": True, **data}


# --- connect, disconnect ----------------------------------------------------------------------------


def _authenticate(auth: Any) -> SocketUser | None:
    if isinstance(auth, dict) and "token" in auth:
        token = auth["token"]
        # Through the boundary: text that can't be stored (a lone surrogate) is nobody's token.
        valid = isinstance(token, str) and inputs.text_problem(token) is None
        holder = accounts.find_token_holder(token) if valid else None
        # A suspended account's tokens stay valid for when the suspension ends, but open no socket now
        # (the API answers them 403 account_suspended; the session loader refuses suspended cookies).
        if holder is None or suspension_running(holder.suspended_until):
            return None
        return SocketUser(holder.user_id, holder.session_version, holder.show_presence, holder.username,
                          holder.display_name, token_id=holder.token_id)  # fmt: skip
    if current_user.is_authenticated:
        # flask_login is untyped: its proxy is Any to mypy; the object behind it is our User.
        user: User = current_user._get_current_object()
        return SocketUser(user.id, user.session_version, user.show_presence, user.username, user.display_name)
    return None


def on_connect(auth: Any = None) -> None:
    """A logged-in session (cookie) or a personal access token in `auth`; the Origin was checked by
    Engine.IO before this runs. Refused beyond MAX_SOCKETS in threading mode."""
    mark_read_only()
    socket = _authenticate(auth)
    if socket is None:
        raise ConnectionRefusedError("unauthorized")
    h = hub()
    if not h.attach(current_sid(), socket):
        log.warning("socket refused: %s sockets open (MAX_SOCKETS)", h.max_sockets)
        raise ConnectionRefusedError("busy")
    join_room(user_room(socket.user_id))
    join_room(SITE_ROOM)
    h.start_upkeep()


def on_disconnect(reason: Any = None) -> None:
    h = hub()
    socket = h.detach(current_sid())
    if socket is None:
        return
    for feature in h.features:
        if feature.on_disconnect is not None:
            feature.on_disconnect(socket, current_sid())


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
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    kinds: list[str] | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """Send `error` to the calling socket and return the matching failed ack. `kinds`: what the PHI guard
    found (code phi_confirmation_required), e.g. ["phone"]; `retry_after`: the seconds a refusal's message says to
    wait (rate limits, slow mode), which HTTP sends as Retry-After."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if kinds:
        body["kinds"] = kinds
    if retry_after:
        body["retry_after"] = retry_after
    emit(EVENT_ERROR, {"event": _event_name(), **body})
    return {"ok": False, "error": body}


def on_unknown_event(event: str, *_args: Any) -> dict[str, Any]:
    return error_event("unknown_event", f"Unknown event {str(event)[:64]!r}.")


def on_error(exc: BaseException) -> dict[str, Any]:
    """Every exception in a handler becomes an `error` event and a failed ack, never a crash."""
    db.session.rollback()
    exc = collision(exc) or exc
    if isinstance(exc, DomainError):
        return error_event(exc.code, exc.message, getattr(exc, "errors", None), getattr(exc, "kinds", None),
                           exc.retry_after)  # fmt: skip
    log.exception("error in socket event %r", _event_name(), exc_info=exc)
    return error_event("internal_error", INTERNAL_ERROR)


# --- disconnecting a person (logout, password change, leaving a community, suspension) ------------------


def disconnect_user(user_id: int) -> int:
    """Disconnect every socket of `user_id` in every process (through the message queue).

    Callable by any feature (issue 6 calls it when it suspends someone); run it after commit
    (`call_after_commit`). The client reconnects, and every room is authorized again at that point:
    a refused session stays out. Returns how many sockets were asked to close.
    """
    if not has_app_context() or "lhn_sockets" not in current_app.extensions or socketio.server is None:
        return 0
    h = hub()
    sids = set(h.state.sids_of(user_id)) | {sid for sid, s in h.snapshot() if s.user_id == user_id}
    for sid in sids:
        socketio.server.disconnect(sid, namespace="/")
    return len(sids)


def _after_commit_disconnect(user_id: int) -> Callable[[], object]:
    return partial(disconnect_user, user_id)


@signals.sessions_invalidated.connect
def _sessions_invalidated(user: User, **_: Any) -> None:
    call_after_commit(_after_commit_disconnect(user.id))


@signals.token_revoked.connect
def _token_revoked(user: User, **_: Any) -> None:
    # All of the person's sockets close: the ones with this token are refused when they reconnect, the others
    # (their browser's, another token's) reconnect at once. Simpler than finding one token's sockets in every process.
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
