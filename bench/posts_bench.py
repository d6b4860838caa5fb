"""Requests/s and p50/p99 latency of the community page, a question page with 30 answers and search, under
gunicorn (gunicorn.conf.py: one gthread worker) on SQLite, each as a ratio to Flask's hello world served by
the same gunicorn settings in the same run.

    .venv/bin/python bench/generate_posts.py            # once: bench/results/posts.sqlite3
    .venv/bin/python bench/posts_bench.py [--duration 20 --connections 8]
    .venv/bin/python bench/copy_to_postgres.py          # once, for PostgreSQL: the same data in lhn_bench
    .venv/bin/python bench/posts_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lhn_bench

The pages are requested by a reader who is not logged in (wrk sends no cookie), as search engines and people
following a link do: they are served from the stored whole pages (lhn/posts/views/templating.py
`anonymous_page`) after the first request, like every repeated request for the same address.

The load generator is wrk (apt-get install wrk). On a machine with two or more cores the server is pinned to
core 0 and wrk to the last core (taskset), so they compete as little as possible.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
TARGET_RATIO, TARGET_P99_MS = 0.15, 50.0  # the team's bar for the question page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


class Server:
    def __init__(self, app: str, env: dict[str, str], cpu: int | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "LHN_BIND": f"127.0.0.1:{self.port}"}
        command = [*pin(cpu), str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), app]
        self.process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.url}{path} did not answer")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wrk(url: str, *, duration: int, connections: int, cpu: int | None) -> dict[str, float]:
    command = [*pin(cpu), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": percentile("50"), "p99": percentile("99"),
            "errors": float(errors.group(1)) if errors else 0.0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}  # type: ignore[dict-item]  # fmt: skip


def pick_terms(conn: sqlite3.Connection, posts: int) -> tuple[str, str]:
    """Words of the generated text whose posts come nearest 1% and 25% of all posts."""
    from bench.generate_posts import WORDS

    counts = {w: conn.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?", (f'"{w}"',)).fetchone()[0]
              for w in set(WORDS) if w.isalpha()}  # fmt: skip
    rare = min(counts, key=lambda w: abs(counts[w] - posts * 0.01))
    common = min(counts, key=lambda w: abs(counts[w] - posts * 0.25))
    return rare, common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "results" / "posts.sqlite3")
    parser.add_argument("--database-url", help="serve this database (a copy of --db) instead of --db itself")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--search", nargs=2, metavar=("RARE", "COMMON"),
                        help="search terms (default: the words nearest 1%% and 25%% of posts)")  # fmt: skip
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db} is missing: run bench/generate_posts.py first.")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    with sqlite3.connect(args.db) as conn:
        posts, answers = conn.execute("SELECT (SELECT count(*) FROM post), (SELECT count(*) FROM answer)").fetchone()
        big = conn.execute("SELECT post_id FROM answer GROUP BY post_id HAVING count(*) = 30 "
                           "ORDER BY post_id DESC LIMIT 1").fetchone()[0]  # fmt: skip
        terms = args.search or pick_terms(conn, posts)
        frequency = {t: conn.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH ?", (f'"{t}"',))
                     .fetchone()[0] for t in terms}  # fmt: skip
    cores = os.cpu_count() or 1
    server_cpu, client_cpu = (0, cores - 1) if cores >= 2 else (None, None)
    # No hourly jobs: their first round starts a minute after the first request, so it fell on whichever page
    # was measured then (the digests of the benchmark's 2,000 members; bench/README.md, 2026-12-05).
    env = {"LHN_DATABASE_URL": args.database_url or f"sqlite:///{args.db}", "LHN_ENV": "development",
           "LHN_SECRET_KEY": "bench-secret-key-" + "x" * 32, "LHN_PERIODIC_SECONDS": "0"}  # fmt: skip
    rare, common = terms
    pages = [
        ("community page", "/c/bench/posts"),
        ("question, 30 answers", f"/c/bench/q/{big}"),
        (f"search {rare!r}", f"/c/bench/search?q={rare}"),
        (f"search {common!r}", f"/c/bench/search?q={common}"),
        (f"search {common!r} by rank", f"/c/bench/search?q={common}&sort=relevance"),
    ]
    results: list[tuple[str, dict[str, float]]] = []
    hello = Server("bench.hello:app", {}, server_cpu)
    try:
        hello.wait("/")
        wrk(hello.url + "/", duration=3, connections=args.connections, cpu=client_cpu)  # warm up
        results.append(("hello world (baseline)", wrk(hello.url + "/", duration=args.duration,
                                                      connections=args.connections, cpu=client_cpu)))  # fmt: skip
    finally:
        hello.stop()
    lhn = Server("wsgi:app", env, server_cpu)
    try:
        lhn.wait("/healthz")
        for name, path in pages:
            wrk(lhn.url + path, duration=3, connections=args.connections, cpu=client_cpu)  # warm up
            results.append((name, wrk(lhn.url + path, duration=args.duration, connections=args.connections,
                                      cpu=client_cpu)))  # fmt: skip
    finally:
        lhn.stop()
    base = results[0][1]["rps"]
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\nLHN posts benchmark on {database}: {posts:,} posts, {answers:,} answers; gunicorn.conf.py "
          "(1 gthread worker); "
          f"wrk -t1 -c{args.connections} -d{args.duration}s; server on CPU {server_cpu}, wrk on CPU {client_cpu}; "
          f"{cores} cores shared with other work.\n")  # fmt: skip
    print("Search terms: " + ", ".join(f"{t!r} in {n:,} posts" for t, n in frequency.items()) + "\n")
    print(f"{'page':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'× hello':>9}{'non-2xx':>9}")
    for name, r in results:
        print(f"{name:<26}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['rps'] / base:>9.1%}{r['errors']:>9.0f}"
              + (f"  socket errors: {r['socket_errors']}" if r["socket_errors"] else ""))  # fmt: skip
    question = dict(results)["question, 30 answers"]
    ok = question["rps"] / base >= TARGET_RATIO and question["p99"] <= TARGET_P99_MS
    print(f"\nTarget for the question page: ≥ {TARGET_RATIO:.0%} of hello world req/s and p99 ≤ {TARGET_P99_MS:.0f} ms "
          f"→ {'met' if ok else 'NOT met'} ({question['rps'] / base:.1%}, p99 {question['p99']:.1f} ms).")  # fmt: skip


if __name__ == "__main__":
    main()
