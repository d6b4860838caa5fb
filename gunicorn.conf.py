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
