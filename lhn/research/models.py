"""Research studies (each kept also as a FHIR R5 ResearchStudy), a person's private research profile per community,
the contacts people gave a study (each a study-bound, revocable consent to contact with what they chose to share),
and each study's audit (who did what, when; never anything about the people who may match)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community


class StudyStatus(LabelledEnum):
    """FHIR R5 ResearchStudy.progressStatus states (research-study-status): recruiting, or closed to accrual."""

    RECRUITING = "recruiting"
    CLOSED = "closed-to-accrual", "Closed"


class Study(TimestampMixin, Base):
    """A study a verified researcher or clinician posted in one community."""

    __tablename__ = "research_study"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    condition: Mapped[str] = mapped_column(String(200))
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)  # institution slugs
    status: Mapped[StudyStatus] = mapped_column(_enum(StudyStatus, "research_study_status"))
    target_number: Mapped[int | None] = mapped_column()
    ethics_reference: Mapped[str] = mapped_column(String(120))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # see lhn/research/matching.py
    eligibility_text: Mapped[str] = mapped_column(Text, default="")
    eligibility_html: Mapped[str] = mapped_column(Text, default="")
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)  # the FHIR R5 ResearchStudy

    community: Mapped[Community] = relationship()
    created_by: Mapped[User | None] = relationship()


class ResearchProfile(TimestampMixin, Base):
    """What a person chose to let studies match on, in one community. Only they read it."""

    __tablename__ = "research_profile"
    __table_args__ = (UniqueConstraint("user_id", "community_id", name="uq_research_profile_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    age_band: Mapped[str] = mapped_column(String(20), default="")  # one of matching.AGE_BANDS, or ""
    diagnosis: Mapped[str] = mapped_column(String(120), default="")
    diagnosis_year: Mapped[int | None] = mapped_column()
    country: Mapped[str] = mapped_column(String(120), default="")
    site: Mapped[str] = mapped_column(String(80), default="")  # an institution slug, or ""
    instrument_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # whose latest score may be matched on

    user: Mapped[User] = relationship()


class StudyContact(Base):
    """A person's "contact me" to one study: what they shared, as they shared it. Withdrawn: hidden from the
    researcher at once; pressing "contact me" again replaces it."""

    __tablename__ = "research_contact"
    __table_args__ = (UniqueConstraint("study_id", "user_id", name="uq_research_contact_person"),
                      Index("ix_research_contact_person", "user_id"))  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("research_study.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    shared: Mapped[dict[str, Any]] = mapped_column(JSON)  # field -> value, exactly what the person chose
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship()


class StudyEvent(Base):
    """A study's audit: posted, status changes, the count viewed, a contact given or withdrawn. Names no one but
    the actor (a contact's own row, which the researcher may see, says who)."""

    __tablename__ = "research_study_event"
    __table_args__ = (Index("ix_research_study_event_study", "study_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("research_study.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship()
