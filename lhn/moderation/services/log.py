"""The public moderation log: every moderation and vetting action, who, when, why, and a link. Never content."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.moderation import permissions
from lhn.moderation.models import LABEL_MAX, ModerationLogEntry
from lhn.pagination import Page, paginate

# What each action reads as in the log ("<moderator> hid an answer").
ACTION_VERBS = {
    "auto_hidden": "hidden automatically after flags",
    "hidden": "hid",
    "restored": "restored",
    "redacted": "redacted personal health information from",
    "dismissed": "dismissed flags on",
    "warned": "sent a private warning about",
    "muted": "muted the author of",
    "unmuted": "lifted the mute on",
    "suspended": "suspended the author of",
    "unsuspended": "lifted the suspension of",
    "vetted": "vetted",
    "unvetted": "withdrew the vetting of",
    "revetted": "confirmed the vetting of",
    "threshold_changed": "changed the flag threshold of",
    "settings_changed": "changed who vets answers in",
    "rereview_requested": "asked for a re-review of the vetting of",
    "slow_mode_on": "turned on slow mode in",
    "slow_mode_off": "turned off slow mode in",
}
# When the target is the person (a sanction from their profile, or a flagged member).
PERSON_VERBS = {
    **ACTION_VERBS,
    "warned": "sent a private warning to",
    "muted": "muted",
    "suspended": "suspended",
    "dismissed": "dismissed flags on",
}


def verb(entry: ModerationLogEntry) -> str:
    """How the log reads the entry's action."""
    verbs = PERSON_VERBS if entry.target_label == "member" else ACTION_VERBS
    return verbs.get(entry.action, entry.action.replace("_", " "))


def fit_label(label: str, size: int = LABEL_MAX) -> str:
    """`label` within `size` characters: cut with an ellipsis, inside the quotes when it ends with a quoted
    title ('the thread "How do you keep…"'), so a cut title still reads as one. Pure."""
    if len(label) <= size:
        return label
    if label.endswith('"') and label.count('"') >= 2:
        return label[: size - 2].rstrip() + '…"'
    return label[: size - 1].rstrip() + "…"


def target_phrase(entry: ModerationLogEntry) -> str:
    """What the log names as the target: "an answer", "a member", or a label that already names one thing
    ('the thread "…"', "#general") as it is."""
    label = entry.target_label
    if not label or label.startswith(("the ", "#", '"')):
        return label
    return f"{'an' if label[0].lower() in 'aeiou' else 'a'} {label}"


class LogLink(TypedDict):
    """What a log line links to, as log_action's keywords (`**link`); typed, so callers need no ignore."""

    target_type: str
    target_id: int
    target_label: str
    target_url: str


def log_action(
    action: str,
    *,
    by: User | None,
    community_id: int | None,
    target_type: str,
    target_id: int,
    target_label: str,
    target_url: str = "",
    reason: str = "",
    details: str = "",
    review_item_id: int | None = None,
    at: datetime | None = None,
) -> ModerationLogEntry:
    """Append a public log line. Called by moderation services and the vetting receiver. Flushes.

    `reason` is the moderator's public reason; `details` says what, never the removed text. `at` places
    the line in time for operators' backdated records (demo data); it defaults to now.
    """
    entry = ModerationLogEntry(
        community_id=community_id,
        actor_id=by.id if by is not None else None,
        automatic=by is None,
        action=action[:30],
        target_type=target_type[:20],
        target_id=target_id,
        target_label=fit_label(target_label),
        target_url=target_url[:300],
        reason=reason,
        details=details[:300],
        review_item_id=review_item_id,
        created_at=at or utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def list_moderation_log(
    community: Community | None, *, by: object, cursor: str | None = None, limit: int = 50
) -> Page[ModerationLogEntry]:
    """A community's log, newest first, for anyone who may read the community; with community=None the
    site-wide entries (suspensions, profiles flagged outside communities), for site admins.
    Raises PermissionDenied."""
    where: ColumnElement[bool]
    if community is None:
        if not permissions.can_read_site_log(by):
            raise PermissionDenied("Only site admins read the site-wide moderation log.")
        where = ModerationLogEntry.community_id.is_(None)
    else:
        if not permissions.can_read_log(by, community, communities.find_membership(by, community)):
            raise PermissionDenied("This community is restricted to its members.")
        where = ModerationLogEntry.community_id == community.id
    stmt = (
        select(ModerationLogEntry)
        .where(where)
        .options(joinedload(ModerationLogEntry.actor).joinedload(User.institution))
    )
    # By time, then id: operators' backdated records (`at`) sit where they happened.
    return paginate(stmt, order_by=[ModerationLogEntry.created_at, ModerationLogEntry.id],
                    key=lambda e: (e.created_at, e.id), cursor=cursor, limit=limit)  # fmt: skip
