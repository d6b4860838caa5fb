"""One notice for one person: what happened, who did it, where to look."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from lhn.accounts.models import User


class Notification(TimestampMixin, Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_id_id", "user_id", "id"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # What happened, e.g. "answer", "mention", "vetted"; the page groups and styles by it.
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    # A short sentence without health details (it may show on a lock screen one day), and a local link.
    text: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
