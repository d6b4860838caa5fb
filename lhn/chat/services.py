"""Chat rules: channels, sending (idempotent; mutes, slow mode, link limit, PHI guard, rate limit),
editing, deleting and hiding messages, history by keyset, replay after a reconnect, read positions, and
the moderation hooks the review queue's adapter calls (hide, restore, rewrite for redaction).

Every change to a channel takes the channel's next event number (`Channel.last_seq`) while holding
the channel row's lock, so events are numbered without gaps in commit order, and a client that knows
the last number it saw can ask for exactly what it missed (`replay`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from lhn import limits, phi, signals
from lhn.accounts.models import Role, User
from lhn.chat import limits as chat_limits
from lhn.chat import permissions
from lhn.chat.models import GENERAL, Channel, ChannelRead, ChatMessage
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, Membership
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, find_mentions, render_markdown
from lhn.pagination import Page
from lhn.realtime import (
    CHANNEL_UPDATED,
    MESSAGE_CREATED,
    MESSAGE_DELETED,
    MESSAGE_UPDATED,
    channel_room,
    emit_after_commit,
    message_payload,
)

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOPIC_MAX, REASON_MAX = 250, 300
HISTORY_PAGE = 50
REPLAY_MAX = 200  # messages per replay answer; the client asks again while has_more
REPLAY_HORIZON = 2000  # a gap wider than this many events reloads the latest page instead
GENERAL_TOPIC = "Anything about the community"


# --- channels ----------------------------------------------------------------------------------------


def create_general_channel(community: Community, *, by: User | None = None) -> Channel:
    """#general for a community (idempotent). Called when a community is created."""
    existing = find_channel(community, GENERAL)
    if existing is not None:
        return existing
    channel = Channel(community=community, name=GENERAL, topic=GENERAL_TOPIC, is_general=True,
                      created_by_id=by.id if by else None)  # fmt: skip
    db.session.add(channel)
    db.session.flush()
    return channel


@signals.community_created.connect
def _community_created(community: Community, *, by: User | None = None, **_: Any) -> None:
    create_general_channel(community, by=by)


def _check_roles(roles: list[str] | tuple[str, ...] | None, errors: dict[str, str]) -> str:
    chosen = []
    for value in roles or ():
        try:
            chosen.append(Role(value))
        except ValueError:
            errors["roles"] = "Choose from: " + ", ".join(r.value for r in Role) + "."
            return ""
    return ",".join(r.value for r in Role if r in chosen)  # canonical order


def create_channel(
    community: Community, *, by: User, name: str, topic: str = "", roles: list[str] | tuple[str, ...] = ()
) -> Channel:
    """Moderators (and owners, site admins) add a channel, optionally limited to some site roles.

    Flushes. Raises PermissionDenied, ValidationFailed.
    """
    if not permissions.can_manage_channels(by, community, communities.find_membership(by, community)):
        raise PermissionDenied("Only the community's moderators add channels.")
    errors: dict[str, str] = {}
    name = clean_text(name).strip().lstrip("#").lower()
    if not NAME_RE.match(name):
        errors["name"] = "Use 1–40 lowercase letters, digits and hyphens (like clinicians-only)."
    elif find_channel(community, name) is not None:
        errors["name"] = "There is already a channel with that name."
    topic = " ".join(clean_text(topic).split())
    if len(topic) > TOPIC_MAX:
        errors["topic"] = f"Use at most {TOPIC_MAX} characters."
    allowed = _check_roles(list(roles), errors)
    if errors:
        raise ValidationFailed(errors)
    channel = Channel(community=community, name=name, topic=topic, allowed_roles=allowed, created_by_id=by.id)
    db.session.add(channel)
    db.session.flush()
    return channel


def find_channel(community: Community, name: str) -> Channel | None:
    return db.session.scalar(select(Channel).where(Channel.community_id == community.id, Channel.name == name))


