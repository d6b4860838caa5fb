"""Rate limits on logging in and on asking for account mail (pages and API): per client address, and per login
name or per address typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_limiter.util import get_remote_address

from lhn import inputs
from lhn.errors import DomainError
from lhn.extensions import limiter
from lhn.limits import refuse_forms


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_mail_limit() -> str:
    return current_app.config["ACCOUNT_MAIL_RATE_LIMIT"]


def _typed(field: str) -> str:
    # The body through the input boundary: the limiter runs before the view, and a body the view will refuse
    # (malformed, "[" * 100000, a lone surrogate) must not fail here; it counts under the empty name.
    try:
        data: Any = inputs.json_object() if request.is_json else request.form
    except DomainError:
        data = {}
    name = data.get(field, "")
    return f"{field}:" + (name if isinstance(name, str) else "").strip().lower()[:254]


def _login_name() -> str:
    return "login-name:" + _typed("login")


def _typed_address() -> str:
    return _typed("email")


def login_rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Both limits apply to POSTs, so one address can't spray names and names can't be sprayed
    from many addresses faster than the per-name limit. The limits are shared (not per endpoint):
    the login page and POST /api/v1/tokens draw on one budget, so a second way in doesn't double it.
    Over a limit the login page is re-rendered with the name typed and the wait (lhn.limits.refuse_forms)."""
    limited = limiter.shared_limit(_login_limit, scope="login-name", key_func=_login_name, methods=["POST"])(view)
    limited = limiter.shared_limit(_login_limit, scope="login-ip", key_func=get_remote_address, methods=["POST"])(
        limited
    )
    return refuse_forms(limited, view)


def account_mail_rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Asking for a password reset (page and API, one shared budget): ACCOUNT_MAIL_RATE_LIMIT per client address
    and per address typed, whether or not an account uses it, so the refusal says nothing about accounts (the
    service's own per-account allowance is silent). Over it the form is re-rendered with the wait."""
    limited = limiter.shared_limit(_account_mail_limit, scope="account-mail-address", key_func=_typed_address,
                                   methods=["POST"])(view)  # fmt: skip
    limited = limiter.shared_limit(_account_mail_limit, scope="account-mail-ip", key_func=get_remote_address,
                                   methods=["POST"])(limited)  # fmt: skip
    return refuse_forms(limited, view)
