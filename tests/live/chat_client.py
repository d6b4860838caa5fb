"""A protocol-complete chat client on python-socketio, as chat.js behaves: it keeps the last channel
event number, re-joins and catches up on every (re)connect, on a gap and on `resync`, drops
duplicates by message id, and re-sends unacknowledged messages with the same client id.

Used by the live tests and bench/chat_fanout.py.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections import Counter
from typing import Any

import engineio
import requests
import socketio

from tests.conftest import PASSWORD


def close(client: socketio.Client) -> None:
    """Disconnect and close the HTTP session engine.io keeps (or its sockets leak into the next test)."""
    if client.connected:
        client.disconnect()
    if getattr(client.eio, "ws", None) is not None:
        client.eio.ws.close()
    if getattr(client.eio, "http", None) is not None:
        client.eio.http.close()


def login_session(base_url: str, username: str, password: str = PASSWORD) -> requests.Session:
    """Log in through the real form (with its CSRF token), as a browser would."""
    session = requests.Session()
    page = session.get(base_url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(base_url + "/login", data={"csrf_token": token, "login": username, "password": password},
                          allow_redirects=False, timeout=10)  # fmt: skip
    assert answer.status_code == 302, f"login failed for {username}"
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def login_cookie(base_url: str, username: str, password: str = PASSWORD) -> str:
    """Log in; returns a Cookie header value for a socket."""
    with login_session(base_url, username, password) as session:  # closed: its pooled socket would leak
        return cookie_header(session)


def logout(base_url: str, session: requests.Session) -> None:
    """Log out through the real form: every session of that person ends (and their sockets close)."""
    page = session.get(base_url + "/", timeout=10).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(base_url + "/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.status_code


def api_token(base_url: str, username: str, password: str = PASSWORD) -> str:
    answer = requests.post(base_url + "/api/v1/tokens", json={"login": username, "password": password,
                           "name": "live test"}, timeout=10)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


class _InOrderEngineIO(engineio.Client):
    """engine.io's client handles each incoming message in a thread of its own, so two events can be handled
    out of order. This one handles them on the reader, in the order the server sent them: once a client has
    handled a later event (a sentinel), it has handled every event sent before it, and a test may assert that
    something did NOT arrive. Handlers must not wait for an ack (ChatClient's hand such calls to a task)."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    """A python-socketio client that handles events in the order they arrive (see _InOrderEngineIO)."""

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO


class ChatClient:
    def __init__(self, base_url: str, *, token: str | None = None, cookie: str | None = None,
                 on_message: Any = None) -> None:  # fmt: skip
        self.url = base_url
        self.token, self.cookie = token, cookie
        self.sio = InOrderClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1,
                                   randomization_factor=0.2, request_timeout=5)  # fmt: skip
        self.lock = threading.Lock()
        self.messages: dict[int, dict[str, Any]] = {}  # id -> latest state
        self.deliveries: Counter[int] = Counter()  # live message_created events per id (before dedupe)
        self.last_seq: dict[int, int] = {}
        self.channels: set[int] = set()
        self.pending: dict[str, tuple[int, str]] = {}  # client_id -> (channel, body), in the order sent
        self.acked: dict[str, int] = {}  # client_id -> server id
        self.refused: dict[str, dict[str, Any]] = {}  # client_id -> the server's error
        self.changed = threading.Condition(self.lock)  # notified on every event, ack and (dis)connect
        self._sending = False  # the one sender task is running
        self.typing: list[dict[str, Any]] = []
        self.presence: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.connects = 0
        self.on_message = on_message
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", lambda *_: self._notify())
        self.sio.on("message_created", lambda m: self._on_event(m, created=True))
        self.sio.on("message_updated", self._on_event)
        self.sio.on("message_deleted", self._on_event)
        self.sio.on("typing", self.typing.append)
        self.sio.on("presence", self.presence.append)
        self.sio.on("error", self.errors.append)
        self.sio.on("resync", lambda *_: self.sio.start_background_task(self.sync_all))

    # --- connection ------------------------------------------------------------------------------
    def connect(self, **kwargs: Any) -> ChatClient:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        headers.update(kwargs.pop("headers", {}))
        self.sio.connect(self.url, headers=headers, auth={"token": self.token} if self.token else None,
                         transports=["websocket"], wait_timeout=10, **kwargs)  # fmt: skip
        return self

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _on_connect(self) -> None:
        with self.changed:
            self.connects += 1
            self.changed.notify_all()
        # Handlers run on the client's reader; calls that wait for an ack must run elsewhere.
        self.sio.start_background_task(self._after_connect)

    def _after_connect(self) -> None:
        self.sync_all()
        self._kick()  # what is still pending goes out again, oldest first

    def disconnect(self) -> None:
        close(self.sio)

    # --- channels and catching up -------------------------------------------------------------------
    def join(self, channel_id: int) -> dict[str, Any]:
        self.channels.add(channel_id)
        return self._sync(channel_id)

    def sync_all(self) -> None:
        for channel_id in list(self.channels):
            # Disconnected meanwhile: the next connect syncs again.
            with contextlib.suppress(socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                self._sync(channel_id)

    def _sync(self, channel_id: int) -> dict[str, Any]:
        while True:
            request: dict[str, Any] = {"channel_id": channel_id}
            with self.lock:
                if channel_id in self.last_seq:
                    request["last_seq"] = self.last_seq[channel_id]
            answer = self.sio.call("join_channel", request, timeout=10)
            if not answer["ok"]:
                return answer
            with self.lock:
                for message in answer["messages"]:
                    self._store(message)
                self.last_seq[channel_id] = max(self.last_seq.get(channel_id, 0), answer["last_seq"])
            if not answer["has_more"]:
                return answer

    def _store(self, message: dict[str, Any]) -> None:
        known = self.messages.get(message["id"])
        if known is None or known["seq"] <= message["seq"]:
            self.messages[message["id"]] = message

    def _on_event(self, message: dict[str, Any], created: bool = False) -> None:
        gap = False
        with self.lock:
            if created:
                self.deliveries[message["id"]] += 1
            seen = self.last_seq.get(message["channel_id"], 0)
            if message["seq"] == seen + 1:
                self.last_seq[message["channel_id"]] = message["seq"]
            elif message["seq"] > seen + 1:
                gap = True
            self._store(message)
            self.changed.notify_all()
        if gap:
            self.sio.start_background_task(self._sync, message["channel_id"])
        if self.on_message is not None:
            self.on_message(message)

    # --- sending --------------------------------------------------------------------------------------
    def send(self, channel_id: int, body: str, client_id: str | None = None, *, wait: bool = True) -> str:
        """Queue a message; with `wait`, return once the server acknowledged it (AssertionError if refused).
        Sends go out one at a time in the order they were queued, as chat.js sends them: the server handles
        each event in its own thread, so sends in flight together may be stored in any order."""
        client_id = client_id or uuid.uuid4().hex
        with self.lock:
            self.pending[client_id] = (channel_id, body)
        self._kick()
        if wait:
            with self.lock:
                self.changed.wait_for(lambda: client_id not in self.pending, timeout=60)
            if client_id in self.refused:
                raise AssertionError(f"send refused: {self.refused[client_id]}")
        return client_id

    def _kick(self) -> None:
        with self.lock:
            if self._sending or not self.pending:
                return
            self._sending = True
        self.sio.start_background_task(self._send_pending)

    def _send_pending(self) -> None:
        """The one sender: the oldest pending message, and the next only after its acknowledgement."""
        try:
            while True:
                with self.lock:
                    if not self.pending:
                        return
                    client_id = next(iter(self.pending))
                if not self._send_until_acked(client_id):
                    return  # still unacknowledged: the next connect tries again
        finally:
            with self.lock:
                self._sending = False
            if self.pending and self.sio.connected:
                self._kick()  # queued after the loop found it empty

    def _send_until_acked(self, client_id: str, deadline: float = 30) -> bool:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            channel_id, body = self.pending[client_id]
            connects = self.connects
            try:
                answer = self.sio.call("send_message", {"channel_id": channel_id, "client_id": client_id,
                                                        "body": body}, timeout=3)  # fmt: skip
            except socketio.exceptions.TimeoutError:
                continue  # no ack within 3 s: ask again at once, with the same client id
            except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                # Not connected: wait for the next connect, then send again with the same client id.
                with self.changed:
                    self.changed.wait_for(lambda c=connects: self.connects > c, timeout=max(0, end - time.monotonic()))
                continue
            if not answer.get("ok") and answer["error"]["code"] == "rate_limited":
                # The server asks us to wait (its ack says how long only in words): back off, then retry. The
                # tests raise the limit, so this is the bench's path, bounded by the deadline.
                time.sleep(1)
                continue
            with self.lock:
                if answer.get("ok"):
                    self.acked[client_id] = answer["id"]
                else:
                    self.refused[client_id] = answer
                self.pending.pop(client_id, None)
                self.changed.notify_all()
            return True
        return False

    # --- reading ------------------------------------------------------------------------------------------
    def ids(self, channel_id: int) -> list[int]:
        with self.lock:
            return sorted(i for i, m in self.messages.items() if m["channel_id"] == channel_id)

    def bodies(self, channel_id: int) -> list[str]:
        with self.lock:
            return [
                self.messages[i]["body"] for i in sorted(self.messages) if self.messages[i]["channel_id"] == channel_id
            ]

    def wait_for(self, predicate: Any, timeout: float = 10) -> bool:
        """Wait until `predicate()` holds; False if it still doesn't after `timeout` seconds. It wakes on each of
        this client's events, acks and (dis)connects; a predicate may also read another client or a raw socket,
        which don't wake this one, so it re-checks every 50 ms too (a poll with a deadline, never a fixed wait)."""
        end = time.monotonic() + timeout
        while not predicate():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            with self.changed:
                self.changed.wait(min(remaining, 0.05))
        return True
