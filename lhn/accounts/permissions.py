"""Who may do what with accounts. Pure predicates: no queries, no side effects."""

from __future__ import annotations

from datetime import datetime

from lhn.accounts.models import User
from lhn.database import utcnow


def as_user(user: object) -> User | None:
    """The account behind `user` (a User, or Flask-Login's anonymous visitor): what every feature's predicates
    start from."""
    return user if isinstance(user, User) else None


def can_receive_email(user: User) -> bool:
    """Whether LHN may send `user` anything but account mail (confirmation, password reset, security notices):
    only to an address its owner confirmed, so nobody is mailed at an address someone else typed."""
    return user.email_confirmed_at is not None and not user.is_former_member


def can_manage_institutions(user: object) -> bool:
    return isinstance(user, User) and user.is_admin


def can_decide_verification(by: object, applicant_id: int) -> bool:
    """Verification is decided by site staff (admins and the verifiers they appoint), never by community
    moderators, and never by the applicant."""
    return isinstance(by, User) and by.is_staff and by.id != applicant_id and not is_suspended(by)


def can_appoint_verifiers(by: object) -> bool:
    return isinstance(by, User) and by.is_admin


def can_see_private_profile(viewer: object, owner: User) -> bool:
    """Email, tokens and submitted evidence: the person themself and site admins only."""
    return isinstance(viewer, User) and (viewer.id == owner.id or viewer.is_admin)


def can_see_verification_history(viewer: object, owner: User) -> bool:
    """Past verification requests, decisions, revocations and the reviewers' notes ("This ORCID iD belongs
    to someone else"): the person themself and site staff. Everyone else sees only the badge they produced."""
    return isinstance(viewer, User) and (viewer.id == owner.id or viewer.is_staff)


def is_suspended(user: object, now: datetime | None = None) -> bool:
    """A site suspension is running (it lapses by itself at `suspended_until`)."""
    return isinstance(user, User) and suspension_running(user.suspended_until, now)


def suspension_running(suspended_until: datetime | None, now: datetime | None = None) -> bool:
    """The rule behind is_suspended, for callers that read the column without loading the person."""
    return suspended_until is not None and suspended_until > (now or utcnow())


def suspension_notice(user: User) -> str:
    """The plain sentence a suspended person sees when they try to log in or use a token."""
    until = user.suspended_until
    when = "until a site admin lifts it" if until and until.year >= 9999 else f"until {until:%d %B %Y %H:%M} UTC"
    reason = f" Reason: {user.suspension_reason}" if user.suspension_reason else ""
    return f"Your account is suspended {when}.{reason}"
