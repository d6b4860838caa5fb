"""lhn.offload: heavy work in a worker process, with a hard deadline."""

import os
import time
from types import SimpleNamespace

import pytest

from lhn import markup, offload
from lhn.measures.services import csv_files, data


def test_long_texts_render_in_the_worker_exactly_as_here():
    text = "|a|b|\n|-|-|\n" + "| *x* | [link](https://example.org/) |\n" * 40
    assert len(text) > markup.OFFLOAD_CHARS
    assert offload.enabled()
    in_worker = markup.render_markdown(text)
    assert str(in_worker) == markup._render_within_budget(text, (), markup.RENDER_SECONDS)
    assert offload.call(os.getpid, timeout=30) != os.getpid()  # it really is another process


def test_work_past_its_deadline_kills_the_worker_and_the_next_call_gets_a_new_one():
    first = offload.call(os.getpid, timeout=30)
    started = time.monotonic()
    with pytest.raises(offload.Overrun):
        offload.call(time.sleep, 30, timeout=0.5)
    assert time.monotonic() - started < 5
    assert offload.call(os.getpid, timeout=30) != first


def test_a_new_workers_start_up_is_not_counted_against_the_first_calls_deadline():
    with pytest.raises(offload.Overrun):
        offload.call(time.sleep, 30, timeout=0.5)  # kills the worker: the next call starts a new process
    # Starting a process and importing lhn takes far longer than 50 ms; only the call itself is timed.
    assert offload.call(os.getpid, timeout=0.05) != os.getpid()


def test_errors_in_the_worker_reach_the_caller():
    with pytest.raises(ZeroDivisionError):
        offload.call(divmod, 1, 0, timeout=30)


def test_the_worker_runs_below_the_serving_process_so_requests_come_first():
    assert offload.call(os.nice, 0, timeout=30) == min(19, os.nice(0) + offload.WORKER_NICENESS)


def test_a_long_csv_file_is_read_in_the_worker_with_the_same_rows_and_refusals(monkeypatch):
    fields = ("numerator", "denominator")
    rows = "".join(f"north,{2000 + i // 12}-{i % 12 + 1:02d},{i},{i + 1}\n" for i in range(3000))
    text = "site,period,numerator,denominator\n" + rows + "south,2024-01,1\n"
    assert len(text) > csv_files.OFFLOAD_CHARS
    calls = []
    real_call = offload.call

    def spy(function, *args, **kwargs):
        calls.append(function)
        return real_call(function, *args, **kwargs)

    monkeypatch.setattr(offload, "call", spy)
    measure = SimpleNamespace(type=SimpleNamespace(fields=list(fields)))
    read = csv_files.parse_csv(measure, text)
    assert calls == [csv_files.read_rows]
    assert read == csv_files.read_rows(text, fields)  # the same rows as read here
    assert (len(read), read[-1].problem) == (3001, "It has 3 columns; the header has 4.")
    # Refusals come back as the same exceptions: a bad header, and a file over the row cap.
    with pytest.raises(data.RowsInvalid, match="Nothing was imported") as bad:
        csv_files.parse_csv(measure, "site,month,value\n" + rows)
    assert "missing: period, numerator, denominator" in str(bad.value.row_errors[0])
    many = "site,period,numerator,denominator\n" + "north,2024-01,1,2\n" * (data.MAX_IMPORT_ROWS + 1)
    with pytest.raises(data.ImportTooLarge, match=f"more than {data.MAX_IMPORT_ROWS:,} rows"):
        csv_files.parse_csv(measure, many)
    assert len(calls) == 3
