"""Email from a real server to a real SMTP server (aiosmtpd on a loopback port): a password reset, a registration's
confirmation, a digest and a reminder each arrive once, sent by the server's own outbox worker, and running the
digest and reminder jobs again sends nothing twice. (tests/mail/test_smtp.py stops the SMTP server mid-run.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from tests.forms import submit
from tests.mail.test_smtp import Inbox
from tests.servers import LiveServer, build_demo_database, flask_command, free_port

pytestmark = pytest.mark.live

DEMO_PASSWORD = "lhn-demo-2026"


class LiveClient:
    """A requests session with the two methods of Flask's test client that tests.forms.submit uses, so that a form
    is sent to a live server exactly as the page rendered it."""

    class Page:
        def __init__(self, response: requests.Response) -> None:
            self.response, self.status_code, self.text = response, response.status_code, response.text

        def get_data(self, as_text: bool = False) -> Any:
            return self.text if as_text else self.response.content

    def __init__(self, base: str) -> None:
        self.base, self.session = base, requests.Session()

    def get(self, path: str, follow_redirects: bool = False) -> LiveClient.Page:
        return self.Page(self.session.get(self.base + path, allow_redirects=follow_redirects, timeout=30))

    def post(self, path: str, data: bytes, content_type: str, follow_redirects: bool = False) -> LiveClient.Page:
        headers = {"Content-Type": content_type}
        return self.Page(self.session.post(self.base + path, data=data, headers=headers,
                                           allow_redirects=follow_redirects, timeout=30))  # fmt: skip


def kind_of(message: Message) -> str:
    """The outbox kind, from the Message-ID lhn.mail gives each email: <hex.kind@domain>."""
    return str(message["Message-ID"]).split(".", 1)[1].split("@", 1)[0]


def received(inbox: Inbox) -> list[tuple[str, str, str]]:
    """(kind, to, subject) of every message the SMTP server accepted."""
    messages = [message_from_bytes(raw) for raw in inbox.messages]
    return [(kind_of(m), str(m["To"]), str(m["Subject"])) for m in messages]


def outbox(url: str) -> list[Any]:
    """(kind, to_address, state) of every email the server's outbox holds."""
    engine = create_engine(url)
    with engine.begin() as db:
        rows = db.execute(text("SELECT kind, to_address, state FROM mail_outbox")).all()
    engine.dispose()
    return list(rows)


def wait_for(inbox: Inbox, wanted: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while len(inbox.messages) < wanted and time.monotonic() < deadline:
        time.sleep(0.2)


def morning_zone() -> str:
    """A time zone where it is daytime now, past the digest hour and outside any quiet hours."""
    for zone, offset in (("UTC", 0), ("Asia/Tokyo", 9), ("America/Los_Angeles", -8)):
        if 9 <= (datetime.now(UTC).hour + offset) % 24 <= 20:
            return zone
    raise AssertionError("unreachable: one of three zones 9 or 8 hours apart is in its daytime")


def token(base: str, login: str) -> dict[str, str]:
    made = requests.post(f"{base}/api/v1/tokens", json={"login": login, "password": DEMO_PASSWORD, "name": "mail"},
                         timeout=30)  # fmt: skip
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.fixture
def smtp_inbox():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_reset_confirmation_digest_and_reminder_arrive_once_each(tmp_path, smtp_inbox):
    inbox, port = smtp_inbox
    url = build_demo_database(tmp_path / "mail.sqlite3")
    # The demo's own notices went to the development mailbox when it was built; only what follows is SMTP's.
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("DELETE FROM mail_outbox"))
        # dad_on_call's request to join the CF community has waited three days: its deciders are due a reminder.
        db.execute(text("UPDATE join_request SET created_at = :then WHERE status = 'pending'"),
                   {"then": datetime.now(UTC) - timedelta(days=3)})  # fmt: skip
        deciders = db.execute(text(
            "SELECT u.username, u.email FROM membership m JOIN user_account u ON u.id = m.user_id "
            "JOIN join_request r ON r.community_id = m.community_id "
            "WHERE r.status = 'pending' AND m.role IN ('moderator', 'owner')")).all()  # fmt: skip
    engine.dispose()
    assert deciders, "the demo has a pending join request with people to decide it"
    mail_env = {"LHN_MAIL_SERVER": "127.0.0.1", "LHN_MAIL_PORT": str(port)}
    server = LiveServer(url, env=mail_env, log_path=tmp_path / "server.log").start()
    try:
        base = server.url
        zone = morning_zone()
        teen = token(base, "ibd_teen")
        prefs = {"time_zone": zone, "deliveries": {"following": "weekly"}}
        assert requests.patch(f"{base}/api/v1/notifications/preferences", json=prefs, headers=teen,
                              timeout=30).status_code == 200  # fmt: skip
        decider, decider_email = deciders[0]
        reminders = {"time_zone": zone, "deliveries": {"reminders": "email"}}
        assert requests.patch(f"{base}/api/v1/notifications/preferences", json=reminders,
                              headers=token(base, decider), timeout=30).status_code == 200  # fmt: skip

        forgot = requests.post(f"{base}/api/v1/password/forgot", json={"email": "ibd_teen@demo.lhn.example"},
                               timeout=30)  # fmt: skip
        assert forgot.status_code == 202
        page = submit(LiveClient(base), "/register", "Create my account", email="river@example.org",
                      username="river", display_name="river_walker", password="a long walk by the river",
                      role="patient", follow_redirects=True)  # fmt: skip
        assert "Check your email" in page.text
        for _ in range(2):  # the second run of each job finds everything sent already
            assert flask_command(url, "lhn", "digests", "--period", "weekly").returncode == 0
            assert flask_command(url, "lhn", "send-reminders").returncode == 0

        wait_for(inbox, len(outbox(url)))  # with the digests of the demo's other members whose morning it is
        time.sleep(3)  # anything sent twice would have arrived by now
        got = received(inbox)
        sent_to = [(kind, to) for kind, to, _ in got]
        assert len(sent_to) == len(set(sent_to)), f"an email arrived twice: {got}"
        assert {("confirm_email", "river@example.org"), ("password_reset", "ibd_teen@demo.lhn.example"),
                ("digest_weekly", "ibd_teen@demo.lhn.example"), ("notification", decider_email)} <= set(sent_to), got
        queued = outbox(url)
        assert sorted(sent_to) == sorted((kind, to) for kind, to, _ in queued), "every queued email arrived, once"
        assert {state for _, _, state in queued} == {"sent"}
        reminders_got = [subject for kind, to, subject in got if kind == "notification"]
        assert all("join" in subject.lower() for subject in reminders_got), reminders_got
    finally:
        server.stop()
