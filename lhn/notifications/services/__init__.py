"""Notification rules, one module per sub-domain, used as one: `from lhn.notifications import services as
notifications`. notices: creating and reading notices; following: who follows what; preferences: categories,
deliveries, time zone and quiet hours; emails: email at once and unsubscribe; digests: the daily and weekly job."""

from lhn import periodic
from lhn.notifications.services.digests import (
    DigestItem,
    DigestReport,
    compose,
    preview,
    send_all_digests,
    send_digests,
)
from lhn.notifications.services.emails import public_url, read_unsubscribe, unsubscribe, unsubscribe_token
from lhn.notifications.services.following import (
    TARGET_TYPES,
    Followed,
    describe_follows,
    erase_follows,
    find_follow,
    follow,
    follow_automatically,
    followers_of,
    list_follows,
    unfollow,
)
from lhn.notifications.services.notices import (
    list_notifications,
    mark_read,
    notify,
    open_notification,
    payload,
    unread_count,
    unread_counts,
    unread_holders,
)
from lhn.notifications.services.preferences import (
    CATEGORIES,
    CATEGORY_KEYS,
    DELIVERIES,
    KIND_CATEGORY,
    Preferences,
    category_of,
    get_preferences,
    preferences_of,
    time_zones,
    update_preferences,
)

periodic.register("digests", send_all_digests)

__all__ = [
    "CATEGORIES", "CATEGORY_KEYS", "DELIVERIES", "KIND_CATEGORY", "TARGET_TYPES", "DigestItem", "DigestReport",
    "Followed", "Preferences", "category_of", "compose", "describe_follows", "erase_follows", "find_follow",
    "follow", "follow_automatically", "followers_of", "get_preferences", "list_follows", "list_notifications",
    "mark_read", "notify", "open_notification", "payload", "preferences_of", "preview", "public_url",
    "read_unsubscribe", "send_all_digests", "send_digests", "time_zones", "unfollow", "unread_count",
    "unread_counts", "unread_holders", "unsubscribe", "unsubscribe_token", "update_preferences",
]  # fmt: skip
