"""Chat's rules, the feature's public face: channels (and slow mode), history (the channel page, pages,
replay, read positions), messages (send, edit, delete), moderation (hide, and the review queue's hooks)
and events (the live protocol's names and payloads)."""

from lhn.chat.services.channels import (
    GENERAL_TOPIC,
    NAME_RE,
    REASON_MAX,
    SLOW_MODE_CHOICES,
    SLOW_MODE_TARGET,
    TOPIC_MAX,
    ChannelSummary,
    channel_json,
    create_channel,
    create_general_channel,
    describe_seconds,
    find_channel,
    get_channel,
    get_channel_by_name,
    list_channels,
    set_channel_slow_mode,
    slow_mode_seconds,
)
from lhn.chat.services.events import channel_room, message_payload
from lhn.chat.services.history import (
    HISTORY_PAGE,
    REPLAY_HORIZON,
    REPLAY_MAX,
    ChannelPage,
    Replay,
    channel_page,
    last_read_id,
    list_messages,
    mark_read,
    message_json,
    replay,
    sender_roles,
)
from lhn.chat.services.messages import (
    CLIENT_ID_RE,
    NOTHING_TO_SEND,
    TOO_LONG,
    delete_message,
    edit_message,
    get_message,
    post_message,
)
from lhn.chat.services.moderation import hide_message, prepare_rewrite, set_hidden, set_visible, unhide_message

__all__ = [
    "CLIENT_ID_RE", "GENERAL_TOPIC", "HISTORY_PAGE", "NAME_RE", "NOTHING_TO_SEND", "REASON_MAX", "REPLAY_HORIZON",
    "REPLAY_MAX", "SLOW_MODE_CHOICES", "SLOW_MODE_TARGET", "TOO_LONG", "TOPIC_MAX", "ChannelPage", "ChannelSummary",
    "Replay", "channel_json", "channel_page",
    "channel_room", "create_channel", "create_general_channel", "delete_message", "describe_seconds",
    "edit_message", "find_channel", "get_channel", "get_channel_by_name", "get_message", "hide_message",
    "last_read_id", "list_channels", "list_messages", "mark_read", "message_json", "message_payload",
    "post_message", "prepare_rewrite", "replay", "sender_roles", "set_channel_slow_mode",
    "set_hidden", "set_visible", "slow_mode_seconds", "unhide_message",
]  # fmt: skip
