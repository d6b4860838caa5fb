"""queue_emails (a batch, as the digest job queues) and not_before (quiet hours): one INSERT, queue-once keys, held
email not claimed before its time, and the unsubscribe headers reach the sent message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lhn.database import utcnow
from lhn.extensions import db
from lhn.mail import Email, queue_email, queue_emails
from lhn.mail import services as mail
from lhn.mail.models import OutboxMessage
from lhn.mail.transport import build_message


def email(i: int, key: str | None = None, **fields: object) -> Email:
    return Email(to=f"p{i}@example.org", subject=f"Digest {i}", text="Titles and links", kind="digest_weekly",
                 dedupe_key=key or f"digest:weekly:{i}:2026-W49", **fields)  # type: ignore[arg-type]  # fmt: skip


def test_a_batch_is_queued_once_per_key_in_one_statement(ctx, count_queries):
    queue_email(to="p0@example.org", subject="s", text="t", kind="digest_weekly", dedupe_key="digest:weekly:0:2026-W49")
    with count_queries() as queries:
        fresh = queue_emails([email(0), email(1), email(2), email(2)])
    assert fresh == {"digest:weekly:1:2026-W49", "digest:weekly:2:2026-W49"}
    assert len(queries) == 1  # one INSERT that skips the keys queued before
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.to_address for r in rows] == ["p0@example.org", "p1@example.org", "p2@example.org"]
    assert len({r.message_id for r in rows}) == 3


def test_an_email_held_for_quiet_hours_is_not_claimed_before_its_time(ctx):
    later = utcnow() + timedelta(hours=3)
    queue_emails([email(1, not_before=later, headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})])
    queue_email(to="p2@example.org", subject="s", text="t", kind="notification", not_before=later)
    db.session.commit()
    assert mail.claim_due(10) == []
    letters = mail.claim_due(10, now=later + timedelta(seconds=1))
    assert len(letters) == 2
    sent = build_message(next(x for x in letters if x.to_address == "p1@example.org"), "LHN <a@lhn.local>")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
