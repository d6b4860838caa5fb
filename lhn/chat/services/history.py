"""Reading chat: the channel page, history pages by keyset, replay after a reconnect, read positions, and
messages as their readers may see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.chat import permissions
from lhn.chat.models import Channel, ChannelRead, ChatMessage
from lhn.chat.services.channels import (
    SLOW_MODE_TARGET,
    ChannelSummary,
    get_channel_by_name,
    list_channels,
    slow_mode_seconds,
)
from lhn.chat.services.events import message_event, message_payload
from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, Membership
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.pagination import Page

HISTORY_PAGE = 50


REPLAY_MAX = 200  # messages per replay answer; the client asks again while has_more


REPLAY_HORIZON = 2000  # a gap wider than this many events reloads the latest page instead


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
    return dict(rows)


def sender_role(message: ChatMessage) -> CommunityRole | None:
    if message.sender_id is None:
        return None
    return sender_roles(message.channel.community_id, [message]).get(message.sender_id or 0)


def message_json(
    message: ChatMessage,
    *,
    viewer: object,
    membership: Membership | None,
    roles: dict[int, CommunityRole],
    html: bool = False,
) -> dict[str, Any]:
    """A message as `viewer` may see it (hidden text only for its author and the moderators); with `html`, also
    its markup for the room, as live events carry it (the join answer)."""
    role = roles.get(message.sender_id) if message.sender_id else None
    show_hidden = permissions.sees_hidden(viewer, message, membership)
    if html:
        return message_event(message, role, show_hidden=show_hidden)
    return message_payload(message, sender_role=role, show_hidden=show_hidden)


def _messages(channel: Channel) -> Select[ChatMessage]:
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


# Built once: every join runs it (see channels.CHANNEL_AND_MEMBERSHIP).
_LAST_SEQ_AND_SLOW_MODE = select(Channel.last_seq, communities.slow_mode_column(SLOW_MODE_TARGET, Channel.id)).where(
    Channel.id == bindparam("channel_id")
)


@dataclass
class Replay:
    messages: list[ChatMessage]
    last_seq: int  # the channel event number the client is now up to
    has_more: bool  # ask again with last_seq for the rest
    reset: bool  # the gap was too wide (or this is a first join): this is the latest page; replace the list
    slow_mode: int  # the channel's slow-mode delay in seconds (0 when off), read with its event number


def replay(channel: Channel, *, last_id: int | None = None, last_seq: int | None = None) -> Replay:
    """What a (re)connecting client missed: every message created or changed after the event number it
    saw (`last_seq`), or after the message it saw last (`last_id`), oldest change first, up to
    REPLAY_MAX at a time. With neither, or a gap wider than REPLAY_HORIZON: the latest page.

    The caller got `channel` from get_channel and joined the channel's room BEFORE calling this, so
    anything committed after this query is delivered live (clients drop duplicates by id).
    """
    row = db.session.execute(_LAST_SEQ_AND_SLOW_MODE, {"channel_id": channel.id}).one()
    top, slow_mode = row[0] or 0, row[1] or 0
    since = last_seq
    if since is None and last_id is not None:
        since = 0 if last_id == 0 else db.session.scalar(
            select(ChatMessage.seq).where(ChatMessage.channel_id == channel.id, ChatMessage.id == last_id)
        )  # fmt: skip
    if since is None or since > top or top - since > REPLAY_HORIZON:
        page = list_messages(channel)
        newest = max((m.change_seq for m in page.items), default=0)
        return Replay(page.items, max(top, newest), has_more=False, reset=True, slow_mode=slow_mode)
    if since == top:  # nothing happened since: most joins and reconnects
        return Replay([], top, has_more=False, reset=False, slow_mode=slow_mode)
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
    return Replay(rows, reached, has_more=has_more, reset=False, slow_mode=slow_mode)


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


@dataclass
class ChannelPage:
    """What the channel page shows its reader."""

    community: Community
    channel: Channel
    channels: list[ChannelSummary]  # the channels the reader may read, with their unread counts
    messages: Page[ChatMessage]
    roles: dict[int, CommunityRole]  # the senders' community roles, for their badges
    read_upto: int  # the unread marker goes after this message
    before: int | None  # the page of older messages before this id; None: the latest page
    moderates: bool
    can_manage: bool  # may add channels
    slow_mode: int  # seconds, 0 when off


def channel_page(community: Community, name: str, *, by: User, before: int | None = None) -> ChannelPage:
    """The channel `name` of `community` as `by` reads it: the latest messages, or those before `before`.

    Read only; the caller then moves the read position (mark_read) when this is the latest page. Raises
    PermissionDenied (not a member), NotFound (no such channel, or one `by` may not read).
    """
    channels = list_channels(community, by=by)
    channel, membership = get_channel_by_name(community, name, by=by)
    messages = list_messages(channel, before=before)
    return ChannelPage(
        community=community,
        channel=channel,
        channels=channels,
        messages=messages,
        roles=sender_roles(community.id, messages.items),
        read_upto=last_read_id(by, channel),
        before=before,
        moderates=permissions.can_moderate(by, community, membership),
        can_manage=permissions.can_manage_channels(by, community, membership),
        slow_mode=slow_mode_seconds(channel),
    )
