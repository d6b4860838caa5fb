"""Slow mode: a moderator's delay between one member's writes in a thread (a post's answers and comments, a chat
channel), and the check posts and chat make before each write."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnExpressionArgument, ScalarSelect, select

from lhn.accounts.models import User
from lhn.communities import permissions
from lhn.communities.models import Community, SlowMode
from lhn.communities.services.membership import find_membership
from lhn.database import utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db

SLOW_MODE_MAX = 24 * 3600


def set_slow_mode(community: Community, target_type: str, target_id: int, seconds: int, *, by: User) -> SlowMode | None:
    """A moderator sets slow mode on a thread of `community` (0 turns it off). The caller (posts, chat)
    passes the thread's own community. Flushes. Raises PermissionDenied, ValidationFailed."""
    if not permissions.can_moderate(by, community, find_membership(by, community)):
        raise PermissionDenied("Only moderators set slow mode.")
    if not isinstance(seconds, int) or not 0 <= seconds <= SLOW_MODE_MAX:
        raise ValidationFailed({"seconds": f"Choose between 0 (off) and {SLOW_MODE_MAX} seconds."})
    row = db.session.scalar(
        select(SlowMode).where(SlowMode.target_type == target_type, SlowMode.target_id == target_id)
    )
    if seconds == 0:
        if row is not None:
            db.session.delete(row)
            db.session.flush()
        return None
    if row is None:
        row = SlowMode(community_id=community.id, target_type=target_type[:20], target_id=target_id, seconds=seconds)
        db.session.add(row)
    row.seconds, row.set_by_id = seconds, by.id
    db.session.flush()
    return row


def slow_mode_seconds(target_type: str, target_id: int) -> int:
    """The thread's slow-mode delay in seconds (0 when off)."""
    return db.session.scalar(select(slow_mode_column(target_type, target_id))) or 0


def slow_mode_column(target_type: str, target_id: int | ColumnExpressionArgument[int]) -> ScalarSelect[int]:
    """The thread's delay (NULL when off) as a column, so a feature can read it with the thread's own row
    in one statement (chat's joins and sends)."""
    return (
        select(SlowMode.seconds)
        .where(SlowMode.target_type == target_type, SlowMode.target_id == target_id)
        .scalar_subquery()
    )


def check_slow_mode(
    community: Community, target_type: str, target_id: int, *, user: User, last_write_at: datetime | None,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """Posts and chat call this before a member writes in a thread; `last_write_at` is that member's
    last write there. Raises ValidationFailed saying how long to wait. Moderators are exempt."""
    exempt = permissions.can_moderate(user, community, find_membership(user, community))
    wait = permissions.slow_mode_wait(
        slow_mode_seconds(target_type, target_id), last_write_at, now or utcnow(), exempt=exempt
    )
    if wait:
        raise ValidationFailed(
            {"": f"This thread is in slow mode: please wait {wait} seconds before writing again."}, retry_after=wait
        )
