"""The outbox (lhn/mail): queued in the event's transaction, claimed without overlap, retried with a backoff, given
up on after the last try and shown to admins, and the development mailbox."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from lhn.database import transaction, utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.mail import queue_email, worker
from lhn.mail import services as mail
from lhn.mail.models import MailState, OutboxMessage
from lhn.mail.transport import mail_directory
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit


class Recorder:
    """A transport that keeps what it was given, and fails while `down` is set."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.down = False
        self.closed = 0

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise ConnectionRefusedError("the mail server is down")
        self.sent.append(message)

    def close(self) -> None:
        self.closed += 1


def queue(n: int = 1, **kwargs: object) -> list[OutboxMessage]:
    with transaction():
        return [queue_email(to=f"p{i}@example.org", subject=f"Hello {i}", text=f"Line {i}", kind="test", **kwargs)
                for i in range(n)]  # fmt: skip


def state_of(row_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, row_id)


def test_an_email_exists_only_if_its_transaction_commits(ctx):
    def failing_event() -> None:
        with transaction():
            queue_email(to="a@example.org", subject="Hi", text="x", kind="test")
            raise RuntimeError("the event failed")

    with pytest.raises(RuntimeError):
        failing_event()
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    mail.wake.clear()
    queue(1)
    assert mail.wake.is_set()  # the commit woke the embedded worker


def test_queueing_the_same_key_twice_queues_once(ctx):
    first = queue(1, dedupe_key="digest:1:2026-W49")[0]
    assert first is not None
    assert queue(1, dedupe_key="digest:1:2026-W49") == [None]
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_queueing_with_a_key_is_one_insert_that_skips_a_conflict(ctx, count_queries):
    """No SELECT-then-INSERT (two workers could both see no row, and one would fail on the unique key): one INSERT
    ... ON CONFLICT DO NOTHING, whichever database."""
    with count_queries() as statements, transaction():
        assert queue_email(to="a@example.org", subject="Hi", text="x", kind="test", dedupe_key="k:1") is not None
        assert queue_email(to="a@example.org", subject="Hi", text="x", kind="test", dedupe_key="k:1") is None
    outbox = [s for s in statements if "mail_outbox" in s]
    assert len(outbox) == 2
    assert all(s.lstrip().upper().startswith("INSERT") and "ON CONFLICT" in s.upper() for s in outbox)


