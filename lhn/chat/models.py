"""Channels, messages (per-channel sequence, client ids, hidden state) and read positions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.accounts.models import Role
from lhn.database import Base, TimestampMixin, UTCDateTime

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community

GENERAL = "general"
# Channels limited to these roles only are patient spaces: presence shows a count, never names.
PATIENT_SPACE_ROLES = frozenset({Role.PATIENT, Role.CAREGIVER})


class Channel(TimestampMixin, Base):
    __tablename__ = "chat_channel"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_chat_channel_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))  # lowercase letters, digits, hyphens; shown as #name
    topic: Mapped[str] = mapped_column(String(250), default="")
    # Comma-separated site roles that may read and post ("" = every member). Moderators always may.
    allowed_roles: Mapped[str] = mapped_column(String(120), default="")
    is_general: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The channel's event counter: every create, edit, delete, hide and unhide takes the next value
    # while holding this row's lock, so events are numbered in commit order without gaps.
    last_seq: Mapped[int] = mapped_column(default=0)

    community: Mapped[Community] = relationship()

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.allowed_roles.split(",") if r)

    @property
    def is_patient_space(self) -> bool:
        """Limited to patients and/or caregivers: who is online is shown as a count only."""
        return bool(self.roles) and self.roles <= PATIENT_SPACE_ROLES

    @property
    def audience(self) -> str:
        if not self.roles:
            return "All members"
        labels = [r.label.lower() + "s" for r in Role if r in self.roles]
        text = ", ".join(labels[:-1]) + (" and " if len(labels) > 1 else "") + labels[-1]
        return text[0].upper() + text[1:] + " (and the community's moderators)"


class ChatMessage(Base):
    __tablename__ = "chat_message"
    __table_args__ = (
        # A retried send carries the same client id: the second insert finds the first row.
        UniqueConstraint("sender_id", "client_id", name="uq_chat_message_sender_client"),
        Index("ix_chat_message_channel_id_id", "channel_id", "id"),
        Index("ix_chat_message_channel_change", "channel_id", "change_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("chat_channel.id", ondelete="CASCADE"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column()  # the channel event number that created it
    change_seq: Mapped[int] = mapped_column()  # the channel event number of its latest change
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str] = mapped_column(String(300), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    channel: Mapped[Channel] = relationship()
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])


class ChannelRead(Base):
    """How far a person has read a channel (the unread marker and counts)."""

    __tablename__ = "chat_read"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("chat_channel.id", ondelete="CASCADE"), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(default=0)
