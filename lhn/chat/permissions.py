"""Who may read, post in, manage and moderate chat channels. Pure predicates."""

from __future__ import annotations

from lhn.accounts.permissions import as_user
from lhn.chat.models import Channel, ChatMessage
from lhn.communities import permissions as community_permissions
from lhn.communities.models import Community, Membership


def can_moderate(user: object, community: Community, membership: Membership | None) -> bool:
    """The community's moderators and owners, and site admins: they read every channel and hide messages."""
    return community_permissions.can_moderate(user, community, membership)


def can_read(user: object, channel: Channel, membership: Membership | None) -> bool:
    """Chat is for members only, even in public communities; role-limited channels for those roles
    (and the moderators, who must be able to moderate them)."""
    u = as_user(user)
    if u is None:
        return False
    if can_moderate(u, channel.community, membership):
        return True
    if membership is None:
        return False
    return not channel.roles or u.role in channel.roles


def can_post(user: object, channel: Channel, membership: Membership | None) -> bool:
    return can_read(user, channel, membership)


def can_manage_channels(user: object, community: Community, membership: Membership | None) -> bool:
    return can_moderate(user, community, membership)


def can_edit(user: object, message: ChatMessage) -> bool:
    """Authors edit and delete their own messages, unless deleted or hidden by a moderator."""
    u = as_user(user)
    return u is not None and message.sender_id == u.id and message.deleted_at is None and message.hidden_at is None


def sees_hidden(user: object, message: ChatMessage, membership: Membership | None) -> bool:
    """The author and the moderators see a hidden message's text; others see the placeholder."""
    u = as_user(user)
    if u is None:
        return False
    return message.sender_id == u.id or can_moderate(u, message.channel.community, membership)