def get_channel(channel_id: int, *, by: object) -> tuple[Channel, Membership | None]:
    """A channel `by` may read, with their membership. NotFound otherwise (also for non-members)."""
    channel = db.session.get(Channel, channel_id)
    membership = communities.find_membership(by, channel.community) if channel is not None else None
    if channel is None or not permissions.can_read(by, channel, membership):
        raise NotFound("No such channel.")
    return channel, membership


def get_channel_by_name(community: Community, name: str, *, by: object) -> tuple[Channel, Membership | None]:
    channel = find_channel(community, name)
    if channel is None:
        raise NotFound("No such channel.")
    return get_channel(channel.id, by=by)


@dataclass
class ChannelSummary:
    channel: Channel
    unread: int


def list_channels(community: Community, *, by: object) -> list[ChannelSummary]:
    """The channels `by` may read (#general first), with their unread counts. Two queries.

    Raises PermissionDenied for people who are not members (chat is for members).
    """
    membership = communities.find_membership(by, community)
    if not permissions.can_moderate(by, community, membership) and membership is None:
        raise PermissionDenied("Chat is for the community's members. Join the community to take part.")
    channels = [
        c
        for c in db.session.scalars(
            select(Channel)
            .where(Channel.community_id == community.id)
            .order_by(Channel.is_general.desc(), Channel.name)
        )
        if permissions.can_read(by, c, membership)
    ]
    unread = _unread_counts(by, [c.id for c in channels]) if isinstance(by, User) else {}
    return [ChannelSummary(c, unread.get(c.id, 0)) for c in channels]


def _unread_counts(user: User, channel_ids: list[int]) -> dict[int, int]:
    if not channel_ids:
        return {}
    read = ChannelRead.__table__
    rows = db.session.execute(
        select(ChatMessage.channel_id, func.count())
        .select_from(ChatMessage)
        .outerjoin(read, and_(read.c.channel_id == ChatMessage.channel_id, read.c.user_id == user.id))
        .where(
            ChatMessage.channel_id.in_(channel_ids),
            ChatMessage.id > func.coalesce(read.c.last_read_id, 0),
            ChatMessage.deleted_at.is_(None),
            (ChatMessage.sender_id.is_(None)) | (ChatMessage.sender_id != user.id),
        )
        .group_by(ChatMessage.channel_id)
    ).all()
    return dict(rows)  # type: ignore[arg-type]


# --- reading ---------------------------------------------------------------------------------------------


def sender_roles(community_id: int, messages: list[ChatMessage]) -> dict[int, CommunityRole]:
    """Community roles of the messages' senders, for their badges (one query)."""
    ids = {m.sender_id for m in messages if m.sender_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Membership.user_id, Membership.role).where(
            Membership.community_id == community_id, Membership.user_id.in_(ids)
        )
    ).all()
    return dict(rows)  # type: ignore[arg-type]


def message_json(
    message: ChatMessage, *, viewer: object, membership: Membership | None, roles: dict[int, CommunityRole]
) -> dict[str, Any]:
    """A message as `viewer` may see it (hidden text only for its author and the moderators)."""
    return message_payload(
        message,
        sender_role=roles.get(message.sender_id) if message.sender_id else None,
        show_hidden=permissions.sees_hidden(viewer, message, membership),
    )


def _messages(channel: Channel):  # type: ignore[no-untyped-def]
    return (
        select(ChatMessage)
        .where(ChatMessage.channel_id == channel.id)
        .options(joinedload(ChatMessage.sender).joinedload(User.institution))
    )


