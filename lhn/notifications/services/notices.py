"""Creating, listing and reading notices. Features don't call this directly: they send a signal (lhn/signals.py)
and lhn/notifications/handlers.py turns it into notices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, joinedload

from lhn.accounts.models import User
from lhn.database import rows_matched, utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.notifications.models import Notification
from lhn.notifications.services.emails import email_notice
from lhn.notifications.services.preferences import EMAIL, NEVER, Preferences, get_preferences
from lhn.pagination import Page, paginate
from lhn.realtime import EVENT_NOTIFICATION, emit_after_commit, user_room

_TOLD = "lhn_notified"  # (user id, url) told in this transaction


def _forget_told(session: Session, *_: Any) -> None:
    session.info.pop(_TOLD, None)


event.listen(Session, "after_commit", _forget_told)
event.listen(Session, "after_soft_rollback", _forget_told)


def notify(
    recipient: User,
    *,
    kind: str,
    text: str,
    url: str,
    actor: User | None = None,
    community_id: int | None = None,
    prefs: Preferences | None = None,
    once: bool = False,
    unread_before: int | None = None,
) -> Notification | None:
    """Tell `recipient` something happened, as their preferences for its category say (never: no notice; email at
    once: the notice and an email in this transaction). Nobody is notified of their own action. `once` (for
    followers): not if this transaction already told them directly of the same link (they were mentioned in it).
    `unread_before`: their unread count before this notice, when the caller counted many at once (unread_counts).

    Flushes; after commit, pushes `notification` (with the new unread count) to the recipient's sockets.
    """
    if actor is not None and actor.id == recipient.id:
        return None
    if not url.startswith("/"):
        raise ValueError("notification links are local paths")
    told: set[tuple[int, str]] = db.session.info.setdefault(_TOLD, set())
    if once and (recipient.id, url) in told:  # a follower already told of this event (mentioned in it, say)
        return None
    if not once:
        told.add((recipient.id, url))
    prefs = prefs or get_preferences(recipient)
    delivery = prefs.delivery(kind)
    if delivery == NEVER:
        return None
    notice = Notification(
        user_id=recipient.id, kind=kind, text=text[:300], url=url[:300],
        actor_id=actor.id if actor else None, community_id=community_id,
    )  # fmt: skip
    db.session.add(notice)
    db.session.flush()
    if delivery == EMAIL:
        email_notice(recipient, notice, prefs)
    unread = unread_before + 1 if unread_before is not None else unread_count(recipient)
    emit_after_commit(EVENT_NOTIFICATION, payload(notice, unread=unread), to=user_room(recipient.id))
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


def unread_counts(user_ids: list[int]) -> dict[int, int]:
    """Unread notices of each of `user_ids`, in one query (people with none are 0)."""
    rows = db.session.execute(select(Notification.user_id, func.count()).where(
        Notification.user_id.in_(user_ids), Notification.read_at.is_(None)).group_by(Notification.user_id))  # fmt: skip
    return dict.fromkeys(user_ids, 0) | {user_id: int(count) for user_id, count in rows}


def unread_holders(user_ids: list[int], *, kind: str, url: str) -> set[int]:
    """Who of `user_ids` has an unread notice of this kind and link: one query."""
    return set(db.session.scalars(select(Notification.user_id).where(
        Notification.user_id.in_(user_ids), Notification.kind == kind, Notification.url == url,
        Notification.read_at.is_(None))))  # fmt: skip


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
    changed = rows_matched(db.session.execute(stmt))
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