def test_two_transactions_queueing_one_key_at_once_queue_it_once(app):
    """The race itself: the second transaction's insert meets the first one's uncommitted row (PostgreSQL waits
    for it at the unique index; SQLite's writers take turns) and queues nothing, instead of failing."""
    first_inserted, second_started = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with app.app_context(), transaction():
            results["first"] = queue_email(to="a@example.org", subject="Hi", text="x", kind="test", dedupe_key="k")
            first_inserted.set()
            second_started.wait(5)

    def second() -> None:
        first_inserted.wait(5)
        with app.app_context():
            second_started.set()
            try:
                with transaction():
                    results["second"] = queue_email(to="a@example.org", subject="Hi", text="x", kind="test",
                                                    dedupe_key="k")  # fmt: skip
            except Exception as exc:  # the old SELECT-then-INSERT failed here on PostgreSQL
                results["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results["first"] is not None
    assert results["second"] is None
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_delivery_sends_each_email_once_with_its_message_id(ctx):
    rows = queue(3, headers={"List-Unsubscribe": "<https://lhn.example/u/x>"})
    transport = Recorder()
    report = mail.deliver_due(transport)
    assert (report.sent, report.retrying, report.dead) == (3, 0, 0)
    assert [m["Message-ID"] for m in transport.sent] == [r.message_id for r in rows]
    assert transport.sent[0]["List-Unsubscribe"] == "<https://lhn.example/u/x>"
    assert transport.sent[0].get_content().strip() == "Line 0"
    assert all(state_of(r.id).state == MailState.SENT for r in rows)
    assert not mail.deliver_due(transport)  # nothing left
    assert len(transport.sent) == 3


def test_an_outage_backs_off_then_gives_up_and_admins_can_retry(ctx, app):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    row = queue(1)[0]
    transport = Recorder()
    transport.down = True
    report = mail.deliver_due(transport)
    assert (report.sent, report.retrying) == (0, 1)
    first = state_of(row.id)
    assert first.state == MailState.QUEUED
    assert first.attempts == 1
    assert "ConnectionRefusedError" in first.last_error
    assert first.next_attempt_at - utcnow() > timedelta(seconds=mail.FIRST_RETRY_SECONDS - 5)
    assert not mail.deliver_due(transport)  # not due yet
    for attempt in (2, 3):
        with transaction():
            state_of(row.id).next_attempt_at = utcnow()
        mail.deliver_due(transport)
        assert state_of(row.id).attempts == attempt
    assert mail.retry_delay(2) == 2 * mail.retry_delay(1)
    assert state_of(row.id).state == MailState.DEAD
    admin, patient = factories.user(admin=True), factories.user()
    assert [m.id for m in mail.list_dead(by=admin).items] == [row.id]
    assert mail.mail_counts(by=admin)[MailState.DEAD] == 1
    with pytest.raises(PermissionDenied):
        mail.list_dead(by=patient)
    with pytest.raises(PermissionDenied), transaction():
        mail.retry_dead(row.id, by=patient)
    with transaction():
        mail.retry_dead(row.id, by=admin)
    transport.down = False
    assert mail.deliver_due(transport).sent == 1
    assert state_of(row.id).state == MailState.SENT


def test_an_outage_costs_one_failure_per_batch_not_one_per_email(ctx):
    queue(5)
    transport = Recorder()
    transport.down = True
    calls = 0
    original = transport.send

    def counting(message: EmailMessage) -> None:
        nonlocal calls
        calls += 1
        original(message)

    transport.send = counting  # type: ignore[method-assign]
    assert mail.deliver_due(transport).retrying == 5
    assert calls == 1


def test_two_workers_never_claim_the_same_email(app):
    with app.app_context():
        queue(60)
    claimed: list[list[int]] = [[], []]

    def claim(n: int) -> None:
        with app.app_context():
            while letters := mail.claim_due(7):
                claimed[n] += [letter.id for letter in letters]

    threads = [threading.Thread(target=claim, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(claimed[0]) + len(claimed[1]) == 60
    assert not set(claimed[0]) & set(claimed[1])


def test_a_crashed_workers_emails_go_out_when_its_claim_runs_out(ctx):
    row = queue(1)[0]
    dead_worker = mail.claim_due(10)  # claimed, then the worker died before sending
    assert [letter.id for letter in dead_worker] == [row.id]
    transport = Recorder()
    assert not mail.deliver_due(transport)  # the claim still stands
    later = utcnow() + mail.LEASE + timedelta(seconds=1)
    retaken = mail.claim_due(10, now=later)
    assert [letter.message_id for letter in retaken] == [row.message_id]  # the same message, the same Message-ID
    assert not mail._finish(dead_worker[0], state=MailState.SENT)  # the old claim can no longer mark it


def test_the_worker_writes_to_the_development_mailbox_which_only_development_shows(app, client):
    with app.app_context():
        queue(2)
    assert worker.send_due(app).sent == 2
    assert len(list(mail_directory(app.config, app.instance_path).glob("*.eml"))) == 2
    listing = client.get("/dev/mail")
    assert listing.status_code == 200
    assert "Hello 0" in listing.get_data(as_text=True)
    assert "Hello 1" in listing.get_data(as_text=True)
    name = sorted(mail_directory(app.config, app.instance_path).glob("*.eml"))[0].stem
    letter = client.get(f"/dev/mail/{name}")
    assert letter.status_code == 200
    assert "Line" in letter.get_data(as_text=True)
    assert client.get("/dev/mail/..%2Fconfig").status_code == 404


NOT_LETTERS = ["..%2Fconfig", "..", "...", "20261205T120000-abc.def", "x" * 200, "20261205T120000-ABC%00", "T-T",
               "20261205T120000-abc/../../secret_key", "%2e%2e%2fsecret_key", "20261205T120000-abc def"]  # fmt: skip


@pytest.mark.parametrize("name", NOT_LETTERS)
def test_the_development_mailbox_opens_only_names_it_wrote(app, client, name):
    """A letter's name is what DirectoryTransport writes (a UTC time, a dash, hex), nothing else: no dots, no
    slashes, no other file in instance/."""
    (mail_directory(app.config, app.instance_path)).mkdir(parents=True, exist_ok=True)
    (mail_directory(app.config, app.instance_path).parent / "secret_key.eml").write_text("Subject: secret\n\nsecret")
    (mail_directory(app.config, app.instance_path) / "notes.draft.eml").write_text("Subject: not a letter\n\nx")
    refused = 400 if "%00" in name else 404  # a NUL in any address is refused before routing (lhn/__init__.py)
    assert client.get(f"/dev/mail/{name}").status_code == refused
    assert client.get("/dev/mail/notes.draft").status_code == 404
    with app.app_context():
        queue(1)
    worker.send_due(app)
    written = next(mail_directory(app.config, app.instance_path).glob("2*.eml")).stem
    assert client.get(f"/dev/mail/{written}").status_code == 200
    app.config["MAIL_SERVER"] = "mail.example.org"
    assert client.get("/dev/mail").status_code == 404
    app.config["MAIL_SERVER"], app.config["ENV"] = None, "production"
    assert client.get("/dev/mail").status_code == 404


def test_an_admin_sees_the_outbox_and_tries_a_dead_email_again(app, client):
    with committed(app):
        row_id = queue(1)[0].id
        with transaction():
            state_of(row_id).state = MailState.DEAD
        factories.user(admin=True, username="admin1")
        factories.user(username="patient1")
    login(client, "patient1")
    assert client.get("/admin/mail").status_code in (403, 404)
    client.post("/logout")
    client = app.test_client()
    login(client, "admin1")
    page = client.get("/admin/mail")
    assert page.status_code == 200
    assert "p0@example.org" in page.get_data(as_text=True)
    response = submit(client, "/admin/mail", "Try again")
    assert response.status_code == 302
    with app.app_context():
        assert state_of(row_id).state == MailState.QUEUED
    assert "Nothing: every email" in client.get("/admin/mail").get_data(as_text=True)


def test_the_worker_command_sends_what_is_due(app):
    with app.app_context():
        queue(3)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["lhn", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "3 sent" in result.output
