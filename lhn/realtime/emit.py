"""emit_after_commit and call_after_commit: events and socket actions leave only after a commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from lhn.extensions import db, socketio

_PENDING = "lhn_pending_emits"
_PENDING_CALLS = "lhn_pending_calls"


def emit_after_commit(event_name: str, payload: dict[str, Any], *, to: str, namespace: str = "/") -> None:
    """Queue an event for the room `to`; it is sent once the current transaction commits.

    Nothing is sent if the transaction rolls back, so clients never see uncommitted state.
    """
    db.session.info.setdefault(_PENDING, []).append((event_name, payload, to, namespace))


def call_after_commit(callback: Callable[[], object]) -> None:
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


def _drop_pending(session: Session, _transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_CALLS, None)


def install_session_hooks() -> None:
    """Send what was queued after every commit, drop it after a rollback (every session). Idempotent."""
    if not event.contains(Session, "after_commit", _send_pending):
        event.listen(Session, "after_commit", _send_pending)
        event.listen(Session, "after_soft_rollback", _drop_pending)
