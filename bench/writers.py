"""Concurrent writers on the SQLite default, through the JSON API of the real server (gunicorn.conf.py: one gthread
worker), for 20 s each run. Every acknowledged write is looked up afterwards: lost = acknowledged, not stored.
Latency per request, measured in the bench process (clients share the machine's 2 cores with the server).

    .venv/bin/python bench/writers.py                     # ~2 minutes
    .venv/bin/python bench/writers.py --duration 10 --chat-every 1

Runs:
1. 20 people writing at once: 15 chat writers, each sending a message every 0.5 s (faster than anyone types: a
   chat storm), and 5 people answering the same question every 1.1 s (the default answer limit, 20 an hour for
   an established member, allows them all). LHN_CHAT_RATE_LIMIT is raised for the chat writers, as the README
   documents for load tests.
2. The same with 18 of them, while one member posts the slowest text bench/markup_worst.py knows that the
   formatting budget accepts (15,000 characters at most, an answer's maximum) as often as the answer limit lets
   them, and a site's data lead previews the largest CSV an import accepts over and over (the import limit lets
   5 a minute through); both send again at once, and wait only when refused, as long as Retry-After says.
   Their own requests are counted apart.
3. Saturation: 20 chat writers with no pause at all. Latency is then mostly queueing (20 requests in flight on
   one process); the writes per second are the server's capacity for chat sends.

Team targets: 0 errors, 0 lost; run 1 p99 <= 100 ms; run 2 the others' p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import random
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

from bench.markup_worst import slowest_accepted  # noqa: E402
from lhn.measures.services.data import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS  # noqa: E402
from tests.servers import LiveServer, build_demo_database  # noqa: E402

COMMUNITY = "pediatric-ibd"
DEMO_PASSWORD = "lhn-demo-2026"
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
        measure_id = db.session.scalar(db.select(Measure.id).where(Measure.community_id == community.id,
                                                                   Measure.name == "Clinical remission"))  # fmt: skip
    return url, tokens, channel_id, question_id, measure_id


# --- the writers ---------------------------------------------------------------------------------------------


def wait_until(seconds: float, until: float) -> None:
    """Wait as long as Retry-After says, but not past the end of the run (an hourly limit says an hour)."""
    time.sleep(max(0.0, min(seconds, until - time.perf_counter())))


def writer(path: str, body: Callable[[int], dict], acked: Callable[[Stats, dict], None], *, every: float,
           timeout: float = 60) -> Callable[[str, str, Stats, float], None]:  # fmt: skip
    """A person who POSTs to `path` once every `every` seconds (0: as fast as the server answers) until `until`."""

    def write(base: str, token: str, stats: Stats, until: float) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            # People don't press send in step: each starts at a random point of its period.
            n, next_at = 0, time.perf_counter() + random.uniform(0, every)
            while time.perf_counter() < until:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += every
                started = time.perf_counter()
                try:
                    response = session.post(base + path, json=body(n), timeout=timeout)
                except requests.RequestException as exc:
                    stats.record(started, None, type(exc).__name__)
                    continue
                if stats.record(started, response):
                    with stats.lock:
                        acked(stats, response.json())
                elif response.status_code == 429:  # as a client does: wait as long as the server says
                    wait_until(float(response.headers.get("Retry-After", "1")), until)
                n += 1

    return write


def chat(channel_id: int, every: float) -> Callable[[str, str, Stats, float], None]:
    return writer(f"/api/v1/channels/{channel_id}/messages",
                  lambda n: {"client_id": f"w{uuid.uuid4().hex[:20]}", "body": f"Message {n} **from** a writer"},
                  lambda stats, m: stats.acked_messages.add(m["id"]), every=every)  # fmt: skip


def answers(question_id: int, every: float, text: Callable[[int], str]) -> Callable[[str, str, Stats, float], None]:
    return writer(f"/api/v1/posts/{question_id}/answers", lambda n: {"body": text(n), "confirm_phi": True},
                  lambda stats, a: stats.acked_answers.add(a["id"]), every=every)  # fmt: skip


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

Writer = Callable[[str, str, Stats, float], None]


def run(name: str, base: str, people: list[tuple[str, Writer]], duration: float, *, check: tuple[str, int, int],
        hostile: list[tuple[str, Writer, Stats]] = ()) -> dict[str, object]:  # fmt: skip
    """`people` write at once for `duration` seconds (with the `hostile` members, whose requests are counted apart);
    then every acknowledged write is looked up (`check`: a token, the channel id, the question id)."""
    stats = Stats()
    until = time.perf_counter() + duration
    threads = [threading.Thread(target=w, args=(base, token, stats, until), daemon=True) for token, w in people]
    threads += [threading.Thread(target=w, args=(base, token, own, until), daemon=True) for token, w, own in hostile]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = stats.latencies_ms
    return {
        "run": name, "writes": len(latencies), "per_s": len(latencies) / duration,
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies, default=0.0),
        "mean": statistics.fmean(latencies) if latencies else 0.0, "errors": sum(stats.errors.values()),
        "error_kinds": stats.errors, "lost": lost(base, *check, stats),
    }  # fmt: skip


def worst_document() -> str:
    """The slowest text an answer may hold (bench/markup_worst.py: the slowest prefix within the formatting budget)."""
    family, text = slowest_accepted(ANSWER_MAX)
    print(f"worst Markdown: {family!r}, {len(text):,} characters", flush=True)
    return text


def largest_csv(site: str) -> str:
    """As many rows as an import accepts, one site's months going back, padded to the byte cap: a preview checks
    every row (these are all refused for missing consent or old periods, which costs the same)."""
    rows = [f"{site},{2020 - i // 12:04d}-{i % 12 + 1:02d},50,80" for i in range(MAX_IMPORT_ROWS)]
    text = "site,period,numerator,denominator\n" + "\n".join(rows) + "\n"
    pad = (MAX_IMPORT_BYTES - len(text)) // MAX_IMPORT_ROWS
    return "site,period,numerator,denominator\n" + "".join(
        f"{site},{2020 - i // 12:04d}-{i % 12 + 1:02d},{'0' * pad}50,80\n" for i in range(MAX_IMPORT_ROWS)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--chat-every", type=float, default=0.5, help="seconds between a chat writer's messages")
    parser.add_argument("--runs", default="123", help="which runs, e.g. 2 or 13 (run 2 uses run 1's first answers)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="lhn-writers-"))
    print("building the demo database and the writers' accounts…", flush=True)
    url, tokens, channel_id, question_id, measure_id = prepare(workdir, 45)
    server = LiveServer(url, env={"LHN_CHAT_RATE_LIMIT": "100000 per minute"}, log_path=workdir / "server.log")
    server.start(60)
    base, check = server.url, (tokens[0], channel_id, question_id)
    answer = answers(question_id, 1.1, lambda n: f"Answer {n}: we kept a *food diary*.")
    paced_chat, flat_out_chat = chat(channel_id, args.chat_every), chat(channel_id, 0.0)
    hostile = {"worst Markdown": Stats(), "largest CSV": Stats()}
    try:
        login = {"login": "dr_okafor", "password": DEMO_PASSWORD, "name": "bench"}  # Riverside's site team
        site_team = requests.post(f"{base}/api/v1/tokens", json=login, timeout=30).json()["token"]
        worst, csv_file = worst_document(), largest_csv("riverside-childrens").encode()
        # Answer writers are fresh people in each run: the answer limit (20 an hour) counts per person.
        results = []
        if "1" in args.runs:
            title = f"20 writers: 15 chat (one message each {args.chat_every:g} s), 5 answering (one each 1.1 s)"
            writers = [(t, paced_chat) for t in tokens[:15]] + [(t, answer) for t in tokens[15:20]]
            results.append(run(title, base, writers, args.duration, check=check))

        def preview(base: str, token: str, stats: Stats, until: float) -> None:  # a data lead, flat out
            with requests.Session() as session:
                session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
                while time.perf_counter() < until:
                    started = time.perf_counter()
                    try:
                        response = session.post(f"{base}/api/v1/measures/{measure_id}/data.csv/preview",
                                                data=csv_file, timeout=60)  # fmt: skip
                    except requests.RequestException as exc:
                        stats.record(started, None, type(exc).__name__)
                        continue
                    if not stats.record(started, response) and response.status_code == 429:
                        wait_until(float(response.headers.get("Retry-After", "1")), until)

        if "2" in args.runs:
            title = "18 of them, while one posts the worst Markdown and one previews the largest CSV, both as often as allowed"  # noqa: E501
            writers = [(t, paced_chat) for t in tokens[20:33]] + [(t, answer) for t in tokens[33:38]]
            hostiles = [(tokens[38], answers(question_id, 0.0, lambda n: worst), hostile["worst Markdown"]),
                        (site_team, preview, hostile["largest CSV"])]  # fmt: skip
            results.append(run(title, base, writers, args.duration, check=check, hostile=hostiles))
        if "3" in args.runs:
            results.append(run("saturation: 20 chat writers without a pause", base,
                               [(t, flat_out_chat) for t in tokens[:20]], args.duration, check=check))  # fmt: skip
    finally:
        server.stop()
    print()
    print("| run | writes | writes/s | p50 ms | p99 ms | max ms | errors | lost |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['run']} | {r['writes']} | {r['per_s']:.0f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} "
            f"| {r['errors']} {r['error_kinds'] or ''} | {r['lost']} |"
        )
    print()
    print("| hostile member | requests | accepted | refused (429) | p50 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for name, stats in hostile.items():
        print(
            f"| {name} | {len(stats.latencies_ms)} | {len(stats.latencies_ms) - sum(stats.errors.values())} "
            f"| {stats.errors.get('HTTP 429', 0)} | {percentile(stats.latencies_ms, 50):.0f} "
            f"| {max(stats.latencies_ms, default=0):.0f} |"
        )


if __name__ == "__main__":
    main()
