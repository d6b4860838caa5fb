"""How a person wants to be told: notice kinds grouped into categories people understand, a delivery per category
(defaults by role), their time zone and quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from lhn.accounts.models import Role, User
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.notifications.models import NotificationSettings

# Categories, in the order the settings page shows them: (key, label, what it covers).
CATEGORIES: list[tuple[str, str, str]] = [
    ("replies", "Replies to me", "Answers and comments on what you wrote, vettings of your answers, your ideas' "
     "progress, interest in your calls."),
    ("following", "Activity on what I follow", "New answers, comments and vetted answers on posts you follow, new "
     "posts in communities you follow, signals on measures you follow, new messages in channels you follow; "
     "in digests, new questions in your communities."),
    ("mentions", "Mentions", "Someone mentioned you with @username."),
    ("account", "Moderation and account", "Verification, join requests, moderators' decisions about you or your "
     "writing."),
    ("reminders", "Reminders", "Things waiting for you: reviews due, data to submit, requests to decide."),
]  # fmt: skip
CATEGORY_KEYS = tuple(key for key, _, _ in CATEGORIES)
# Which category each kind of notice belongs to. A kind not listed is a reminder (other features add reminder
# kinds; give any other new kind its row here).
KIND_CATEGORY: dict[str, str] = {
    "answer": "replies", "comment": "replies", "vetted": "replies", "unvetted": "replies",
    "call_interest": "replies", "call_decision": "replies", "idea_status": "replies",
    "followed_answer": "following", "followed_comment": "following", "followed_vetted": "following",
    "followed_idea_status": "following", "new_post": "following", "measure_signal": "following",
    "measure_improved": "following", "measure_worsened": "following",
    "channel_activity": "following",
    "mention": "mentions",
    "verification": "account", "join_request": "account", "sanction": "account", "moderation": "account",
    "hidden": "account", "restored": "account", "measure_owner_invited": "account",
    "vetting_review": "reminders",
}  # fmt: skip
DEFAULT_CATEGORY = "reminders"

SITE, EMAIL, DAILY, WEEKLY, NEVER = "site", "email", "daily", "weekly", "never"
DELIVERIES: list[tuple[str, str]] = [
    (SITE, "On the site only"),
    (EMAIL, "Email at once"),
    (DAILY, "Daily digest"),
    (WEEKLY, "Weekly digest"),
    (NEVER, "Never"),
]
DIGESTS = (DAILY, WEEKLY)
# Patients and caregivers (and anyone else) read on the site and get a weekly digest; clinicians and researchers,
# who will not open the site every day, a daily one. Decisions about one's account come by email at once.
ROLE_DEFAULT = {Role.CLINICIAN: DAILY, Role.RESEARCHER: DAILY}
FALLBACK_DEFAULT = WEEKLY
CATEGORY_DEFAULT = {"account": EMAIL}


def category_of(kind: str) -> str:
    return KIND_CATEGORY.get(kind, DEFAULT_CATEGORY)


def kinds_in(categories: set[str]) -> list[str]:
    """The known kinds in `categories` (the default category's unknown kinds are not listed)."""
    return [kind for kind, category in KIND_CATEGORY.items() if category in categories]


def default_delivery(role: Role, category: str) -> str:
    return CATEGORY_DEFAULT.get(category) or ROLE_DEFAULT.get(role, FALLBACK_DEFAULT)


@dataclass(frozen=True)
class Preferences:
    """A person's settings with the defaults filled in."""

    deliveries: dict[str, str]
    time_zone: str
    quiet_start: int | None
    quiet_end: int | None

    def delivery(self, kind: str) -> str:
        return self.deliveries[category_of(kind)]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def resolve(role: Role, row: NotificationSettings | None) -> Preferences:
    """Preferences from a settings row (or none) and the role's defaults. Pure: the digest job calls it per row."""
    chosen = dict(row.deliveries or {}) if row is not None else {}
    known = dict(DELIVERIES)
    deliveries = {c: str(chosen[c]) if chosen.get(c) in known else default_delivery(role, c) for c in CATEGORY_KEYS}
    if row is None:
        return Preferences(deliveries, "UTC", None, None)
    return Preferences(deliveries, row.time_zone or "UTC", row.quiet_start, row.quiet_end)


def get_preferences(user: User) -> Preferences:
    """The user's notification preferences (defaults for their role where they chose nothing)."""
    return resolve(user.role, db.session.get(NotificationSettings, user.id))


def preferences_of(users: list[User]) -> dict[int, Preferences]:
    """Preferences of many people in one query."""
    rows = {r.user_id: r for r in db.session.scalars(
        select(NotificationSettings).where(NotificationSettings.user_id.in_([u.id for u in users])))}  # fmt: skip
    return {u.id: resolve(u.role, rows.get(u.id)) for u in users}


@cache
def time_zones() -> list[str]:
    """IANA zones for the settings page: the named ones (Europe/London), then UTC. Read from disk once."""
    return [*sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))), "UTC"]


