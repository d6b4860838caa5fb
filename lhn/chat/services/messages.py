"""Writing chat messages: sending (idempotent; mutes, slow mode, link limit, PHI guard, rate limit),
editing and deleting them, with their Markdown and @mentions rendered once at write time."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from lhn import limits, phi, signals
from lhn.accounts.models import User
from lhn.chat import limits as chat_limits
from lhn.chat import permissions
from lhn.chat.models import Channel, ChatMessage
from lhn.chat.services.channels import (
    CHANNEL_AND_MEMBERSHIP,
    SLOW_MODE_TARGET,
    get_channel,
    give_back_seq,
    next_seq,
)
from lhn.chat.services.events import MESSAGE_CREATED, MESSAGE_DELETED, MESSAGE_UPDATED, emit_message
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Membership
from lhn.database import reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, find_mentions, render_markdown

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTHING_TO_SEND = "Write something first."  # also said by the composer before a round trip
TOO_LONG = "Messages are limited to {limit} characters ({length} now)."  # the composer fills it in too


def _check_body(body: Any, *, max_chars: int) -> str:
    if not isinstance(body, str):
        raise ValidationFailed({"body": "Send the message as text."})
    text = clean_text(body).strip()
    if not text:
        raise ValidationFailed({"body": NOTHING_TO_SEND})
    if len(text) > max_chars:
        raise ValidationFailed({"body": TOO_LONG.format(limit=max_chars, length=len(text))})
    return text


def _max_chars() -> int:
    return int(current_app.config["CHAT_MESSAGE_MAX"])


def mentioned_members(body: str, channel: Channel, *, exclude: User) -> list[User]:
    """Members named with @username who may read the channel (never the author)."""
    names = find_mentions(body) - {exclude.username}
    if not names:
        return []
    rows = db.session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.username.in_(names), Membership.community_id == channel.community_id)
    ).all()
    return [user for user, membership in rows if permissions.can_read(user, channel, membership)]


def render_body(body: str, mentioned: list[User]) -> str:
    """Markdown to safe HTML, with @mentions of real members linked to their profiles (not in code)."""
    return str(render_markdown(body, mentions={u.username for u in mentioned}))


# Built once with bound parameters: every send runs them (see channels.CHANNEL_AND_MEMBERSHIP). A retry finds its
# stored twin, the sender's message with the same client id (at most one), before the lock and again after it.
_TWIN_ID = select(ChatMessage.id).where(
    ChatMessage.sender_id == bindparam("sender_id"), ChatMessage.client_id == bindparam("client_id")
)
_READ_PHASE = CHANNEL_AND_MEMBERSHIP.add_columns(_TWIN_ID.scalar_subquery())
_SLOW_MODE = communities.slow_mode_column(SLOW_MODE_TARGET, bindparam("channel_id"))
_AFTER_LOCK = select(_TWIN_ID.scalar_subquery(), _SLOW_MODE)


def _read_phase(channel_id: int, by: User, client_id: str) -> tuple[Channel | None, Membership | None, int | None]:
    """The channel with its community, `by`'s membership and their twin's id, in one statement."""
    row = db.session.execute(_READ_PHASE, {"channel_id": channel_id, "user_id": by.id, "sender_id": by.id,
                                           "client_id": client_id}).first()  # fmt: skip
    return (row[0], row[1], row[2]) if row is not None else (None, None, None)


def _after_lock(channel: Channel, by: User, client_id: str) -> tuple[int | None, int]:
    """The id of `by`'s message with this client id, and the channel's slow mode (0 when off), in one statement
    after the channel's lock: a retry or a slow-mode change that committed while this send waited is seen."""
    row = db.session.execute(_AFTER_LOCK, {"sender_id": by.id, "client_id": client_id, "channel_id": channel.id}).one()
    return row[0], row[1] or 0


def post_message(
    channel_id: int, *, by: User, client_id: Any, body: Any, confirm_phi: bool = False
) -> tuple[ChatMessage, bool]:
    """`by` sends a message to a channel they may post in. Returns (message, created).

    Idempotent: a retry with the same client_id returns the stored message (created=False) and is
    neither checked again, counted by the rate limit nor broadcast again. Before storing: a muted member
    is refused, the channel's slow mode and the new-account link limit apply, the PHI guard asks the
    author to confirm likely identifiers (`confirm_phi`), and the per-person rate limit counts it.
    Flushes; after commit the channel's room gets `message_created`; mentioned members are notified
    (signals.chat_mentioned); a confirmed PHI finding is recorded (signals.phi_confirmed, never the text).
    Raises NotFound (no such channel, or not allowed to read it), PermissionDenied (muted),
    ValidationFailed (phi.PHIConfirmationRequired among them), RateLimited.
    """
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise ValidationFailed({"client_id": "Send a client id of 1–64 letters, digits, '-' or '_'."})
    body = _check_body(body, max_chars=_max_chars())
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        channel, membership, twin_id = _read_phase(channel_id, by, client_id)
        if channel is None or not permissions.can_post(by, channel, membership):
            raise NotFound("No such channel.")
        if twin_id is not None:
            return _retried(db.session.get_one(ChatMessage, twin_id), channel_id)
        community, role = channel.community, membership.role if membership else None
        _check_not_muted(by, channel, membership)
        findings = _check_text(body, by, confirm_phi=confirm_phi)
        mentioned = mentioned_members(body, channel, exclude=by)
        body_html = render_body(body, mentioned)
    # Taking the event number locks the channel row: writers to a channel queue here, so the duplicate check below
    # also sees a concurrent retry that committed while we rendered or waited (it then gives the number back).
    seq = next_seq(channel_id)
    existing_id, slow_mode = _after_lock(channel, by, client_id)
    if existing_id is not None:
        give_back_seq(channel_id, seq)
        return _retried(db.session.get_one(ChatMessage, existing_id), channel_id)
    if slow_mode:
        _check_slow_mode(channel, by)
    chat_limits.hit(by)  # after the retry check and the guards: a retry or a refused text is not a message
    message = ChatMessage(
        channel_id=channel.id, sender=by, client_id=client_id, seq=seq, change_seq=seq,
        body=body, body_html=body_html, created_at=utcnow(),
    )  # fmt: skip
    db.session.add(message)
    db.session.flush()
    emit_message(MESSAGE_CREATED, message, role)
    _phi_confirmed(message, findings, community.id)
    if mentioned:
        signals.chat_mentioned.send(message, recipients=mentioned, channel=channel, community=community)
    signals.chat_message_posted.send(message, channel=channel, community=community, mentioned=mentioned)
    return message, True


