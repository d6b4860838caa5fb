"""Hiding and restoring posts, answers and comments: the moderation state the review queue builds on.

Hidden content stays in the database. Readers see a placeholder with the reason; the author and the
community's moderators still see the original. A hidden post leaves lists and search.
"""

from __future__ import annotations

from typing import Literal

from lhn import signals
from lhn.accounts.models import User
from lhn.database import utcnow
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.posts.models import Answer, Comment, Post
from lhn.posts.services.answers import after_answer_visibility_change, count_comment
from lhn.posts.services.common import Access, clean_reason, get_access, get_answer_access, get_comment_access, raise_if

Target = Literal["post", "answer", "comment"]


def _load(target: Target, item_id: int, by: User) -> tuple[Post | Answer | Comment, Access]:
    if target == "post":
        access = get_access(item_id, by=by)
        return access.post, access
    if target == "answer":
        return get_answer_access(item_id, by=by)
    if target == "comment":
        return get_comment_access(item_id, by=by)
    raise ValidationFailed({"target": "Hide a post, an answer or a comment."})


def hide_content(target: Target, item_id: int, *, by: User, reason: str) -> Post | Answer | Comment:
    """A community moderator (or site admin) hides a post, answer or comment, with a reason readers see.

    Flushes; sends signals.content_hidden (the author is notified; moderation logs it) and keeps
    counters, the knowledge base and search in step. Raises NotFound, PermissionDenied,
    Conflict (already hidden), ValidationFailed (no reason).
    """
    item, access = _load(target, item_id, by)
    if not access.moderates:
        raise PermissionDenied("Only the community's moderators can hide content.")
    if item.hidden_at is not None:
        raise Conflict("This is already hidden.")
    errors: dict[str, str] = {}
    text = clean_reason(reason, errors)
    raise_if(errors)
    set_hidden(target, item, access.post, hidden=True, reason=text, by=by)
    signals.content_hidden.send(access.post, target=target, obj=item, by=by, reason=text, hidden=True)
    return item


def restore_content(target: Target, item_id: int, *, by: User, reason: str = "") -> Post | Answer | Comment:
    """A community moderator restores hidden content (the reason is optional; it goes to the log).

    Flushes; sends signals.content_hidden (hidden=False). Raises NotFound, PermissionDenied, Conflict.
    """
    item, access = _load(target, item_id, by)
    if not access.moderates:
        raise PermissionDenied("Only the community's moderators can restore content.")
    if item.hidden_at is None:
        raise Conflict("This isn't hidden.")
    errors: dict[str, str] = {}
    text = clean_reason(reason, errors, required=False)
    raise_if(errors)
    set_hidden(target, item, access.post, hidden=False, reason="", by=by)
    signals.content_hidden.send(access.post, target=target, obj=item, by=by, reason=text, hidden=False)
    return item


def set_hidden(target: Target, item: Post | Answer | Comment, post: Post, *, hidden: bool, reason: str,
               by: User | None) -> None:  # fmt: skip
    """Hide (or re-hide with a new reason) or restore `item`, keeping counters, the post's vetted state and
    search in step. No permission check and no signal: for hide_content/restore_content and for the
    review queue (moderation's target adapters, which check, log and notify themselves; `by` is None when
    flags hid it automatically). Flushes."""
    was_visible = item.is_visible
    if hidden:
        item.hidden_reason = (reason or "Hidden by a moderator.")[:500]
        item.hidden_by_id = by.id if by is not None else None
        if item.hidden_at is None:
            item.hidden_at = utcnow()
    else:
        item.hidden_at, item.hidden_reason, item.hidden_by_id = None, "", None
    db.session.flush()
    _visibility_changed(target, item, post, was_visible=was_visible)


def _visibility_changed(target: Target, item: Post | Answer | Comment, post: Post, *, was_visible: bool) -> None:
    if was_visible == item.is_visible:
        return
    if target == "post":
        signals.post_content_changed.send(post)
    elif target == "answer":
        after_answer_visibility_change(item, post, visible=item.is_visible)  # type: ignore[arg-type]
    else:
        count_comment(item, 1 if item.is_visible else -1)  # type: ignore[arg-type]
