"""Community rules: create and edit, join, leave, join requests, moderators, members, verification review."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from lhn import phi, signals
from lhn.accounts import permissions as accounts_permissions
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, Role, User, VerificationRequest, VerificationStatus
from lhn.communities import permissions
from lhn.communities.models import (
    CodeSystem,
    Community,
    CommunityRole,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    SlowMode,
    Visibility,
)
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.pagination import Page, paginate

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
NAME_MAX, CONDITION_MAX, TEXT_MAX = 120, 160, 20_000


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


# Verhoeff check digit, which every SNOMED CT identifier ends with.
_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]  # fmt: skip
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]  # fmt: skip


def snomed_code_is_valid(code: str) -> bool:
    if not (code.isdigit() and 6 <= len(code) <= 18):
        return False
    check = 0
    for i, digit in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(digit)]]
    return check == 0


def _check_condition_code(system: str | None, code: str, errors: dict[str, str]) -> CodeSystem | None:
    code = code.strip()
    if not code and not system:
        return None
    if not system or not code:
        errors["condition_code"] = "Give both the code and its system, or neither."
        return None
    try:
        checked = CodeSystem(system)
    except ValueError:
        errors["condition_system"] = "Choose ICD-10 or SNOMED CT."
        return None
    if checked == CodeSystem.ICD10 and not ICD10_RE.match(code.upper()):
        errors["condition_code"] = "That is not an ICD-10 code (for example K50.9)."
    if checked == CodeSystem.SNOMED and not snomed_code_is_valid(code):
        errors["condition_code"] = "That is not a SNOMED CT identifier (digits with a valid check digit)."
    return checked


@dataclass
class CommunityFields:
    name: str
    condition_name: str
    description: str = ""
    guidelines: str = ""
    visibility: str = "public"
    condition_code: str = ""
    condition_system: str | None = None
    slug: str = ""


def _validated(fields: CommunityFields, *, existing: Community | None) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    name = clean_text(fields.name).strip()
    condition = clean_text(fields.condition_name).strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"Name the community (up to {NAME_MAX} characters)."
    if not condition or len(condition) > CONDITION_MAX:
        errors["condition_name"] = f"Name the condition (up to {CONDITION_MAX} characters)."
    for field in ("description", "guidelines"):
        if len(getattr(fields, field)) > TEXT_MAX:
            errors[field] = f"Use at most {TEXT_MAX} characters."
    if not fields.guidelines.strip():
        errors["guidelines"] = "Write the guidelines members accept when they join."
    try:
        visibility = Visibility(fields.visibility)
    except ValueError:
        errors["visibility"] = "Choose public or restricted."
        visibility = Visibility.PUBLIC
    system = _check_condition_code(fields.condition_system, fields.condition_code, errors)
    values = {
        "name": name,
        "condition_name": condition,
        "condition_code": fields.condition_code.strip().upper()
        if system == CodeSystem.ICD10
        else fields.condition_code.strip(),
        "condition_system": system,
        "visibility": visibility,
        "description": clean_text(fields.description).strip(),
        "guidelines": clean_text(fields.guidelines).strip(),
    }
    if existing is None:
        slug = fields.slug.strip().lower() or slugify(name)
        if not SLUG_RE.match(slug):
            errors["slug"] = "Use 3–60 lowercase letters, digits and hyphens."
        elif find_community(slug) is not None:
            errors["slug"] = "That address is taken."
        values["slug"] = slug
    return values, errors


RENDERED = ("description", "guidelines")  # Markdown fields, stored beside their HTML


def create_community(fields: CommunityFields, *, by: User) -> Community:
    """Site admins and verified clinicians or researchers create a community; they become its owner.

    Flushes; sends signals.community_created (chat adds #general). Raises PermissionDenied, ValidationFailed.
    """
    with reading():  # checks and Markdown before the write transaction
        if not permissions.can_create_community(by):
            raise PermissionDenied("Communities are created by site admins and verified clinicians or researchers.")
        values, errors = _validated(fields, existing=None)
        if errors:
            raise ValidationFailed(errors)
        rendered = {f"{name}_html": str(render_markdown(values[name], field=name)) for name in RENDERED}
    if find_community(values["slug"]) is not None:  # taken while we rendered
        raise ValidationFailed({"slug": "That address is taken."})
    community = Community(**values, **rendered, created_by_id=by.id)
    db.session.add(community)
    db.session.flush()
    _add_member(community, by, role=CommunityRole.OWNER, accepted_version=community.guidelines_version)
    signals.community_created.send(community, by=by)
    return community


def update_community(community: Community, fields: CommunityFields, *, by: User) -> Community:
    """Owners and site admins edit a community. New guidelines get a new version. Flushes."""
    with reading():  # checks and Markdown before the write transaction
        if not permissions.can_manage(by, community, find_membership(by, community)):
            raise PermissionDenied("Only the community's owners can edit it.")
        values, errors = _validated(fields, existing=community)
        if errors:
            raise ValidationFailed(errors)
        changed = [name for name in RENDERED if values[name] != getattr(community, name)]
        rendered = {f"{name}_html": str(render_markdown(values[name], field=name)) for name in changed}
    if "guidelines" in changed:
        community.guidelines_version += 1
    for key, value in {**values, **rendered}.items():
        setattr(community, key, value)
    db.session.flush()
    return community


# --- lookups -------------------------------------------------------------------------------------


def find_community(slug: str) -> Community | None:
    return db.session.scalar(select(Community).where(Community.slug == slug))


def get_community(slug: str) -> Community:
    """Any community by slug. Every community's name and description are public."""
    community = find_community(slug)
    if community is None:
        raise NotFound("No such community.")
    return community


def find_membership(user: object, community: Community) -> Membership | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.community_id == community.id, Membership.user_id == user.id)
    )


