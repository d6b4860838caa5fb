"""Room names the server computes (never taken from a client), and who may watch a live page's room.

`user:<id>` holds a person's own sockets, `site` every signed-in socket; a live page asks to watch a
room such as `post:<id>`, and the feature that owns that kind of room says who may (register_watchable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lhn.inputs import whole_number

SITE_ROOM = "site"  # every signed-in socket (badges are public: what any page may show)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def post_room(post_id: int) -> str:
    return f"post:{post_id}"


# (user, object id) -> may this user watch the room of that object? Features register at import.
Authorizer = Callable[[Any, int], bool]
_watchable: dict[str, Authorizer] = {}


def register_watchable(kind: str, may_watch: Authorizer) -> None:
    _watchable[kind] = may_watch


def watch_room(user: Any, room: str) -> str | None:
    """The room to join if `user` may watch `room` ("post:12"), else None. Unknown kinds: None."""
    kind, _, raw_id = room.partition(":")
    authorizer, object_id = _watchable.get(kind), whole_number(raw_id)
    if authorizer is None or object_id is None:
        return None
    return f"{kind}:{object_id}" if authorizer(user, object_id) else None
