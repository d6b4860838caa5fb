"""Chat's own rate-limit window in this process's memory (lhn.chat.limits.ProcessWindow)."""

from __future__ import annotations

import threading

import pytest
from limits import parse

from lhn.chat import limits as chat_limits
from lhn.chat.limits import ChatLimiter, ProcessWindow
from lhn.errors import RateLimited


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(chat_limits.time, "time", lambda: now[0])
    return now


def test_a_moving_window_counts_per_key_and_lets_old_hits_go(clock):
    window, item = ProcessWindow(), parse("3 per minute")
    assert [window.hit(item, "chat", "1") for _ in range(4)] == [True, True, True, False]
    assert window.hit(item, "chat", "2")  # another person has their own window
    stats = window.get_window_stats(item, "chat", "1")
    assert (stats.reset_time, stats.remaining) == (clock[0] + 60, 0)
    clock[0] += 59.9
    assert not window.hit(item, "chat", "1")  # a refused hit is not counted
    clock[0] += 0.2  # the first three hits are now older than a minute
    assert [window.hit(item, "chat", "1") for _ in range(4)] == [True, True, True, False]


def test_idle_keys_are_forgotten_in_a_sweep(clock, monkeypatch):
    monkeypatch.setattr(chat_limits, "FORGET_EVERY", 5)
    window, item = ProcessWindow(), parse("10 per second")
    for person in range(4):
        window.hit(item, "chat", str(person))
    clock[0] += 2
    window.hit(item, "chat", "busy")  # the fifth hit sweeps: the four idle people go
    assert window.get_window_stats(item, "chat", "busy").remaining == 9
    assert len(window._hits) == 1


def test_the_limiter_in_memory_starts_no_thread_per_message(app):
    limiter = ChatLimiter("memory://", "5 per minute")
    before = threading.active_count()
    for _ in range(5):
        limiter.hit(1)
    assert threading.active_count() == before
    with pytest.raises(RateLimited) as refused:
        limiter.hit(1)
    assert 1 <= refused.value.retry_after <= 60
