"""Chat in moderation: the `chat_message` target adapter (flag, hide, restore, redact a message, live in
every open chat page), and the public log and audit lines for hides made from the chat page itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.chat import permissions as chat_permissions
from lhn.chat import services as chat
from lhn.chat.models import Channel, ChatMessage
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.moderation.services import audit
from lhn.moderation.services.log import log_action
from lhn.moderation.services.targets import StoredTextAdapter, Target, excerpt, register


def message_url(message: ChatMessage) -> str:
    """The page of the channel that ends with the message (it may be far up the history)."""
    channel = message.channel
    return f"/c/{channel.community.slug}/chat/{channel.name}?before={message.id + 1}#message-{message.id}"


class ChatMessageAdapter(StoredTextAdapter):
    """A chat message: hidden messages show "hidden by a moderator" and the reason to readers, live
    (`message_updated`); the author and the moderators keep the text. Redaction rewrites the stored text."""

    type = "chat_message"
    label = "chat message"
    model = ChatMessage
    text_column = "body"

    def load_many(self, ids: Iterable[int]) -> dict[int, Target]:
        wanted = set(ids)
        if not wanted:
            return {}
        messages = db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.id.in_(wanted))
            .options(joinedload(ChatMessage.channel).joinedload(Channel.community), joinedload(ChatMessage.sender))
        )
        return {
            m.id: Target(
                type=self.type,
                id=m.id,
                label=self.label,
                community_id=m.channel.community_id,
                author=m.sender,
                url=message_url(m),
                excerpt=excerpt(f"#{m.channel.name}: {m.body}") if m.deleted_at is None else "(deleted by its author)",
                hidden=m.hidden_at is not None,
                hidden_reason=m.hidden_reason,
            )
            for m in messages
        }

    def can_view(self, viewer: object, target: Target) -> bool:
        """Members who may read the channel (chat is for members, and some channels for some roles).
        A message its author deleted is gone: nothing to flag or redact."""
        message = db.session.get(ChatMessage, target.id)
        if message is None or message.deleted_at is not None:
            return False
        membership = communities.find_membership(viewer, message.channel.community)
        return chat_permissions.can_read(viewer, message.channel, membership)

    def hide(self, target_id: int, *, reason: str, by: User | None) -> None:
        chat.set_hidden(target_id, reason=reason, by=by)

    def restore(self, target_id: int, *, by: User | None) -> None:
        chat.set_visible(target_id)

    def rewrite(self, row: Any, text: str) -> Callable[[], None]:
        # Chat messages keep no history: the stored text (and its HTML) is all there is.
        return chat.prepare_rewrite(row.id, text)


register(ChatMessageAdapter())


# --- hides from the chat page (chat.services.hide_message / unhide_message) ----------------------------


@signals.chat_message_hidden.connect
def _chat_message_hidden(message: ChatMessage, *, by: User, reason: str, hidden: bool, **_: Any) -> None:
    action = "hidden" if hidden else "restored"
    community = message.channel.community
    log_action(
        action,
        by=by,
        community_id=community.id,
        target_type=ChatMessageAdapter.type,
        target_id=message.id,
        target_label=ChatMessageAdapter.label,
        target_url=message_url(message),
        reason=reason,
    )
    audit.record(
        f"content.{action}", actor=by, object_type=ChatMessageAdapter.type, object_id=message.id,
        community_id=community.id, actor_role="admin" if by.is_admin else "moderator",
    )  # fmt: skip
    if message.sender is not None and message.sender.id != by.id:
        signals.content_moderated.send(
            message.sender, action=action, label=ChatMessageAdapter.label, url=message_url(message), reason=reason,
            community=community, by=by,
        )  # fmt: skip
