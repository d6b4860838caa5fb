"""My data for notifications: the notices I received in an export; deleted with the account.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from lhn import signals
from lhn.accounts.models import User
from lhn.extensions import db
from lhn.notifications.models import Notification


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
                "read_at": n.read_at.isoformat() if n.read_at else None,
            }
            for n in rows
        ]
    }


@signals.account_erasing.connect
def erase_notifications(user: User, **_: Any) -> None:
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
