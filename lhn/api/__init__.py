"""The JSON API at /api/v1: authentication (cookie session or bearer token), body parsing, errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user

from lhn import inputs
from lhn.accounts import permissions as accounts_permissions
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.database import transaction
from lhn.errors import Unauthenticated, json_error
from lhn.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoints that authenticate by the password in their body: they need no session, and a CSRF token adds nothing.
_AUTHENTICATED_BY_BODY = {"api.create_token"}


@bp.before_request
def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        row = accounts.find_token(token.strip())
        user = row.user if row is not None else None
        if scheme.lower() != "bearer" or user is None:
            response = json_error(401, "invalid_token", "The access token is missing, revoked or wrong.")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        if accounts_permissions.is_suspended(user):
            return json_error(403, "account_suspended", accounts_permissions.suspension_notice(user))
        if accounts.token_use_due(row):  # type: ignore[arg-type]  # a user means a row
            with transaction():  # its own short write, at most hourly: reads stay without the write lock
                accounts.record_token_use(row)  # type: ignore[arg-type]
        g._login_user = user  # Flask-Login's slot for the current user; the token wins over any cookie
        g.api_token_auth = True
        return None
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in _AUTHENTICATED_BY_BODY:
        return None
    # A write with neither token nor session is 401 before any CSRF check: a 403 csrf_failed would send the
    # client looking for a CSRF header when what it lacks is a login.
    require_user()
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()  # a cookie session must prove the request came from our own pages
    return None


def require_user() -> User:
    """The authenticated user, or a 401 error."""
    if not current_user.is_authenticated:
        raise Unauthenticated("Log in, or send 'Authorization: Bearer <token>'.")
    return current_user._get_current_object()  # type: ignore[attr-defined]


def json_body(*, max_depth: int = inputs.MAX_DEPTH) -> dict[str, Any]:
    """The request's JSON object, through the input boundary (lhn.inputs.json_object)."""
    return inputs.json_object(max_depth=max_depth)


def created(payload: dict[str, Any], status: int = 201) -> tuple[Response, int]:
    return jsonify(payload), status


def person_json(user: User, community_role: str | None = None) -> dict[str, Any]:
    """The badge of a person, as every endpoint shows it."""
    data: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "verification": user.verification_state or None,
        "is_admin": user.is_admin,
        "is_verifier": user.is_verifier,
        "institution": {"slug": user.institution.slug, "name": user.institution.name} if user.institution else None,
    }
    if community_role is not None:
        data["community_role"] = community_role
    return data


def page_json(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


# Feature modules add their routes to `bp`; importing them here registers them before the
# blueprint is attached to an app.
from lhn.api import routes  # noqa: E402, F401
