"""Delivery through a real SMTP server (aiosmtpd on a loopback port), which is stopped in the middle of a run:
every email arrives, none twice."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from lhn.database import transaction, utcnow
from lhn.extensions import db
from lhn.mail import queue_email, worker
from lhn.mail import services as mail
from lhn.mail.models import MailState, OutboxMessage
from lhn.mail.transport import SMTPTransport
from tests.servers import free_port


class Inbox:
    """aiosmtpd handler: keeps each message it accepted (it answers 250 after keeping it)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [message_from_bytes(raw)["Message-ID"] for raw in self.messages]


@pytest.fixture
def smtp_server():
    inbox, port = Inbox(), free_port()
    servers: list[Controller] = []

    def start() -> None:
        servers.append(Controller(inbox, hostname="127.0.0.1", port=port))
        servers[-1].start()

    def stop() -> None:
        servers[-1].stop()

    start()
    yield inbox, port, start, stop
    for server in servers:
        if server._thread is not None:  # still running
            server.stop()


def test_a_mail_server_outage_mid_run_loses_nothing_and_duplicates_nothing(app, smtp_server):
    inbox, port, start, stop = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context(), transaction():
        queued = [queue_email(to=f"member{i}@example.org", subject=f"Reset {i}", text=f"Link {i}", kind="test")
                  for i in range(40)]  # fmt: skip
        expected = sorted(row.message_id for row in queued)

    sent_before_outage: list[int] = []

    def outage_after_ten(letter) -> None:
        sent_before_outage.append(letter.id)
        if len(sent_before_outage) == 10:
            stop()  # the server goes away between two messages of the batch

    with app.app_context():
        report = mail.deliver_due(SMTPTransport(app.config), batch=25, on_sent=outage_after_ten)
    assert (report.sent, report.retrying) == (10, 15)
    assert len(inbox.messages) == 10

    with app.app_context():  # still down: the next try fails too, and the messages wait
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert worker.send_due(app).sent == 0

    start()
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))  # as if the backoff had passed
        db.session.commit()
    assert worker.send_due(app).sent == 30
    assert sorted(inbox.message_ids()) == expected  # every one, once
    with app.app_context():
        states = set(db.session.scalars(select(OutboxMessage.state)))
    assert states == {MailState.SENT}
    first = message_from_bytes(inbox.messages[0])
    assert first["To"] == "member0@example.org"
    assert first["Auto-Submitted"] == "auto-generated"
