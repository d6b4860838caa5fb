"""Queueing and delivering email through the outbox. Features call queue_email() inside the transaction of the event
that causes the email, so an email exists exactly when its event committed; workers (worker.py) claim due rows,
send them with no transaction open, and mark them sent, or queued again with a backoff, or dead after
MAIL_MAX_ATTEMPTS tries. A claim is a lease: a worker that dies mid-send leaves its rows to be claimed again when
the lease runs out (each keeps its Message-ID). Claims use FOR UPDATE SKIP LOCKED on PostgreSQL, so workers never
claim the same row; on SQLite the claim's write transaction (BEGIN IMMEDIATE) does the same."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lhn.accounts.models import User
from lhn.database import transaction, utcnow
from lhn.errors import NotFound, PermissionDenied
from lhn.extensions import db
from lhn.mail.models import MailState, OutboxMessage
from lhn.mail.permissions import can_see_outbox
from lhn.mail.transport import Letter, Transport, build_message
from lhn.pagination import Page, paginate

MAX_ATTEMPTS = 8  # default of MAIL_MAX_ATTEMPTS: 30 s, 1, 2, 4, 8, 16, 32 min apart: about an hour of outage
FIRST_RETRY_SECONDS = 30
LEASE = timedelta(minutes=5)  # a worker sends a batch well within this, or is presumed dead

wake = threading.Event()  # set after a commit that queued mail: the embedded worker sends at once
_PENDING = "lhn_mail_queued"


def queue_email(
    *,
    to: str,
    subject: str,
    text: str,
    kind: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue an email in the caller's transaction (it leaves only if that commits). Nothing health-related goes in
    an email: callers pass titles and links, never a post's or a measure's content. Returns the row, or None when
    `dedupe_key` was queued before (queueing is idempotent per key). `not_before`: the first attempt waits until
    then (the person's quiet hours)."""
    values = _row_values(Email(to=to, subject=subject, text=text, kind=kind, dedupe_key=dedupe_key, html=html,
                               headers=dict(headers or {}), not_before=not_before), utcnow())  # fmt: skip
    # One statement, not SELECT-then-INSERT: two transactions queueing one key at once would both see no row and
    # the second would fail on the unique key. ON CONFLICT makes the second a no-op (PostgreSQL waits for the
    # first at the index and skips if it commits; SQLite's writers take turns).
    statement = _dialect_insert().values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    row: OutboxMessage | None = db.session.scalar(statement.returning(OutboxMessage))  # in the session, or None
    if row is None:
        return None
    db.session.info[_PENDING] = True
    return row


def public_origin() -> str:
    """The origin of links in emails: LHN_PUBLIC_ORIGIN, else the host of the request that queued the email (its
    Host header: set LHN_PUBLIC_ORIGIN in production), else (the CLI, a worker) http://localhost."""
    origin = current_app.config.get("PUBLIC_ORIGIN") or (request.host_url if has_request_context() else "")
    return origin or "http://localhost"


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for an email, on LHN_PUBLIC_ORIGIN. Always set it in production: without it the link takes the
    host of the request that queued it (its Host header, which whoever sends the request chooses: a reset link
    pointing at their site), and outside a request (the CLI, a worker) http://localhost."""
    parts = urlsplit(public_origin())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def _dialect_insert() -> Any:
    """The dialect's INSERT (both have ON CONFLICT DO NOTHING): PostgreSQL's or SQLite's."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    return (postgresql_insert if postgresql else sqlite_insert)(OutboxMessage)


@dataclass(frozen=True)
class Email:
    """One email for queue_emails: the arguments of queue_email as data."""

    to: str
    subject: str
    text: str
    kind: str
    dedupe_key: str | None  # queue_emails needs one
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    not_before: datetime | None = None


def queue_emails(emails: list[Email]) -> set[str]:
    """queue_email for a batch (the digest job): one multi-row INSERT that skips the keys queued before, in the
    caller's transaction. Every email has a dedupe_key; returns the keys queued now."""
    if not emails:
        return set()
    now = utcnow()
    rows = list({e.dedupe_key: _row_values(e, now) for e in emails}.values())  # a key twice in the batch: once
    statement = _dialect_insert().values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    fresh = {key for key in db.session.scalars(statement.returning(OutboxMessage.dedupe_key)) if key is not None}
    if fresh:
        db.session.info[_PENDING] = True
    return fresh


