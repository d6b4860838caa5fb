"""Outcome measures, their owners and versions, site data, consent, PDSA cycles, notes, phase changes and points
left out of a baseline."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime, unique_where, utcnow
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import Institution, User
    from lhn.communities.models import Community


class MeasureType(LabelledEnum):
    PROPORTION = "proportion"  # numerator within denominator -> run chart + p chart
    RATE = "rate"  # events per exposure -> run chart + u chart
    COUNT = "count"  # events with constant opportunity -> c chart
    CONTINUOUS = "continuous"  # a mean value of n people -> run chart + I/MR chart

    @property
    def fields(self) -> tuple[str, ...]:
        """The names a person or a file gives for one period's value."""
        return {
            "proportion": ("numerator", "denominator"),
            "rate": ("events", "exposure"),
            "count": ("count",),
            "continuous": ("value", "n"),
        }[self.value]


class Period(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class Improvement(enum.StrEnum):
    UP = "up"  # higher is better
    DOWN = "down"


class PdsaAct(enum.StrEnum):
    ADOPT = "adopt"
    ADAPT = "adapt"
    ABANDON = "abandon"


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Measure(TimestampMixin, Base):
    __tablename__ = "measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[MeasureType] = mapped_column(_enum(MeasureType, "measure_type"))
    unit: Mapped[str] = mapped_column(String(60), default="")
    improvement: Mapped[Improvement] = mapped_column(_enum(Improvement, "measure_improvement"))
    target: Mapped[float | None] = mapped_column(Float)  # in display units (percent for proportions)
    period: Mapped[Period] = mapped_column(_enum(Period, "measure_period"))
    data_source: Mapped[str] = mapped_column(Text, default="")
    # Display multiplier: 100 shows proportions as percent; 1000 shows a rate per 1,000 units of exposure.
    multiplier: Mapped[float] = mapped_column(Float, default=1.0)
    rule_set: Mapped[str] = mapped_column(String(32), default="shewhart_anhoj")
    baseline_points: Mapped[int | None] = mapped_column()  # limits from the first N points of each phase
    # Equity strata: [{"code", "label", "strata": [{"code", "label"}, ...]}] (services/stratifiers.py).
    stratifiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    # "questionnaire": LHN computes the values from patients' own answers (lhn/pro), so no site submits them and
    # no reader, a site's team included, sees a small cell. "": each site's team submits its values.
    computed_from: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()

    @property
    def value_suffix(self) -> str:
        """What follows a value in display units: "%" for a proportion shown per 100, else nothing (the one rule
        for charts, pages and tables)."""
        return "%" if self.type == MeasureType.PROPORTION and self.multiplier == 100 else ""


class MeasureChange(Base):
    """The measure's visible, append-only log: each definition version (with the full definition), and
    ownership, site-lead and phase changes (which don't change the definition, so keep its version)."""

    __tablename__ = "measure_change"
    __table_args__ = (Index("ix_measure_change_measure_id_id", "measure_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()  # the definition version in force after this change
    kind: Mapped[str] = mapped_column(String(20))  # definition, ownership, site_lead, phase, baseline
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # for kind == "definition"
    summary: Mapped[str] = mapped_column(Text, default="")  # "target: 70 → 75; unit: ..."
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by: Mapped[User | None] = relationship()


class MeasureOwner(Base):
    __tablename__ = "measure_owner"
    __table_args__ = (UniqueConstraint("measure_id", "user_id", name="uq_measure_owner_measure_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class OwnerInvitation(TimestampMixin, Base):
    """An owner asks a community member to co-own a measure; the invitee accepts or declines."""

    __tablename__ = "measure_owner_invitation"
    __table_args__ = (Index("ix_measure_owner_invitation_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[InvitationStatus] = mapped_column(
        _enum(InvitationStatus, "measure_invitation_status"), default=InvitationStatus.PENDING
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    measure: Mapped[Measure] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.PENDING


class SiteDataLead(Base):
    """A person the measure's owners appointed to submit data for one site (whatever their own badge)."""

    __tablename__ = "measure_site_lead"
    __table_args__ = (
        UniqueConstraint("measure_id", "institution_id", "user_id", name="uq_measure_site_lead_measure_site_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    appointed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class DataConsent(Base):
    """A site's consent to contribute measure data to a community, recorded by a member of its team.

    Append-only: withdrawing sets withdrawn_at; giving consent again adds a new row. While a site has no
    active consent its data is refused and left out of every cross-site view and of the network aggregate.
    """

    __tablename__ = "measure_data_consent"
    __table_args__ = (Index("ix_measure_data_consent_community_site", "community_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(40), default="contribute_measure_data")
    statement: Mapped[str] = mapped_column(Text)  # the exact text that was agreed to
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    given_by: Mapped[User | None] = relationship(foreign_keys=[given_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class SiteValue:
    """One site's value for one period, as DataPoint and StratumDataPoint both hold it. A resubmission supersedes
    the earlier row, which stays as history.

    Columns by type: proportion numerator/denominator; rate events/exposure; count count/None; continuous
    value (the mean)/n (how many people it is the mean of).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    numerator: Mapped[float] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    measure_version: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="form")  # form, csv, fhir, api, demo
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr
    def institution(cls) -> Mapped[Institution]:
        return relationship()

    @declared_attr
    def submitted_by(cls) -> Mapped[User | None]:
        return relationship()


class DataPoint(SiteValue, Base):
    """One site's value for one period (see SiteValue)."""

    __tablename__ = "measure_data"
    __table_args__ = (
        Index("ix_measure_data_measure_current", "measure_id", "superseded_at"),
        unique_where(
            "uq_measure_data_current_cell",
            "measure_id",
            "institution_id",
            "period_start",
            where="superseded_at IS NULL",
        ),
    )


class StratumDataPoint(SiteValue, Base):
    """One site's value for one period within one stratum of a stratifier (e.g. age band 12-17), with the columns
    of SiteValue. A site's current strata of one stratifier and period add up to its current DataPoint (the
    services check it)."""

    __tablename__ = "measure_stratum_data"
    __table_args__ = (
        Index("ix_measure_stratum_data_measure_current", "measure_id", "stratifier", "superseded_at"),
        unique_where(
            "uq_measure_stratum_data_current_cell",
            "measure_id",
            "institution_id",
            "period_start",
            "stratifier",
            "stratum",
            where="superseded_at IS NULL",
        ),
    )

    stratifier: Mapped[str] = mapped_column(String(40))
    stratum: Mapped[str] = mapped_column(String(40))


class PdsaCycle(TimestampMixin, Base):
    """A Plan-Do-Study-Act cycle at one site, testing a change; optionally linked to an idea (a post id)."""

    __tablename__ = "pdsa_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    # An idea lives in the posts feature, a sibling we must not import: a plain id, resolved by a signal.
    idea_id: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(160))
    plan: Mapped[str] = mapped_column(Text, default="")
    plan_html: Mapped[str] = mapped_column(Text, default="")
    prediction: Mapped[str] = mapped_column(Text, default="")
    prediction_html: Mapped[str] = mapped_column(Text, default="")
    do_notes: Mapped[str] = mapped_column(Text, default="")
    do_notes_html: Mapped[str] = mapped_column(Text, default="")
    study: Mapped[str] = mapped_column(Text, default="")
    study_html: Mapped[str] = mapped_column(Text, default="")
    act: Mapped[PdsaAct | None] = mapped_column(_enum(PdsaAct, "pdsa_act"))
    act_notes: Mapped[str] = mapped_column(Text, default="")
    act_notes_html: Mapped[str] = mapped_column(Text, default="")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    institution: Mapped[Institution] = relationship()
    created_by: Mapped[User | None] = relationship()


class ChartNote(TimestampMixin, Base):
    """A note on a date of a site's chart or of the network chart (site None), e.g. an astronomical point."""

    __tablename__ = "measure_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    institution: Mapped[Institution | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class PeriodMark(TimestampMixin):
    """A person's reasoned mark on one period of a site's chart or of the network chart (site None)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    @declared_attr
    def institution(cls) -> Mapped[Institution | None]:
        return relationship()

    @declared_attr
    def created_by(cls) -> Mapped[User | None]:
        return relationship()


class PhaseChange(PeriodMark, Base):
    """A deliberate new phase (new limits) from a period on."""

    __tablename__ = "measure_phase"
    __table_args__ = (
        UniqueConstraint("measure_id", "institution_id", "period_start", name="uq_measure_phase_measure_site_start"),
    )


class BaselineExclusion(PeriodMark, Base):
    """One period's point left out of its phase's baseline (a special cause with a known reason: Montgomery's
    revised limits). The point stays on the chart, marked, and is still judged against the limits."""

    __tablename__ = "measure_exclusion"
    __table_args__ = (
        UniqueConstraint(
            "measure_id", "institution_id", "period_start", name="uq_measure_exclusion_measure_site_period"
        ),
    )
