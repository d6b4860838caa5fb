"""Flags and review items: flag anything registered in targets, one open item per kind and target, flag
weights and auto-hide, opening and settling items for other features, community moderation settings.
The queue is in queue.py, acting on items in actions.py, sanctions in sanctions.py, the log in log.py."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lhn import phi, signals
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import reading, rows_matched, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.moderation import permissions
from lhn.moderation.models import (
    Flag,
    FlagOutcome,
    FlagReason,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)
from lhn.moderation.services import audit, targets
from lhn.moderation.services.log import log_action

DETAILS_MAX = 1000
SITE_HIDE_THRESHOLD = 3.0  # for items outside any community
THRESHOLD_RANGE = (1.0, 50.0)
AUTO_HIDE_REASON = "Hidden automatically after several members flagged it; a moderator will review it."
# --- flag weight ----------------------------------------------------------------------------------------


def flag_weight(*, verified: bool, upheld: int, rejected: int) -> float:
    """How much one flag counts towards hiding content (documented in docs/moderation.md).

    weight = 1 + 1 if the flagger is a verified clinician or researcher
               + accuracy, once at least 3 of their earlier flags were decided:
                 accuracy = 1.5 * p - 0.5, with p = upheld / (upheld + rejected)
    So a new member counts 1, a verified clinician 2, a member always upheld 2, a member always
    dismissed 0.5 (never zero: a bad track record doesn't silence anyone). Pure.
    """
    weight = 1.0 + (1.0 if verified else 0.0)
    decided = upheld + rejected
    if decided >= 3:
        weight += 1.5 * (upheld / decided) - 0.5
    return round(weight, 2)


def _track_record(user: User) -> tuple[int, int]:
    rows = dict(
        db.session.execute(
            select(Flag.outcome, func.count())
            .where(Flag.flagger_id == user.id, Flag.outcome != FlagOutcome.PENDING)
            .group_by(Flag.outcome)
        ).all()
    )
    return rows.get(FlagOutcome.UPHELD, 0), rows.get(FlagOutcome.REJECTED, 0)


# --- review items -----------------------------------------------------------------------------------------


def find_open_item(kind: ReviewKind, target_type: str, target_id: int, scope: int) -> ReviewItem | None:
    return db.session.scalar(
        select(ReviewItem).where(
            ReviewItem.kind == kind,
            ReviewItem.target_type == target_type,
            ReviewItem.target_id == target_id,
            ReviewItem.scope == scope,
            ReviewItem.status == ReviewStatus.OPEN,
        )
    )


def open_review_item(
    kind: ReviewKind, target_type: str, target_id: int, *, community_id: int | None, subject_user_id: int | None
) -> ReviewItem:
    """The open item for this kind and target (and community), created if there is none. Idempotent,
    also under concurrency: the partial unique index refuses a second open item and we read the winner's.
    Called by flag_target and by the signal receivers (join requests, verification, phase 2 vetting)."""
    scope = community_id or 0
    item = find_open_item(kind, target_type, target_id, scope)
    if item is not None:
        return item
    item = ReviewItem(
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        community_id=community_id,
        scope=scope,
        subject_user_id=subject_user_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(item)
    except IntegrityError:
        item = find_open_item(kind, target_type, target_id, scope)
        if item is None:  # pragma: no cover - the winner's item must be visible to us
            raise
    return item


def settle_items(kind: ReviewKind, target_type: str, target_id: int, *, by: User | None, resolution: str) -> int:
    """Close every open item of this kind for the target (decided elsewhere: the join request page, a
    vetting). Bumps versions so a moderator looking at it is told it was handled. Returns how many."""
    now = utcnow()
    result = db.session.execute(
        update(ReviewItem)
        .where(
            ReviewItem.kind == kind,
            ReviewItem.target_type == target_type,
            ReviewItem.target_id == target_id,
            ReviewItem.status == ReviewStatus.OPEN,
        )
        .values(
            status=ReviewStatus.RESOLVED,
            version=ReviewItem.version + 1,
            resolved_at=now,
            updated_at=now,
            resolved_by_id=by.id if by else None,
            resolution=resolution[:30],
        )
        .execution_options(synchronize_session="fetch")
    )
    return rows_matched(result)


# --- flags -------------------------------------------------------------------------------------------


def flag_communities(by: User, target: targets.Target) -> list[Community]:
    """Where `by` may send a flag on a member's profile for review: the communities both belong to, by name
    (other targets belong to their own community, so the list is empty)."""
    if target.type != "user" or target.author is None:
        return []
    mine, theirs = communities.memberships_of(by), communities.memberships_of(target.author)
    return sorted((mine[c].community for c in mine.keys() & theirs.keys()), key=lambda c: c.name)


def _flag_community(by: User, target: targets.Target, community_slug: str | None) -> Community | None:
    if target.community_id is not None:
        return db.session.get(Community, target.community_id)
    if not community_slug:
        return None  # a member flagged outside any community: site admins review it
    community = communities.find_community(community_slug)
    # Only a community both belong to, so nobody fills another community's queue.
    if (
        community is None
        or communities.find_membership(by, community) is None
        or target.author is None
        or communities.find_membership(target.author, community) is None
    ):
        raise ValidationFailed({"community": "Choose a community you and this member both belong to."})
    return community


def flag_target(
    by: User,
    *,
    target_type: str,
    target_id: int,
    reason: str,
    details: str = "",
    community: str | None = None,
    confirm_phi: bool = False,
) -> Flag:
    """A signed-in member flags something they can see. One open review item per target collects the
    flags; one flag per person per item. Content whose flag weight reaches the community's threshold is
    hidden pending review (and its author told why). Flushes.
    The details go through the PHI guard (in reading(), before the write): phi.PHIConfirmationRequired unless
    `confirm_phi`; a confirmed finding is recorded (signals.phi_confirmed, never the text).
    Raises PermissionDenied (suspended), NotFound (no such target, or not visible), ValidationFailed."""
    if not permissions.can_flag(by):
        raise PermissionDenied("You can't flag right now.")
    adapter = targets.get_adapter(target_type)
    if adapter is None:
        raise ValidationFailed({"target_type": "Flag one of: " + ", ".join(targets.registered_types()) + "."})
    try:
        checked_reason = FlagReason(reason)
    except ValueError:
        raise ValidationFailed({"reason": "Choose a reason."}) from None
    details = clean_text(details).strip()
    if checked_reason == FlagReason.OTHER and not details:
        raise ValidationFailed({"details": "Tell the moderators what is wrong."})
    if len(details) > DETAILS_MAX:
        raise ValidationFailed({"details": f"Use at most {DETAILS_MAX} characters."})
    with reading():
        findings = phi.check_texts({"details": details}, confirm_phi)
    target = adapter.load(target_id)
    if target is None or not adapter.can_view(by, target):
        raise NotFound(f"No such {adapter.label}.")
    if target.author is not None and target.author.id == by.id:
        raise ValidationFailed({"": "You can't flag yourself or your own writing."})
    flag_community = _flag_community(by, target, community)
    kind = ReviewKind.FLAGGED_USER if target_type == "user" else ReviewKind.FLAGGED_CONTENT
    item = open_review_item(
        kind,
        target_type,
        target_id,
        community_id=flag_community.id if flag_community else None,
        subject_user_id=target.author.id if target.author else None,
    )
    already = db.session.scalar(select(Flag.id).where(Flag.review_item_id == item.id, Flag.flagger_id == by.id))
    if already is not None:
        raise ValidationFailed({"": "You already flagged this. Moderators will review it."})
    upheld, rejected = _track_record(by)
    flag = Flag(
        review_item_id=item.id,
        flagger_id=by.id,
        reason=checked_reason,
        details=details,
        weight=flag_weight(verified=by.is_verified, upheld=upheld, rejected=rejected),
    )
    try:
        with db.session.begin_nested():
            db.session.add(flag)
    except IntegrityError:  # the same person, twice at once
        raise ValidationFailed({"": "You already flagged this. Moderators will review it."}) from None
    item.score = ReviewItem.score + flag.weight
    item.flag_count = ReviewItem.flag_count + 1
    item.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(item, ["score", "flag_count"])
    db.session.expire(item, ["flags"])
    if kind == ReviewKind.FLAGGED_CONTENT:
        _maybe_auto_hide(item, adapter, target, flag_community)
    phi.record_confirmed(findings, by=by, target_type="flag", target_id=flag.id, community_id=item.community_id)
    return flag


def _maybe_auto_hide(
    item: ReviewItem, adapter: targets.TargetAdapter, target: targets.Target, community: Community | None
) -> None:
    threshold = community.flag_hide_threshold if community is not None else SITE_HIDE_THRESHOLD
    if not adapter.hideable or target.hidden or item.score < threshold:
        return
    adapter.hide(target.id, reason=AUTO_HIDE_REASON, by=None)
    log_action(
        "auto_hidden",
        by=None,
        community_id=item.community_id,
        reason=AUTO_HIDE_REASON,
        review_item_id=item.id,
        **target.log_link(),
    )
    if target.author is not None:
        signals.content_moderated.send(
            target.author,
            action="hidden",
            label=target.label,
            url=target.url,
            reason=AUTO_HIDE_REASON,
            community=community,
            by=None,
        )


# --- settings and PHI confirmations -----------------------------------------------------------------------


def update_settings(community: Community, *, by: User, flag_hide_threshold: float,
                    moderators_may_vet: bool | None = None) -> Community:  # fmt: skip
    """Owners (and site admins) set the flag weight above which content is hidden pending review, and
    whether moderators without clinical standing may vet answers (None: unchanged; their seal then says
    they are a moderator). Logged publicly and audited. Flushes. Raises PermissionDenied, ValidationFailed."""
    if not permissions.can_edit_settings(by, community, communities.find_membership(by, community)):
        raise PermissionDenied("Only the community's owners change moderation settings.")
    low, high = THRESHOLD_RANGE
    if not isinstance(flag_hide_threshold, int | float) or not low <= flag_hide_threshold <= high:
        raise ValidationFailed({"flag_hide_threshold": f"Choose a number from {low:g} to {high:g}."})
    if moderators_may_vet is not None and moderators_may_vet != community.moderators_may_vet:
        community.moderators_may_vet = moderators_may_vet
        db.session.flush()
        log_action("settings_changed", by=by, community_id=community.id, target_type="community",
                   target_id=community.id, target_label="community", target_url=f"/c/{community.slug}",
                   details="moderators may vet answers" if moderators_may_vet
                   else "only verified clinicians and researchers vet answers")  # fmt: skip
        audit.record("community.settings_changed", actor=by, object_type="community", object_id=community.id,
                     community_id=community.id)  # fmt: skip
    old = community.flag_hide_threshold
    community.flag_hide_threshold = float(flag_hide_threshold)
    db.session.flush()
    if old != community.flag_hide_threshold:
        log_action(
            "threshold_changed",
            by=by,
            community_id=community.id,
            target_type="community",
            target_id=community.id,
            target_label="the community",
            target_url=f"/c/{community.slug}",
            details=f"from {old:g} to {community.flag_hide_threshold:g}",
        )
        audit.record(
            "community.settings_changed",
            actor=by,
            object_type="community",
            object_id=community.id,
            community_id=community.id,
        )
    return community
