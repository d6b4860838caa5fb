"""Weekly digests at scale: 10,000 members (confirmed addresses) of two communities with 20 new questions each this
week, each with unread notices in categories they get weekly, and the digest job builds and queues one email each
(text + HTML, titles and links: their notices and their communities' new questions) on SQLite. Beside it, in the
same run and database, the baseline: queueing the same number of plain emails through lhn.mail.queue_email in
transactions of 500 (what the outbox's INSERTs alone cost on this machine).

Run: .venv/bin/python bench/digests.py [--people 10000] [--notices 3]
Target (issue 13): 10,000 weekly digests built and queued in under 60 s on SQLite.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lhn import create_app  # noqa: E402
from lhn.accounts.models import Role, User  # noqa: E402
from lhn.communities.models import Community, Membership  # noqa: E402
from lhn.database import transaction  # noqa: E402
from lhn.extensions import db  # noqa: E402
from lhn.mail import queue_email  # noqa: E402
from lhn.mail.models import OutboxMessage  # noqa: E402
from lhn.notifications import services as notifications  # noqa: E402
from lhn.notifications.models import Notification, NotificationSettings  # noqa: E402
from lhn.posts.models import Post, PostKind  # noqa: E402
from tests.servers import flask_command  # noqa: E402

BATCH = 500
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday noon: morning or later in most time zones
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
KINDS = ["followed_answer", "answer", "new_post", "mention", "followed_vetted"]


def seed(people: int, per_person: int) -> None:
    """Members (patients: weekly by default), a fifth with their own time zone and quiet hours, unread notices;
    two communities, each with 20 questions asked this week."""
    created = NOW - timedelta(days=2)
    with transaction():
        db.session.execute(insert(User), [{"id": people + 1, "username": "asker", "email": "asker@example.org",
                                           "display_name": "Asker", "password_hash": "x", "role": Role.PATIENT,
                                           "created_at": created}])  # fmt: skip
        db.session.execute(insert(Community), [
            {"id": c, "slug": f"community-{c}", "name": f"Community {c}", "condition_name": "Crohn's disease",
             "created_at": created} for c in (1, 2)])  # fmt: skip
        db.session.execute(insert(Post), [
            {"community_id": c, "author_id": people + 1, "kind": PostKind.QUESTION, "title": f"Question {c}-{q}",
             "created_at": created} for c in (1, 2) for q in range(20)])  # fmt: skip
    with transaction(), click.progressbar(range(0, people, BATCH), label=f"seeding {people:,} members") as bar:
        for start in bar:
            ids = range(start + 1, min(start + BATCH, people) + 1)
            db.session.execute(insert(User), [
                {"id": i, "username": f"member{i}", "email": f"member{i}@example.org", "display_name": f"Member {i}",
                 "password_hash": "x", "role": Role.PATIENT, "created_at": created, "email_confirmed_at": created}
                for i in ids])  # fmt: skip
            db.session.execute(insert(Membership), [
                {"community_id": 1 + i % 2, "user_id": i, "joined_at": created, "guidelines_accepted_at": created}
                for i in ids])  # fmt: skip
            db.session.execute(insert(NotificationSettings), [
                {"user_id": i, "deliveries": {}, "time_zone": ZONES[i % len(ZONES)], "quiet_start": 22, "quiet_end": 7}
                for i in ids if i % 5 == 0])  # fmt: skip
            db.session.execute(insert(Notification), [
                {"user_id": i, "kind": KINDS[(i + k) % len(KINDS)], "url": f"/c/ibd/questions/{i * 10 + k}",
                 "text": f"Member {k} answered “How do you manage school trips with a flare? ({i}-{k})” in IBD.",
                 "created_at": created} for i in ids for k in range(per_person)])  # fmt: skip


def baseline(n: int) -> float:
    started = time.perf_counter()
    with click.progressbar(range(0, n, BATCH), label=f"baseline: queueing {n:,} plain emails") as bar:
        for start in bar:
            with transaction():
                for i in range(start, min(start + BATCH, n)):
                    queue_email(to=f"plain{i}@example.org", subject=f"Your weekly digest {i}", kind="bench",
                                text=f"3 new questions in your communities.\nhttps://lhn.example/q/{i}\n")  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--notices", type=int, default=3, help="unread notices per person")
    args = parser.parse_args()
    n = args.people
    workdir = Path(tempfile.mkdtemp(prefix="lhn-digests-"))
    url = f"sqlite:///{workdir / 'digests.sqlite3'}"
    flask_command(url, "db", "upgrade")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_ORIGIN": "https://lhn.example"})
    with app.app_context(), app.test_request_context():
        seed(n, args.notices)
        plain = baseline(n)
        started = time.perf_counter()
        with click.progressbar(length=n, label=f"weekly digests for {n:,} members") as bar:
            report = notifications.send_digests("weekly", now=NOW, progress=bar.update)
        digests = time.perf_counter() - started
        started = time.perf_counter()
        again = notifications.send_digests("weekly", now=NOW)
        rerun = time.perf_counter() - started
        with transaction():
            rows = db.session.scalar(select(func.count()).where(OutboxMessage.kind == "digest_weekly"))
    if report.queued != n or rows != n or again.queued != 0:
        raise SystemExit(f"expected {n} digests once: {report}, {rows} rows, rerun {again}")
    print()
    print("| step | emails | seconds | emails/s | vs baseline |")
    print("|---|---|---|---|---|")
    print(f"| baseline: queue_email, plain text, transactions of {BATCH} | {n:,} | {plain:.2f} | {n / plain:,.0f} "
          "| 100% |")  # fmt: skip
    print(f"| weekly digests: gather {args.notices} notices and 6 question lines each, build text + HTML, queue "
          f"| {n:,} | {digests:.2f} | "
          f"{n / digests:,.0f} | {digests / plain:.1f}x the time |")  # fmt: skip
    print(f"| rerun in the same week (queues nothing) | 0 | {rerun:.2f} | | |")
    print(f"\nTarget: < 60 s for 10,000 on SQLite; this run: {digests:.1f} s for {n:,}.")


if __name__ == "__main__":
    main()
