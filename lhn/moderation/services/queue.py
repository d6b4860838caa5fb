"""The review queue: every item with its target, subject and the actions this reviewer may take, loaded
in a constant number of queries; one item with its original text (reading hidden content is audited)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import joinedload, selectinload

from lhn import phi
from lhn.accounts import permissions as accounts_permissions
from lhn.accounts.models import User, VerificationRequest
from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, JoinRequest, Membership
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation import permissions
from lhn.moderation.models import (
    Flag,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)
from lhn.moderation.services import audit, targets
from lhn.pagination import Page, paginate
from lhn.posts import permissions as posts_permissions

# --- the queue ------------------------------------------------------------------------------------------


@dataclass
class ItemView:
    """A review item with what the page and the API show about it, for one reviewer."""

    item: ReviewItem
    actions: list[str]
    may_review: bool
    target: targets.Target | None = None
    subject: User | None = None
    join_request: JoinRequest | None = None
    verification: VerificationRequest | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def shows_original(self) -> bool:
        """Visible targets show their excerpt in the list; hidden ones only on the item page (audited)."""
        return self.target is not None and not self.target.hidden


def _moderated_community_ids(user: User) -> set[int]:
    return {m.community_id for m in communities.memberships_of(user).values() if m.role.moderates}


def _reviewable_applicant_ids(by: User, user_ids: set[int]) -> set[int]:
    """Which of these applicants `by` may decide: all but themself for site staff, none for anyone else."""
    return {u for u in user_ids if accounts_permissions.can_decide_verification(by, u)}


def _protected_pairs(items: list[ReviewItem]) -> set[tuple[int, int]]:
    """(community id, user id) of subjects who moderate the item's community (one query)."""
    pairs = {(i.community_id, i.subject_user_id) for i in items if i.community_id and i.subject_user_id}
    if not pairs:
        return set()
    rows = db.session.execute(
        select(Membership.community_id, Membership.user_id).where(
            Membership.community_id.in_({c for c, _ in pairs}),
            Membership.user_id.in_({u for _, u in pairs}),
            Membership.role.in_([CommunityRole.MODERATOR, CommunityRole.OWNER]),
        )
    ).all()
    return {(community_id, user_id) for community_id, user_id in rows} & pairs


def item_views(items: list[ReviewItem], *, by: User) -> list[ItemView]:
    """Load every item's target, subject and allowed actions for `by`, in a constant number of queries."""
    loaded: dict[tuple[str, int], targets.Target] = {}
    by_type: dict[str, set[int]] = {}
    for item in items:
        by_type.setdefault(item.target_type, set()).add(item.target_id)
    for target_type, ids in by_type.items():
        adapter = targets.get_adapter(target_type)
        if adapter is not None:
            loaded.update({(target_type, k): v for k, v in adapter.load_many(ids).items()})
    join_ids = by_type.get("join_request", set())
    joins = (
        {
            r.id: r
            for r in db.session.scalars(
                select(JoinRequest).where(JoinRequest.id.in_(join_ids)).options(joinedload(JoinRequest.user))
            )
        }
        if join_ids
        else {}
    )
    verification_ids = by_type.get("verification_request", set())
    verifications = (
        {
            r.id: r
            for r in db.session.scalars(
                select(VerificationRequest)
                .where(VerificationRequest.id.in_(verification_ids))
                .options(joinedload(VerificationRequest.user))
            )
        }
        if verification_ids
        else {}
    )
    memberships = communities.memberships_of(by)
    moderated = {cid for cid, m in memberships.items() if m.role.moderates}
    applicants = _reviewable_applicant_ids(by, {v.user_id for v in verifications.values()})
    protected = _protected_pairs(items)
    subject_ids = {i.subject_user_id for i in items if i.subject_user_id}
    subjects = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(subject_ids)))} if subject_ids else {}
    )
    views = []
    for item in items:
        target = loaded.get((item.target_type, item.target_id))
        subject = subjects.get(item.subject_user_id or 0)
        if item.kind == ReviewKind.VERIFICATION:
            request = verifications.get(item.target_id)
            may_review = request is not None and request.user_id in applicants
        else:
            may_review = by.is_admin or (item.community_id is not None and item.community_id in moderated)
        adapter = targets.get_adapter(item.target_type)
        in_community = target is not None and target.community_id is not None
        facts = permissions.ItemFacts(
            kind=item.kind,
            is_open=item.is_open,
            reviewer_is_admin=by.is_admin,
            reviewer_may_review=may_review,
            about_reviewer=item.subject_user_id == by.id,
            has_community=item.community_id is not None,
            target_exists=target is not None or item.kind not in permissions.CONTENT_KINDS,
            # A profile is site-wide: only site admins hide or redact it; content belongs to its community.
            target_hideable=bool(adapter and adapter.hideable and (in_community or by.is_admin)),
            target_hidden=bool(target and target.hidden),
            has_author=subject is not None,
            author_protected=subject is not None and (subject.is_admin or (item.community_id, subject.id) in protected),
            reviewer_may_vet=item.community is not None
            and posts_permissions.can_vet(by, item.community, memberships.get(item.community.id)),
        )
        actions = permissions.allowed_actions(facts)
        if item.kind in permissions.CONTENT_KINDS and not in_community and not by.is_admin:
            # A profile is site-wide: community moderators may close the item and sanction, not edit it.
            actions = ["dismiss" if a == "restore" else a for a in actions if a != "redact"]
        reasons: dict[str, int] = {}
        for flag in item.flags:
            reasons[flag.reason.value] = reasons.get(flag.reason.value, 0) + 1
        views.append(
            ItemView(
                item=item,
                actions=actions,
                may_review=may_review,
                target=target,
                subject=subject,
                join_request=joins.get(item.target_id) if item.kind == ReviewKind.JOIN_REQUEST else None,
                verification=verifications.get(item.target_id) if item.kind == ReviewKind.VERIFICATION else None,
                reasons=reasons,
            )
        )
    return views