def list_messages(
    channel: Channel, *, before: int | None = None, after: int | None = None, limit: int = HISTORY_PAGE
) -> Page[ChatMessage]:
    """Messages oldest-first, by keyset on id: the latest page, the page before `before` (scrolling up)
    or after `after`. `next_cursor` is the id to pass on for the next page in the same direction.

    The caller got `channel` from get_channel, which checked that the reader may read it.
    """
    if before is not None and after is not None:
        raise ValidationFailed({"before": "Send either before or after, not both."})
    limit = max(1, min(int(limit), 100))
    stmt = _messages(channel)
    if after is not None:
        rows = list(db.session.scalars(stmt.where(ChatMessage.id > after).order_by(ChatMessage.id).limit(limit + 1)))
        items = rows[:limit]
        return Page(items, str(items[-1].id) if len(rows) > limit else None)
    if before is not None:
        stmt = stmt.where(ChatMessage.id < before)
    rows = list(db.session.scalars(stmt.order_by(ChatMessage.id.desc()).limit(limit + 1)))
    items = list(reversed(rows[:limit]))
    return Page(items, str(items[0].id) if len(rows) > limit else None)


@dataclass
class Replay:
    messages: list[ChatMessage]
    last_seq: int  # the channel event number the client is now up to
    has_more: bool  # ask again with last_seq for the rest
    reset: bool  # the gap was too wide (or this is a first join): this is the latest page; replace the list


def replay(channel: Channel, *, last_id: int | None = None, last_seq: int | None = None) -> Replay:
    """What a (re)connecting client missed: every message created or changed after the event number it
    saw (`last_seq`), or after the message it saw last (`last_id`), oldest change first, up to
    REPLAY_MAX at a time. With neither, or a gap wider than REPLAY_HORIZON: the latest page.

    The caller got `channel` from get_channel and joined the channel's room BEFORE calling this, so
    anything committed after this query is delivered live (clients drop duplicates by id).
    """
    top = db.session.scalar(select(Channel.last_seq).where(Channel.id == channel.id)) or 0
    since = last_seq
    if since is None and last_id is not None:
        since = 0 if last_id == 0 else db.session.scalar(
            select(ChatMessage.seq).where(ChatMessage.channel_id == channel.id, ChatMessage.id == last_id)
        )  # fmt: skip
    if since is None or since > top or top - since > REPLAY_HORIZON:
        page = list_messages(channel)
        newest = max((m.change_seq for m in page.items), default=0)
        return Replay(page.items, max(top, newest), has_more=False, reset=True)
    rows = list(
        db.session.scalars(
            _messages(channel)
            .where(ChatMessage.change_seq > since)
            .order_by(ChatMessage.change_seq)
            .limit(REPLAY_MAX + 1)
        )
    )
    has_more = len(rows) > REPLAY_MAX
    rows = rows[:REPLAY_MAX]
    reached = rows[-1].change_seq if has_more else max(top, max((m.change_seq for m in rows), default=since))
    return Replay(rows, reached, has_more=has_more, reset=False)


def last_read_id(user: object, channel: Channel) -> int:
    if not isinstance(user, User):
        return 0
    return db.session.scalar(
        select(ChannelRead.last_read_id).where(ChannelRead.user_id == user.id, ChannelRead.channel_id == channel.id)
    ) or 0  # fmt: skip


def mark_read(channel: Channel, *, by: User, last_id: int | None = None) -> int:
    """Move `by`'s read position in `channel` forward to `last_id` (default: the newest message).

    Never moves it back. The caller got `channel` from get_channel. Flushes; returns the position.
    """
    newest = db.session.scalar(select(func.max(ChatMessage.id)).where(ChatMessage.channel_id == channel.id)) or 0
    position = newest if last_id is None else max(0, min(int(last_id), newest))
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = ChannelRead.__table__
    stmt = dialect.insert(table).values(user_id=by.id, channel_id=channel.id, last_read_id=position)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.channel_id],
        set_={"last_read_id": func.max(table.c.last_read_id, stmt.excluded.last_read_id)}
        if dialect is sqlite
        else {"last_read_id": func.greatest(table.c.last_read_id, stmt.excluded.last_read_id)},
    )
    db.session.execute(stmt)
    return position


# --- writing -----------------------------------------------------------------------------------------------


