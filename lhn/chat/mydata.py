"""My data for chat: `export_chat` puts a member's messages and read positions in their export;
`erase_chat`, on account deletion, keeps their messages under "Former member" or turns them into
tombstones (told live to open channel pages), and drops their read positions either way.

Both are receivers of signals.export_requested / account_erasing (contract in lhn/signals.py),
connected when the app factory (lhn/__init__.py) imports this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, delete, select, update
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.chat.models import Channel, ChannelRead, ChatMessage
from lhn.chat.services.events import MESSAGE_DELETED, channel_room, message_event
from lhn.database import iso_or_none, utcnow
from lhn.extensions import db
from lhn.realtime import emit_after_commit

LIVE_TOMBSTONES = 200  # per channel: newer ones are sent live; a client that sees the gap syncs the rest


@signals.export_requested.connect
def export_chat(user: User, **_: Any) -> dict[str, Any]:
    """Every message they sent and has not been deleted (hidden ones too: they are still theirs), oldest
    first, and how far they read each channel. Two queries."""
    messages = db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.sender_id == user.id, ChatMessage.deleted_at.is_(None))
        .options(joinedload(ChatMessage.channel).joinedload(Channel.community))
        .order_by(ChatMessage.id)
    )
    reads = db.session.execute(
        select(ChannelRead, Channel)
        .join(Channel, Channel.id == ChannelRead.channel_id)
        .where(ChannelRead.user_id == user.id)
        .options(joinedload(Channel.community))
        .order_by(ChannelRead.channel_id)
    ).all()
    return {
        "chat_messages": [
            {
                "id": m.id,
                "community": m.channel.community.slug,
                "channel": m.channel.name,
                "body": m.body,
                "created_at": iso_or_none(m.created_at),
                "edited_at": iso_or_none(m.edited_at),
                "hidden": {"reason": m.hidden_reason, "at": iso_or_none(m.hidden_at)} if m.hidden_at else None,
            }
            for m in messages
        ],
        "chat_read_positions": [
            {"community": channel.community.slug, "channel": channel.name, "last_read_id": read.last_read_id}
            for read, channel in reads
        ],
    }


@signals.account_erasing.connect
def erase_chat(user: User, *, mode: str, former: User, **_: Any) -> None:
    """`keep`: their messages stay, sent by the shared "Former member" account. `remove`: their text is
    erased (each message becomes a tombstone, as when an author deletes one, so the channel's event
    numbers and everyone's replay stay right) and open chat pages are told with `message_deleted`.
    Their read positions go either way."""
    db.session.execute(delete(ChannelRead).where(ChannelRead.user_id == user.id))
    if mode == "keep":
        db.session.execute(
            update(ChatMessage)
            .where(ChatMessage.sender_id == user.id)
            # Client ids are unique per sender: make them unique under the shared account too.
            .values(sender_id=former.id, client_id="former-" + cast(ChatMessage.id, String))
            .execution_options(synchronize_session=False)
        )
        return
    _erase_messages(user)


def _erase_messages(user: User) -> None:
    channel_ids = list(
        db.session.scalars(
            select(ChatMessage.channel_id)
            .where(ChatMessage.sender_id == user.id, ChatMessage.deleted_at.is_(None))
            .distinct()
            .order_by(ChatMessage.channel_id)  # lock channels in one order: no deadlock with another eraser
        )
    )
    now = utcnow()
    for channel_id in channel_ids:
        channel = db.session.get(Channel, channel_id, with_for_update=True, populate_existing=True)
        if channel is None:
            continue
        messages = list(
            db.session.scalars(
                select(ChatMessage)
                .where(
                    ChatMessage.channel_id == channel_id,
                    ChatMessage.sender_id == user.id,
                    ChatMessage.deleted_at.is_(None),
                )
                .order_by(ChatMessage.id)
            )
        )
        for message in messages:
            channel.last_seq += 1
            message.body = message.body_html = ""
            message.deleted_at = now
            message.hidden_at, message.hidden_reason, message.hidden_by_id = None, "", None
            message.change_seq = channel.last_seq
            message.sender = None
            message.client_id = f"erased-{message.id}"
        db.session.flush()
        for message in messages[-LIVE_TOMBSTONES:]:
            emit_after_commit(MESSAGE_DELETED, message_event(message, None), to=channel_room(channel_id))
    # Tombstones they had already made keep no link to them either.
    db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.sender_id == user.id)
        .values(sender_id=None, client_id="erased-" + cast(ChatMessage.id, String))
        .execution_options(synchronize_session=False)
    )
