"""Following: a person follows a post, a measure, a chat channel or a community and is told of what happens there
(automatic for what they wrote or answered). Handlers ask `followers_of` whom to tell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.chat import permissions as chat_permissions
from lhn.chat import services as chat
from lhn.chat.models import Channel
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Community, Membership
from lhn.errors import DomainError, NotFound, ValidationFailed
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import Measure
from lhn.notifications.models import Follow
from lhn.posts import services as posts
from lhn.posts.models import Post

TARGET_TYPES = ("post", "measure", "channel", "community")


def _target(user: User, target_type: str, target_id: int) -> tuple[Any, Community]:
    """The target `user` may read, and its community. Raises NotFound (the same for missing and unreadable)."""
    try:
        if target_type == "post":
            post = posts.get_post(target_id, by=user)
            return post, post.community
        if target_type == "measure":
            measure = measures.get_measure(target_id, viewer=user)
            return measure, measure.community
        if target_type == "channel":
            channel, _ = chat.get_channel(target_id, by=user)
            return channel, channel.community
        if target_type == "community":
            community = db.session.get(Community, target_id)
            if community is not None and community_permissions.can_read(
                user, community, communities.find_membership(user, community)
            ):
                return community, community
    except DomainError:
        pass
    raise NotFound("Nothing to follow here.")


def _check_type(target_type: str) -> None:
    if target_type not in TARGET_TYPES:
        raise ValidationFailed({"target_type": "Follow a post, a measure, a channel or a community."})


def find_follow(user: object, target_type: str, target_id: int) -> Follow | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(select(Follow).where(
        Follow.user_id == user.id, Follow.target_type == target_type, Follow.target_id == target_id))  # fmt: skip


def follow(user: User, target_type: str, target_id: int) -> Follow:
    """`user` follows something they may read (idempotent). Flushes. Raises ValidationFailed (unknown type),
    NotFound (missing or not readable)."""
    _check_type(target_type)
    _, community = _target(user, target_type, target_id)
    return find_follow(user, target_type, target_id) or _add(user.id, target_type, target_id, community.id)


def unfollow(user: User, target_type: str, target_id: int) -> bool:
    """`user` stops following (idempotent). Returns whether they followed. Flushes. Raises ValidationFailed."""
    _check_type(target_type)
    existing = find_follow(user, target_type, target_id)
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    return existing is not None


def follow_automatically(user: User, target_type: str, target_id: int, community_id: int) -> None:
    """What someone wrote or answered: they follow it (no check: they just wrote there). Flushes."""
    if find_follow(user, target_type, target_id) is None:
        _add(user.id, target_type, target_id, community_id)


def _add(user_id: int, target_type: str, target_id: int, community_id: int) -> Follow:
    row = Follow(user_id=user_id, target_type=target_type, target_id=target_id, community_id=community_id)
    db.session.add(row)
    db.session.flush()
    return row


def followers_of(target_type: str, target_id: int, community: Community, *, exclude: set[int],
                 channel: Any = None) -> list[User]:  # fmt: skip
    """Who follows the target and may still read it (members of a restricted community, readers of a channel),
    but those in `exclude` (already told of this event, or its actor). Two queries."""
    rows = db.session.execute(
        select(User, Membership)
        .join(Follow, Follow.user_id == User.id)
        .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.community_id == community.id))
        .where(Follow.target_type == target_type, Follow.target_id == target_id)
        .order_by(User.id)
    ).all()  # fmt: skip
    found = []
    for user, membership in rows:
        if user.id in exclude:
            continue
        readable = (chat_permissions.can_read(user, channel, membership) if channel is not None
                    else community_permissions.can_read(user, community, membership))  # fmt: skip
        if readable:
            found.append(user)
    return found


def list_follows(user: User) -> list[Follow]:
    """What `user` follows, newest first."""
    return list(db.session.scalars(select(Follow).where(Follow.user_id == user.id).order_by(Follow.id.desc())))


@dataclass(frozen=True)
class Followed:
    target_type: str
    target_id: int
    label: str  # "Question: “Title”", "Measure: Name", "Channel: #name in Community", "Community: Name"
    url: str


def describe_follows(follows: list[Follow]) -> list[Followed]:
    """What each follow is, for the settings page: one query per kind of target, whatever the number."""
    ids: dict[str, list[int]] = {t: [f.target_id for f in follows if f.target_type == t] for t in TARGET_TYPES}
    found: dict[tuple[str, int], tuple[str, str]] = {}
    if ids["post"]:
        for post in db.session.scalars(select(Post).where(Post.id.in_(ids["post"]))
                                       .options(joinedload(Post.community))):  # fmt: skip
            found["post", post.id] = (f"{post.kind.label}: “{post.title}”", post.path)
    if ids["measure"]:
        for measure in db.session.scalars(select(Measure).where(Measure.id.in_(ids["measure"]))):
            found["measure", measure.id] = (f"Measure: {measure.name}", f"/measures/{measure.id}")
    if ids["channel"]:
        for channel in db.session.scalars(select(Channel).where(Channel.id.in_(ids["channel"]))
                                          .options(joinedload(Channel.community))):  # fmt: skip
            found["channel", channel.id] = (f"Channel: #{channel.name} in {channel.community.name}",
                                            f"/c/{channel.community.slug}/chat/{channel.name}")  # fmt: skip
    if ids["community"]:
        for community in db.session.scalars(select(Community).where(Community.id.in_(ids["community"]))):
            found["community", community.id] = (f"Community: {community.name}", f"/c/{community.slug}")
    return [Followed(f.target_type, f.target_id, *found[f.target_type, f.target_id])
            for f in follows if (f.target_type, f.target_id) in found]  # fmt: skip


def erase_follows(user: User) -> None:
    db.session.execute(delete(Follow).where(Follow.user_id == user.id))
