"""Review items and flags, the public moderation log, sanctions, PHI confirmations and the audit trail."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DDL, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime, unique_where, utcnow
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community


class ReviewKind(LabelledEnum):
    """What a human must decide. Phase 2 (posts) creates the two vetting kinds through signals."""

    FLAGGED_CONTENT = "flagged_content"
    FLAGGED_USER = "flagged_user", "Flagged member"
    VERIFICATION = "verification", "Verification request"
    JOIN_REQUEST = "join_request"
    ANSWER_VETTING = "answer_vetting", "Answer awaiting vetting"  # an answer submitted for clinical vetting
    # a vetted answer edited since its vetting
    VETTED_ANSWER_CHANGED = "vetted_answer_changed", "Vetted answer changed since vetting"


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class FlagReason(LabelledEnum):
    MISINFORMATION = "misinformation", "Medical misinformation"
    PHI = "phi", "Personal health information exposed"
    SPAM = "spam"
    HARASSMENT = "harassment"
    OFF_TOPIC = "off_topic", "Off-topic"
    OTHER = "other", "Something else"


class FlagOutcome(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"  # a moderator acted on the target
    REJECTED = "rejected"  # dismissed: nothing wrong


class ReviewItem(TimestampMixin, Base):
    """One decision waiting for a moderator (Discourse's `reviewables`, adapted).

    `scope` is the community id, or 0 for site-wide items: unique indexes treat NULLs as distinct on
    both SQLite and PostgreSQL, so the "one open item per kind and target" rule needs a non-null column.
    `version` is the optimistic lock: every action bumps it with `WHERE version = :seen`.
    """

    __tablename__ = "review_item"
    __table_args__ = (
        unique_where(
            "uq_review_item_open_target", "kind", "target_type", "target_id", "scope", where="status = 'open'"
        ),
        Index("ix_review_item_community_status", "community_id", "status", "id"),
        Index("ix_review_item_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReviewKind] = mapped_column(_enum(ReviewKind, "review_kind"))
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"), default=ReviewStatus.OPEN)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column()
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    scope: Mapped[int] = mapped_column(default=0)
    # Whom the item is about (the author, the flagged member, the applicant): nobody reviews their own.
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    score: Mapped[float] = mapped_column(default=0.0)
    flag_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    redacted: Mapped[bool] = mapped_column(default=False)  # PHI was removed while the item was open
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(String(30), default="")
    resolution_reason: Mapped[str] = mapped_column(Text, default="")

    community: Mapped[Community | None] = relationship()
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    flags: Mapped[list[Flag]] = relationship(back_populates="item", order_by="Flag.id", passive_deletes=True)

    @property
    def is_open(self) -> bool:
        return self.status == ReviewStatus.OPEN


class Flag(TimestampMixin, Base):
    __tablename__ = "flag"
    __table_args__ = (UniqueConstraint("review_item_id", "flagger_id", name="uq_flag_item_flagger"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_item.id", ondelete="CASCADE"))
    flagger_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    reason: Mapped[FlagReason] = mapped_column(_enum(FlagReason, "flag_reason"))
    details: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[float] = mapped_column(default=1.0)
    outcome: Mapped[FlagOutcome] = mapped_column(_enum(FlagOutcome, "flag_outcome"), default=FlagOutcome.PENDING)

    item: Mapped[ReviewItem] = relationship(back_populates="flags")
    flagger: Mapped[User] = relationship()


LABEL_MAX = 120  # log.log_action shortens longer labels, keeping a quoted title's closing quote


class ModerationLogEntry(Base):
    """One line of a community's public moderation log. `action` is a plain string so later features
    add theirs (vetted, unvetted, ...) without a migration. Never holds removed content."""

    __tablename__ = "moderation_log"
    __table_args__ = (
        Index("ix_moderation_log_community_id", "community_id", "id"),
        # The log reads newest first by time (a backdated record sits where it happened, not where it was written).
        Index("ix_moderation_log_community_time", "community_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    automatic: Mapped[bool] = mapped_column(default=False)  # done by the flag threshold, not a person
    action: Mapped[str] = mapped_column(String(30))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column()
    target_label: Mapped[str] = mapped_column(String(LABEL_MAX))  # "answer", 'the thread "…"', ...
    target_url: Mapped[str] = mapped_column(String(300), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(String(300), default="")  # e.g. "a phone number", "until 3 May"
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_item.id", ondelete="SET NULL"))

    actor: Mapped[User | None] = relationship()


class SanctionKind(enum.StrEnum):
    WARNING = "warning"
    MUTE = "mute"
    SUSPENSION = "suspension"


class Sanction(TimestampMixin, Base):
    """A warning (private notice), a mute in one community, or a site suspension. The check itself
    reads Membership.muted_until / User.suspended_until, which these rows set; this is the record."""

    __tablename__ = "sanction"
    __table_args__ = (Index("ix_sanction_user_kind", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[SanctionKind] = mapped_column(_enum(SanctionKind, "sanction_kind"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text, default="")
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None for warnings
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_item.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    community: Mapped[Community | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    @property
    def indefinite(self) -> bool:
        """A suspension that ends only when a site admin lifts it (its end is the far-future INDEFINITE)."""
        return self.ends_at is not None and self.ends_at.year >= 9999

    def is_active(self, now: datetime) -> bool:
        if self.lifted_at is not None:
            return False
        return self.kind != SanctionKind.WARNING and self.ends_at is not None and self.ends_at > now


class PHIConfirmation(TimestampMixin, Base):
    """An author confirmed publishing text the PHI guard flagged: who, which kinds, where, when. Never the text."""

    __tablename__ = "phi_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kinds: Mapped[str] = mapped_column(String(200))  # comma-separated lhn.phi kinds
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column()
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))


class AuditEvent(Base):
    """Append-only audit trail for site admins (HIPAA 164.312(b)-style): ids and facts, never content.

    No foreign keys: rows outlive the accounts and objects they mention (an erased account keeps its
    audit rows, as bare ids). The app only inserts; database triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_action_id", "action", "id"),
        Index("ix_audit_event_actor_id", "actor_id", "id"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column()
    actor_role: Mapped[str] = mapped_column(String(20), default="")  # admin, moderator, member, self, system
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column()
    community_id: Mapped[int | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20), default="success")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


# Append-only, enforced by the database too: create_all (tests) and the migration run the same DDL.
# TRUNCATE is not blocked (row triggers don't see it); the app never issues it, the test fixtures do.
AUDIT_TRIGGERS_SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
AUDIT_TRIGGERS_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]
for _statement in AUDIT_TRIGGERS_SQLITE:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in AUDIT_TRIGGERS_POSTGRESQL:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
