"""What a person's write turn costs on PostgreSQL (lhn/database.py, _postgres_begin: a request's write transaction
first takes its person's advisory lock), against the same requests served by an app whose writes take no turn,
measured in the same run on the same database.

    .venv/bin/python bench/person_locks.py                # ~2 minutes; a database of its own, dropped afterwards
    .venv/bin/python bench/person_locks.py --votes 400

Each request is `POST /api/v1/posts/<id>/vote` with a bearer token (the Flask test client, in process: no network),
alternating 1 and 0 so that every request writes. Runs, each as `rounds` alternating halves (with turns / without),
so drift on this shared machine falls on both alike:
1. one person, one request at a time: ms per request; the turn adds one statement to the write transaction;
2. 8 people voting at once (a thread each): requests per second; different people don't wait for each other;
3. one person sending 8 votes at once: requests per second; that person's writes take turns (the point: a double
   click or a client's retry can't insert twice). Votes on one post wait for the vote's row lock anyway, so
   here the turns cost no more than in run 1.

Run of 2026-12-07 (votes 200, rounds 4; PostgreSQL 15 on this machine, shared):
    one person, one at a time: ms/request    16.57 with turns, 15.45 without, ratio 1.07
    8 people at once: requests/s             77.65 with turns, 74.84 without, ratio 1.04
    one person, 8 at once: requests/s       131.29 with turns, 121.73 without, ratio 1.08
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: import bench.* from the checkout

from flask import Flask

import lhn
from lhn import database
from lhn.accounts import services as accounts
from tests import factories
from tests.servers import create_postgres_database, flask_command

PEOPLE = 8


def app_for(url: str, *, turns: bool) -> Flask:
    """The app; without turns, its engine is configured as if nobody were ever signed in."""
    signed_in = lhn._signed_in_person
    if not turns:
        lhn._signed_in_person = lambda: None
    try:
        return lhn.create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False,
                               "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": PEOPLE + 2}})  # fmt: skip
    finally:
        lhn._signed_in_person = signed_in


def vote(app: Flask, token: str, post_id: int, n: int) -> None:
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    for i in range(n):
        answer = client.post(f"/api/v1/posts/{post_id}/vote", json={"value": (i + 1) % 2}, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"vote answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")


def at_once(app: Flask, tokens: list[str], post_id: int, n: int) -> float:
    """Requests per second while each token votes `n` times from a thread of its own."""
    threads = [threading.Thread(target=vote, args=(app, token, post_id, n)) for token in tokens]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(tokens) * n / (time.perf_counter() - start)


def one_at_a_time(app: Flask, token: str, post_id: int, n: int) -> float:
    start = time.perf_counter()
    vote(app, token, post_id, n)
    return (time.perf_counter() - start) / n * 1000  # ms per request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=200, help="votes per person and half-round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    url, drop = create_postgres_database("lhn_bench_turns")
    try:
        flask_command(url, "db", "upgrade")
        apps = {True: app_for(url, turns=True), False: app_for(url, turns=False)}
        with apps[True].app_context(), database.transaction():
            community = factories.community(slug="bench")
            post_id = factories.question(community).id
            people = [factories.member(community).user for _ in range(PEOPLE)]
            tokens = [accounts.create_token(person, name="bench")[1] for person in people]
        runs = [
            ("one person, one at a time: ms/request", lambda app: one_at_a_time(app, tokens[0], post_id, args.votes)),
            (f"{PEOPLE} people at once: requests/s", lambda app: at_once(app, tokens, post_id, args.votes // 4)),
            (f"one person, {PEOPLE} at once: requests/s",
             lambda app: at_once(app, [tokens[0]] * PEOPLE, post_id, args.votes // 4)),
        ]  # fmt: skip
        print(f"{'run':<40} {'with turns':>11} {'without':>9} {'ratio':>6}")
        for name, run in runs:
            run(apps[True]), run(apps[False])  # warm both: connections, statements, templates
            measured: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for turns in (True, False):
                    measured[turns].append(run(apps[turns]))
            with_turns, without = statistics.median(measured[True]), statistics.median(measured[False])
            print(f"{name:<40} {with_turns:>11.2f} {without:>9.2f} {with_turns / without:>6.2f}")
        for app in apps.values():
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
