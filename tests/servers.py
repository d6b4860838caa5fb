"""The real server on a loopback port, for live and browser tests: gunicorn with the project's settings,
on a database built by the real commands (`flask db upgrade`, `flask lhn seed-demo`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask_command(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LHN_DATABASE_URL": database_url, "LHN_SECRET_KEY": "live-test-secret-key-" + "x" * 20}
    return subprocess.run([str(BIN / "flask"), "--app", "lhn", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def build_demo_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    flask_command(url, "db", "upgrade")
    flask_command(url, "lhn", "seed-demo")
    return url


class LiveServer:
    """gunicorn serving wsgi:app. start(), stop(kill=False) and start() again for restart tests."""

    def __init__(self, database_url: str, *, port: int | None = None, env: dict[str, str] | None = None,
                 log_path: Path | None = None, app: str = "wsgi:app") -> None:  # fmt: skip
        self.app = app  # bench/ serves a bare Flask-SocketIO app the same way, for a baseline
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LHN_DATABASE_URL": database_url,
            "LHN_SECRET_KEY": "live-test-secret-key-" + "x" * 20,
            "LHN_BIND": f"127.0.0.1:{self.port}",
            "LHN_LOGIN_RATE_LIMIT": "1000 per minute",
            "LHN_PERIODIC_SECONDS": "0",  # tests run the jobs (digests, reminders) with the CLI, when they mean to
            "LHN_MAIL_DIRECTORY": tempfile.mkdtemp(prefix="lhn-live-mail-"),  # not the checkout's instance/mail
            **(env or {}),
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self, timeout: float = 30) -> LiveServer:
        # Polls /healthz until the deadline: gunicorn signals readiness to no one but a client that connects.
        log = self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), self.app],
            cwd=ROOT, env=self.env, stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so kill=True takes the workers down too
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or the worker is still booting
                pass
            time.sleep(0.1)
        self.stop(kill=True)
        raise RuntimeError("server did not answer /healthz in time")

    def wait_for_log(self, text: str, timeout: float = 10) -> bool:
        """Wait until the server's log contains `text`: the only outward sign of some events inside the server
        (its message-queue listener losing Redis). Polls the file until the deadline; False if it never came."""
        assert self.log_path is not None, "start the server with a log_path"
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(encoding="utf-8", errors="replace"):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, *, kill: bool = False) -> None:
        if self.process is not None and kill:
            # A crash: the master and its workers die at once, mid-request, with nothing flushed.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


# --- scale-out pieces: a private Redis and a PostgreSQL database per test (chat's live tests) ---------------

PG_SERVER = os.environ.get("LHN_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


class RedisServer:
    """A private redis-server on its own loopback port (never the shared one), stoppable mid-test."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout  # polls PING until the deadline: redis-server tells no one it is up
        while time.monotonic() < deadline:
            try:
                with redis.Redis.from_url(self.url, socket_timeout=0.5) as probe:  # closed: no socket leaks
                    if probe.ping():
                        return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def postgres_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_SERVER, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def create_postgres_database(prefix: str = "lhn_live") -> tuple[str, Any]:
    """A new, empty database; returns its URL and a function that drops it."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False), drop


@contextlib.contextmanager
def two_gevent_servers(log_dir: Path, **env: str) -> Iterator[tuple[LiveServer, LiveServer, RedisServer]]:
    """The scale-out deployment: a private Redis queue, a fresh PostgreSQL database with the demo, and two
    single-worker gevent processes booted at once. Everything is stopped and dropped afterwards."""
    redis_server = RedisServer().start()
    database_url, drop_database = create_postgres_database()
    servers: list[LiveServer] = []
    try:
        flask_command(database_url, "db", "upgrade")
        flask_command(database_url, "lhn", "seed-demo")
        settings = {"LHN_WORKER_CLASS": "gevent", "LHN_SOCKETIO_ASYNC_MODE": "gevent",
                    "LHN_SOCKETIO_MESSAGE_QUEUE": redis_server.url, "LHN_RATELIMIT_STORAGE_URI": redis_server.url,
                    **env}  # fmt: skip
        servers = [LiveServer(database_url, env=settings, log_path=log_dir / f"server{n}.log") for n in (1, 2)]
        starting = [threading.Thread(target=s.start) for s in servers]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        yield servers[0], servers[1], redis_server
    finally:
        for running in servers:
            running.stop()
        redis_server.stop()
        drop_database()
