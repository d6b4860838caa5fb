"""What a per-person rate limit costs a write: the same small write (POST /api/v1/notifications/read, behind the
"write" backstop's three windows) in-process through the test client, with the limits on (in this process's memory,
the embedded default) and with Flask-Limiter switched off, alternating, in the same run.

    .venv/bin/python bench/write_limits.py                 # ~1 minute
    .venv/bin/python bench/write_limits.py --rounds 5 --requests 3000

Prints the median time per write of each and their difference and ratio, per round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lhn import create_app
from lhn.extensions import db
from tests import factories

PASSWORD = factories.PASSWORD
HUGE = "1000000 per minute;1000000 per hour;1000000 per day"  # three windows, as the backstop has; never reached


def median_write_us(config: dict[str, object], database: Path, requests: int) -> float:
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "bench", **config})
    with app.app_context():
        db.drop_all()
        db.create_all()
        factories.user(username="writer")
        db.session.commit()
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"login": "writer", "password": PASSWORD, "name": "bench"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.post("/api/v1/notifications/read", json={}, headers=headers)
        times.append(time.perf_counter() - start)
        if answer.status_code >= 400:
            raise SystemExit(f"the write failed: {answer.status_code} {answer.get_data(as_text=True)}")
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    return statistics.median(times[requests // 5 :]) * 1e6  # the first fifth warms the caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        database = Path(work) / "bench.sqlite3"
        print("round | limits on (µs) | limits off (µs) | difference (µs) | ratio", flush=True)
        for n in range(1, args.rounds + 1):
            on = median_write_us({"WRITE_RATE_LIMIT": HUGE}, database, args.requests)
            off = median_write_us({"RATELIMIT_ENABLED": False}, database, args.requests)
            print(f"{n}/{args.rounds} | {on:,.0f} | {off:,.0f} | {on - off:,.0f} | {on / off:.2f}", flush=True)


if __name__ == "__main__":
    main()
