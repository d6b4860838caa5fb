"""Membership: who belongs to a community, joining (directly, or by a request moderators decide), leaving,
moderator appointments, and the member list with its institutions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lhn import phi, reminders, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, Role, User
from lhn.communities import permissions
from lhn.communities.models import Community, CommunityRole, JoinRequest, JoinRequestStatus, Membership
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.pagination import Page, paginate


def find_membership(user: object, community: Community) -> Membership | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.community_id == community.id, Membership.user_id == user.id)
    )


def memberships_of(user: object) -> dict[int, Membership]:
    """The user's memberships keyed by community id (one query; for directories and headers)."""
    if not isinstance(user, User):
        return {}
    rows = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).options(joinedload(Membership.community))
    )
    return {m.community_id: m for m in rows}


# --- joining and leaving ---------------------------------------------------------------------------


def add_member(community: Community, user: User, *, role: CommunityRole, accepted_version: int) -> Membership:
    """`user` joins `community` with `role`, having accepted guidelines version `accepted_version`. Flushes;
    sends signals.member_joined. For the services here and create_community (its owner)."""
    now = utcnow()
    membership = Membership(
        community=community, user=user, role=role, joined_at=now,
        guidelines_accepted_at=now, guidelines_version=accepted_version,
    )  # fmt: skip
    db.session.add(membership)
    community.member_count = Community.member_count + 1
    db.session.flush()
    db.session.refresh(community, ["member_count"])
    signals.member_joined.send(community, membership=membership)
    return membership


def join_community(user: User, community: Community, *, accept_guidelines: bool) -> Membership:
    """Join a public community, accepting its current guidelines (recorded with their version).

    Idempotent for existing members. Raises ValidationFailed, PermissionDenied (restricted).
    """
    existing = find_membership(user, community)
    if existing is not None:
        return existing
    if community.is_restricted:
        raise PermissionDenied("This community is restricted: ask to join and a moderator will review it.")
    if not accept_guidelines:
        raise ValidationFailed({"accept_guidelines": "Please read and accept the community guidelines."})
    return add_member(community, user, role=CommunityRole.MEMBER, accepted_version=community.guidelines_version)


def request_to_join(user: User, community: Community, *, accept_guidelines: bool, message: str = "",
                    confirm_phi: bool = False) -> JoinRequest:  # fmt: skip
    """Ask to join a restricted community. Returns the open request if there already is one. The message goes
    through the PHI guard (in reading(), before the write): phi.PHIConfirmationRequired unless `confirm_phi`;
    a confirmed finding is recorded (signals.phi_confirmed, never the text). Flushes. Raises ValidationFailed."""
    if find_membership(user, community) is not None:
        raise ValidationFailed({"": "You are already a member."})
    if not community.is_restricted:
        raise ValidationFailed({"": "This community is open: join it directly."})
    if not accept_guidelines:
        raise ValidationFailed({"accept_guidelines": "Please read and accept the community guidelines."})
    message = clean_text(message).strip()
    if len(message) > 1000:
        raise ValidationFailed({"message": "Use at most 1000 characters."})
    with reading():
        findings = phi.check_texts({"message": message}, confirm_phi)
    pending = find_pending_request(user, community)
    if pending is not None:
        return pending
    request = JoinRequest(
        community=community, user=user, message=message,
        guidelines_accepted_at=utcnow(), guidelines_version=community.guidelines_version,
    )  # fmt: skip
    db.session.add(request)
    db.session.flush()
    signals.join_requested.send(community, request=request)
    phi.record_confirmed(findings, by=user, target_type="join_request", target_id=request.id, community_id=community.id)
    return request


