"""Who may do what in moderation. Pure predicates over users, memberships and plain facts: no queries."""

from __future__ import annotations

from dataclasses import dataclass

from lhn.accounts.models import User
from lhn.accounts.permissions import is_suspended
from lhn.communities import permissions as community_permissions
from lhn.communities.models import Community, Membership
from lhn.moderation.models import ReviewKind

# Every action a review item can offer. "hide" on hidden content keeps it hidden with a (new) reason.
ACTIONS = ("dismiss", "hide", "restore", "redact", "warn", "mute", "suspend", "approve", "reject")
ACTION_LABELS = {
    "dismiss": "Dismiss (nothing wrong)",
    "hide": "Hide with a reason",
    "restore": "Restore (show it again)",
    "redact": "Redact personal health information",
    "warn": "Warn the author privately",
    "mute": "Mute in this community",
    "suspend": "Suspend site-wide",
    "approve": "Approve",
    "reject": "Reject",
}
# Actions that need a reason from the moderator (shown to the author, and in the public log).
NEEDS_REASON = frozenset({"hide", "warn", "mute", "suspend"})
CONTENT_KINDS = frozenset({ReviewKind.FLAGGED_CONTENT, ReviewKind.FLAGGED_USER})


@dataclass(frozen=True)
class ItemFacts:
    """What allowed_actions needs to know about an item and the person looking at it (computed by services)."""

    kind: ReviewKind
    is_open: bool
    reviewer_is_admin: bool
    reviewer_may_review: bool  # moderates the item's community, may review the verification, or is an admin
    about_reviewer: bool  # the item is about the reviewer: their content, their account, their request
    has_community: bool
    target_exists: bool = True
    target_hideable: bool = False
    target_hidden: bool = False
    has_author: bool = False
    author_protected: bool = False  # the author is a site admin or moderates this community
    reviewer_may_vet: bool = False  # clinical standing (or a community that lets moderators vet)


def allowed_actions(facts: ItemFacts) -> list[str]:
    """The actions the reviewer may take on the item now, in the order the page shows them."""
    if not facts.is_open or not facts.reviewer_may_review or facts.about_reviewer:
        return []
    if facts.kind in (ReviewKind.VERIFICATION, ReviewKind.JOIN_REQUEST):
        return ["approve", "reject"]
    if facts.kind == ReviewKind.ANSWER_VETTING:
        return ["dismiss"]  # vetting itself needs evidence: it happens on the answer (phase 2)
    if facts.kind == ReviewKind.VETTED_ANSWER_CHANGED:  # keep the seal on the new revision / unvet / leave as is
        return ["approve", "reject", "dismiss"] if facts.reviewer_may_vet else ["reject", "dismiss"]
    if not facts.target_exists:
        return ["dismiss"]
    actions = ["restore" if facts.target_hidden else "dismiss"]
    if facts.target_hideable:
        actions.append("hide")
    actions.append("redact")
    if facts.has_author and (facts.reviewer_is_admin or not facts.author_protected):
        actions.append("warn")
        if facts.has_community:
            actions.append("mute")
        if facts.reviewer_is_admin:
            actions.append("suspend")
    return actions


def can_review(user: object, community: Community | None, membership: Membership | None) -> bool:
    """See a community's review queue (its moderators), or the site-wide one (site admins)."""
    if community is None:
        return isinstance(user, User) and user.is_admin
    return community_permissions.can_moderate(user, community, membership)


def can_flag(user: object) -> bool:
    return isinstance(user, User) and not is_suspended(user)


def can_read_log(user: object, community: Community, membership: Membership | None) -> bool:
    """The public log is as public as the community's content."""
    return community_permissions.can_read(user, community, membership)


def can_read_site_log(user: object) -> bool:
    """Site-wide entries (suspensions, profiles flagged outside any community): site admins."""
    return isinstance(user, User) and user.is_admin


def can_edit_settings(user: object, community: Community, membership: Membership | None) -> bool:
    """The flag threshold: the community's owners and site admins."""
    return community_permissions.can_manage(user, community, membership)


def can_redact_as_author(user: object, author: User | None) -> bool:
    return isinstance(user, User) and author is not None and author.id == user.id


def can_sanction(by: object, subject: User, *, by_moderates: bool, subject_moderates: bool) -> bool:
    """Moderators sanction members of their community; only site admins sanction moderators and admins."""
    if not isinstance(by, User) or by.id == subject.id:
        return False
    if by.is_admin:
        return True
    return by_moderates and not subject_moderates and not subject.is_admin


def can_suspend(by: object, subject: User) -> bool:
    return isinstance(by, User) and by.is_admin and by.id != subject.id


def can_read_audit(user: object) -> bool:
    return isinstance(user, User) and user.is_admin