def _row_values(email: Email, now: datetime) -> dict[str, Any]:
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "lhn.local"
    return {"kind": email.kind, "to_address": email.to, "subject": email.subject, "text_body": email.text,
            "html_body": email.html, "headers": dict(email.headers), "dedupe_key": email.dedupe_key,
            "message_id": f"<{secrets.token_hex(12)}.{email.kind}@{domain}>", "state": MailState.QUEUED,
            "attempts": 0, "next_attempt_at": max(email.not_before, now) if email.not_before else now,
            "created_at": now}  # fmt: skip


def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        wake.set()


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _tx: session.info.pop(_PENDING, None))


def claim_due(limit: int, *, now: datetime | None = None) -> list[Letter]:
    """Claim up to `limit` due emails for this worker (its own write transaction): queued ones whose time has come
    and sending ones whose worker's lease ran out, oldest first."""
    now = now or utcnow()
    token = secrets.token_hex(16)
    with transaction():
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(or_(
                (OutboxMessage.state == MailState.QUEUED) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.state == MailState.SENDING) & (OutboxMessage.claimed_until < now),
            ))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()  # fmt: skip
        for row in rows:
            row.state, row.claim_token, row.claimed_until = MailState.SENDING, token, now + LEASE
            row.attempts += 1
        letters = [Letter(id=r.id, claim_token=token, to_address=r.to_address, subject=r.subject,
                          text_body=r.text_body, html_body=r.html_body, headers=dict(r.headers or {}),
                          message_id=r.message_id, attempts=r.attempts) for r in rows]  # fmt: skip
    return letters


def _finish(letter: Letter, **values: object) -> bool:
    """Update a claimed row, only while this worker's claim on it stands (a lease that ran out and was claimed
    again belongs to the other worker now)."""
    with transaction():
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == letter.id, OutboxMessage.claim_token == letter.claim_token)
            .values(claim_token=None, claimed_until=None, **values)
        )  # fmt: skip
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    def __bool__(self) -> bool:
        return bool(self.sent or self.retrying or self.dead)


def deliver_due(transport: Transport, *, batch: int = 50,
                on_sent: Callable[[Letter], None] | None = None) -> DeliveryReport:  # fmt: skip
    """Claim and send one batch. A failure to send puts the row back with a backoff (or dead after the last
    try) and closes the connection, so an outage costs one timeout per batch, not per message."""
    report = DeliveryReport()
    config = current_app.config
    sender = config.get("MAIL_DEFAULT_SENDER") or "LHN <no-reply@lhn.local>"
    max_attempts = int(config.get("MAIL_MAX_ATTEMPTS") or MAX_ATTEMPTS)
    letters = claim_due(batch)
    failure: str | None = None
    for letter in letters:
        if failure is None:
            try:
                transport.send(build_message(letter, sender))
            except Exception as exc:  # any failure to hand over is retried
                failure = f"{type(exc).__name__}: {exc}"[:500]
                transport.close()
            else:
                _finish(letter, state=MailState.SENT, sent_at=utcnow(), last_error=None)
                report.sent += 1
                if on_sent:
                    on_sent(letter)
                continue
        # Not sent: this one failed, or an earlier one in the batch did (the server is likely down).
        if letter.attempts >= max_attempts:
            _finish(letter, state=MailState.DEAD, last_error=failure)
            report.dead += 1
        else:
            _finish(letter, state=MailState.QUEUED, last_error=failure,
                    next_attempt_at=utcnow() + retry_delay(letter.attempts))  # fmt: skip
            report.retrying += 1
    transport.close()
    return report


# --- what admins see ------------------------------------------------------------------------------------------


def mail_counts(*, by: User) -> dict[MailState, int]:
    """How many emails are in each state. Admins only."""
    if not can_see_outbox(by):
        raise PermissionDenied("Only admins see the outbox.")
    counts = dict(db.session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    return {state: counts.get(state, 0) for state in MailState}


def list_dead(*, by: User, cursor: str | None = None) -> Page[OutboxMessage]:
    """Emails given up on, newest first (keyset by id). Admins only."""
    if not can_see_outbox(by):
        raise PermissionDenied("Only admins see the outbox.")
    query = select(OutboxMessage).where(OutboxMessage.state == MailState.DEAD)
    return paginate(query, order_by=[OutboxMessage.id], key=lambda row: [row.id], cursor=cursor, limit=50)


def retry_dead(message_id: int, *, by: User) -> OutboxMessage:
    """Queue a dead email again for a fresh round of tries (after fixing the mail settings). Admins only."""
    if not can_see_outbox(by):
        raise PermissionDenied("Only admins see the outbox.")
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.state != MailState.DEAD:
        raise NotFound("No such undelivered email.")
    row.state, row.attempts, row.next_attempt_at = MailState.QUEUED, 0, utcnow()
    db.session.info[_PENDING] = True
    return row
