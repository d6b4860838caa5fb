"""Calls for collaborators: members say they're interested; the author accepts or declines each."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.posts import permissions
from lhn.posts.models import CallInterest, InterestStatus, Post, PostKind
from lhn.posts.services.common import Access, get_access

MESSAGE_MAX = 500


def is_open(post: Post) -> bool:
    """A call takes interest until the end of its deadline day (UTC)."""
    return post.is_visible and (post.deadline is None or post.deadline >= utcnow().date())


def _call(post_id: int, by: object) -> Access:
    access = get_access(post_id, by=by)
    if access.post.kind != PostKind.CALL:
        raise NotFound("No such call for collaborators.")
    return access


def express_interest(post_id: int, message: str, *, by: User) -> CallInterest:
    """A member tells the author of a call that they are interested, with a short message.

    Someone who withdrew may say so again. The author is notified. Flushes; sends
    signals.call_interest_expressed. Raises NotFound, PermissionDenied (not a member, own call),
    Conflict (closed, or already interested), ValidationFailed.
    """
    access = _call(post_id, by)
    post = access.post
    if permissions.is_author(by, post):
        raise PermissionDenied("This is your own call.")
    if not permissions.can_post(by, access.community, access.membership):
        raise PermissionDenied("Join the community to answer this call.")
    if not is_open(post):
        raise Conflict("This call is closed.")
    text = clean_text(message or "").strip()
    if not text:
        raise ValidationFailed({"message": "Write a line about yourself and why you're interested."})
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed({"message": f"Keep it to {MESSAGE_MAX} characters."})
    interest = find_interest(post, by)
    if interest is not None and interest.status != InterestStatus.WITHDRAWN:
        raise Conflict("You have already said you're interested.")
    if interest is None:
        interest = CallInterest(post=post, user=by, message=text)
        db.session.add(interest)
    else:
        interest.message, interest.status, interest.decided_at = text, InterestStatus.PENDING, None
    post.interest_count = Post.interest_count + 1
    db.session.flush()
    db.session.refresh(post, ["interest_count"])
    signals.call_interest_expressed.send(post, interest=interest)
    return interest


def withdraw_interest(post_id: int, *, by: User) -> CallInterest:
    """Take back one's interest (pending or accepted). Flushes. Raises NotFound, Conflict."""
    access = _call(post_id, by)
    interest = find_interest(access.post, by)
    if interest is None or interest.status == InterestStatus.WITHDRAWN:
        raise Conflict("You haven't said you're interested.")
    interest.status, interest.decided_at = InterestStatus.WITHDRAWN, utcnow()
    access.post.interest_count = Post.interest_count - 1
    db.session.flush()
    db.session.refresh(access.post, ["interest_count"])
    return interest


def decide_interest(interest_id: int, *, by: User, accept: bool) -> CallInterest:
    """The call's author accepts or declines an interested member (and may change their mind).

    The member is notified. Flushes; sends signals.call_interest_decided.
    Raises NotFound (also for people other than the author), Conflict (withdrawn).
    """
    interest = db.session.get(CallInterest, interest_id)
    if interest is None:
        raise NotFound("No such interest.")
    access = _call(interest.post_id, by)
    if not permissions.is_author(by, access.post):
        raise NotFound("No such interest.")
    if interest.status == InterestStatus.WITHDRAWN:
        raise Conflict("This person withdrew their interest.")
    status = InterestStatus.ACCEPTED if accept else InterestStatus.DECLINED
    if interest.status == status:
        return interest
    interest.status, interest.decided_at = status, utcnow()
    db.session.flush()
    signals.call_interest_decided.send(access.post, interest=interest)
    return interest


def find_interest(post: Post, user: object) -> CallInterest | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(select(CallInterest).where(CallInterest.post_id == post.id,
                                                        CallInterest.user_id == user.id))  # fmt: skip


def list_interests(post_id: int, *, by: object) -> list[CallInterest]:
    """Everyone who answered the call, with their badges, for its author and the community's moderators;
    other readers get only their own. Oldest first. Raises NotFound."""
    access = _call(post_id, by)
    stmt = (
        select(CallInterest).where(CallInterest.post_id == access.post.id)
        .options(joinedload(CallInterest.user)).order_by(CallInterest.id)
    )  # fmt: skip
    if not (permissions.is_author(by, access.post) or access.moderates):
        if not isinstance(by, User):
            return []
        stmt = stmt.where(CallInterest.user_id == by.id)
    return list(db.session.scalars(stmt))
