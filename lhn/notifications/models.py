"""One notice for one person (what happened, who did it, where to look); what a person follows; how they want to
be told."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, UniqueConstraint
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
    # When a digest email listed it (once: the next digest starts after it).
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class Follow(TimestampMixin, Base):
    """A person follows a post (question, idea, call, experience), a measure, a chat channel or a community: they
    are told of new activity there. Automatic for what they wrote or answered; they may unfollow."""

    __tablename__ = "follow"
    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_id", name="uq_follow_user_target"),
        Index("ix_follow_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(20))  # "post" | "measure" | "channel" | "community"
    target_id: Mapped[int] = mapped_column()
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)


class NotificationSettings(Base):
    """How one person wants to be told, per category of notice; absent: the defaults for their role."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    # {category: delivery} for the categories the person changed (services.preferences has the defaults).
    deliveries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # an IANA name (zoneinfo)
    # Quiet hours, local whole hours [start, end): email due then waits until `quiet_end`. None: no quiet hours.
    quiet_start: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end: Mapped[int | None] = mapped_column(SmallInteger)
