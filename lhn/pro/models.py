"""Patient-reported outcomes: the instruments a community offers (each a FHIR R5 Questionnaire) and the responses
people give, which are theirs alone: drafts they come back to, and completed ones, scored and kept as FHIR
QuestionnaireResponses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community


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
    __table_args__ = (Index("ix_pro_response_person", "user_id", "instrument_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("pro_instrument.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[ResponseStatus] = mapped_column(_enum(ResponseStatus, "pro_response_status"))
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # linkId -> answer code
    total: Mapped[float | None] = mapped_column()
    band: Mapped[str] = mapped_column(String(60), default="")
    resource: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the QuestionnaireResponse, when completed
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship()
