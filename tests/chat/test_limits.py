"""Chat's own rate-limit window in this process's memory (lhn.chat.limits.ProcessWindow)."""

from __future__ import annotations

import threading
import time

import pytest
from limits import parse

from lhn.chat import limits as chat_limits
from lhn.chat.limits import ChatLimiter, ProcessWindow
from lhn.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_moving_window_counts_per_key_and_lets_old_hits_go():
    clock = Clock()
    window, item = ProcessWindow(clock), parse("3 per minute")
    assert [window.hit(item, "chat", "1") for _ in range(4)] == [True, True, True, False]
    assert window.hit(item, "chat", "2")  # another person has their own window
    stats = window.get_window_stats(item, "chat", "1")
    assert (stats.reset_time, stats.remaining) == (clock.now + 60, 0)
    clock.now += 59.9
    assert not window.hit(item, "chat", "1")  # a refused hit is not counted
    clock.now += 0.2  # the first three hits are now older than a minute
    assert [window.hit(item, "chat", "1") for _ in range(4)] == [True, True, True, False]


def test_idle_keys_are_forgotten_in_a_sweep(monkeypatch):
    monkeypatch.setattr(chat_limits, "FORGET_EVERY", 5)
    clock = Clock()
    window, item = ProcessWindow(clock), parse("10 per second")
    for person in range(4):
        window.hit(item, "chat", str(person))
    clock.now += 2
    window.hit(item, "chat", "busy")  # the fifth hit sweeps: the four idle people go
    assert window.get_window_stats(item, "chat", "busy").remaining == 9
    assert len(window._hits) == 1


def test_the_limiter_in_memory_starts_no_thread_per_message(app, monkeypatch):
    # limits' MemoryStorage started a timer thread for a hit whenever its last one (10 ms) had ended.
    started: list[threading.Thread] = []
    original = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda thread: (started.append(thread), original(thread))[1])
    limiter = ChatLimiter("memory://")
    for _ in range(5):
        limiter.hit(1, "5 per minute", scope="chat", refusal=str)
        time.sleep(0.02)  # a person's messages come further apart than the old timer's life
    assert started == []
    with pytest.raises(RateLimited) as refused:
        limiter.hit(1, "5 per minute", scope="chat", refusal=str)
    assert 1 <= refused.value.retry_after <= 60
