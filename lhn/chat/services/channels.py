"""Chat channels: #general for every community, adding channels, reading them, their event numbers
and slow mode, and the channel page's model.

Every change to a channel takes the channel's next event number (`Channel.last_seq`) while holding
the channel row's lock, so events are numbered without gaps in commit order, and a client that knows
the last number it saw can ask for exactly what it missed (history.replay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from lhn import signals
from lhn.accounts.models import Role, User
from lhn.chat import permissions
from lhn.chat.models import GENERAL, Channel, ChannelRead, ChatMessage
from lhn.chat.services.events import CHANNEL_UPDATED, channel_room
from lhn.communities import services as communities
from lhn.communities.models import Community, Membership
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.realtime import emit_after_commit

SLOW_MODE_TARGET = "channel"  # communities.SlowMode.target_type for chat channels
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


TOPIC_MAX, REASON_MAX = 250, 300


GENERAL_TOPIC = "Anything about the community"


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


# Every join and send runs the statements below. Built once with bound parameters, they skip what building a
# statement and its cache key costs each time (about 0.4 ms of CPU a statement, more than running it on SQLite).
CHANNEL_AND_MEMBERSHIP = (  # a send adds a column to it (messages.py)
    select(Channel, Membership)
    .join(Channel.community)
    .outerjoin(
        Membership, and_(Membership.community_id == Channel.community_id, Membership.user_id == bindparam("user_id"))
    )
    .where(Channel.id == bindparam("channel_id"))
    .options(contains_eager(Channel.community))
)
_NEXT_SEQ = (
    update(Channel)
    .where(Channel.id == bindparam("channel_id"))
    .values(last_seq=Channel.last_seq + 1)
    .returning(Channel.last_seq)
    .execution_options(synchronize_session=False)  # the caller sets it, from what the statement returned
)


def find_channel_and_membership(channel_id: int, user: object) -> tuple[Channel | None, Membership | None]:
    """A channel with its community and `user`'s membership there, in one query (joins and sends run it)."""
    user_id = user.id if isinstance(user, User) else None
    row = db.session.execute(CHANNEL_AND_MEMBERSHIP, {"channel_id": channel_id, "user_id": user_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


def get_channel(channel_id: int, *, by: object) -> tuple[Channel, Membership | None]:
    """A channel `by` may read, with their membership. NotFound otherwise (also for non-members)."""
    channel, membership = find_channel_and_membership(channel_id, by)
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
    unread = unread_counts(by, [c.id for c in channels]) if isinstance(by, User) else {}
    return [ChannelSummary(c, unread.get(c.id, 0)) for c in channels]


def unread_counts(user: User, channel_ids: list[int]) -> dict[int, int]:
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
    return dict(rows)


def next_seq(channel_id: int) -> int:
    """The channel's next event number, taken in one statement that also locks the channel's row until commit
    (PostgreSQL row lock; SQLite writes are serialised), so a channel's writers take turns from here. Raises
    NotFound when the channel is gone."""
    seq = db.session.execute(_NEXT_SEQ, {"channel_id": channel_id}).scalar()
    if seq is None:
        raise NotFound("No such channel.")
    _loaded_last_seq(channel_id, seq)
    return int(seq)


def give_back_seq(channel_id: int, seq: int) -> None:
    """Undo next_seq when the number found no use (a retry that met its stored twin): event numbers have no gaps
    (docs/realtime.md). The caller still holds the channel's lock, so `seq` is the channel's last number."""
    db.session.execute(
        update(Channel)
        .where(Channel.id == channel_id, Channel.last_seq == seq)
        .values(last_seq=seq - 1)
        .execution_options(synchronize_session=False)
    )
    _loaded_last_seq(channel_id, seq - 1)


def _loaded_last_seq(channel_id: int, seq: int) -> None:
    """The row changed behind the ORM's back (an UPDATE statement): a loaded channel must say so too."""
    loaded = db.session.identity_map.get(identity_key(Channel, channel_id))
    if loaded is not None:
        set_committed_value(loaded, "last_seq", seq)


def channel_json(channel: Channel, *, unread: int | None = None, slow_mode: int | None = None) -> dict[str, Any]:
    """A channel as the API and the socket events carry it."""
    data: dict[str, Any] = {
        "id": channel.id,
        "community": channel.community.slug,
        "name": channel.name,
        "topic": channel.topic,
        "roles": sorted(r.value for r in channel.roles),
        "audience": channel.audience,
        "is_general": channel.is_general,
        "patient_space": channel.is_patient_space,
    }
    if unread is not None:
        data["unread"] = unread
    if slow_mode is not None:
        data["slow_mode_seconds"] = slow_mode
    return data


# --- slow mode -------------------------------------------------------------------------------------------

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
