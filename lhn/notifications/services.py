"""Creating, listing and reading notifications. Features don't call this directly: they send a
signal (lhn/signals.py) and lhn/notifications/handlers.py turns it into notices."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.database import utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.notifications.models import Notification
from lhn.pagination import Page, paginate
from lhn.realtime import EVENT_NOTIFICATION, emit_after_commit, user_room


def notify(
    recipient: User,
    *,
    kind: str,
    text: str,
    url: str,
    actor: User | None = None,
    community_id: int | None = None,
) -> Notification | None:
    """Tell `recipient` something happened. Nobody is notified of their own action.

    Flushes; after commit, pushes `notification` (with the new unread count) to the recipient's sockets.
    """
    if actor is not None and actor.id == recipient.id:
        return None
    if not url.startswith("/"):
        raise ValueError("notification links are local paths")
    notice = Notification(
        user_id=recipient.id, kind=kind, text=text[:300], url=url[:300],
        actor_id=actor.id if actor else None, community_id=community_id,
    )  # fmt: skip
    db.session.add(notice)
    db.session.flush()
    emit_after_commit(EVENT_NOTIFICATION, payload(notice, unread=unread_count(recipient)), to=user_room(recipient.id))
    return notice


def payload(notice: Notification, *, unread: int) -> dict[str, object]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "text": notice.text,
        "url": notice.url,
        "created_at": notice.created_at.isoformat(),
        "unread": unread,
    }


def unread_count(user: User) -> int:
    return (
        db.session.scalar(select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None)))
        or 0
    )


def list_notifications(
    user: User, *, unread_only: bool = False, cursor: str | None = None, limit: int = 30
) -> Page[Notification]:
    """The user's own notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == user.id).options(joinedload(Notification.actor))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return paginate(stmt, order_by=[Notification.id], key=lambda n: (n.id,), cursor=cursor, limit=limit)


def mark_read(user: User, ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all) of `user` as read; others' ids are ignored. Returns how many."""
    if ids is not None and not all(isinstance(i, int) for i in ids):
        raise ValidationFailed({"ids": "Send a list of notification ids, or nothing to mark all read."})
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    changed = db.session.execute(stmt).rowcount or 0
    if changed:
        emit_after_commit(EVENT_NOTIFICATION, {"unread": unread_count(user)}, to=user_room(user.id))
    return changed


def open_notification(user: User, notification_id: int) -> str:
    """Mark one of the user's notifications read and return where it points (home if not theirs)."""
    notice = db.session.get(Notification, notification_id)
    if notice is None or notice.user_id != user.id:
        return "/notifications"
    mark_read(user, [notice.id])
    return notice.url
