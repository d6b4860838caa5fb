"""Concurrent writers on the SQLite default: 20 people writing through the JSON API at once (chat sends and
answers) for 20 s against the real server (gunicorn.conf.py: one gthread worker), then two "hostile" runs in
which one member keeps posting the worst pathological Markdown and another keeps previewing the largest
accepted CSV file while the others write. Every acknowledged write is looked up afterwards: lost = acked but
not stored. Latency per request, in the bench process (clients share the machine's 2 cores with the server).

    .venv/bin/python bench/writers.py                     # ~2 minutes
    .venv/bin/python bench/writers.py --duration 10 --writers 10

Writers: chat writers send one message after another (a closed loop, no pause: the server is saturated, so
latency includes queueing); answer writers post one answer a second, which the default per-person answer limit
(20 an hour for established members) allows for 20 s. LHN_CHAT_RATE_LIMIT is raised for the chat writers, as
the README documents for load tests. Team targets: 0 errors, 0 lost, p99 <= 100 ms; with the hostile members,
the others' p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import LiveServer, build_demo_database  # noqa: E402

COMMUNITY = "pediatric-ibd"
ANSWER_MAX = 15_000


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    acked_messages: set[int] = field(default_factory=set)  # ids of the messages the server acknowledged
    acked_answers: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, response: requests.Response | None, error: str = "") -> bool:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies_ms.append(elapsed)
            if response is None or response.status_code >= 300:
                key = error or f"HTTP {response.status_code if response is not None else '?'}"
                self.errors[key] = self.errors.get(key, 0) + 1
                return False
        return True


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


# --- the database: the demo, plus writers who are established members with tokens --------------------------


def prepare(workdir: Path, writers: int) -> tuple[str, list[str], int, int, int]:
    """Build the demo database and add `writers` members with tokens. Returns (url, tokens, channel id,
    question id, measure id)."""
    from lhn import create_app
    from lhn.accounts import services as accounts
    from lhn.accounts.models import User
    from lhn.chat.models import Channel
    from lhn.communities import services as communities
    from lhn.database import transaction
    from lhn.extensions import db
    from lhn.measures.models import Measure
    from lhn.posts.models import Post, PostKind

    url = build_demo_database(workdir / "writers.sqlite3")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 64})  # fmt: skip
    tokens = []
    with app.app_context():
        with transaction():
            community = communities.get_community(COMMUNITY)
            for n in range(writers):
                person = accounts.register_user(email=f"writer{n}@bench.example", username=f"writer{n}",
                                                display_name=f"Writer {n}", password="bench-password-2026",  # noqa: S106
                                                role="caregiver")  # fmt: skip
                communities.join_community(person, community, accept_guidelines=True)
                tokens.append(accounts.create_token(person, name="bench")[1])
            # Established members (not new accounts): the default per-person limits apply, not the lower ones.
            db.session.execute(update(User).where(User.username.like("writer%"))
                               .values(created_at=datetime.now(UTC) - timedelta(days=30)))  # fmt: skip
        channel_id = db.session.scalar(
            db.select(Channel.id).where(Channel.community_id == community.id, Channel.name == "general")
        )
        question_id = db.session.scalar(
            db.select(Post.id).where(Post.community_id == community.id, Post.kind == PostKind.QUESTION).limit(1)
        )
        measure_id = db.session.scalar(db.select(Measure.id).where(Measure.community_id == community.id).limit(1))
    return url, tokens, channel_id, question_id, measure_id


# --- the writers ----------------------------------------------------------------------------------------------


def chat_writer(base: str, token: str, channel_id: int, stats: Stats, until: float) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.perf_counter() < until:
            client_id = f"w{uuid.uuid4().hex[:20]}"
            started = time.perf_counter()
            try:
                response = session.post(f"{base}/api/v1/channels/{channel_id}/messages",
                                        json={"client_id": client_id, "body": f"Message {n} **from** a writer"},
                                        timeout=30)  # fmt: skip
            except requests.RequestException as exc:
                stats.record(started, None, type(exc).__name__)
                continue
            if stats.record(started, response):
                with stats.lock:
                    stats.acked_messages.add(response.json()["id"])
            n += 1


def answer_writer(base: str, token: str, question_id: int, stats: Stats, until: float,
                  body: Callable[[int], str], every: float = 1.0) -> None:  # fmt: skip
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.perf_counter() < until:
            next_at = time.perf_counter() + every
            started = time.perf_counter()
            try:
                response = session.post(f"{base}/api/v1/posts/{question_id}/answers",
                                        json={"body": body(n), "confirm_phi": True}, timeout=60)  # fmt: skip
            except requests.RequestException as exc:
                stats.record(started, None, type(exc).__name__)
                continue
            if stats.record(started, response):
                with stats.lock:
                    stats.acked_answers.add(response.json()["id"])
            n += 1
            time.sleep(max(0.0, next_at - time.perf_counter()))


def lost(base: str, token: str, channel_id: int, question_id: int, stats: Stats) -> int:
    """Acknowledged writes that are not stored."""
    headers = {"Authorization": f"Bearer {token}"}
    stored_ids: set[int] = set()
    before = None
    while True:
        page = requests.get(f"{base}/api/v1/channels/{channel_id}/messages", headers=headers, timeout=60,
                            params={"before": before} if before else {}).json()  # fmt: skip
        items = page["items"]
        stored_ids |= {m["id"] for m in items}
        if not page.get("next_cursor") or not items:
            break
        before = min(m["id"] for m in items)
    post = requests.get(f"{base}/api/v1/posts/{question_id}", headers=headers, timeout=60).json()
    answers = {a["id"] for a in post.get("answers", [])}
    return len(stats.acked_messages - stored_ids) + len(stats.acked_answers - answers)


# --- a run --------------------------------------------------------------------------------------------------


def run(name: str, base: str, tokens: list[str], channel_id: int, question_id: int, duration: float,
        answer_writers: int, hostile: list[Callable[[float], None]]) -> dict[str, object]:  # fmt: skip
    stats = Stats()
    until = time.perf_counter() + duration
    threads = []
    for i, token in enumerate(tokens):
        if i < answer_writers:
            target = answer_writer
            args = (base, token, question_id, stats, until, lambda n: f"Answer {n}: we kept a *food diary*.")
        else:
            target, args = chat_writer, (base, token, channel_id, stats, until)
        threads.append(threading.Thread(target=target, args=args, daemon=True))
    threads += [threading.Thread(target=attack, args=(until,), daemon=True) for attack in hostile]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = lost(base, tokens[-1], channel_id, question_id, stats)
    latencies = stats.latencies_ms
    return {
        "run": name, "writes": len(latencies), "per_s": len(latencies) / duration,
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies, default=0.0),
        "mean": statistics.fmean(latencies) if latencies else 0.0,
        "errors": sum(stats.errors.values()), "error_kinds": stats.errors, "lost": missing,
    }  # fmt: skip


def worst_document() -> str:
    """Nested brackets at the answer maximum: the input that took 44 s before rendering was bounded (issue 9)."""
    return "[" * ANSWER_MAX


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--answer-writers", type=int, default=5)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lhn-writers-"))
    print("building the demo database and the writers' accounts…", flush=True)
    url, tokens, channel_id, question_id, _measure_id = prepare(workdir, args.writers + 1)
    hostile_token, tokens = tokens[-1], tokens[:-1]
    server = LiveServer(url, env={"LHN_CHAT_RATE_LIMIT": "100000 per minute"}, log_path=workdir / "server.log")
    server.start(60)
    try:
        results = [run("20 writers", server.url, tokens, channel_id, question_id, args.duration,
                       args.answer_writers, [])]  # fmt: skip
        worst = worst_document()

        def pathological(until: float) -> None:  # one member keeps posting the worst document it may
            answer_writer(server.url, hostile_token, question_id, Stats(), until, lambda n: worst, every=0.0)

        results.append(run("… and one posts the worst Markdown", server.url, tokens[:-1], channel_id, question_id,
                           args.duration, args.answer_writers, [pathological]))  # fmt: skip
    finally:
        server.stop()
    print()
    print("| run | writes | writes/s | p50 ms | p99 ms | max ms | errors | lost |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['run']} | {r['writes']} | {r['per_s']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} "
              f"| {r['errors']} {r['error_kinds'] or ''} | {r['lost']} |")


if __name__ == "__main__":
    main()
