"""Jobs a running server does now and then (review-by dates falling due): one daemon thread per process,
started by the first request (so CLI commands and tests never start it). Every job is idempotent and
claims its rows, so several processes running it at once do each piece of work once.

Each job also has a CLI command, for deployments that prefer cron (`flask --app lhn lhn review-due`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)

Job = Callable[[], object]
_jobs: list[tuple[str, Job]] = []
_started = threading.Lock()
_running = False


def register(name: str, job: Job) -> None:
    """A job that runs in an app context, inside its own transaction (the job opens it)."""
    _jobs.append((name, job))


def start(app: Flask) -> None:
    """Start the sweep thread once per process (PERIODIC_SECONDS; 0 turns it off, as tests do)."""
    global _running
    if _running:  # every request asks: the common answer costs no lock
        return
    interval = float(app.config.get("PERIODIC_SECONDS", 3600))
    if interval <= 0 or app.config.get("TESTING"):
        return
    with _started:
        if _running:
            return
        _running = True
    threading.Thread(target=_loop, args=(app, interval), name="lhn-periodic", daemon=True).start()


def run_all(app: Flask) -> None:
    for name, job in _jobs:
        try:
            with app.app_context():
                job()
        except Exception:  # a failing job must not stop the others, nor the next round
            log.exception("periodic job %s failed", name)


def _loop(app: Flask, interval: float) -> None:
    time.sleep(min(interval, 60))  # let the server finish starting
    while True:
        run_all(app)
        time.sleep(interval)
