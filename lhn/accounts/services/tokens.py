"""Personal access tokens for the JSON API: created once, stored as a digest, revoked, use noted hourly."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import ApiToken, User
from lhn.database import utcnow
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text

TOKEN_PREFIX = "lhn_"


# --- personal access tokens --------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, *, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token, which is never shown again."""
    name = clean_text(name).strip()
    if not name or len(name) > 80:
        raise ValidationFailed({"name": "Name the token (up to 80 characters), e.g. 'my script'."})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, token_hash=_token_digest(token), hint=token[: len(TOKEN_PREFIX) + 6])
    db.session.add(row)
    db.session.flush()
    return row, token


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    """A user revokes one of their own tokens. Raises NotFound for anyone else's."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("No such token.")
    row.revoked_at = utcnow()
    db.session.flush()
    signals.token_revoked.send(user, token=row)


TOKEN_USE_RESOLUTION = timedelta(hours=1)  # a token's "last used" time is noted at most this often


def find_token(token: str) -> ApiToken | None:
    """The live (not revoked) token row for a token string, or None. Reads only."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token)).options(joinedload(ApiToken.user))
    )
    return row if row is not None and row.revoked_at is None else None


@dataclass(frozen=True)
class TokenHolder:
    """The person behind a live token, as much as opening a socket needs."""

    token_id: int
    user_id: int
    session_version: int
    show_presence: bool
    username: str
    display_name: str
    suspended_until: datetime | None


# Built once, and read as plain columns: a crowd reconnecting after a restart opens a socket each, and the
# ORM's objects (the token, its person, their institution) cost more than the one indexed lookup itself.
_TOKEN_HOLDER = (
    select(
        ApiToken.id.label("token_id"),
        User.id.label("user_id"),
        User.session_version,
        User.show_presence,
        User.username,
        User.display_name,
        User.suspended_until,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
)


def find_token_holder(token: str) -> TokenHolder | None:
    """Who holds a live (not revoked) token, in one statement without ORM objects; None for any other string."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.execute(_TOKEN_HOLDER, {"digest": _token_digest(token)}).first()
    return TokenHolder(**row._mapping) if row is not None else None


def token_use_due(row: ApiToken) -> bool:
    """Whether record_token_use would note a new time (so callers open a write transaction only then)."""
    return row.last_used_at is None or utcnow() - row.last_used_at > TOKEN_USE_RESOLUTION


def record_token_use(row: ApiToken) -> None:
    """Note that the token was used now, at most once per TOKEN_USE_RESOLUTION. Flushes."""
    if token_use_due(row):
        row.last_used_at = utcnow()
        db.session.flush()