def _queue_statement(by: User, community: Community | None) -> Any:
    stmt = select(ReviewItem).options(
        selectinload(ReviewItem.flags).joinedload(Flag.flagger).joinedload(User.institution),
        joinedload(ReviewItem.community),
        joinedload(ReviewItem.resolved_by),
    )
    # Verification requests are site staff's to decide: only staff see them in a queue (moderators see that
    # their members' requests wait on the verification page).
    staff = accounts_permissions.can_decide_verification(by, 0)
    if community is not None:
        if not staff:
            return stmt.where(ReviewItem.community_id == community.id)
        members = select(Membership.user_id).where(Membership.community_id == community.id)
        return stmt.where(
            or_(
                ReviewItem.community_id == community.id,
                and_(ReviewItem.kind == ReviewKind.VERIFICATION, ReviewItem.subject_user_id.in_(members)),
            )
        )
    if by.is_admin:
        return stmt
    moderated = _moderated_community_ids(by)
    return stmt.where(
        or_(
            ReviewItem.community_id.in_(moderated),
            ReviewItem.kind == ReviewKind.VERIFICATION if staff else false(),
        )
    )


def list_review_queue(
    *,
    by: User,
    community: Community | None = None,
    kind: str = "",
    status: str = "open",
    cursor: str | None = None,
    limit: int = 30,
) -> Page[ItemView]:
    """A community's queue for its moderators; with community=None, every item `by` may review (all of
    them for site admins). Highest flag score first, then newest. Raises PermissionDenied, ValidationFailed."""
    if community is not None:
        if not permissions.can_review(by, community, communities.find_membership(by, community)):
            raise PermissionDenied("Only the community's moderators see its review queue.")
    elif not by.is_staff and not _moderated_community_ids(by):
        raise PermissionDenied("Only moderators and site staff review.")
    stmt = _queue_statement(by, community)
    if kind:
        try:
            stmt = stmt.where(ReviewItem.kind == ReviewKind(kind))
        except ValueError:
            raise ValidationFailed({"kind": "Filter by one of: " + ", ".join(k.value for k in ReviewKind)}) from None
    if status not in ("open", "resolved"):
        raise ValidationFailed({"status": "Filter by open or resolved."})
    stmt = stmt.where(ReviewItem.status == ReviewStatus(status))
    page = paginate(
        stmt, order_by=[ReviewItem.score, ReviewItem.id], key=lambda i: (i.score, i.id), cursor=cursor, limit=limit
    )
    return Page(item_views(page.items, by=by), page.next_cursor)


def get_item_view(item_id: int, *, by: User) -> ItemView:
    """One item for a reviewer. Raises NotFound (also when `by` may not review it)."""
    item = db.session.scalar(_queue_statement(by, None).where(ReviewItem.id == item_id))
    view = item_views([item], by=by)[0] if item is not None else None
    if view is None or not view.may_review:
        raise NotFound("No such review item.")
    return view


def view_original(item_id: int, *, by: User) -> tuple[ItemView, str]:
    """The item with the target's full stored text, for a reviewer. Reading hidden content is recorded
    in the audit trail (a restricted view). Flushes. Raises NotFound."""
    view = get_item_view(item_id, by=by)
    text = ""
    adapter = targets.get_adapter(view.item.target_type)
    if adapter is not None and view.target is not None:
        text = adapter.source_text(view.target.id)
        if view.target.hidden:
            audit.record(
                "content.hidden_viewed",
                actor=by,
                object_type=view.target.type,
                object_id=view.target.id,
                community_id=view.item.community_id,
            )
    if view.verification is not None:
        audit.record(
            "verification_request.viewed", actor=by, object_type="verification_request", object_id=view.verification.id
        )
    return view, text


def phi_fragments(text: str) -> list[tuple[str, str]]:
    """(fragment, label) for each likely identifier in `text`: the redaction form's suggestions."""
    return [(text[f.start : f.end], f.label) for f in phi.scan(text)]
