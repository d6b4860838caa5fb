"""Signed links in account email (confirm an address, reset a password, move to a new address). Each is signed with
the app's secret, expires, and is single-use: it carries a keyed fingerprint of the account state it acts on (the
password hash, the address and whether it is confirmed), so it dies as soon as it was used, or when that state
changed some other way (a reset link dies when the password changes; a pending change of address too)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from lhn.accounts.models import User
from lhn.errors import NotFound
from lhn.extensions import db

CONFIRM, RESET, CHANGE_EMAIL = "confirm", "reset", "change_email"
MAX_AGE = {CONFIRM: timedelta(days=2), RESET: timedelta(hours=1), CHANGE_EMAIL: timedelta(days=1)}
EXPIRED = "This link has expired or was already used."


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"lhn-account-link-{purpose}")


def _state(user: User, purpose: str) -> str:
    if purpose == RESET:
        return f"{user.password_hash}|{user.email}"
    if purpose == CONFIRM:
        return f"{user.email}|{user.email_confirmed_at}"
    return f"{user.email}|{user.password_hash}"  # CHANGE_EMAIL: a new password (say, after a takeover) cancels it


def _fingerprint(user: User, purpose: str) -> str:
    """Keyed, so the link (whose payload anyone holding it can read) says nothing about the password hash."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}|{user.id}|{_state(user, purpose)}".encode(), hashlib.sha256).hexdigest()[:32]


def make_link_token(user: User, purpose: str, **extra: str) -> str:
    """A token for one of MAX_AGE's purposes, for `user`'s state as it is now; `extra` travels signed with it."""
    return str(_serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user, purpose), **extra}))


def find_link(token: str, purpose: str) -> tuple[User, dict[str, Any]] | None:
    """The account and the extra values of a valid, unexpired, unused token, else None. Reads only."""
    try:
        data = _serializer(purpose).loads(token, max_age=int(MAX_AGE[purpose].total_seconds()))
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("f"), str):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not hmac.compare_digest(data["f"], _fingerprint(user, purpose)):
        return None
    return user, {k: v for k, v in data.items() if k not in ("u", "f")}


def get_link(token: str, purpose: str) -> tuple[User, dict[str, Any]]:
    """As find_link, raising NotFound (EXPIRED) for a bad, expired or used token."""
    found = find_link(token, purpose)
    if found is None:
        raise NotFound(EXPIRED)
    return found
