"""Domain errors, and the one place they turn into pages and error JSON."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


class DomainError(Exception):
    """What a service refuses with. A subclass names its HTTP status and default message as class arguments
    (`class NotFound(DomainError, status=404, message=...)`); its error `code` follows from the status."""

    status = 400
    code = "bad_request"
    default_message = "The request could not be completed."
    retry_after: int | None = None  # seconds the message tells the person to wait: sent as Retry-After

    def __init_subclass__(cls, *, status: int | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status, cls.code = status, _HTTP_CODES[status]
        if message is not None:
            cls.default_message = message

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class NotFound(DomainError, status=404, message="We couldn't find that."):
    """Also raised for things that exist but the reader may not see, so nothing leaks."""


class PermissionDenied(DomainError, status=403, message="You don't have permission to do that."):
    """The person may not do this (or may not see it, where its existence is public)."""


class Unauthenticated(DomainError, status=401, message="Please log in."):
    """No logged-in person or valid token, where one is needed."""


class Conflict(DomainError, status=409, message="Someone else changed this first."):
    """A write that lost a race or repeats one (optimistic locks, duplicates)."""


class RateLimited(DomainError, status=429, message="You're sending messages too quickly. Please wait a moment."):
    """Too many actions in a short time (chat sends are limited inside the service, sockets included)."""

    def __init__(self, message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ValidationFailed(DomainError, status=422, message="Please correct the highlighted fields."):
    """Bad input; `errors` maps field names to messages ("" for the form as a whole)."""

    def __init__(self, errors: dict[str, str], message: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.errors = errors
        self.retry_after = retry_after  # slow mode: "please wait N seconds"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


_FRIENDLY = {
    400: "The request was not understood.",
    403: "You don't have permission to see this page.",
    404: "We couldn't find that page.",
    405: "That action isn't allowed here.",
    413: "That upload is too large.",
    429: "Too many attempts. Please wait a little and try again.",
}


def register_error_handlers(app: Flask) -> None:
    from lhn.limits import breached_wait, note_wait, wait_message  # limits builds on this module's errors

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        if wants_json():
            body = error_body(exc.code, exc.message, getattr(exc, "errors", None))
            if kinds := getattr(exc, "kinds", None):  # what the PHI guard found (phi.PHIConfirmationRequired)
                body["error"]["kinds"] = kinds
            response = jsonify(body)
            response.status_code = exc.status
            if exc.status == 401:  # a 401 names the scheme that would work (RFC 9110 section 11.6.1)
                response.headers["WWW-Authenticate"] = "Bearer"
        else:
            # A page that shows no form (a tampered hidden field, a button's value) has nothing highlighted: say
            # what was wrong instead.
            reasons = list(getattr(exc, "errors", {}).values())
            response = make_response(_page(exc.status, " ".join(reasons) if reasons else exc.message))
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        message = "Your form expired or was sent from another site. Please reload the page and try again."
        if wants_json():
            return json_error(403, "csrf_failed", message)
        return _page(403, message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = _FRIENDLY.get(status, exc.description or "")
        if isinstance(exc, RateLimitExceeded):  # over a Flask-Limiter limit: say how long, as Retry-After does
            wait = breached_wait()
            message = wait_message(wait)
            note_wait(wait)
        if wants_json():
            response = json_error(status, _HTTP_CODES.get(status, "error"), message)
        else:
            response = make_response(_page(status, message))
        # Our body replaces werkzeug's, but its headers are part of the answer: Allow on a 405,
        # WWW-Authenticate on a 401, Retry-After on a 503.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers.add(name, value)
        return response

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError) -> Any:
        conflict = collision(exc)
        return domain_error(conflict) if conflict else unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. It has been logged; please try again."
        if wants_json():
            return json_error(500, "internal_error", message)
        return _page(500, message)


def collision(exc: BaseException) -> Conflict | None:
    """The conflict to answer a write with that lost a race, or None: a unique or foreign-key violation (PostgreSQL's
    SQLSTATE 23505 and 23503; SQLite's messages) means another transaction committed (or removed) the row since this
    one read it, as when two owners start the same phase at once. Their change stands. Other integrity errors (NOT
    NULL, CHECK) are bugs: a 500."""
    if not isinstance(exc, IntegrityError):
        return None
    state = getattr(exc.orig, "sqlstate", None)
    if state is None:  # SQLite
        state = {"UNIQUE": "23505", "FOREIGN KEY": "23503"}.get(str(exc.orig).partition(" constraint failed")[0])
    if state not in ("23505", "23503"):
        return None
    log.info("a write collided with one committed meanwhile: %s", exc.orig)
    return Conflict("Someone else made the same change at the same moment. Reload to see it.")


def _page(status: int, message: str) -> tuple[str, int]:
    template = "errors/500.html" if status >= 500 else "errors/page.html"
    return render_template(template, status=status, message=message), status
