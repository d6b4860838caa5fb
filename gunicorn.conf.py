"""gunicorn settings for the embedded default: one process, threads, Socket.IO in threading mode.

Scale-out runs several single-worker gevent servers instead (docs/deployment.md).
"""

import os

bind = os.environ.get("LHN_BIND", "127.0.0.1:5000")
workers = 1  # Socket.IO needs sticky sessions; more processes means more servers behind a proxy
worker_class = os.environ.get("LHN_WORKER_CLASS", "gthread")
# Each open socket holds a thread in threading mode; the app refuses sockets above LHN_MAX_SOCKETS
# (default 200), so keep threads above that to leave room for pages.
threads = int(os.environ.get("LHN_THREADS", "256")) if worker_class == "gthread" else 1  # never threads with gevent
worker_connections = int(os.environ.get("LHN_WORKER_CONNECTIONS", "2000"))  # gevent only
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("LHN_ACCESS_LOG") or None
# No shared control socket in the home folder: several servers may run side by side (scale-out, tests).
control_socket_disable = True


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook
    """A request busy in Python (a CSV preview) holds the GIL for a whole switch interval each time a thread that
    waited on the database wants it back: Python's 5 ms made the other writers' p99 502 ms in bench/writers.py run
    2, 1 ms made it 315 ms (run 1: 59 -> 34 ms)."""
    import gc
    import sys

    sys.setswitchinterval(float(os.environ.get("LHN_SWITCH_INTERVAL", "0.001")))
    # The loaded app (models, routes, templates, libraries: ~210,000 objects) lives as long as the process. Each
    # full collection of Python's cyclic GC walked all of it and paused every request 130-180 ms (bench/README.md,
    # posts): freeze it, so that collections only walk what requests made since.
    gc.freeze()
