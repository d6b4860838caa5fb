"""CPU-heavy pure work (rendering a long text) in a worker process, so that it spends the worker's CPU and not
the time this process's threads share under one GIL: in the embedded default one process serves everyone, and a
member posting the heaviest document would otherwise slow every other request down. The worker has a hard
deadline: past it, it is killed and started again.

Not under gevent (scale-out runs several processes, and multiprocessing's waits would block the hub): there,
and in the worker itself, call() runs the function in place.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 1  # one core for heavy work, the other for everyone's requests (these machines have two)


class Overrun(Exception):
    """The work ran past its wall-clock deadline and its worker was killed."""


_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_in_worker = False


WORKER_NICENESS = 10  # below the serving process: its requests come first when both want the CPU


def _start_worker() -> None:
    global _in_worker
    _in_worker = True
    os.nice(WORKER_NICENESS)


def enabled() -> bool:
    """Whether call() runs work in the worker process (not in the worker itself, not under gevent)."""
    if _in_worker:
        return False
    gevent_monkey = sys.modules.get("gevent.monkey")
    return not (gevent_monkey is not None and gevent_monkey.is_module_patched("threading"))


STARTUP_SECONDS = 120.0  # a new worker imports lhn: seconds on a slow, loaded machine, and no call's deadline


def _ready() -> bool:
    return True


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:  # "spawn": forking a process that runs threads can copy a held lock
            executor = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_start_worker)  # fmt: skip
            try:  # started before the first call's deadline counts (callers wait here for it meanwhile)
                executor.submit(_ready).result(timeout=STARTUP_SECONDS)
            except FutureTimeout:
                executor.shutdown(wait=False, cancel_futures=True)
                raise Overrun from None
            _executor = executor
        return _executor


def _restart(broken: ProcessPoolExecutor) -> None:
    """Kill the workers of `broken` (a stuck render) and let the next call start new ones."""
    global _executor
    with _lock:
        if _executor is broken:
            _executor = None
    for process in list(getattr(broken, "_processes", {}).values()):  # the executor has no public kill
        process.kill()
    broken.shutdown(wait=False, cancel_futures=True)


def call(function: Callable[..., T], *args: Any, timeout: float) -> T:
    """`function(*args)` in the worker process (it and its arguments must pickle: a module-level function),
    waiting at most `timeout` seconds of wall time. Raises what the function raises, or Overrun."""
    if not enabled():
        return function(*args)
    for attempt in (1, 2):
        pool = _pool()
        future = pool.submit(function, *args)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            _restart(pool)
            raise Overrun from None
        except BrokenProcessPool:  # a worker died (killed by the OS, or by another request's overrun)
            _restart(pool)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
