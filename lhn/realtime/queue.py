"""The Redis message queue between processes (scale-out), and how it heals after an outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import socketio as python_socketio

from lhn.realtime.events import RESYNC

log = logging.getLogger(__name__)


class QueueManager(python_socketio.RedisManager):  # type: ignore[misc]
    """Redis pub/sub that tells clients to sync from the database after an outage.

    Redis pub/sub is at-most-once: while it is down, events for other processes are dropped. The
    database has every message, so the fix is to make clients ask for what they missed: after a
    failed publish (once publishing works again) every client of every process gets `resync`, and
    after the listener re-subscribes this process's clients get it too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.publish_failed = False
        self._next_recovery = 0.0
        self.on_resubscribed: Callable[[], None] | None = None

    def _publish(self, data: Any) -> Any:
        result = super()._publish(data)
        if result is None:  # the parent gave up after its retries
            self.publish_failed = True
        return result

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:
        # As the parent's, with a short back-off (the parent's grows to 60 s) and a resync hook.
        retry_sleep, first = 0.5, True
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                if not first:
                    # Events (and disconnects) published while we were not subscribed are lost:
                    # clients sync from the database, and sockets are checked against it again.
                    log.warning("message queue back: asking this process's clients to sync")
                    self.server.emit(RESYNC, {}, ignore_queue=True)
                    if self.on_resubscribed is not None:
                        self.on_resubscribed()
                first, retry_sleep = False, 0.5
                yield from self.pubsub.listen()
            except Exception as exc:
                log.error("message queue: cannot receive (%s); retrying in %s s", exc, retry_sleep)
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 1)

    def recover(self) -> None:
        if not self.publish_failed or time.monotonic() < self._next_recovery:
            return
        self._next_recovery = time.monotonic() + 2
        self.publish_failed = False
        self.server.emit(RESYNC, {})  # sets publish_failed again while the queue is still down


def redis_options() -> dict[str, Any]:
    """Fail fast and let our loop retry: redis-py's own retries back off for seconds, and while the
    listener is not subscribed, events from other processes (disconnects too) are dropped."""
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry

    return {"socket_connect_timeout": 2, "socket_keepalive": True, "health_check_interval": 15,
            "retry": Retry(ConstantBackoff(0.1), 1)}  # fmt: skip
