"""Ideas move through proposed → under review → adopted → tested (or declined), each step kept with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.posts import permissions
from lhn.posts.models import IdeaStatus, IdeaStatusChange, Post, PostKind, PostVote
from lhn.posts.services.common import clean_reason, get_access, raise_if

S = IdeaStatus
# Which status can follow which. Declined ideas can be reopened for review; a tested idea can go back
# to adopted (a second cycle) or be declined after all.
TRANSITIONS: dict[IdeaStatus, tuple[IdeaStatus, ...]] = {
    S.PROPOSED: (S.UNDER_REVIEW, S.DECLINED),
    S.UNDER_REVIEW: (S.ADOPTED, S.DECLINED, S.PROPOSED),
    S.ADOPTED: (S.TESTED, S.UNDER_REVIEW, S.DECLINED),
    S.TESTED: (S.ADOPTED, S.DECLINED),
    S.DECLINED: (S.UNDER_REVIEW,),
}


def next_statuses(post: Post) -> tuple[IdeaStatus, ...]:
    return TRANSITIONS.get(post.idea_status, ()) if post.idea_status else ()


def change_idea_status(post_id: int, status: str | IdeaStatus, *, by: User, reason: str) -> IdeaStatusChange:
    """A community moderator moves an idea to its next status, with a reason shown on the timeline.

    The idea's author and the members who voted for it are notified. Flushes; sends
    signals.idea_status_changed. Raises NotFound, PermissionDenied, ValidationFailed (not an idea, a
    transition that isn't allowed, no reason), Conflict (withdrawn or hidden).
    """
    access = get_access(post_id, by=by)
    post = access.post
    if not permissions.can_moderate(by, access.community, access.membership):
        raise PermissionDenied("The community's moderators decide the status of ideas.")
    if post.kind != PostKind.IDEA or post.idea_status is None:
        raise ValidationFailed({"status": "Only ideas have a status."})
    if not post.is_visible:
        raise Conflict("This idea was withdrawn or hidden.")
    try:
        target = IdeaStatus(status)
    except ValueError:
        raise ValidationFailed({"status": "Choose one of: " + ", ".join(s.value for s in IdeaStatus) + "."}) from None
    errors: dict[str, str] = {}
    if target not in TRANSITIONS[post.idea_status]:
        allowed = ", ".join(s.label.lower() for s in TRANSITIONS[post.idea_status])
        errors["status"] = f"An idea that is {post.idea_status.label.lower()} can move to: {allowed}."
    text = clean_reason(reason, errors)
    raise_if(errors)
    change = IdeaStatusChange(post_id=post.id, community_id=post.community_id, from_status=post.idea_status,
                              to_status=target, reason=text, by=by)  # fmt: skip
    db.session.add(change)
    post.idea_status = target
    db.session.flush()
    voters = list(db.session.scalars(select(User).join(PostVote, PostVote.user_id == User.id)
                                     .where(PostVote.post_id == post.id)))  # fmt: skip
    signals.idea_status_changed.send(post, change=change, voters=voters)
    return change


def list_status_changes(post: Post) -> list[IdeaStatusChange]:
    """The idea's timeline, oldest first (the post's readers may see it)."""
    return list(db.session.scalars(
        select(IdeaStatusChange).where(IdeaStatusChange.post_id == post.id)
        .options(joinedload(IdeaStatusChange.by)).order_by(IdeaStatusChange.id)
    ))  # fmt: skip


def list_linked_experiences(idea: Post) -> list[Post]:
    """Visible experiences that say they implemented this idea, newest first."""
    return list(db.session.scalars(
        select(Post).where(Post.linked_idea_id == idea.id, Post.kind == PostKind.EXPERIENCE,
                           Post.hidden_at.is_(None), Post.withdrawn_at.is_(None))
        .options(joinedload(Post.author)).order_by(Post.id.desc()).limit(50)
    ))  # fmt: skip


def idea_choices(community_id: int) -> list[tuple[int, str]]:
    """(id, title) of the community's visible ideas, newest first, for an experience's "linked idea"."""
    rows = db.session.execute(
        select(Post.id, Post.title).where(Post.community_id == community_id, Post.kind == PostKind.IDEA,
                                          Post.hidden_at.is_(None), Post.withdrawn_at.is_(None))
        .order_by(Post.id.desc()).limit(200)
    )  # fmt: skip
    return [(i, t) for i, t in rows]


def ideas_as_dicts(community_id: int, ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """{idea_id: {"id", "title", "status", "url", "adopted_at"}} for visible ideas of the community
    (all of them, or the given ids). For measures, through signals.ideas_requested."""
    stmt = (
        select(Post).where(Post.community_id == community_id, Post.kind == PostKind.IDEA,
                           Post.hidden_at.is_(None), Post.withdrawn_at.is_(None))
        .options(joinedload(Post.community))
    )  # fmt: skip
    if ids is not None:
        wanted = [i for i in ids if isinstance(i, int)]
        if not wanted:
            return {}
        stmt = stmt.where(Post.id.in_(wanted))
    ideas = list(db.session.scalars(stmt.order_by(Post.id)))
    adopted: dict[int, Any] = {}
    if ideas:
        rows = db.session.execute(
            select(IdeaStatusChange.post_id, IdeaStatusChange.created_at)
            .where(IdeaStatusChange.post_id.in_([p.id for p in ideas]), IdeaStatusChange.to_status == S.ADOPTED)
            .order_by(IdeaStatusChange.id)
        )  # fmt: skip
        for post_id, created_at in rows:
            adopted[post_id] = created_at  # the latest adoption
    return {
        p.id: {
            "id": p.id,
            "title": p.title,
            "status": p.idea_status.value if p.idea_status else None,
            "url": p.path,
            "adopted_at": adopted.get(p.id),
        }
        for p in ideas
    }
