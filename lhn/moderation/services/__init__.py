"""Moderation rules, one module per sub-domain, used as one: `from lhn.moderation import services as moderation`.

flags: flagging and review items; queue: reading the review queue; actions: acting on an item and redaction;
sanctions: warnings, mutes, suspensions; log: the public moderation log; audit: the audit trail;
targets: what can be flagged (importing this package registers the user, post and chat adapters).
"""

from lhn.moderation.services import actions, audit, log, queue, sanctions, targets
from lhn.moderation.services.actions import act_on_item, describe_kinds, redact_target, register_kind_handler
from lhn.moderation.services.audit import actor_names, list_audit_events, record
from lhn.moderation.services.flags import (
    AUTO_HIDE_REASON,
    DETAILS_MAX,
    SITE_HIDE_THRESHOLD,
    THRESHOLD_RANGE,
    find_open_item,
    flag_communities,
    flag_target,
    flag_weight,
    open_review_item,
    settle_items,
    update_settings,
)
from lhn.moderation.services.log import list_moderation_log, log_action
from lhn.moderation.services.queue import ItemView, get_item_view, list_review_queue, phi_fragments, view_original
from lhn.moderation.services.sanctions import (
    active_sanctions,
    lift,
    list_community_mutes,
    list_my_sanctions,
    mute,
    reapply_mute,
    suspend,
    warn,
)
from lhn.moderation.services.targets import chat as _chat_targets  # noqa: F401 - registers "chat_message"
from lhn.moderation.services.targets import posts as _posts_targets  # noqa: F401 - registers post, answer, comment
from lhn.moderation.services.targets import users as _users_targets  # noqa: F401 - registers "user"

__all__ = [
    "AUTO_HIDE_REASON",
    "DETAILS_MAX",
    "SITE_HIDE_THRESHOLD",
    "THRESHOLD_RANGE",
    "ItemView",
    "act_on_item",
    "actions",
    "active_sanctions",
    "actor_names",
    "audit",
    "describe_kinds",
    "find_open_item",
    "flag_communities",
    "flag_target",
    "flag_weight",
    "get_item_view",
    "lift",
    "list_audit_events",
    "list_community_mutes",
    "list_moderation_log",
    "list_my_sanctions",
    "list_review_queue",
    "log",
    "log_action",
    "mute",
    "open_review_item",
    "phi_fragments",
    "queue",
    "reapply_mute",
    "record",
    "redact_target",
    "register_kind_handler",
    "sanctions",
    "settle_items",
    "suspend",
    "targets",
    "update_settings",
    "view_original",
    "warn",
]
