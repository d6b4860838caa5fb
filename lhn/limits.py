"""Abuse limits any feature can use without importing moderation: per-user rate limits on writes (lower
for new accounts), the new-account link cap, and the new-account test itself.

    @bp.post("/posts/<int:post_id>/answers")
    @user_rate_limited("answer")
    @transactional
    def create_answer(post_id): ...

Limits come from config (RATE_LIMITS, NEW_ACCOUNT_RATE_LIMITS, NEW_ACCOUNT_DAYS); storage is
RATELIMIT_STORAGE_URI (Redis when LHN_RATELIMIT_STORAGE_URI is set, so processes share counters).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user

from lhn.database import utcnow
from lhn.extensions import limiter

# Defaults (config may override each key). NodeBB and Discourse start from similar numbers.
RATE_LIMITS = {
    "post": "10 per hour;40 per day",
    "answer": "20 per hour;100 per day",
    "comment": "30 per hour;200 per day",
    "chat": "30 per minute",
    "flag": "20 per hour;50 per day",
    "redact": "20 per hour;60 per day",  # authors removing personal details from their own revisions
    # Not writes, or not only: rendering and checking a whole file cost CPU that everyone's requests share.
    "preview": "20 per minute;300 per hour",
    "import": "5 per minute;30 per hour;200 per day",  # CSV and FHIR files: previews and imports, pages and API
}
NEW_ACCOUNT_RATE_LIMITS = {
    "post": "3 per hour;10 per day",
    "answer": "5 per hour;20 per day",
    "comment": "10 per hour;40 per day",
    "chat": "10 per minute",
    "flag": "5 per hour;10 per day",
    "redact": "20 per hour;60 per day",  # removing what one shared by mistake is never held back for new accounts
    "preview": "20 per minute;300 per hour",
    "import": "5 per minute;30 per hour;200 per day",
}
NEW_ACCOUNT_DAYS = 3
NEW_ACCOUNT_MAX_LINKS = 2


def is_new_account(user: Any, *, now: datetime | None = None, days: int = NEW_ACCOUNT_DAYS) -> bool:
    """Registered less than `days` ago (site admins never count as new). Pure."""
    if getattr(user, "is_admin", False) or getattr(user, "created_at", None) is None:
        return False
    return (now or utcnow()) - user.created_at < timedelta(days=days)


def _config_days() -> int:
    return int(current_app.config.get("NEW_ACCOUNT_DAYS", NEW_ACCOUNT_DAYS))


def limit_for(action: str, user: Any = None) -> str:
    """The limit string for `user` (default: the current user) and `action` (new accounts get the lower
    one). Chat passes the sender: its socket events have no Flask-Login user."""
    config = current_app.config
    table = dict(RATE_LIMITS, **config.get("RATE_LIMITS", {}))
    who = current_user if user is None else user
    if getattr(who, "is_authenticated", False) and is_new_account(who, days=_config_days()):
        table = dict(NEW_ACCOUNT_RATE_LIMITS, **config.get("NEW_ACCOUNT_RATE_LIMITS", {}))
    return table[action]


def user_key() -> str:
    """Counters per signed-in user (shared by their cookie sessions and tokens), per address otherwise."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{get_remote_address()}"


def wrote(response: Any) -> bool:
    """Did the request write? Created (201), done (204) or redirected after a form was accepted (3xx).
    A form re-rendered with errors (422), a preview (200) or a refusal doesn't use up the allowance."""
    status = response.status_code
    return status in (201, 204) or 300 <= status < 400


def user_rate_limited(
    action: str, *, methods: list[str] | None = None, deduct_when: Callable[[Any], bool] | None = None
) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: per-user limit for one kind of write ("post", "answer", "comment", "chat", "flag")
    on the unsafe methods of a view. Over the limit: 429 with Retry-After (page or error JSON).
    `deduct_when=wrote` counts only requests that wrote (forms with previews and error re-renders)."""
    if action not in RATE_LIMITS:
        raise ValueError(f"unknown rate-limited action {action!r}")
    return limiter.limit(
        lambda: limit_for(action),
        key_func=user_key,
        scope=f"user-{action}",
        methods=methods or ["POST", "PUT", "PATCH", "DELETE"],
        deduct_when=deduct_when,
    )


_MARKDOWN_LINK = re.compile(r"\]\([^)\s]+(?:\s+\"[^\"]*\")?\)")
_HTML_LINK = re.compile(r"<a\s[^>]*href[^>]*>", re.I)
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]]+", re.I)


def count_links(text: str) -> int:
    """Links in Markdown source: [text](url) once each, <a href>, and bare URLs or www. hosts. Pure."""
    markdown = len(_MARKDOWN_LINK.findall(text))
    rest = _MARKDOWN_LINK.sub(" ", text)
    html = len(_HTML_LINK.findall(rest))
    rest = _HTML_LINK.sub(" ", rest)
    return markdown + html + len(_BARE_URL.findall(rest))


def is_new_account_now(user: Any) -> bool:
    """is_new_account with the configured NEW_ACCOUNT_DAYS (needs an app context)."""
    return is_new_account(user, days=_config_days())


def link_limit_problem(
    text: str, *, new_account: bool, max_links: int = NEW_ACCOUNT_MAX_LINKS, what: str = "a post"
) -> str | None:
    """The message to show when a new account's text has too many links, else None. Posts call it with
    new_account=is_new_account(author) and raise ValidationFailed({"body": message}). Pure."""
    if not new_account:
        return None
    links = count_links(text)
    if links <= max_links:
        return None
    return (
        f"New accounts can include at most {max_links} links in {what} (this has {links}). "
        "This limit lifts after your first few days."
    )