def join_or_request(user: User, community: Community, *, accept_guidelines: bool, message: str = "",
                    confirm_phi: bool = False) -> Membership | JoinRequest:  # fmt: skip
    """The one join button: join a public community (join_community: the membership), or ask to join a
    restricted one (request_to_join: the open request; its `message` goes through the PHI guard, `confirm_phi`).
    Flushes. Raises what those raise: ValidationFailed (phi.PHIConfirmationRequired among them)."""
    if community.is_restricted:
        return request_to_join(user, community, accept_guidelines=accept_guidelines, message=message,
                               confirm_phi=confirm_phi)  # fmt: skip
    return join_community(user, community, accept_guidelines=accept_guidelines)


def find_pending_request(user: object, community: Community) -> JoinRequest | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.user_id == user.id,
            JoinRequest.community_id == community.id,
            JoinRequest.status == JoinRequestStatus.PENDING,
        )
    )


def list_join_requests(community: Community, *, by: User) -> list[JoinRequest]:
    """Pending requests, for the community's moderators. Raises PermissionDenied."""
    if not permissions.can_moderate(by, community, find_membership(by, community)):
        raise PermissionDenied("Only moderators review join requests.")
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.community_id == community.id, JoinRequest.status == JoinRequestStatus.PENDING)
            .options(joinedload(JoinRequest.user))
            .order_by(JoinRequest.id)
        )
    )


def decide_join_request(request_id: int, *, by: User, approve: bool, note: str = "") -> JoinRequest:
    """A moderator approves (the requester becomes a member) or denies a pending request.

    Sends signals.join_request_decided. Raises NotFound, Conflict (already decided).
    """
    request = db.session.get(JoinRequest, request_id)
    if request is None:
        raise NotFound("No such join request.")
    community = request.community
    if not permissions.can_moderate(by, community, find_membership(by, community)):
        raise NotFound("No such join request.")
    if request.status != JoinRequestStatus.PENDING:
        raise Conflict("This request was already handled.")
    request.status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.DENIED
    request.decided_by = by
    request.decided_at = utcnow()
    request.decision_note = clean_text(note).strip()[:1000]
    if approve and find_membership(request.user, community) is None:
        membership = add_member(
            community, request.user, role=CommunityRole.MEMBER, accepted_version=request.guidelines_version
        )
        membership.guidelines_accepted_at = request.guidelines_accepted_at
    db.session.flush()
    signals.join_request_decided.send(community, request=request)
    return request


def leave_community(user: User, community: Community) -> None:
    """A member leaves. The last owner must hand over first. Sends signals.member_removed."""
    membership = find_membership(user, community)
    if membership is None:
        raise ValidationFailed({"": "You are not a member of this community."})
    if membership.role == CommunityRole.OWNER and owner_count(community) == 1:
        raise ValidationFailed({"": "You are the only owner. Make someone else an owner before leaving."})
    db.session.delete(membership)
    community.member_count = Community.member_count - 1
    db.session.flush()
    db.session.refresh(community, ["member_count"])
    signals.member_removed.send(community, user=user)


def owner_count(community: Community) -> int:
    """How many owners the community has (the last one may not leave)."""
    return (
        db.session.scalar(
            select(func.count()).where(Membership.community_id == community.id, Membership.role == CommunityRole.OWNER)
        )
        or 0
    )


def set_member_role(community: Community, username: str, role: str, *, by: User) -> Membership:
    """Owners (and site admins) appoint members as moderators or remove them.

    Owners themselves can't be changed here. Raises PermissionDenied, NotFound, ValidationFailed.
    """
    if not permissions.can_manage(by, community, find_membership(by, community)):
        raise PermissionDenied("Only the community's owners appoint moderators.")
    if role not in (CommunityRole.MEMBER, CommunityRole.MODERATOR):
        raise ValidationFailed({"role": "Choose member or moderator."})
    target = accounts.find_user(username)
    membership = find_membership(target, community) if target else None
    if membership is None:
        raise NotFound("That person is not a member of this community.")
    if membership.role == CommunityRole.OWNER:
        raise ValidationFailed({"role": "Owners can't be changed to moderators or members here."})
    old_role = membership.role
    membership.role = CommunityRole(role)
    db.session.flush()
    if old_role != membership.role:
        signals.member_role_changed.send(community, membership=membership, old_role=old_role, by=by)
    return membership


