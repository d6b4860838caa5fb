"""Condition communities, memberships (with the community role) and join requests."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User


class Visibility(enum.StrEnum):
    PUBLIC = "public"  # anyone reads, members post
    RESTRICTED = "restricted"  # join requests approved by moderators; others see name and description


class CommunityRole(LabelledEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    OWNER = "owner"

    @property
    def moderates(self) -> bool:
        return self in (CommunityRole.MODERATOR, CommunityRole.OWNER)


class CodeSystem(LabelledEnum):
    ICD10 = "icd-10", "ICD-10"
    SNOMED = "snomed-ct", "SNOMED CT"


class JoinRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


class Community(TimestampMixin, Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    condition_name: Mapped[str] = mapped_column(String(160))
    condition_code: Mapped[str] = mapped_column(String(32), default="")
    condition_system: Mapped[CodeSystem | None] = mapped_column(_enum(CodeSystem, "code_system"))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    guidelines: Mapped[str] = mapped_column(Text, default="")
    guidelines_html: Mapped[str] = mapped_column(Text, default="")
    # Bumped when the guidelines change, so a membership records which text was accepted.
    guidelines_version: Mapped[int] = mapped_column(default=1)
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "visibility"), default=Visibility.PUBLIC)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    member_count: Mapped[int] = mapped_column(default=0)  # kept by the membership services
    # Flag weight above which flagged content is hidden pending review (issue 6). Owners edit it.
    flag_hide_threshold: Mapped[float] = mapped_column(default=3.0, server_default="3")
    # Vetting needs clinical standing (a verified clinician or researcher); owners may let moderators
    # vet too, and their seal then says so.
    moderators_may_vet: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Bumped with any change to the community or its posts (lhn/posts/cache.py): the key of its cached pages.
    content_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_restricted(self) -> bool:
        return self.visibility == Visibility.RESTRICTED


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("community_id", "user_id", name="uq_membership_community_user"),
        Index("ix_membership_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[CommunityRole] = mapped_column(_enum(CommunityRole, "community_role"), default=CommunityRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    guidelines_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    guidelines_version: Mapped[int] = mapped_column(default=1)
    # A moderator's mute (issue 6): the member reads but cannot post or chat until then. Compared with
    # the clock on every check (permissions.can_post), so it lapses without a restart.
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    user: Mapped[User] = relationship()


class JoinRequest(TimestampMixin, Base):
    """A request to join a restricted community, decided by its moderators."""

    __tablename__ = "join_request"
    __table_args__ = (Index("ix_join_request_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    guidelines_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    guidelines_version: Mapped[int] = mapped_column(default=1)
    status: Mapped[JoinRequestStatus] = mapped_column(
        _enum(JoinRequestStatus, "join_request_status"), default=JoinRequestStatus.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    community: Mapped[Community] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class SlowMode(TimestampMixin, Base):
    """Slow mode on one thread (a post, a chat channel): each member waits `seconds` between writes.

    Set by the community's moderators (services.set_slow_mode); enforced by the feature that owns the
    thread (services.check_slow_mode), so posts and chat need not import moderation.
    """

    __tablename__ = "slow_mode"
    __table_args__ = (UniqueConstraint("target_type", "target_id", name="uq_slow_mode_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    target_type: Mapped[str] = mapped_column(String(20))  # "post", "channel", ...
    target_id: Mapped[int] = mapped_column()
    seconds: Mapped[int] = mapped_column()
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