def get_readable_community(user: object, slug: str) -> tuple[Community, Membership | None]:
    """A community whose content `user` may read, with their membership. Raises PermissionDenied
    for a restricted community they don't belong to (its existence is public, its content is not)."""
    community = get_community(slug)
    membership = find_membership(user, community)
    if not permissions.can_read(user, community, membership):
        raise PermissionDenied("This community is restricted to its members.")
    return community, membership


def list_communities(*, q: str = "", cursor: str | None = None, limit: int = 30) -> Page[Community]:
    """The directory: every community (restricted ones show name and description only)."""
    stmt = select(Community)
    q = q.strip()
    if q:
        like = f"%{q.lower().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(Community.name).like(like),
                func.lower(Community.condition_name).like(like),
                func.lower(Community.condition_code).like(like),
            )
        )
    return paginate(
        stmt, order_by=[Community.name, Community.id], key=lambda c: (c.name, c.id),
        cursor=cursor, limit=limit, descending=False,
    )  # fmt: skip


def memberships_of(user: object) -> dict[int, Membership]:
    """The user's memberships keyed by community id (one query; for directories and headers)."""
    if not isinstance(user, User):
        return {}
    rows = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).options(joinedload(Membership.community))
    )
    return {m.community_id: m for m in rows}


# --- joining and leaving ---------------------------------------------------------------------------


