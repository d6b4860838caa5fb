"""My data for notifications: the notices I received, what I follow and my notification settings in an export;
deleted with the account.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none
from lhn.extensions import db
from lhn.notifications.models import Follow, Notification, NotificationSettings


@signals.export_requested.connect
def export_notifications(user: User, **_: Any) -> dict[str, Any]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))
    return {
        "notifications": [
            {
                "kind": n.kind,
                "text": n.text,
                "url": n.url,
                "created_at": n.created_at.isoformat(),
                "read_at": iso_or_none(n.read_at),
            }
            for n in rows
        ],
        "follows": [
            {"target_type": f.target_type, "target_id": f.target_id, "created_at": f.created_at.isoformat()}
            for f in db.session.scalars(select(Follow).where(Follow.user_id == user.id).order_by(Follow.id))
        ],
        "notification_settings": _settings(user),
    }


def _settings(user: User) -> dict[str, Any] | None:
    row = db.session.get(NotificationSettings, user.id)
    if row is None:
        return None
    return {"deliveries": row.deliveries, "time_zone": row.time_zone, "quiet_start": row.quiet_start,
            "quiet_end": row.quiet_end}  # fmt: skip


@signals.account_erasing.connect
def erase_notifications(user: User, **_: Any) -> None:
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(delete(Follow).where(Follow.user_id == user.id))
    db.session.execute(delete(NotificationSettings).where(NotificationSettings.user_id == user.id))
