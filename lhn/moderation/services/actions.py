"""Acting on a review item: the optimistic lock, each action's effects (hide, restore, redact, sanctions,
join and verification decisions, phase 2 kind handlers), and redaction by authors and moderators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from lhn import phi, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import reading, rows_matched, utcnow
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.moderation import permissions
from lhn.moderation.models import (
    Flag,
    FlagOutcome,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)
from lhn.moderation.services import audit, sanctions, targets
from lhn.moderation.services.flags import DETAILS_MAX
from lhn.moderation.services.log import log_action
from lhn.moderation.services.queue import ItemView, get_item_view

RESOLUTIONS = {
    "dismiss": "dismissed",
    "hide": "hidden",
    "restore": "restored",
    "warn": "warned",
    "mute": "muted",
    "suspend": "suspended",
    "approve": "approved",
    "reject": "rejected",
}


# --- acting on an item ------------------------------------------------------------------------------------

# Phase 2 registers handlers for the vetting kinds: handler(view, action, by=, reason=) -> resolution.
KindHandler = Callable[..., str]
_kind_handlers: dict[ReviewKind, KindHandler] = {}


def register_kind_handler(kind: ReviewKind, handler: KindHandler) -> None:
    _kind_handlers[kind] = handler


def _handled_message(item: ReviewItem) -> str:
    if item.is_open:
        return "Another moderator changed this item while you were looking at it. Reload to see what changed."
    who = item.resolved_by.display_name if item.resolved_by else "someone else"
    return f"This item was already handled by {who} ({item.resolution or 'closed'})."


def _claim(item: ReviewItem, version: int, *, by: User, close: bool, resolution: str, reason: str) -> None:
    """The optimistic lock: bump the version only if nobody acted since `version` was read."""
    now = utcnow()
    values: dict[str, Any] = {"version": ReviewItem.version + 1, "updated_at": now}
    if close:
        values.update(
            status=ReviewStatus.RESOLVED,
            resolved_at=now,
            resolved_by_id=by.id,
            resolution=resolution,
            resolution_reason=reason,
        )
    claimed = rows_matched(db.session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.version == version, ReviewItem.status == ReviewStatus.OPEN)
        .values(**values)
        .execution_options(synchronize_session=False)
    ))  # fmt: skip
    db.session.refresh(item)
    if not claimed:
        raise Conflict(_handled_message(item))


def _check_input(action: str, reason: str, days: int | None, fragments: list[str] | None) -> str:
    reason = clean_text(reason or "").strip()
    if action in permissions.NEEDS_REASON and not reason:
        raise ValidationFailed({"reason": "Give a reason: the member reads it, and the public log shows it."})
    if len(reason) > DETAILS_MAX:
        raise ValidationFailed({"reason": f"Use at most {DETAILS_MAX} characters."})
    if action == "mute" and days not in sanctions.MUTE_DAYS:
        raise ValidationFailed({"days": "Choose " + ", ".join(str(d) for d in sanctions.MUTE_DAYS) + " days."})
    if action == "suspend" and days not in sanctions.SUSPEND_DAYS:
        raise ValidationFailed({"days": "Choose 1, 7, 30 or 365 days, or 0 for until lifted."})
    if action == "redact" and not [f for f in (fragments or []) if f.strip()]:
        raise ValidationFailed({"fragments": "Choose or type the text to remove."})
    return reason


def act_on_item(
    item_id: int,
    *,
    by: User,
    action: str,
    version: int,
    reason: str = "",
    days: int | None = None,
    fragments: list[str] | None = None,
    revision_id: int | None = None,
    hide_target: bool = False,
) -> ReviewItem:
    """A reviewer takes one of the item's allowed actions, holding the `version` they saw.

    Every action but `redact` closes the item. Flags are marked upheld (the moderator acted) or rejected
    (dismissed or restored, unless PHI was redacted while the item was open). Content actions are logged
    publicly and the author is notified; every action is audited. `hide_target` with warn/mute/suspend
    also hides the content. Flushes.
    Raises NotFound, Conflict (someone acted since `version`: "already handled"), PermissionDenied,
    ValidationFailed.
    """
    with reading():  # checks, and a redaction's new text and HTML, before the write transaction
        view = get_item_view(item_id, by=by)
        item = view.item
        if not item.is_open or item.version != version:
            raise Conflict(_handled_message(item))
        if action not in view.actions:
            raise PermissionDenied(f"You can't {action} this item.")
        reason = _check_input(action, reason, days, fragments)
        if item.kind == ReviewKind.VERIFICATION and action == "reject" and not reason:
            raise ValidationFailed({"reason": "Say why, so the applicant knows what to provide."})
        redaction = (
            _prepare_redaction(view.target, fragments=fragments or [], revision_id=revision_id)
            if action == "redact" and view.target is not None
            else None
        )
    resolution = "redacted" if action == "redact" else RESOLUTIONS.get(action, action)
    _claim(item, version, by=by, close=action != "redact", resolution=resolution, reason=reason)
    if item.kind == ReviewKind.JOIN_REQUEST:
        communities.decide_join_request(item.target_id, by=by, approve=action == "approve", note=reason)
    elif item.kind == ReviewKind.VERIFICATION:
        accounts.decide_verification(item.target_id, by=by, approve=action == "approve", note=reason)
    elif item.kind in permissions.CONTENT_KINDS:
        _act_on_target(
            view,
            action,
            by=by,
            reason=reason,
            days=days,
            redaction=redaction,
            hide_target=hide_target,
        )
    else:
        handler = _kind_handlers.get(item.kind)
        if handler is None:
            raise ValidationFailed({"action": "This kind of item can't be handled here yet."})
        item.resolution = handler(view, action, by=by, reason=reason)[:30]
    if action != "redact":
        upheld = action not in ("dismiss", "restore") or item.redacted
        db.session.execute(
            update(Flag)
            .where(Flag.review_item_id == item.id)
            .values(outcome=FlagOutcome.UPHELD if upheld else FlagOutcome.REJECTED)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        f"review.{action}",
        actor=by,
        object_type="review_item",
        object_id=item.id,
        community_id=item.community_id,
        actor_role="admin" if by.is_admin else "moderator",
    )
    db.session.flush()
    return item


def _act_on_target(
    view: ItemView,
    action: str,
    *,
    by: User,
    reason: str,
    days: int | None,
    redaction: PreparedRedaction | None,
    hide_target: bool,
) -> None:
    item, target = view.item, view.target
    assert target is not None  # noqa: S101 - allowed_actions offers only dismiss without a target
    adapter = targets.get_adapter(target.type)
    assert adapter is not None  # noqa: S101
    community = item.community
    link = target.log_link()
    tell_author: str | None = None
    if action == "dismiss":
        log_action("dismissed", by=by, community_id=item.community_id, reason=reason, review_item_id=item.id, **link)
    elif action in ("hide", "restore") or (hide_target and action in ("warn", "mute", "suspend")):
        if action == "restore":
            adapter.restore(target.id, by=by)
            tell_author = "restored"
        else:
            adapter.hide(target.id, reason=reason, by=by)
            tell_author = "hidden"
        log_action(tell_author, by=by, community_id=item.community_id, reason=reason, review_item_id=item.id, **link)
        audit.record(
            f"content.{tell_author}",
            actor=by,
            object_type=target.type,
            object_id=target.id,
            community_id=item.community_id,
        )
    if action == "redact":
        assert redaction is not None  # noqa: S101 - prepared for every redact action with a target
        _redact(target, redaction, by=by, review_item=item)
    elif action in ("warn", "mute", "suspend"):
        subject = view.subject
        assert subject is not None  # noqa: S101 - allowed_actions requires an author
        if action == "warn":
            sanctions.warn(subject, by=by, reason=reason, community=community, review_item_id=item.id, target=link)
        elif action == "mute":
            assert community is not None  # noqa: S101
            assert days is not None  # noqa: S101
            sanctions.mute(subject, community, by=by, reason=reason, days=days, review_item_id=item.id, target=link)
        else:
            assert days is not None  # noqa: S101
            sanctions.suspend(
                subject, by=by, reason=reason, days=days, community=community, review_item_id=item.id, target=link
            )
    if tell_author and target.author is not None:
        signals.content_moderated.send(
            target.author,
            action=tell_author,
            label=target.label,
            url=target.url,
            reason=reason,
            community=community,
            by=by,
        )


# --- redaction ------------------------------------------------------------------------------------------


def _redacted_kinds(fragments: list[str], source: str = "") -> list[str]:
    """What the fragments are: scanned alone, and in the text they come from (a cued number, "MRN 00482913", is
    found as the number alone, which the scanner can only name with its cue)."""
    kinds = {f.kind for fragment in fragments for f in phi.scan(fragment)}
    kinds |= {f.kind for f in phi.scan(source) if any(source[f.start : f.end] in fragment for fragment in fragments)}
    return sorted(kinds) or ["other"]


def describe_kinds(kinds: list[str]) -> str:
    labels = [phi.KIND_LABELS.get(k, "other personal details") for k in kinds]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


@dataclass
class PreparedRedaction:
    """A redaction worked out without the write lock: the target's new text (its store()) and what kinds of
    personal information the fragments are, for the log."""

    redaction: targets.Redaction
    kinds: list[str]
    revision_id: int | None


def _prepare_redaction(target: targets.Target, *, fragments: list[str], revision_id: int | None,
                       by_author: bool = False) -> PreparedRedaction:  # fmt: skip
    """The slow part of a redaction (the new text's Markdown, the PHI scan of the fragments). Call inside
    lhn.database.reading(). Raises ValidationFailed (no such revision, fragments not in the text)."""
    adapter = targets.get_adapter(target.type)
    assert adapter is not None  # noqa: S101 - targets come from registered adapters
    if revision_id is not None and revision_id not in adapter.revision_ids(target.id):
        raise ValidationFailed({"revision_id": "No such revision of this text."})
    fragments = [f for f in fragments if f.strip()]
    mark = targets.AUTHOR_REDACTED_MARK if by_author else targets.REDACTED_MARK
    redaction = adapter.prepare_redaction(target.id, fragments=fragments, revision_id=revision_id, mark=mark)
    if not redaction.count:
        raise ValidationFailed({"fragments": "That text isn't in it (any more)."})
    return PreparedRedaction(
        redaction, _redacted_kinds(fragments, adapter.source_text(target.id, revision_id)), revision_id
    )


def _redact(target: targets.Target, prepared: PreparedRedaction, *, by: User,
            review_item: ReviewItem | None) -> int:  # fmt: skip
    """Store a prepared redaction, log it publicly (what kind, not the text), audit it and tell the author."""
    prepared.redaction.store()
    kinds = prepared.kinds
    where = f"revision {prepared.revision_id} of " if prepared.revision_id is not None else ""
    details = f"{describe_kinds(kinds)} from {where}this {target.label}"[:300]
    if review_item is not None:
        review_item.redacted = True
    log_action(
        "redacted",
        by=by,
        community_id=target.community_id,
        details=details,
        review_item_id=review_item.id if review_item else None,
        **target.log_link(),
    )
    audit.record(
        "content.redacted", actor=by, object_type=target.type, object_id=target.id, community_id=target.community_id
    )
    if target.author is not None and target.author.id != by.id:
        signals.content_moderated.send(
            target.author,
            action="redacted",
            label=target.label,
            url=target.url,
            reason=f"Removed {describe_kinds(kinds)} to protect privacy.",
            community=db.session.get(Community, target.community_id) if target.community_id else None,
            by=by,
        )
    return prepared.redaction.count


def redact_target(
    by: User, *, target_type: str, target_id: int, fragments: list[str] | None = None, revision_id: int | None = None
) -> int:
    """The author, a moderator of the target's community, or a site admin removes personal health
    information from a target (or one revision of it). Without `fragments`, everything the PHI scanner
    finds is removed. The text is gone from the database; the public log says what kind was removed,
    by whom and when. Flushes. Raises NotFound, PermissionDenied, ValidationFailed."""
    with reading():  # checks, the PHI scan and the new text's Markdown, before the write transaction
        target = targets.get_visible_target(by, target_type, target_id, missing="Nothing to redact here.")
        adapter = targets.get_adapter(target_type)
        assert adapter is not None  # noqa: S101 - get_visible_target found it
        community = db.session.get(Community, target.community_id) if target.community_id else None
        moderates = by.is_admin or (
            community is not None and permissions.can_review(by, community, communities.find_membership(by, community))
        )
        if not (moderates or permissions.can_redact_as_author(by, target.author)):
            raise PermissionDenied("Only the author and moderators redact this.")
        if fragments is None:
            if revision_id is not None and revision_id not in adapter.revision_ids(target.id):
                raise ValidationFailed({"revision_id": "No such revision of this text."})
            text = adapter.source_text(target_id, revision_id)
            fragments = [text[f.start : f.end] for f in phi.scan(text)]
            if not fragments:
                raise ValidationFailed({"fragments": "We found nothing that looks like personal information."})
        by_author = target.author is not None and target.author.id == by.id  # their own words: not moderation
        prepared = _prepare_redaction(target, fragments=fragments, revision_id=revision_id, by_author=by_author)
    return _redact(target, prepared, by=by, review_item=None)
