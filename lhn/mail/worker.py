"""The workers that send the outbox. Embedded default: one daemon thread in each serving process, started by
its first request and woken at once when a commit queued mail. At scale: `flask --app lhn lhn worker` processes,
as many as wanted (claims never overlap)."""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from lhn.database import mark_read_only
from lhn.mail import services
from lhn.mail.transport import transport_for

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0  # also how soon a retry that fell due, or mail queued by another process, goes out

_started = threading.Lock()
_running = False


def send_due(app: Flask, *, batch: int = 50) -> services.DeliveryReport:
    """Send what is due, batch after batch, until nothing is (or every remaining one is waiting to retry)."""
    total = services.DeliveryReport()
    with app.app_context():
        mark_read_only()  # reads begin deferred; claims and marks take the write lock in their own transactions
        transport = transport_for(current_app.config, current_app.instance_path)
        while True:
            report = services.deliver_due(transport, batch=batch)
            total.sent += report.sent
            total.retrying += report.retrying
            total.dead += report.dead
            if not report or report.retrying or report.dead:
                return total


def run(app: Flask, *, stop: threading.Event | None = None, poll: float = POLL_SECONDS) -> None:
    """Send until `stop` is set: at once when woken, else every `poll` seconds."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            send_due(app)
        except Exception:  # the database or the transport failed in a way deliver_due did not expect
            log.exception("mail worker round failed")
        services.wake.wait(poll)
        services.wake.clear()


def start(app: Flask) -> None:
    """Start this process's embedded worker once (MAIL_WORKER = "embedded", the default; "external" when
    `lhn worker` processes send instead). Tests start none."""
    global _running
    if _running or app.config.get("TESTING") or app.config.get("MAIL_WORKER", "embedded") != "embedded":
        return
    with _started:
        if _running:
            return
        _running = True
    threading.Thread(target=run, args=(app,), name="lhn-mail", daemon=True).start()
