"""Who may do what in a community. Pure predicates over the user, the community and a membership."""

from __future__ import annotations

from datetime import datetime

from lhn.accounts.permissions import as_user
from lhn.communities.models import Community, CommunityRole, Membership
from lhn.database import utcnow


def can_create_community(user: object) -> bool:
    """Site admins, verified clinicians and verified researchers."""
    u = as_user(user)
    return u is not None and (u.is_admin or u.is_verified)


def can_read(user: object, community: Community, membership: Membership | None) -> bool:
    """Content, members and guidelines. Restricted communities: members and site admins only."""
    if not community.is_restricted:
        return True
    u = as_user(user)
    return u is not None and (u.is_admin or membership is not None)


def is_muted(membership: Membership | None, now: datetime | None = None) -> bool:
    """A moderator muted this member and the mute has not run out yet."""
    return membership is not None and membership.muted_until is not None and membership.muted_until > (now or utcnow())


def can_post(user: object, community: Community, membership: Membership | None, now: datetime | None = None) -> bool:
    """Post, answer, comment and chat: members who are not muted. Posts and chat call this."""
    return as_user(user) is not None and membership is not None and not is_muted(membership, now)


def slow_mode_wait(seconds: int, last_write_at: datetime | None, now: datetime, *, exempt: bool = False) -> int:
    """Seconds left before a member may write again in a thread in slow mode (0: go ahead).
    Moderators are exempt (pass exempt=can_moderate(...))."""
    if exempt or seconds <= 0 or last_write_at is None:
        return 0
    left = seconds - (now - last_write_at).total_seconds()
    return max(0, int(left + 0.999))


def can_moderate(user: object, community: Community, membership: Membership | None) -> bool:
    u = as_user(user)
    return u is not None and (u.is_admin or (membership is not None and membership.role.moderates))


def can_manage(user: object, community: Community, membership: Membership | None) -> bool:
    """Edit the community and appoint or remove moderators: its owners and site admins."""
    u = as_user(user)
    return u is not None and (u.is_admin or (membership is not None and membership.role == CommunityRole.OWNER))


def can_appoint(user: object, community: Community, membership: Membership | None, member: Membership) -> bool:
    """Make `member` a moderator or take it back: those who manage the community, for anyone but an owner
    (owners are not changed this way; set_member_role refuses it too)."""
    return can_manage(user, community, membership) and member.role != CommunityRole.OWNER
