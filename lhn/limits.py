"""Abuse limits any feature can use without importing moderation: per-user rate limits on writes (lower
for new accounts), the new-account link cap, and the new-account test itself.

    @bp.post("/posts/<int:post_id>/answers")
    @user_rate_limited("answer")
    @transactional
    def create_answer(post_id): ...

Limits come from config (RATE_LIMITS, NEW_ACCOUNT_RATE_LIMITS, NEW_ACCOUNT_DAYS); storage is
RATELIMIT_STORAGE_URI (Redis when LHN_RATELIMIT_STORAGE_URI is set, so processes share counters).

Waits are said once, the same way everywhere: a refusal's message says "try again in N minutes" and its
`Retry-After` header carries the seconds that N was rounded up from. Only refusals send Retry-After
(Flask-Limiter's own headers are off: it put its window's reset on every answer, a 200 or a slow-mode 422
alike, and raised a refusal's own wait to it). A page form over its limit is re-rendered with what was typed
(`refuse_forms`), not replaced by an error page.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many
from werkzeug.exceptions import BadRequest

from lhn.database import utcnow
from lhn.extensions import limiter

# Defaults (config may override each key). NodeBB and Discourse start from similar numbers.
RATE_LIMITS = {
    "post": "10 per hour;40 per day",
    "answer": "20 per hour;100 per day",
    "comment": "30 per hour;200 per day",
    "chat": "30 per minute",
    "flag": "20 per hour;50 per day",
    "staff": "60 per minute;600 per hour",  # verification decisions, revocations, appointments
    "redact": "20 per hour;60 per day",  # authors removing personal details from their own revisions
    # Not writes, or not only: rendering and checking a whole file cost CPU that everyone's requests share.
    "preview": "20 per minute;300 per hour",
    "import": "5 per minute;30 per hour;200 per day",  # CSV and FHIR files: previews and imports, pages and API
    "remind": "5 per hour;20 per day",  # a measure's owners reminding its late sites (each site once a day anyway)
    "account_mail": "5 per hour;20 per day",  # asking for a confirmation link again, or to change one's address
    "programme": "120 per hour;600 per day",  # driver diagrams are built node by node
    "attachments": "30 per hour;100 per day",  # files: storage and the checks of each
    "pro": "60 per hour;300 per day",  # questionnaire answers, saved as drafts as people go
    "research": "30 per hour;100 per day",  # studies, research profiles, "contact me" and withdrawing it
    "strata": "60 per hour;300 per day",  # a site's breakdowns: one per stratifier and period
    # Every other write (votes, edits, joins, data points, moderation actions...): a backstop against runaway
    # scripts and floods that no person clicking or a site's data script comes near. See `limit_every_write`.
    "write": "60 per minute;600 per hour;3000 per day",
}
NEW_ACCOUNT_RATE_LIMITS = {
    "post": "3 per hour;10 per day",
    "answer": "5 per hour;20 per day",
    "comment": "10 per hour;40 per day",
    "chat": "10 per minute",
    "flag": "5 per hour;10 per day",
    "staff": "60 per minute;600 per hour",
    "redact": "20 per hour;60 per day",  # removing what one shared by mistake is never held back for new accounts
    "preview": "20 per minute;300 per hour",
    "import": "5 per minute;30 per hour;200 per day",
    "remind": "5 per hour;20 per day",
    "account_mail": "5 per hour;20 per day",
    "programme": "30 per hour;100 per day",
    "attachments": "10 per hour;30 per day",
    "pro": "60 per hour;300 per day",  # a patient's own answers: never held back for new accounts
    "research": "10 per hour;30 per day",
    "strata": "20 per hour;100 per day",
    "write": "60 per minute;600 per hour;3000 per day",  # a backstop: what is spam has a lower limit of its own
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


# Config keys that set one limit for everybody (load tests, a data-heavy network) over a row's table entries.
FOR_EVERYBODY = {"chat": "CHAT_RATE_LIMIT", "write": "WRITE_RATE_LIMIT"}


def limit_for(action: str, user: Any = None) -> str:
    """The limit string for `user` (default: the current user) and `action` (new accounts get the lower
    one), or the one limit for everybody that config sets for some rows (`FOR_EVERYBODY`). Chat passes the
    sender: its socket events have no Flask-Login user."""
    config = current_app.config
    everybody = config.get(FOR_EVERYBODY.get(action, ""))
    if everybody:
        return str(everybody)
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
    action: str,
    *,
    methods: list[str] | None = None,
    deduct_when: Callable[[Any], bool] | None = None,
    forms: bool = True,
    per_endpoint: bool = False,
) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: per-user limit for one kind of write ("post", "answer", "comment", "chat", "flag")
    on the unsafe methods of a view: one allowance for that kind on every view it decorates, pages and API alike
    (`per_endpoint=True`: one per view, the "write" backstop's way). Over the limit: 429 with Retry-After (error
    JSON on the API; on pages the view's form re-rendered with the text and the wait, see `refuse_forms`;
    `forms=False` for a page endpoint that has no form, such as a preview fetched by a script: the error page).
    `deduct_when=wrote` counts only requests that wrote (forms with previews and error re-renders)."""
    if action not in RATE_LIMITS:
        raise ValueError(f"unknown rate-limited action {action!r}")
    limit = (limiter.limit if per_endpoint else limiter.shared_limit)(
        lambda: limit_for(action),
        key_func=user_key,
        scope=f"user-{action}",
        methods=methods or ["POST", "PUT", "PATCH", "DELETE"],
        deduct_when=deduct_when,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        limited = limit(view)
        return refuse_forms(limited, view) if forms else limited

    return decorate


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# One decorator for every view: Flask-Limiter keys limits by function name, and closures that share one
# (lhn.measures.api.common.removal_route) would otherwise each count a request again.
_any_write = user_rate_limited("write", per_endpoint=True)


def limit_every_write(app: Flask) -> None:
    """Give every endpoint that takes a write (POST, PUT, PATCH, DELETE) and has no limit of its own the "write"
    limit, so none is left without one, tomorrow's routes included. It counts per endpoint (voting doesn't use up
    editing), where a kind of write's own limit is one allowance wherever it is sent from. Call it once every route
    is added."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.methods and rule.methods & WRITE_METHODS and not has_a_limit(view):
            app.view_functions[rule.endpoint] = _any_write(view)


_LIMITED_IN_SERVICE = "lhn_limited_in_service"


def limited_in_service(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose service counts a limit of its own, shared with socket events that Flask-Limiter does not
    see (chat sends and edits, lhn/chat/limits.py): `limit_every_write` leaves it alone. Put it under the route."""
    setattr(view, _LIMITED_IN_SERVICE, True)
    return view


def has_a_limit(view: Callable[..., Any]) -> bool:
    """Is a limit on this view function? Flask-Limiter marks its wrappers, and functools.wraps carries the mark up
    through the decorators above them (refuse_forms, login_required). (Not the extension's record of limits by
    name: that outlives an app, and a second app in the process would find its views there unwrapped.)"""
    marked = getattr(view, "__wrapper-limiter-instance", None) is limiter
    return marked or bool(getattr(view, _LIMITED_IN_SERVICE, False))


# --- silent budgets ---------------------------------------------------------------------------------------------


def spend(limit: str, scope: str, key: str) -> bool:
    """Use one of `key`'s allowance under `limit` ("3 per hour;10 per day") in `scope`; False when it is used up.
    For limits whose refusal must not show, because showing it would tell who has an account (a password reset
    email per account, say): the caller quietly does nothing. Shares RATELIMIT_STORAGE_URI with the other limits;
    needs an app context, not a request, so services may call it."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    strategy = limiter.limiter
    items = parse_many(limit)
    if not all(strategy.test(item, scope, key) for item in items):
        return False
    hits = [strategy.hit(item, scope, key) for item in items]  # every window counts this one, not the first only
    return all(hits)


# --- saying how long to wait -----------------------------------------------------------------------------


def describe_wait(seconds: int) -> str:
    """"45 seconds", "12 minutes", "3 hours": whole units, rounded up (never less than the real wait). Pure."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(seconds / 3600)} hours"


def wait_message(seconds: int) -> str:
    """The refusal of anything over a rate limit (pages, forms, the API)."""
    return f"Too many attempts in a short time: please try again in {describe_wait(seconds)}."


def breached_wait() -> int:
    """Seconds until the limit this request broke lets one more through (Flask-Limiter's limit for the request,
    the breached one). Call while handling its RateLimitExceeded."""
    current = limiter.current_limit
    reset_at = current.window[0] if current is not None else time.time() + 60  # RequestLimit.reset_at adds 1 s
    return max(1, math.ceil(reset_at - time.time()))


def note_wait(seconds: int | None, *, rate_limited: bool = False) -> None:
    """This answer tells someone to wait `seconds` (a refusal's message says so): send it as Retry-After; a page
    re-rendered because of a rate limit (`rate_limited`) answers 429."""
    if seconds:
        g.retry_after = int(seconds)
    if rate_limited:
        g.rate_limit_refused = True


def refuse_forms(limited: Callable[..., Any], view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a rate-limited page view: over the limit, a page's form POST runs the view with the refusal noted, so
    it re-renders its form as for any error, keeping what was typed. lhn.forms.Form does not validate then and
    shows `form_refusal()`; the answer is a 429 with Retry-After (`init_app`). A one-button form, which a view
    answers with a 400 when it does not validate, gets the 429 error page; the API gets the error JSON."""

    @functools.wraps(limited)  # the view's name, and Flask-Limiter's mark (`has_a_limit`)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return limited(*args, **kwargs)
        except RateLimitExceeded as refusal:
            if request.path.startswith("/api/") or request.method != "POST":
                raise
            g.rate_limit_refusal = breached_wait()
            try:
                return view(*args, **kwargs)
            except BadRequest:  # a one-button form has nothing to show again: abort(400) when it did not validate
                raise refusal from None

    return wrapper


def form_refusal() -> str | None:
    """The message a form shows instead of validating when this request is over a rate limit (once per request's
    forms), else None. Called by lhn.forms.Form.validate."""
    seconds = g.get("rate_limit_refusal")
    if not seconds:
        return None
    note_wait(seconds, rate_limited=True)
    return wait_message(seconds)


def init_app(app: Flask) -> None:
    """Retry-After on the answers that told someone to wait, and 429 for a form refused over a rate limit. Call it
    after `limiter.init_app(app)`."""
    manager = limiter.limit_manager
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks and not manager.default_limits and not manager.application_limits:
        # Flask-Limiter's own hook looks for app-wide limits (default, application, per blueprint) on every request.
        # LHN sets none: each limit sits on its view, whose decorator checks it. The hook found nothing and cost a
        # stored page ~70 µs of its ~500 (bench/README.md); tests/test_limits.py fails if a blueprint limit appears.
        hooks.remove(limiter._check_request_limit)  # absent when RATELIMIT_ENABLED is off

    @app.after_request
    def _retry_after(response: Any) -> Any:
        seconds = g.get("retry_after")
        if seconds:
            response.headers["Retry-After"] = str(seconds)
        if g.get("rate_limit_refused") and response.status_code in (200, 422):  # the form, re-rendered
            response.status_code = 429
        return response


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
