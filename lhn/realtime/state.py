"""Connection state shared by the processes: which sockets a user has open, and who is in which
numbered room (presence; chat keys it by channel id).

One process (threading mode) keeps it in memory. Several processes (gevent + message queue) keep it in
Redis, in sorted sets scored by the time each process last vouched for its sockets: a process refreshes
its own entries every REFRESH seconds, and entries older than STALE are ignored, so sockets of a
process that died vanish by themselves. Redis errors never break a socket event: they are logged and
the answer degrades to "nobody" (presence is a courtesy; delivery never depends on it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

REFRESH = 20.0  # seconds between a process's refreshes of its own entries
STALE = 60.0  # entries not refreshed for this long belong to a dead process


@dataclass(frozen=True)
class PresenceEntry:
    user_id: int
    sid: str
    visible: bool  # False when the person opted out of "who is online"


class MemoryState:
    """Everything in this process (the embedded default: one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sids: dict[int, set[str]] = defaultdict(set)
        self._presence: dict[int, set[PresenceEntry]] = defaultdict(set)
        self._people: dict[int, dict[str, Any]] = {}

    def add_socket(self, sid: str, user_id: int) -> None:
        with self._lock:
            self._sids[user_id].add(sid)

    def remove_socket(self, sid: str, user_id: int) -> None:
        with self._lock:
            self._sids[user_id].discard(sid)
            if not self._sids[user_id]:
                del self._sids[user_id]

    def sids_of(self, user_id: int) -> list[str]:
        with self._lock:
            return list(self._sids.get(user_id, ()))

    def presence_add(self, channel_id: int, entry: PresenceEntry) -> None:
        with self._lock:
            self._presence[channel_id].add(entry)

    def presence_remove(self, channel_id: int, user_id: int, sid: str) -> None:
        with self._lock:
            entries = self._presence.get(channel_id)
            if entries:
                for entry in [e for e in entries if e.sid == sid and e.user_id == user_id]:
                    entries.discard(entry)

    def presence(self, channel_id: int) -> list[PresenceEntry]:
        with self._lock:
            return list(self._presence.get(channel_id, ()))

    def remember_person(self, user_id: int, person: dict[str, Any]) -> None:
        with self._lock:
            self._people[user_id] = person

    def people(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        with self._lock:
            return {uid: self._people[uid] for uid in user_ids if uid in self._people}

    def remember_people(self, people: dict[int, dict[str, Any]]) -> None:
        with self._lock:
            self._people.update(people)

    def refresh(self, sockets: Iterable[tuple[str, int]], presence: Iterable[tuple[int, PresenceEntry]]) -> None:
        """Nothing to do: entries in memory die with the process."""

    def clear(self) -> None:
        with self._lock:
            self._sids.clear()
            self._presence.clear()
            self._people.clear()


class RedisState:
    """Shared by every process through Redis (scale-out)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.prefix = prefix

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}:sockets:user:{user_id}"

    def _presence_key(self, channel_id: int) -> str:
        return f"{self.prefix}:presence:channel:{channel_id}"

    @staticmethod
    def _member(entry: PresenceEntry) -> str:
        return f"{entry.user_id}:{entry.sid}:{int(entry.visible)}"

    def _run(self, what: str, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except self._errors as exc:
            log.warning("realtime state: %s failed (%s); continuing without it", what, exc)
            return default

    def add_socket(self, sid: str, user_id: int) -> None:
        key = self._user_key(user_id)

        def add() -> None:
            pipe = self._redis.pipeline()
            pipe.zadd(key, {sid: time.time()})
            pipe.expire(key, int(STALE * 2))
            pipe.execute()

        self._run("add socket", add)

    def remove_socket(self, sid: str, user_id: int) -> None:
        self._run("remove socket", lambda: self._redis.zrem(self._user_key(user_id), sid))

    def sids_of(self, user_id: int) -> list[str]:
        found = self._run(
            "list sockets",
            lambda: self._redis.zrangebyscore(self._user_key(user_id), time.time() - STALE, "+inf"),
            [],
        )
        return [s.decode() if isinstance(s, bytes) else s for s in found]

    def presence_add(self, channel_id: int, entry: PresenceEntry) -> None:
        key = self._presence_key(channel_id)

        def add() -> None:
            pipe = self._redis.pipeline()
            pipe.zadd(key, {self._member(entry): time.time()})
            pipe.zremrangebyscore(key, "-inf", time.time() - STALE)
            pipe.expire(key, int(STALE * 2))
            pipe.execute()

        self._run("presence add", add)

    def presence_remove(self, channel_id: int, user_id: int, sid: str) -> None:
        key = self._presence_key(channel_id)
        members = [f"{user_id}:{sid}:1", f"{user_id}:{sid}:0"]
        self._run("presence remove", lambda: self._redis.zrem(key, *members))

    def presence(self, channel_id: int) -> list[PresenceEntry]:
        raw = self._run(
            "presence read",
            lambda: self._redis.zrangebyscore(self._presence_key(channel_id), time.time() - STALE, "+inf"),
            [],
        )
        entries = []
        for member in raw:
            text = member.decode() if isinstance(member, bytes) else member
            head, _, visible = text.rpartition(":")
            user_id, _, sid = head.partition(":")
            if user_id.isdigit():
                entries.append(PresenceEntry(int(user_id), sid, visible == "1"))
        return entries

    def remember_person(self, user_id: int, person: dict[str, Any]) -> None:
        self.remember_people({user_id: person})

    def remember_people(self, people: dict[int, dict[str, Any]]) -> None:
        """Badges for "who is online"; written at each join and with every refresh (Redis may restart)."""
        key = f"{self.prefix}:people"
        if not people:
            return

        def run() -> None:
            pipe = self._redis.pipeline()
            pipe.hset(key, mapping={str(uid): json.dumps(p, sort_keys=True) for uid, p in people.items()})
            pipe.expire(key, 24 * 3600)
            pipe.execute()

        self._run("remember people", run)

    def people(self, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = [str(uid) for uid in user_ids]
        if not ids:
            return {}
        raw = self._run("people", lambda: self._redis.hmget(f"{self.prefix}:people", ids), []) or []
        return {int(uid): json.loads(value) for uid, value in zip(ids, raw, strict=False) if value}

    def refresh(self, sockets: Iterable[tuple[str, int]], presence: Iterable[tuple[int, PresenceEntry]]) -> None:
        """Vouch again for this process's sockets and presence entries."""

        def run() -> None:
            now = time.time()
            pipe = self._redis.pipeline()
            for sid, user_id in sockets:
                pipe.zadd(self._user_key(user_id), {sid: now})
                pipe.expire(self._user_key(user_id), int(STALE * 2))
            for channel_id, entry in presence:
                pipe.zadd(self._presence_key(channel_id), {self._member(entry): now})
                pipe.expire(self._presence_key(channel_id), int(STALE * 2))
            pipe.execute()

        self._run("refresh", run)

    def ping(self) -> bool:
        return bool(self._run("ping", self._redis.ping, False))

    def clear(self) -> None:
        """Delete this deployment's keys (tests)."""

        def run() -> None:
            keys = list(self._redis.scan_iter(f"{self.prefix}:*"))
            if keys:
                self._redis.delete(*keys)

        self._run("clear", run)