def _add_member(community: Community, user: User, *, role: CommunityRole, accepted_version: int) -> Membership:
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
    return _add_member(community, user, role=CommunityRole.MEMBER, accepted_version=community.guidelines_version)


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
    if findings:
        signals.phi_confirmed.send(user, kinds=phi.kinds(findings), target_type="join_request", target_id=request.id,
                                   community_id=community.id)  # fmt: skip
    return request


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
        membership = _add_member(
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
    if membership.role == CommunityRole.OWNER and _owner_count(community) == 1:
        raise ValidationFailed({"": "You are the only owner. Make someone else an owner before leaving."})
    db.session.delete(membership)
    community.member_count = Community.member_count - 1
    db.session.flush()
    db.session.refresh(community, ["member_count"])
    signals.member_removed.send(community, user=user)


def _owner_count(community: Community) -> int:
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


# --- verification queue ---------------------------------------------------------------------------------
# Site staff decide verification (accounts.decide_verification). Community moderators see that a request
# from one of their members waits, never its evidence and never the decision: that view needs memberships,
# so it lives here, above accounts.


@dataclass(frozen=True)
class VerificationQueue:
    requests: list[VerificationRequest]
    may_decide: bool  # site staff: the evidence is shown beside the decision
    ids: tuple[int, ...] = ()  # read with the rows: the audit after rendering needs no reload of them


def list_verification_queue(*, by: User) -> VerificationQueue:
    """Pending verification requests: every one (but their own) for site staff, with the evidence; for
    moderators, those of members of the communities they moderate, without it; none for anyone else.
    Reads only: callers that show the evidence then call record_evidence_views in a transaction()."""
    staff = accounts_permissions.can_decide_verification(by, 0)
    stmt = (
        select(VerificationRequest)
        .where(VerificationRequest.status == VerificationStatus.PENDING, VerificationRequest.user_id != by.id)
        .options(joinedload(VerificationRequest.user).joinedload(User.institution))
        .order_by(VerificationRequest.id)
    )
    if not staff:
        moderated = select(Membership.community_id).where(
            Membership.user_id == by.id, Membership.role.in_([CommunityRole.MODERATOR, CommunityRole.OWNER])
        )
        stmt = stmt.where(VerificationRequest.user_id.in_(
            select(Membership.user_id).where(Membership.community_id.in_(moderated))))  # fmt: skip
    rows = list(db.session.scalars(stmt))
    return VerificationQueue(rows, staff, tuple(row.id for row in rows))


def record_evidence_views(by: User, queue: VerificationQueue) -> None:
    """Evidence is restricted data: each request shown with it is recorded (signals.restricted_data_viewed ->
    the audit trail). Writes: call inside transaction()."""
    if queue.may_decide:
        for request_id in queue.ids:
            signals.restricted_data_viewed.send(by, object_type="verification_request", object_id=request_id)


# --- slow mode (issue 6) --------------------------------------------------------------------------------
SLOW_MODE_MAX = 24 * 3600


def set_slow_mode(community: Community, target_type: str, target_id: int, seconds: int, *, by: User) -> SlowMode | None:
    """A moderator sets slow mode on a thread of `community` (0 turns it off). The caller (posts, chat)
    passes the thread's own community. Flushes. Raises PermissionDenied, ValidationFailed."""
    if not permissions.can_moderate(by, community, find_membership(by, community)):
        raise PermissionDenied("Only moderators set slow mode.")
    if not isinstance(seconds, int) or not 0 <= seconds <= SLOW_MODE_MAX:
        raise ValidationFailed({"seconds": f"Choose between 0 (off) and {SLOW_MODE_MAX} seconds."})
    row = db.session.scalar(
        select(SlowMode).where(SlowMode.target_type == target_type, SlowMode.target_id == target_id)
    )
    if seconds == 0:
        if row is not None:
            db.session.delete(row)
            db.session.flush()
        return None
    if row is None:
        row = SlowMode(community_id=community.id, target_type=target_type[:20], target_id=target_id, seconds=seconds)
        db.session.add(row)
    row.seconds, row.set_by_id = seconds, by.id
    db.session.flush()
    return row


def slow_mode_seconds(target_type: str, target_id: int) -> int:
    """The thread's slow-mode delay in seconds (0 when off)."""
    seconds = db.session.scalar(
        select(SlowMode.seconds).where(SlowMode.target_type == target_type, SlowMode.target_id == target_id)
    )
    return seconds or 0


def check_slow_mode(
    community: Community, target_type: str, target_id: int, *, user: User, last_write_at: datetime | None,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """Posts and chat call this before a member writes in a thread; `last_write_at` is that member's
    last write there. Raises ValidationFailed saying how long to wait. Moderators are exempt."""
    exempt = permissions.can_moderate(user, community, find_membership(user, community))
    wait = permissions.slow_mode_wait(
        slow_mode_seconds(target_type, target_id), last_write_at, now or utcnow(), exempt=exempt
    )
    if wait:
        raise ValidationFailed(
            {"": f"This thread is in slow mode: please wait {wait} seconds before writing again."}, retry_after=wait
        )
