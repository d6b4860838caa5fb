"""Per-person chat rate limit with `limits`, on the configured storage (Redis in scale-out); also the "write"
backstop for a socket's other writes (`hit_write`), which Flask-Limiter puts on every HTTP write.

Flask-Limiter only sees HTTP requests, not Socket.IO events, so the chat service asks this module
itself; socket handlers and the HTTP API share the same buckets. The numbers are lhn.limits' "chat"
row for the sender (lower for new accounts; config RATE_LIMITS / NEW_ACCOUNT_RATE_LIMITS), unless
CHAT_RATE_LIMIT sets one limit for everybody (load tests; `limit_for` reads it). If the shared storage is
down, the limit falls back to this process's memory rather than refusing every message.

This process's memory is a ProcessWindow, not limits' MemoryStorage: that one starts a timer thread for
almost every hit (its expiry timer lives 10 ms), which took a tenth of a chat send's time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats

from lhn.accounts.models import User
from lhn.errors import RateLimited
from lhn.limits import describe_wait, limit_for, wait_message

log = logging.getLogger(__name__)
FORGET_EVERY = 10_000  # hits between sweeps of keys nobody has hit within their window


class ProcessWindow:
    """A moving window in this process's memory, with the two methods of limits' MovingWindowRateLimiter
    that ChatLimiter calls. A key's old hits go when it is next counted; idle keys in a sweep now and then."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hits: dict[str, tuple[int, deque[float]]] = {}  # key: (window in seconds, hit times oldest first)
        self._lock = threading.Lock()
        self._since_sweep = 0

    def _current(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> deque[float]:
        expiry = item.get_expiry()
        hits = self._hits.setdefault(item.key_for(*identifiers), (expiry, deque()))[1]
        while hits and hits[0] <= now - expiry:
            hits.popleft()
        return hits

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one hit; False (and not counted) when the window already holds item.amount hits."""
        now = self._clock()
        with self._lock:
            hits = self._current(item, identifiers, now)
            if len(hits) >= item.amount:
                return False
            hits.append(now)
            self._since_sweep += 1
            if self._since_sweep >= FORGET_EVERY:
                self._since_sweep = 0
                self._hits = {k: v for k, v in self._hits.items() if v[1] and v[1][-1] > now - v[0]}
            return True

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the oldest hit in the window leaves it (a window from now when it is empty), and how many are left."""
        now = self._clock()
        with self._lock:
            hits = self._current(item, identifiers, now)
            reset = (hits[0] if hits else now) + item.get_expiry()
            return WindowStats(reset, max(0, item.amount - len(hits)))


Window = MovingWindowRateLimiter | ProcessWindow


class ChatLimiter:
    def __init__(self, uri: str) -> None:
        self._parsed: dict[str, list[RateLimitItem]] = {}
        self._memory = ProcessWindow()
        self._shared: Window = self._memory
        if uri and not uri.startswith("memory://"):
            options = {"socket_timeout": 1, "socket_connect_timeout": 1} if uri.startswith("redis") else {}
            storage = storage_from_string(uri, **options)
            if not isinstance(storage, Storage):  # an "async+..." URI: this limiter is called synchronously
                raise ValueError(f"Chat rate limits need a synchronous storage, not {uri!r}.")
            if not isinstance(storage, MemoryStorage):
                self._shared = MovingWindowRateLimiter(storage)

    def items(self, rule: str) -> list[RateLimitItem]:
        found = self._parsed.get(rule)
        if found is None:
            found = self._parsed[rule] = parse_many(rule) if rule else []
        return found

    def _hit(self, limiter: Window, scope: str, key: str, items: list[RateLimitItem]) -> RateLimitItem | None:
        for item in items:
            if not limiter.hit(item, scope, key):
                return item
        return None

    def hit(self, user_id: int, rule: str, *, scope: str, refusal: Callable[[int], str]) -> None:
        """Count one action by `user_id` in `scope` against `rule`; beyond it raises RateLimited with
        `refusal(seconds to wait)` for its message."""
        key, limiter = str(user_id), self._shared
        items = self.items(rule)
        try:
            exceeded = self._hit(limiter, scope, key, items)
        except Exception as exc:  # the shared storage is down: limit per process until it is back
            log.warning("chat rate limit storage unavailable (%s); using this process's memory", exc)
            limiter = self._memory
            exceeded = self._hit(limiter, scope, key, items)
        if exceeded is not None:
            try:
                retry = max(1, math.ceil(limiter.get_window_stats(exceeded, scope, key).reset_time - time.time()))
            except Exception:  # storage gone between the two calls: a safe guess
                retry = exceeded.get_expiry()
            raise RateLimited(refusal(retry), retry_after=retry)


def limiter() -> ChatLimiter:
    app = current_app
    found = app.extensions.get("lhn_chat_limiter")
    if found is None:
        found = ChatLimiter(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        app.extensions["lhn_chat_limiter"] = found
    return found


def hit(user: User) -> None:
    """Count one chat send or edit by `user`: CHAT_RATE_LIMIT when set, else their limits.limit_for("chat")
    (lower during an account's first NEW_ACCOUNT_DAYS). Raises RateLimited."""
    limiter().hit(user.id, limit_for("chat", user), scope="chat", refusal=_too_quick)


def _too_quick(seconds: int) -> str:
    return f"You're sending messages too quickly. Try again in {describe_wait(seconds)}."


def hit_write(user: User, event: str) -> None:
    """Count one of a socket's other writes (`event`: a deletion, a read marker) against lhn.limits' "write" row,
    each event in a bucket of its own as each HTTP endpoint is; the HTTP routes have it from Flask-Limiter, which
    does not see socket events. Raises RateLimited."""
    limiter().hit(user.id, limit_for("write", user), scope=f"write-{event}", refusal=wait_message)
