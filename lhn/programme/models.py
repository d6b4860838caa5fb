"""The improvement programme's data: key driver diagrams (aim, nodes, history), learning sessions with their
registrations, the storyboards sites bring to them, and the change package of what worked."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime, utcnow
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import Institution, User
    from lhn.communities.models import Community
    from lhn.measures.models import Measure


class NodeKind(LabelledEnum):
    """The columns of a driver diagram, left to right after the aim."""

    PRIMARY = "primary", "Primary driver"
    SECONDARY = "secondary", "Secondary driver"
    CHANGE = "change", "Change idea"

    @property
    def child(self) -> NodeKind | None:
        return {"primary": NodeKind.SECONDARY, "secondary": NodeKind.CHANGE, "change": None}[self.value]


class DriverDiagram(TimestampMixin, Base):
    """A community's theory of change: an aim, linked to the outcome measure whose target it names."""

    __tablename__ = "driver_diagram"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measure.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    aim: Mapped[str] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)  # the number of its latest DiagramVersion
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()
    measure: Mapped[Measure | None] = relationship()


class DriverNode(Base):
    """A primary driver (no parent), a secondary driver (under a primary) or a change idea (under a secondary,
    optionally the community's idea it is: its PDSA cycles give the node's status)."""

    __tablename__ = "driver_node"
    __table_args__ = (Index("ix_driver_node_diagram_parent", "diagram_id", "parent_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    diagram_id: Mapped[int] = mapped_column(ForeignKey("driver_diagram.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("driver_node.id", ondelete="CASCADE"))
    kind: Mapped[NodeKind] = mapped_column(_enum(NodeKind, "driver_node_kind"))
    label: Mapped[str] = mapped_column(String(200))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"), index=True)
    position: Mapped[int] = mapped_column(default=0)


class DiagramVersion(Base):
    """One change to a diagram, append-only: who, when, what in words, and the whole diagram after it."""

    __tablename__ = "driver_diagram_version"
    __table_args__ = (UniqueConstraint("diagram_id", "number", name="uq_driver_diagram_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    diagram_id: Mapped[int] = mapped_column(ForeignKey("driver_diagram.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    summary: Mapped[str] = mapped_column(String(400))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"title", "aim", "measure_id", "nodes": [tree]}
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class RegistrationStatus(LabelledEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"


class LearningSession(TimestampMixin, Base):
    """A network event where sites show their storyboards: when (UTC, with the organiser's time zone to show it
    in), where (online or a place), the agenda and a cap on places."""

    __tablename__ = "learning_session"
    __table_args__ = (Index("ix_learning_session_community_starts", "community_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(160))
    agenda: Mapped[str] = mapped_column(Text, default="")  # Markdown
    agenda_html: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64))  # the organiser's, e.g. Europe/London
    online: Mapped[bool] = mapped_column(default=True)
    location: Mapped[str] = mapped_column(String(300), default="")  # a place, or the link to join online
    capacity: Mapped[int | None] = mapped_column()  # None: no cap
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    created_by: Mapped[User | None] = relationship()


class SessionRegistration(TimestampMixin, Base):
    """A person's place at a session, or their place in its waiting list (first come, first served)."""

    __tablename__ = "learning_session_registration"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_learning_session_registration_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_session.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(_enum(RegistrationStatus, "registration_status"))

    user: Mapped[User] = relationship()


class Storyboard(TimestampMixin, Base):
    """A site's one-page summary for a session: its aim, the measures whose charts it shows (drawn live, with the
    network's suppression), the changes it tested and what it learned; notes after the session."""

    __tablename__ = "storyboard"
    __table_args__ = (UniqueConstraint("session_id", "institution_id", name="uq_storyboard_session_site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_session.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"))
    aim: Mapped[str] = mapped_column(String(500))
    measure_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    changes: Mapped[str] = mapped_column(Text, default="")  # Markdown: the changes tested
    changes_html: Mapped[str] = mapped_column(Text, default="")
    learned: Mapped[str] = mapped_column(Text, default="")
    learned_html: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # after the session: questions asked, what others said
    notes_html: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution: Mapped[Institution] = relationship()
    created_by: Mapped[User | None] = relationship()


class EntryStatus(LabelledEnum):
    """Where a change stands with the change package: proposed by a member, accepted or declined by the owners,
    removed by them from a later version."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REMOVED = "removed"


class PackageEntry(TimestampMixin, Base):
    """A change proposed for the community's change package: an adopted idea, how to do it, and once accepted the
    evidence that it worked as it stood then (PDSA outcomes, adopting sites, SPC signals since)."""

    __tablename__ = "change_package_entry"
    __table_args__ = (UniqueConstraint("community_id", "idea_id", name="uq_change_package_entry_idea"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))  # the idea's, when proposed
    summary: Mapped[str] = mapped_column(Text)  # Markdown: how to do it, what it takes
    summary_html: Mapped[str] = mapped_column(Text)
    status: Mapped[EntryStatus] = mapped_column(_enum(EntryStatus, "change_package_entry_status"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # frozen when accepted

    community: Mapped[Community] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class PackageVersion(Base):
    """One published state of a community's change package, append-only: who, when, what changed in words, and
    every accepted change with its evidence at that moment."""

    __tablename__ = "change_package_version"
    __table_args__ = (UniqueConstraint("community_id", "number", name="uq_change_package_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    summary: Mapped[str] = mapped_column(String(400))
    snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()