def update_preferences(
    user: User, *, deliveries: dict[str, Any] | None = None, time_zone: Any = None, quiet_start: Any = None,
    quiet_end: Any = None, clear_quiet: bool = False,
) -> Preferences:
    """The user changes their own preferences: any of a delivery per category, a time zone (IANA name) and quiet
    hours (whole local hours 0-23, both or neither; `clear_quiet` turns them off). Flushes.
    Raises ValidationFailed naming the field."""
    errors: dict[str, str] = {}
    row = db.session.get(NotificationSettings, user.id)
    if row is None:
        row = NotificationSettings(user_id=user.id, deliveries={}, time_zone="UTC")
        db.session.add(row)
    chosen = dict(row.deliveries or {})
    for category, delivery in (deliveries or {}).items():
        if category not in CATEGORY_KEYS:
            errors[category] = "Unknown category."
        elif delivery not in dict(DELIVERIES):
            errors[category] = "Choose one of: " + ", ".join(dict(DELIVERIES)) + "."
        else:
            chosen[category] = delivery
    if time_zone is not None:
        try:
            ZoneInfo(str(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = "Choose a time zone from the list, such as Europe/London."
        else:
            row.time_zone = str(time_zone)
    if clear_quiet:
        row.quiet_start = row.quiet_end = None
    elif quiet_start is not None or quiet_end is not None:
        hours = [h for h in (quiet_start, quiet_end) if isinstance(h, int) and not isinstance(h, bool) and 0 <= h <= 23]
        if len(hours) != 2 or quiet_start == quiet_end:
            errors["quiet_start"] = "Quiet hours need a start and a different end, each an hour from 0 to 23."
        else:
            row.quiet_start, row.quiet_end = quiet_start, quiet_end
    if errors:
        raise ValidationFailed(errors)
    row.deliveries = chosen
    db.session.flush()
    return resolve(user.role, row)


def turn_off_email(user: User, category: str) -> None:
    """One-click unsubscribe: the category's email stops (email at once and digests become "on the site only")."""
    prefs = get_preferences(user)
    if prefs.deliveries.get(category) in (EMAIL, DAILY, WEEKLY):
        update_preferences(user, deliveries={category: SITE})


def send_time(prefs: Preferences, now: datetime) -> datetime:
    """When an email due `now` may go: now, or the end of the person's quiet hours (in their time zone)."""
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return now
    local = now.astimezone(prefs.zone)
    start, end = prefs.quiet_start, prefs.quiet_end
    quiet = start <= local.hour < end if start < end else (local.hour >= start or local.hour < end)
    if not quiet:
        return now
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake += timedelta(days=1)
    # Across a DST change the wall clock may repeat or skip: re-attach the zone to the local wall time.
    wake = datetime(wake.year, wake.month, wake.day, end, tzinfo=prefs.zone)
    return wake.astimezone(now.tzinfo)
