"""Jobs a running server does now and then (review-by dates falling due, reminders, digests): one daemon
thread per process, started by the first request (so CLI commands and tests never start it), which runs the
jobs in a child process at a lower priority (`flask --app lhn lhn periodic`): a round is seconds of Python
(the digests of every member), which in the server would take turns on the GIL with every request. Every job
is idempotent and claims its rows, so several processes running it at once do each piece of work once.

Each job also has a CLI command, for deployments that prefer cron (`flask --app lhn lhn review-due`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

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


def job_names() -> list[str]:
    return [name for name, _job in _jobs]


def run_all(app: Flask) -> None:
    for name, job in _jobs:
        try:
            with app.app_context():
                job()
        except Exception:  # a failing job must not stop the others, nor the next round
            log.exception("periodic job %s failed", name)


def run_in_child(app: Flask, *, timeout: float = 3600) -> bool:
    """One round of every job in a child process (`lhn periodic`, which lowers its own priority), on the
    app's database. Returns whether it succeeded; a failure is logged and the next round tries again."""
    env = {**os.environ, "LHN_DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]),
           "LHN_SECRET_KEY": str(app.config["SECRET_KEY"])}  # fmt: skip
    command = [sys.executable, "-m", "flask", "--app", "lhn", "lhn", "periodic"]
    try:
        done = subprocess.run(command, env=env, cwd=Path(__file__).resolve().parent.parent, capture_output=True,  # noqa: S603 - our own command
                              text=True, timeout=timeout, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        log.exception("the periodic jobs did not run")
        return False
    if done.returncode != 0:
        log.error("the periodic jobs failed (exit %s): %s", done.returncode, done.stderr[-2000:])
    return done.returncode == 0


def _loop(app: Flask, interval: float) -> None:
    time.sleep(min(interval, 60))  # let the server finish starting
    while True:
        run_in_child(app, timeout=interval)
        time.sleep(interval)
