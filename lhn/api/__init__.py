"""The JSON API at /api/v1: authentication (cookie session or bearer token), body parsing, errors, the OpenAPI
document. It knows no feature: each feature's api module adds its routes to `bp` and describes them in
OPENAPI_PATHS (and OPENAPI_SCHEMAS), and the app factory hands those modules to `init_app`."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_login import current_user

from lhn import inputs
from lhn.accounts import permissions as accounts_permissions
from lhn.accounts import services as accounts
from lhn.accounts.badges import person_json as person_json  # feature api modules take the badge from here
from lhn.accounts.models import User
from lhn.api.openapi import document
from lhn.database import transaction
from lhn.errors import Unauthenticated, json_error
from lhn.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoints that authenticate by what their body holds (a password, an emailed link's token) or ask for an emailed
# link (a password reset): they need no session, and a CSRF token adds nothing.
_AUTHENTICATED_BY_BODY = {"api.create_token", "api.forgot_password", "api.reset_password", "api.confirm_email",
                          "api.change_email"}  # fmt: skip


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


def page_json(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def openapi_document() -> Response:
    """GET /api/v1/openapi.json: the document of the feature modules this app was built with."""
    return jsonify(document(current_app.extensions["lhn.api.features"]))


bp.add_url_rule("/openapi.json", "openapi", openapi_document, methods=["GET"])


def init_app(app: Flask, features: list[ModuleType]) -> None:
    """Attach /api/v1 to `app`. `features`: every feature's api module, imported by the caller, so that its
    routes are on `bp` before the blueprint is registered; the OpenAPI document is assembled from them."""
    app.extensions["lhn.api.features"] = features
    csrf.exempt(bp)  # the API checks CSRF itself, for cookie sessions only (not bearer tokens)
    app.register_blueprint(bp)
