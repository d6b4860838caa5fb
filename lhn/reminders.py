"""Reminders: the one list of their kinds, the table that makes each one go out once, and the sweep that runs
every feature's reminder job. Knows no feature: features register their jobs here (as with lhn/periodic.py),
claim keys before they remind, and send signals.reminder_due, which the notifications receiver turns into
notices (routed by each person's preferences there).

A key names one reminder once and for all ("measure 4, site 2, 2026-11"; "vetting 9, a week before"; "join
request 5, person 7"): its row is inserted in the transaction that sends the reminder, and the unique constraint
on (kind, key) lets only one of two sweeps running at once, or a rerun, claim it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from lhn import periodic, signals
from lhn.database import Base, TimestampMixin, transaction, utcnow
from lhn.extensions import db

log = logging.getLogger(__name__)

# Every kind of reminder, with what it is for: the one list (notification preferences may group by it).
KINDS: dict[str, str] = {
    "reminder_measure_due": "A site you submit for has not sent a measure's data for the last period",
    "reminder_vetting_review_soon": "A vetting of yours is due for review within a week",
    "reminder_vetting_review_overdue": "A vetting of yours has waited a week past its review-by date",
    "reminder_join_request": "A request to join a community you moderate is waiting",
    "reminder_verification_request": "A verification request is waiting for site staff",
    "reminder_learning_session": "A learning session you registered for starts within a day",
    "reminder_session_place": "A place opened for you at a learning session you were waiting for",
    "reminder_questionnaire_due": "A questionnaire you answer on a schedule is due again",
}


class ReminderSent(TimestampMixin, Base):
    """One reminder that went out: (kind, key) is claimed once, ever."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_reminder_sent_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))


def setting(name: str) -> int:
    """When reminders fall due: REMINDER_* in lhn/config.py."""
    return int(current_app.config[name])


def claim(kind: str, keys: Iterable[str]) -> set[str]:
    """Claim the reminders `keys` of `kind`: the subset nobody claimed before (in two statements, whatever the
    number of keys). Flushes; the claims commit with the caller's transaction, so a reminder that fails to go
    out is not claimed either."""
    if kind not in KINDS:
        raise ValueError(f"unknown reminder kind {kind!r}; list it in lhn.reminders.KINDS")
    wanted = set(keys)
    if not wanted:
        return set()
    taken = set(db.session.scalars(select(ReminderSent.key).where(ReminderSent.kind == kind,
                                                                   ReminderSent.key.in_(wanted))))  # fmt: skip
    fresh = sorted(wanted - taken)
    if not fresh:
        return set()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = (
        insert(ReminderSent)
        .values([{"kind": kind, "key": key, "created_at": now} for key in fresh])
        .on_conflict_do_nothing(index_elements=["kind", "key"])
        .returning(ReminderSent.key)
    )
    return set(db.session.scalars(stmt))  # only the rows this statement inserted: a concurrent sweep got the rest


def remind(kind: str, recipients: Sequence[Any], *, text: str, url: str, community_id: int | None = None) -> int:
    """Send one reminder to each of `recipients` (Users) through signals.reminder_due. The text says what is due
    and nothing about anyone's health (no measure values, no post bodies). Returns how many people."""
    if kind not in KINDS:
        raise ValueError(f"unknown reminder kind {kind!r}; list it in lhn.reminders.KINDS")
    if recipients:
        signals.reminder_due.send(kind, recipients=list(recipients), text=text, url=url, community_id=community_id)
    return len(recipients)


# --- the sweep ------------------------------------------------------------------------------------------------

Job = Callable[[datetime], int]
_jobs: list[tuple[str, Job]] = []


def register(name: str, job: Job) -> None:
    """A feature's reminder job: given the time now, claims and sends what is due; returns how many people it
    reminded. It runs inside its own write transaction."""
    if name not in {n for n, _ in _jobs}:
        _jobs.append((name, job))


def send_all(now: datetime | None = None) -> dict[str, int]:
    """Run every registered reminder job, each in its own transaction (one failing doesn't stop the others).
    Returns how many people each job reminded. The server's periodic sweep and `lhn send-reminders` call it."""
    now = now or utcnow()
    sent: dict[str, int] = {}
    for name, job in _jobs:
        try:
            with transaction():
                sent[name] = job(now)
        except Exception:
            log.exception("reminder job %s failed", name)
            sent[name] = -1
    return sent


periodic.register("reminders", send_all)
