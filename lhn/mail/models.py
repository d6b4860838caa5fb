"""The outbox: each email is a row written in the transaction of the event that causes it, and sent afterwards."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lhn.database import Base, TimestampMixin, UTCDateTime, str_enum, utcnow


class MailState(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until claimed_until; a crashed worker's claim runs out
    SENT = "sent"
    DEAD = "dead"  # gave up after MAIL_MAX_ATTEMPTS; an admin sees it and may try again


class OutboxMessage(TimestampMixin, Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. "password_reset", "digest": for admins and tests
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. List-Unsubscribe
    # Fixed when queued, so a message sent again (a worker died after SMTP took it) is the same message to every
    # mail system and client that deduplicates by Message-ID.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    # Queue-once key ("digest:42:2026-W49"): queueing the same key again is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[MailState] = mapped_column(str_enum(MailState, "mail_state"), default=MailState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