def _check_body(body: Any, *, max_chars: int) -> str:
    if not isinstance(body, str):
        raise ValidationFailed({"body": "Send the message as text."})
    body = clean_text(body).strip()
    if not body:
        raise ValidationFailed({"body": "Write something first."})
    if len(body) > max_chars:
        raise ValidationFailed({"body": f"Messages are limited to {max_chars} characters ({len(body)} now)."})
    return body


def _max_chars() -> int:
    from flask import current_app

    return int(current_app.config["CHAT_MESSAGE_MAX"])


def _lock_channel(channel_id: int) -> Channel:
    """The channel row, locked until commit (PostgreSQL row lock; SQLite writes are serialised)."""
    channel = db.session.get(Channel, channel_id, with_for_update=True, populate_existing=True)
    if channel is None:
        raise NotFound("No such channel.")
    return channel


def _next_seq(channel_id: int) -> int:
    channel = _lock_channel(channel_id)
    channel.last_seq += 1
    return channel.last_seq


def _mentioned(body: str, channel: Channel, *, exclude: User) -> list[User]:
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


def _render(body: str, mentioned: list[User]) -> str:
    """Markdown to safe HTML, with @mentions of real members linked to their profiles (not in code)."""
    return str(render_markdown(body, mentions={u.username for u in mentioned}))


def _find_by_client_id(user: User, client_id: str) -> ChatMessage | None:
    return db.session.scalar(
        select(ChatMessage).where(ChatMessage.sender_id == user.id, ChatMessage.client_id == client_id)
    )


def _emit(event: str, message: ChatMessage, role: CommunityRole | None) -> None:
    # The room gets the public view: a hidden message's text goes only to those who fetch it.
    emit_after_commit(event, message_payload(message, sender_role=role), to=channel_room(message.channel_id))


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
        channel = db.session.get(Channel, channel_id)
        membership = communities.find_membership(by, channel.community) if channel is not None else None
        if channel is None or not permissions.can_post(by, channel, membership):
            raise NotFound("No such channel.")
        existing = _find_by_client_id(by, client_id)
        if existing is not None:
            return _retried(existing, channel_id)
        _check_not_muted(by, channel, membership)
        findings = _check_text(body, by, confirm_phi=confirm_phi)
        mentioned = _mentioned(body, channel, exclude=by)
        body_html = _render(body, mentioned)
    # Lock the channel row: writers to a channel queue here, so the duplicate check below also sees a
    # concurrent retry that committed while we rendered or waited.
    channel = _lock_channel(channel_id)
    existing = _find_by_client_id(by, client_id)
    if existing is not None:
        return _retried(existing, channel_id)
    _check_slow_mode(channel, by)
    chat_limits.hit(by)  # after the retry check and the guards: a retry or a refused text is not a message
    channel.last_seq += 1
    seq = channel.last_seq
    message = ChatMessage(
        channel_id=channel.id, sender=by, client_id=client_id, seq=seq, change_seq=seq,
        body=body, body_html=body_html, created_at=utcnow(),
    )  # fmt: skip
    db.session.add(message)
    db.session.flush()
    _emit(MESSAGE_CREATED, message, membership.role if membership else None)
    _phi_confirmed(message, findings)
    if mentioned:
        signals.chat_mentioned.send(message, recipients=mentioned, channel=channel, community=channel.community)
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
    """Slow mode set by the community's moderators on this channel (moderators are exempt)."""
    if not communities.slow_mode_seconds(SLOW_MODE_TARGET, channel.id):
        return
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


def _phi_confirmed(message: ChatMessage, findings: list[phi.Finding]) -> None:
    if findings and message.sender is not None:
        signals.phi_confirmed.send(
            message.sender, kinds=phi.kinds(findings), target_type="chat_message", target_id=message.id,
            community_id=message.channel.community_id,
        )  # fmt: skip


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
        before = {u.id for u in _mentioned(message.body, channel, exclude=by)}
        mentioned = _mentioned(body, channel, exclude=by)
        body_html = _render(body, mentioned)
    chat_limits.hit(by)
    message.body, message.body_html = body, body_html
    message.edited_at = utcnow()
    message.change_seq = _next_seq(message.channel_id)
    db.session.flush()
    _emit(MESSAGE_UPDATED, message, membership.role if membership else None)
    _phi_confirmed(message, findings)
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
    message.change_seq = _next_seq(message.channel_id)
    db.session.flush()
    _emit(MESSAGE_DELETED, message, membership.role if membership else None)
    return message


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


