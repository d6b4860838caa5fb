"""Rendered post pages (and answer blocks) for readers who are not logged in: they all see the same HTML.

A question page with 30 answers spends most of its time loading and rendering them. Anonymous readers see
identical HTML, so it is kept here, keyed by the post's `page_version`. Every flush that touches a post's
answers, comments, votes, vettings, status, interest or the post itself (or an experience linked to an
idea) bumps that version in the same transaction (a session hook, so no service can forget), and the next
reader renders afresh. The same flush bumps the post's community's `content_version` (and any change to the
community row itself does), which keys whole pages stored for readers who are not logged in: the community's
posts and its search results (lhn/posts/views/templating.py `anonymous_page`). Badges (a person verified,
appointed moderator), community names on a post's page and a call's deadline passing are not part of the
versions, so entries also expire after TTL seconds.

The cache belongs to the app (app.extensions), so per process; correctness never depends on it (the
version comes from the database).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from flask import current_app
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from lhn.attachments import Attachment
from lhn.communities.models import Community
from lhn.posts.models import Answer, AnswerVote, CallInterest, Comment, IdeaStatusChange, Post, PostVote, Vetting
from lhn.posts.services.files import EXPERIENCE

TTL = 60.0
MAX_ENTRIES = 2000
_lock = threading.Lock()


def _entries() -> OrderedDict[tuple[Any, ...], tuple[float, Any]]:
    return current_app.extensions.setdefault("lhn_posts_cache", OrderedDict())


def get(key: tuple[Any, ...]) -> Any:
    entries = _entries()
    with _lock:
        entry = entries.get(key)
        if entry is None:
            return None
        stored_at, html = entry
        if time.monotonic() - stored_at > TTL:
            del entries[key]
            return None
        entries.move_to_end(key)
        return html


def put(key: tuple[Any, ...], html: Any) -> None:
    entries = _entries()
    with _lock:
        entries[key] = (time.monotonic(), html)
        entries.move_to_end(key)
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)


def clear() -> None:
    with _lock:
        _entries().clear()


# --- versions --------------------------------------------------------------------------------------------

_TOUCHING = (Answer, Comment, AnswerVote, PostVote, Vetting, IdeaStatusChange, CallInterest)
_PENDING = "lhn_touched_posts"
_PENDING_COMMUNITIES = "lhn_touched_communities"


def _post_ids(obj: Any) -> list[int | None]:
    if isinstance(obj, Attachment):  # an experience's page lists its files
        return [obj.owner_id] if obj.owner_type == EXPERIENCE else []
    if isinstance(obj, Post):
        linked = obj.__dict__.get("linked_idea")  # an idea's page lists the experiences linked to it
        return [obj.id, obj.linked_idea_id, linked.id if linked is not None else None]
    if not isinstance(obj, _TOUCHING):
        return []
    if obj.post_id is not None:
        return [obj.post_id]
    post = obj.__dict__.get("post")  # set through the relationship, before the flush fills post_id
    return [post.id if post is not None else None]


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    touched: set[int] = session.info.setdefault(_PENDING, set())
    communities: set[int] = session.info.setdefault(_PENDING_COMMUNITIES, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        touched.update(i for i in _post_ids(obj) if i is not None)
        if isinstance(obj, Community) and obj.id is not None:
            communities.add(obj.id)
        elif isinstance(obj, Post) and obj.community_id is not None:  # a deleted post has no row to look up later
            communities.add(obj.community_id)


def _bump(session: Session, _context: Any) -> None:
    touched = session.info.pop(_PENDING, None)
    communities = session.info.pop(_PENDING_COMMUNITIES, None) or set()
    if touched:
        session.connection().execute(
            update(Post).where(Post.id.in_(sorted(touched))).values(page_version=Post.page_version + 1)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    if touched or communities:  # one statement: the touched posts' communities are looked up inside it
        of_posts = select(Post.community_id).where(Post.id.in_(sorted(touched or ())))
        session.connection().execute(
            update(Community).where(or_(Community.id.in_(sorted(communities)), Community.id.in_(of_posts)))
            .values(content_version=Community.content_version + 1).execution_options(synchronize_session=False)
        )  # fmt: skip


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_COMMUNITIES, None)


_installed = False


def install() -> None:
    """Bump post versions on every flush (all sessions). Idempotent; create_app calls it."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "after_flush", _bump)
    event.listen(Session, "after_soft_rollback", _forget)
    _installed = True