def _check_not_muted(by: User, channel: Channel, membership: Membership | None) -> None:
    """Muted members read but don't chat (communities.permissions.can_post). Moderators who chat
    without being members (site admins) have no membership to mute."""
    if membership is not None and not community_permissions.can_post(by, channel.community, membership):
        until = membership.muted_until
        when = f" until {until:%d %b %Y %H:%M} UTC" if until is not None else ""
        raise PermissionDenied(
            f"You are muted in {channel.community.name}{when}: you can read the chat, but not send or edit "
            "messages. See your standing at /settings/standing."
        )


def _check_slow_mode(channel: Channel, by: User) -> None:
    """Slow mode set by the community's moderators on this channel (moderators are exempt); called when it is on."""
    last = db.session.scalar(
        select(func.max(ChatMessage.created_at)).where(
            ChatMessage.channel_id == channel.id, ChatMessage.sender_id == by.id
        )
    )
    try:
        communities.check_slow_mode(channel.community, SLOW_MODE_TARGET, channel.id, user=by, last_write_at=last)
    except ValidationFailed as exc:  # say it where the composer shows errors
        text = " ".join(exc.errors.values()).replace("This thread", f"#{channel.name}")
        raise ValidationFailed({"body": text}, text, retry_after=exc.retry_after) from None


def _check_text(body: str, by: User, *, confirm_phi: bool) -> list[phi.Finding]:
    """The new-account link limit, then the PHI guard. Returns the PHI findings the author confirmed."""
    problem = limits.link_limit_problem(body, new_account=limits.is_new_account_now(by), what="a message")
    if problem:
        raise ValidationFailed({"body": problem}, problem)
    return phi.check(body, confirm_phi is True)


def _phi_confirmed(message: ChatMessage, findings: list[phi.Finding], community_id: int) -> None:
    if message.sender is not None:
        phi.record_confirmed(findings, by=message.sender, target_type="chat_message", target_id=message.id,
                             community_id=community_id)  # fmt: skip


def _retried(existing: ChatMessage, channel_id: int) -> tuple[ChatMessage, bool]:
    if existing.channel_id != channel_id:
        raise ValidationFailed({"client_id": "This client id was already used for another message."})
    return existing, False


def get_message(message_id: int, *, by: object) -> tuple[ChatMessage, Membership | None]:
    """A message in a channel `by` may read. NotFound otherwise."""
    message = db.session.get(ChatMessage, message_id)
    if message is None:
        raise NotFound("No such message.")
    _channel, membership = get_channel(message.channel_id, by=by)
    return message, membership


def edit_message(message_id: int, *, by: User, body: Any, confirm_phi: bool = False) -> ChatMessage:
    """Authors edit their own message (not once deleted or hidden, not while muted). The link limit
    and the PHI guard apply as when sending. Newly added mentions notify.

    Flushes; after commit the room gets `message_updated`. Raises NotFound, PermissionDenied,
    ValidationFailed (phi.PHIConfirmationRequired among them), RateLimited.
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        message, membership = get_message(message_id, by=by)
        if not permissions.can_edit(by, message):
            raise PermissionDenied("You can only edit your own messages (not deleted or hidden ones).")
        body = _check_body(body, max_chars=_max_chars())
        if body == message.body:
            return message
        channel = message.channel
        _check_not_muted(by, channel, membership)
        findings = _check_text(body, by, confirm_phi=confirm_phi)
        before = {u.id for u in mentioned_members(message.body, channel, exclude=by)}
        mentioned = mentioned_members(body, channel, exclude=by)
        body_html = render_body(body, mentioned)
    chat_limits.hit(by)
    message.body, message.body_html = body, body_html
    message.edited_at = utcnow()
    message.change_seq = next_seq(message.channel_id)
    db.session.flush()
    emit_message(MESSAGE_UPDATED, message, membership.role if membership else None)
    _phi_confirmed(message, findings, channel.community_id)
    added = [u for u in mentioned if u.id not in before]
    if added:
        signals.chat_mentioned.send(message, recipients=added, channel=channel, community=channel.community)
    return message


def delete_message(message_id: int, *, by: User) -> ChatMessage:
    """Authors delete their own message: its text is erased and a tombstone keeps its place.

    Flushes; after commit the room gets `message_deleted`. Raises NotFound, PermissionDenied.
    """
    message, membership = get_message(message_id, by=by)
    if message.sender_id != by.id or message.deleted_at is not None:
        raise PermissionDenied("You can only delete your own messages.")
    message.body = message.body_html = ""
    message.deleted_at = utcnow()
    message.change_seq = next_seq(message.channel_id)
    db.session.flush()
    emit_message(MESSAGE_DELETED, message, membership.role if membership else None)
    return message
