"""Patient-reported outcomes: the instruments a community offers (each a FHIR R5 Questionnaire) and the responses
people give, which are theirs alone: drafts they come back to, and completed ones, scored and kept as FHIR
QuestionnaireResponses."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community
    from lhn.measures.models import Measure


class Instrument(TimestampMixin, Base):
    """A questionnaire a community's owners offer its patients and caregivers, with an optional schedule."""

    __tablename__ = "pro_instrument"
    __table_args__ = (UniqueConstraint("community_id", "code", name="uq_pro_instrument_community_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))  # "phq-9", or made from an imported Questionnaire's name
    title: Mapped[str] = mapped_column(String(200))
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSON)  # the FHIR R5 Questionnaire, as given
    schedule_days: Mapped[int | None] = mapped_column()  # e.g. 30: a reminder when a month has passed; None: none
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    community: Mapped[Community] = relationship()


class ResponseStatus(LabelledEnum):
    DRAFT = "draft"
    COMPLETED = "completed"


class ProResponse(TimestampMixin, Base):
    """One person's answers to an instrument: a draft (at most one per person and instrument) or completed."""

    __tablename__ = "pro_response"
    __table_args__ = (
        Index("ix_pro_response_person", "user_id", "instrument_id", "status"),
        Index("ix_pro_response_instrument_completed", "instrument_id", "completed_at"),  # a measure's periods
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("pro_instrument.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[ResponseStatus] = mapped_column(_enum(ResponseStatus, "pro_response_status"))
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # linkId -> answer code
    total: Mapped[float | None] = mapped_column()
    band: Mapped[str] = mapped_column(String(60), default="")
    subscores: Mapped[dict[str, float] | None] = mapped_column(JSON)  # the instrument's subscales, when it has them
    resource: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the QuestionnaireResponse, when completed
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship()


class Statistic(LabelledEnum):
    """What a measure computed from an instrument counts, per site and period, of each person's latest answer."""

    # a proportion: people whose total is at least the threshold
    SHARE_AT_LEAST = "share_at_least", "Share of people scoring at least a threshold"
    MEAN = "mean", "Mean score"  # a continuous measure: the mean total, of n people


class ProMeasure(Base):
    """A co-owned measure whose values LHN computes from an instrument's completed responses: per site (the
    person's institution) and period, each consenting member's latest answer in the period counts once."""

    __tablename__ = "pro_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), unique=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("pro_instrument.id", ondelete="CASCADE"), index=True)
    statistic: Mapped[Statistic] = mapped_column(_enum(Statistic, "pro_measure_statistic"))
    threshold: Mapped[float | None] = mapped_column()  # for SHARE_AT_LEAST
    computed_through: Mapped[date | None] = mapped_column(Date)  # the start of the last period computed (once)

    instrument: Mapped[Instrument] = relationship()
    measure: Mapped[Measure] = relationship()


class Purpose(LabelledEnum):
    """What a person's data may serve, each chosen per community, off until they turn it on."""

    QI_AGGREGATES = (
        "qi_aggregates",
        "Count my answers in the network's quality-improvement measures (per-site totals, small numbers hidden)",
    )
    RESEARCH = "research", "Let my answers be used in research studies this community approves"
    STUDY_CONTACT = (
        "study_contact",
        "Let researchers ask me about studies I may fit (only after I press \"contact me\")",
    )


class PurposeConsent(Base):
    """A person's current choice for one purpose in one community."""

    __tablename__ = "purpose_consent"
    __table_args__ = (UniqueConstraint("user_id", "community_id", "purpose", name="uq_purpose_consent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose, "consent_purpose"))
    granted: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentEvent(Base):
    """The person's own record, append-only: each choice they made, and (as features use their data) each use."""

    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_event_person", "user_id", "community_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose, "consent_purpose"))
    what: Mapped[str] = mapped_column(String(200))  # "granted", "withdrawn", or a use in words
    at: Mapped[datetime] = mapped_column(UTCDateTime)
