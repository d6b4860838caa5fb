"""Moderating chat: moderators hide and unhide messages, and the hooks the review queue's chat_message
adapter calls (it checked who may act): hide, show again, rewrite for redaction."""

from __future__ import annotations

from collections.abc import Callable

from lhn import signals
from lhn.accounts.models import User
from lhn.chat import permissions
from lhn.chat.models import ChatMessage
from lhn.chat.services.channels import REASON_MAX, next_seq
from lhn.chat.services.events import MESSAGE_UPDATED, emit_message
from lhn.chat.services.history import sender_role
from lhn.chat.services.messages import get_message, mentioned_members, render_body
from lhn.database import unchanged_since, utcnow
from lhn.errors import Conflict, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text


def hide_message(message_id: int, *, by: User, reason: str) -> ChatMessage:
    """A community moderator hides a message, with a reason readers see in its place. The author and
    moderators still see the text. Nothing is erased.

    Flushes; after commit the room gets `message_updated` (hidden, without the text);
    signals.chat_message_hidden lets moderation log it publicly and tell the author.
    Raises NotFound, PermissionDenied, ValidationFailed, Conflict (already hidden).
    """
    message, membership = get_message(message_id, by=by)
    if not permissions.can_moderate(by, message.channel.community, membership):
        raise PermissionDenied("Only the community's moderators hide messages.")
    reason = " ".join(clean_text(reason or "").split())
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": f"Say why (up to {REASON_MAX} characters); readers will see it."})
    if message.deleted_at is not None:
        raise ValidationFailed({"": "This message was deleted by its author."})
    if message.hidden_at is not None:
        raise Conflict("This message is already hidden.")
    set_hidden(message.id, reason=reason, by=by)
    signals.chat_message_hidden.send(message, by=by, reason=reason, hidden=True)
    return message


def unhide_message(message_id: int, *, by: User) -> ChatMessage:
    """A community moderator shows a hidden message again. Sends signals.chat_message_hidden
    (hidden=False). Raises NotFound, PermissionDenied, Conflict."""
    message, membership = get_message(message_id, by=by)
    if not permissions.can_moderate(by, message.channel.community, membership):
        raise PermissionDenied("Only the community's moderators hide and unhide messages.")
    if message.hidden_at is None:
        raise Conflict("This message is not hidden.")
    set_visible(message.id)
    signals.chat_message_hidden.send(message, by=by, reason="", hidden=False)
    return message


def set_hidden(message_id: int, *, reason: str, by: User | None) -> ChatMessage | None:
    """Hide a message (or change the reason of a hidden one) for readers: they see "hidden by a moderator"
    and the reason, live. `by` None: hidden automatically after flags. No permission check: the caller
    decided. A deleted message stays as it is. Flushes; after commit the room gets `message_updated`."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.deleted_at is not None:
        return message
    reason = " ".join(clean_text(reason or "").split())[:REASON_MAX] or "Hidden by a moderator."
    if message.hidden_at is not None and message.hidden_reason == reason:
        return message
    message.hidden_at = message.hidden_at or utcnow()
    message.hidden_reason, message.hidden_by = reason, by
    message.change_seq = next_seq(message.channel_id)
    db.session.flush()
    emit_message(MESSAGE_UPDATED, message, sender_role(message))
    return message


def set_visible(message_id: int) -> ChatMessage | None:
    """Show a hidden message again, live. No permission check (see set_hidden). Flushes."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.hidden_at is None:
        return message
    message.hidden_at, message.hidden_reason, message.hidden_by = None, "", None
    message.change_seq = next_seq(message.channel_id)
    db.session.flush()
    emit_message(MESSAGE_UPDATED, message, sender_role(message))
    return message


def prepare_rewrite(message_id: int, body: str) -> Callable[[], None]:
    """Replace a message's stored text and its HTML (redaction: moderation computed the new text), live; the old
    text is gone from the database. Not an edit: `edited_at` stays. No permission check. Renders now (call
    without the write lock) and returns what stores it in the write transaction, which raises Conflict if the
    message changed meanwhile and flushes."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.deleted_at is not None or body == message.body:
        return lambda: None
    before = message.body
    mentioned = mentioned_members(body, message.channel, exclude=message.sender) if message.sender is not None else []
    body_html = render_body(body, mentioned)

    def store() -> None:
        if not unchanged_since(message, body=before):
            raise Conflict("The message changed while the redaction was prepared; please look again.")
        message.body, message.body_html = body, body_html
        message.change_seq = next_seq(message.channel_id)
        db.session.flush()
        emit_message(MESSAGE_UPDATED, message, sender_role(message))

    return store
