"""lhn.offload: heavy work in a worker process, with a hard deadline."""

import os
import time

import pytest

from lhn import markup, offload


def test_long_texts_render_in_the_worker_exactly_as_here():
    text = "|a|b|\n|-|-|\n" + "| *x* | [link](https://example.org/) |\n" * 200
    assert len(text) > markup.OFFLOAD_CHARS
    assert offload.enabled()
    in_worker = markup.render_markdown(text)
    assert str(in_worker) == markup._render_within_budget(text, ())
    assert offload.call(os.getpid, timeout=30) != os.getpid()  # it really is another process


def test_work_past_its_deadline_kills_the_worker_and_the_next_call_gets_a_new_one():
    first = offload.call(os.getpid, timeout=30)
    started = time.monotonic()
    with pytest.raises(offload.Overrun):
        offload.call(time.sleep, 30, timeout=0.5)
    assert time.monotonic() - started < 5
    assert offload.call(os.getpid, timeout=30) != first


def test_errors_in_the_worker_reach_the_caller():
    with pytest.raises(ZeroDivisionError):
        offload.call(divmod, 1, 0, timeout=30)
