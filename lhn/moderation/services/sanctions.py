"""Sanctions: a private warning, a mute in one community, a site suspension; each ends by itself.

The checks read Membership.muted_until (communities.permissions.can_post, used by posts and chat) and
User.suspended_until (login, session loader, bearer tokens), compared with the clock on every request,
so an expiry needs no restart and no job. Sanction rows are the record shown to the person and moderators.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.moderation import permissions
from lhn.moderation.models import Sanction, SanctionKind
from lhn.moderation.services import audit
from lhn.moderation.services.log import LogLink, log_action

MUTE_DAYS = (1, 3, 7, 30)
SUSPEND_DAYS = (1, 7, 30, 365, 0)  # 0: until a site admin lifts it
INDEFINITE = datetime(9999, 12, 31, tzinfo=UTC)
REASON_MAX = 1000
AUDIT_NAMES = {SanctionKind.WARNING: "warn", SanctionKind.MUTE: "mute", SanctionKind.SUSPENSION: "suspend"}


def _reason(reason: str) -> str:
    reason = clean_text(reason).strip()
    if not reason:
        raise ValidationFailed({"reason": "Give a reason: the member will read it."})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": f"Use at most {REASON_MAX} characters."})
    return reason


def _moderates(user: object, community: Community | None) -> bool:
    if community is None:
        return isinstance(user, User) and user.is_admin
    return community_permissions.can_moderate(user, community, communities.find_membership(user, community))


def _check_may_sanction(by: User, subject: User, community: Community | None) -> None:
    subject_moderates = community is not None and _moderates(subject, community)
    if not permissions.can_sanction(
        by, subject, by_moderates=_moderates(by, community), subject_moderates=subject_moderates
    ):
        raise PermissionDenied("You can't sanction this member.")


def _role(by: User) -> str:
    return "admin" if by.is_admin else "moderator"


def _extend_banner(subject: User, ends: datetime) -> None:
    if subject.sanctioned_until is None or subject.sanctioned_until < ends:
        subject.sanctioned_until = ends


def _profile_target(subject: User) -> LogLink:
    return {
        "target_type": "user",
        "target_id": subject.id,
        "target_label": "member",
        "target_url": f"/u/{subject.username}",
    }


def _issue(
    subject: User,
    kind: SanctionKind,
    *,
    by: User,
    reason: str,
    community: Community | None,
    review_item_id: int | None,
    target: LogLink | None,
    logged: tuple[str, str, str],
    ends: datetime | None = None,
    now: datetime | None = None,
) -> Sanction:
    """Store a checked sanction and say so: the row, the member's banner, the public log line (`logged`: its
    verb, public reason and details), the audit row and signals.sanction_issued (the member's notice)."""
    now = now or utcnow()
    sanction = Sanction(user=subject, kind=kind, community=community, reason=reason, ends_at=ends, issued_by=by,
                        review_item_id=review_item_id, created_at=now)  # fmt: skip
    db.session.add(sanction)
    if ends is not None:
        _extend_banner(subject, ends)
    db.session.flush()
    verb, public_reason, details = logged
    community_id = community.id if community else None
    log_action(verb, by=by, community_id=community_id, reason=public_reason, details=details,
               review_item_id=review_item_id, at=now, **(target or _profile_target(subject)))  # fmt: skip
    audit.record(f"sanction.{AUDIT_NAMES[kind]}", actor=by, object_type="user", object_id=subject.id,
                 community_id=community_id, actor_role=_role(by))  # fmt: skip
    signals.sanction_issued.send(subject, sanction=sanction)
    return sanction


def warn(
    subject: User,
    *,
    by: User,
    reason: str,
    community: Community | None = None,
    review_item_id: int | None = None,
    target: LogLink | None = None,
) -> Sanction:
    """A moderator (of `community`, or a site admin) warns a member privately: a notification only they
    see. The public log says a warning was sent, without the reason. Flushes; audits.
    Raises PermissionDenied, ValidationFailed."""
    reason = _reason(reason)
    _check_may_sanction(by, subject, community)
    return _issue(subject, SanctionKind.WARNING, by=by, reason=reason, community=community,
                  review_item_id=review_item_id, target=target, logged=("warned", "", ""))  # fmt: skip


def mute(
    subject: User,
    community: Community,
    *,
    by: User,
    reason: str,
    days: int,
    review_item_id: int | None = None,
    target: LogLink | None = None,
    now: datetime | None = None,
) -> Sanction:
    """A moderator mutes a member in their community for `days` (one of MUTE_DAYS): they read, but
    can't post or chat. `now` lets operators and tests place the mute in time. Flushes; audits.
    Raises PermissionDenied, ValidationFailed."""
    reason = _reason(reason)
    if days not in MUTE_DAYS:
        raise ValidationFailed({"days": "Choose " + ", ".join(str(d) for d in MUTE_DAYS) + " days."})
    _check_may_sanction(by, subject, community)
    membership = communities.find_membership(subject, community)
    if membership is None:
        raise ValidationFailed({"": "This person is not a member of the community."})
    now = now or utcnow()
    ends = now + timedelta(days=days)
    if membership.muted_until is None or membership.muted_until < ends:
        membership.muted_until = ends
    return _issue(subject, SanctionKind.MUTE, by=by, reason=reason, community=community, ends=ends, now=now,
                  review_item_id=review_item_id, target=target,
                  logged=("muted", reason, f"until {ends:%d %b %Y %H:%M} UTC"))  # fmt: skip


def suspend(
    subject: User,
    *,
    by: User,
    reason: str,
    days: int,
    community: Community | None = None,
    review_item_id: int | None = None,
    target: LogLink | None = None,
    now: datetime | None = None,
) -> Sanction:
    """A site admin suspends an account for `days` (SUSPEND_DAYS; 0 = until lifted): no login, no API
    token, every session ends now, and `user_suspended` is sent so chat disconnects their sockets.
    Flushes; audits. Raises PermissionDenied, ValidationFailed."""
    reason = _reason(reason)
    if days not in SUSPEND_DAYS:
        raise ValidationFailed({"days": "Choose 1, 7, 30 or 365 days, or until lifted."})
    if not permissions.can_suspend(by, subject):
        raise PermissionDenied("Only site admins suspend accounts.")
    now = now or utcnow()
    ends = INDEFINITE if days == 0 else now + timedelta(days=days)
    subject.suspended_until, subject.suspension_reason = ends, reason[:300]
    details = "until lifted" if days == 0 else f"until {ends:%d %b %Y %H:%M} UTC"
    sanction = _issue(subject, SanctionKind.SUSPENSION, by=by, reason=reason, community=community, ends=ends, now=now,
                      review_item_id=review_item_id, target=target, logged=("suspended", reason, details))  # fmt: skip
    accounts.invalidate_sessions(subject)  # ends cookies everywhere; chat drops sockets on this signal too
    signals.user_suspended.send(subject, until=ends, reason=reason, by=by)
    if subject.verified_at is not None:  # a suspension suspends the verified badge
        accounts.announce_badge(subject)
    return sanction


def lift(sanction_id: int, *, by: User, now: datetime | None = None) -> Sanction:
    """End a running mute (the community's moderators) or suspension (site admins) early.
    Flushes; logs; audits. Raises NotFound (also for people who may not see it), ValidationFailed."""
    sanction = db.session.get(Sanction, sanction_id)
    now = now or utcnow()
    if sanction is None or sanction.kind == SanctionKind.WARNING:
        raise NotFound("No such sanction.")
    subject = sanction.user
    if sanction.kind == SanctionKind.MUTE:
        allowed = sanction.community is not None and _moderates(by, sanction.community) and by.id != subject.id
    else:
        allowed = permissions.can_suspend(by, subject)
    if not allowed:
        raise NotFound("No such sanction.")
    if not sanction.is_active(now):
        raise ValidationFailed({"": "This sanction has already ended."})
    sanction.lifted_at, sanction.lifted_by_id = now, by.id
    if sanction.kind == SanctionKind.MUTE:
        assert sanction.community is not None  # noqa: S101 - mutes always have one
        membership = communities.find_membership(subject, sanction.community)
        if membership is not None:
            others = [
                s.ends_at
                for s in active_sanctions(subject, now=now, community=sanction.community)
                if s.id != sanction.id and s.kind == SanctionKind.MUTE
            ]
            membership.muted_until = max((e for e in others if e), default=None)
        action = "unmuted"
    else:
        subject.suspended_until, subject.suspension_reason = None, ""
        action = "unsuspended"
        if subject.verified_at is not None:
            accounts.announce_badge(subject)
    db.session.flush()
    subject.sanctioned_until = max((s.ends_at for s in active_sanctions(subject, now=now) if s.ends_at), default=None)
    log_action(action, by=by, community_id=sanction.community_id, **_profile_target(subject))
    audit.record(
        "sanction.lift", actor=by, object_type="sanction", object_id=sanction.id, community_id=sanction.community_id
    )
    return sanction


def active_sanctions(user: User, *, now: datetime | None = None, community: Community | None = None) -> list[Sanction]:
    """The mutes and suspension running now for `user` (for their banner), soonest end first."""
    now = now or utcnow()
    if community is None and (user.sanctioned_until is None or user.sanctioned_until <= now):
        return []  # nothing running: no query (every page asks)
    stmt = (
        select(Sanction)
        .where(
            Sanction.user_id == user.id,
            Sanction.kind != SanctionKind.WARNING,
            Sanction.lifted_at.is_(None),
            Sanction.ends_at > now,
        )
        .options(joinedload(Sanction.community))
        .order_by(Sanction.ends_at)
    )
    if community is not None:
        stmt = stmt.where(Sanction.community_id == community.id)
    return list(db.session.scalars(stmt))


def list_my_sanctions(user: User) -> list[Sanction]:
    """Everything the person was sanctioned with, newest first: their own record."""
    return list(
        db.session.scalars(
            select(Sanction)
            .where(Sanction.user_id == user.id)
            .options(joinedload(Sanction.community), joinedload(Sanction.issued_by))
            .order_by(Sanction.id.desc())
        )
    )


def list_community_mutes(community: Community, *, by: User, now: datetime | None = None) -> list[Sanction]:
    """Running mutes in a community, for its moderators. Raises PermissionDenied."""
    if not _moderates(by, community):
        raise PermissionDenied("Only moderators see the community's mutes.")
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Sanction)
            .where(
                Sanction.community_id == community.id,
                Sanction.kind == SanctionKind.MUTE,
                Sanction.lifted_at.is_(None),
                Sanction.ends_at > now,
            )
            .options(joinedload(Sanction.user).joinedload(User.institution))
            .order_by(Sanction.ends_at)
        )
    )


def reapply_mute(membership_user: User, community: Community, *, now: datetime | None = None) -> datetime | None:
    """The end of a mute still running for this person in this community (a rejoin must not lift it)."""
    ends = [
        s.ends_at
        for s in active_sanctions(membership_user, now=now, community=community)
        if s.kind == SanctionKind.MUTE and s.ends_at
    ]
    return max(ends, default=None)
