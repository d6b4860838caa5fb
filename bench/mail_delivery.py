"""Email delivery through the outbox (lhn/mail): how fast a worker sends queued email to a real local SMTP server
(aiosmtpd on a loopback port), beside the same number of messages sent by a bare smtplib loop over one connection
in the same run (the baseline: what the SMTP exchange itself costs on this machine).

Run: .venv/bin/python bench/mail_delivery.py [--messages 2000]
Target (issue 13): the worker sends at >= 50 messages/s.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import click
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lhn import create_app  # noqa: E402
from lhn.database import transaction  # noqa: E402
from lhn.mail import queue_email, worker  # noqa: E402
from tests.servers import flask_command, free_port  # noqa: E402

BATCH = 500


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.received += 1
        return "250 OK"


def bare_smtp(port: int, n: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@lhn.local", f"p{i}@example.org", f"Hi {i}"
            message.set_content(f"Line {i}\n")
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    n = args.messages
    workdir = Path(tempfile.mkdtemp(prefix="lhn-mail-"))
    url = f"sqlite:///{workdir / 'mail.sqlite3'}"
    flask_command(url, "db", "upgrade")
    inbox, port = Counter(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port})
        started = time.perf_counter()
        with app.app_context(), click.progressbar(range(0, n, BATCH), label=f"queueing {n:,}") as bar:
            for start in bar:
                with transaction():
                    for i in range(start, min(start + BATCH, n)):
                        queue_email(
                            to=f"member{i}@example.org",
                            subject=f"Your weekly digest {i}",
                            text=f"3 new questions in your communities.\nhttps://lhn.example/q/{i}\n",
                            kind="bench",
                            headers={"List-Unsubscribe": f"<https://lhn.example/u/{i}>"},
                        )
        queued = time.perf_counter() - started
        started = time.perf_counter()
        report = worker.send_due(app)
        sending = time.perf_counter() - started
        baseline = bare_smtp(port, n)
    finally:
        server.stop()
    if report.sent != n or inbox.received != 2 * n:
        raise SystemExit(f"lost mail: {report}, the server received {inbox.received} of {2 * n}")
    print()
    print("| step | messages | seconds | messages/s | vs bare smtplib |")
    print("|---|---|---|---|---|")
    print(f"| queue (transactions of {BATCH}) | {n:,} | {queued:.2f} | {n / queued:,.0f} | |")
    print(f"| worker: claim, send, mark sent | {n:,} | {sending:.2f} | {n / sending:,.0f} | {baseline / sending:.0%} |")
    print(f"| bare smtplib, one connection | {n:,} | {baseline:.2f} | {n / baseline:,.0f} | 100% |")


if __name__ == "__main__":
    main()