# --- members -----------------------------------------------------------------------------------------

MEMBER_FILTERS = ("owner", "moderator", "member", *(r.value for r in Role))


def list_members(
    community: Community, *, by: object, role: str = "", cursor: str | None = None, limit: int = 50
) -> Page[Membership]:
    """Members with their badges, newest first; `role` filters by community or site role.

    Raises PermissionDenied for readers who may not see a restricted community.
    """
    if not permissions.can_read(by, community, find_membership(by, community)):
        raise PermissionDenied("Only members can see who belongs to this community.")
    stmt = (
        select(Membership)
        .join(Membership.user)
        .where(Membership.community_id == community.id)
        .options(joinedload(Membership.user).joinedload(User.institution))
    )
    if role in ("owner", "moderator", "member"):
        stmt = stmt.where(Membership.role == CommunityRole(role))
    elif role in (r.value for r in Role):
        stmt = stmt.where(User.role == Role(role))
    elif role:
        raise ValidationFailed({"role": "Filter by one of: " + ", ".join(MEMBER_FILTERS) + "."})
    return paginate(stmt, order_by=[Membership.id], key=lambda m: (m.id,), cursor=cursor, limit=limit)


@dataclass
class InstitutionCount:
    institution: Institution | None  # None: members without an institution
    members: int


def institution_counts(community: Community) -> list[InstitutionCount]:
    """How many members come from each institution, largest first (one grouped query)."""
    rows = db.session.execute(
        select(Institution, func.count(Membership.id))
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .outerjoin(Institution, Institution.id == User.institution_id)
        .where(Membership.community_id == community.id)
        .group_by(Institution.id)
        .order_by(func.count(Membership.id).desc(), Institution.name)
    ).all()
    return [InstitutionCount(institution, count) for institution, count in rows]


def send_join_request_reminders(now: datetime) -> int:
    """Each join request that has waited longer than REMINDER_REQUEST_HOURS reminds each of its community's
    moderators and owners, once per request and person (lhn/reminders.py claims it; a moderator appointed later
    is reminded then). Flushes; returns how many people were reminded. Run by lhn/reminders.py's sweep."""
    waited = now - timedelta(hours=reminders.setting("REMINDER_REQUEST_HOURS"))
    pending = select(JoinRequest.id, JoinRequest.community_id).where(
        JoinRequest.status == JoinRequestStatus.PENDING, JoinRequest.created_at <= waited
    )
    requests: dict[int, int] = dict(db.session.execute(pending).all())  # (id, id) rows
    if not requests:
        return 0
    deciders = db.session.execute(
        select(Membership.community_id, Membership.user_id).where(
            Membership.community_id.in_(set(requests.values())),
            Membership.role.in_([CommunityRole.MODERATOR, CommunityRole.OWNER]),
        )
    ).all()
    by_community: dict[int, list[int]] = {}
    for community_id, user_id in deciders:
        by_community.setdefault(community_id, []).append(user_id)
    keys = {f"join request {rid} person {uid}": (rid, uid) for rid, cid in requests.items()
            for uid in by_community.get(cid, [])}  # fmt: skip
    claimed = [keys[k] for k in sorted(reminders.claim("reminder_join_request", keys))]
    if not claimed:
        return 0
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({uid for _, uid in claimed})))}
    places = {c.id: c for c in db.session.scalars(select(Community).where(Community.id.in_(set(requests.values()))))}
    sent = 0
    for request_id, user_id in claimed:
        community = places[requests[request_id]]
        sent += reminders.remind(
            "reminder_join_request", [people[user_id]], community_id=community.id, url=f"/c/{community.slug}/requests",
            text=f"Reminder: a request to join {community.name} has waited more than "
                 f"{reminders.setting('REMINDER_REQUEST_HOURS')} hours for a decision.",
        )  # fmt: skip
    return sent