# --- moderation hooks (the review queue's chat_message adapter; it checked who may act) --------------------


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
    message.change_seq = _next_seq(message.channel_id)
    db.session.flush()
    _emit(MESSAGE_UPDATED, message, _role_of(message))
    return message


def set_visible(message_id: int) -> ChatMessage | None:
    """Show a hidden message again, live. No permission check (see set_hidden). Flushes."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.hidden_at is None:
        return message
    message.hidden_at, message.hidden_reason, message.hidden_by = None, "", None
    message.change_seq = _next_seq(message.channel_id)
    db.session.flush()
    _emit(MESSAGE_UPDATED, message, _role_of(message))
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
    mentioned = _mentioned(body, message.channel, exclude=message.sender) if message.sender is not None else []
    body_html = _render(body, mentioned)

    def store() -> None:
        db.session.refresh(message)
        if message.body != before:
            raise Conflict("The message changed while the redaction was prepared; please look again.")
        message.body, message.body_html = body, body_html
        message.change_seq = _next_seq(message.channel_id)
        db.session.flush()
        _emit(MESSAGE_UPDATED, message, _role_of(message))

    return store


# --- slow mode -------------------------------------------------------------------------------------------

SLOW_MODE_TARGET = "channel"  # communities.SlowMode.target_type for chat channels
SLOW_MODE_CHOICES = (0, 10, 30, 60, 120, 300, 900, 3600)


def slow_mode_seconds(channel: Channel) -> int:
    return communities.slow_mode_seconds(SLOW_MODE_TARGET, channel.id)


def describe_seconds(seconds: int) -> str:
    if seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    elif seconds % 60 == 0:
        n, unit = seconds // 60, "minute"
    else:
        n, unit = seconds, "second"
    return f"{n} {unit}{'s' if n != 1 else ''}"


def set_channel_slow_mode(channel_id: int, seconds: Any, *, by: User) -> int:
    """A community moderator sets slow mode on a channel: each member may send one message per `seconds`
    (0 turns it off; moderators are exempt). Flushes; after commit the room gets `channel_updated`;
    signals.slow_mode_changed lets moderation log it publicly. Returns the seconds now in force.
    Raises NotFound, PermissionDenied, ValidationFailed."""
    channel, membership = get_channel(channel_id, by=by)
    if not permissions.can_moderate(by, channel.community, membership):
        raise PermissionDenied("Only the community's moderators set slow mode.")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds not in SLOW_MODE_CHOICES:
        raise ValidationFailed(
            {"seconds": "Choose " + ", ".join(str(s) for s in SLOW_MODE_CHOICES) + " seconds (0 turns it off)."}
        )
    old = slow_mode_seconds(channel)
    if seconds == old:
        return old
    communities.set_slow_mode(channel.community, SLOW_MODE_TARGET, channel.id, seconds, by=by)
    emit_after_commit(CHANNEL_UPDATED, {"channel_id": channel.id, "slow_mode_seconds": seconds},
                      to=channel_room(channel.id))  # fmt: skip
    signals.slow_mode_changed.send(
        channel.community, target_type=SLOW_MODE_TARGET, target_id=channel.id, label=f"#{channel.name}",
        url=f"/c/{channel.community.slug}/chat/{channel.name}", seconds=seconds, by=by,
    )  # fmt: skip
    return seconds


def _role_of(message: ChatMessage) -> CommunityRole | None:
    if message.sender_id is None:
        return None
    return sender_roles(message.channel.community_id, [message]).get(message.sender_id or 0)
