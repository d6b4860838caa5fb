"""The one mapping from errors to pages and error JSON: status, body and werkzeug's own headers."""

import pytest
from sqlalchemy import select, text
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from lhn.accounts.models import User
from lhn.database import transactional
from lhn.extensions import db
from tests import factories
from tests.conftest import committed


@pytest.mark.parametrize(("method", "path", "allowed"), [("DELETE", "/api/v1/communities", {"GET", "POST"}),
                                                         ("PUT", "/login", {"GET", "POST"})])  # fmt: skip
def test_a_405_says_which_methods_are_allowed(client, method, path, allowed) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.content_type.startswith("application/json" if path.startswith("/api/") else "text/html")


@pytest.mark.parametrize("path", ["/api/v1/challenge", "/challenge"])
def test_error_responses_keep_the_headers_werkzeug_gives_them(app, path) -> None:
    challenge_header = WWWAuthenticate("bearer", {"realm": "lhn"})

    def challenge():  # type: ignore[no-untyped-def]
        raise Unauthorized(www_authenticate=challenge_header)

    app.add_url_rule(path, endpoint=f"challenge{path}", view_func=challenge)
    response = app.test_client().get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge_header.to_header()
    assert response.headers["Content-Type"].startswith("application/json" if path.startswith("/api/") else "text/html")


def test_a_domain_error_class_names_its_status_and_its_code_follows() -> None:
    from lhn.errors import Conflict, NotFound, PermissionDenied, RateLimited, Unauthenticated, ValidationFailed
    from lhn.inputs import BadInput
    from lhn.measures.services.data import ImportTooLarge, RowsInvalid
    from lhn.phi import PHIConfirmationRequired

    seen = {cls.__name__: (cls.status, cls.code) for cls in (NotFound, PermissionDenied, Unauthenticated, Conflict,
                                                             RateLimited, ValidationFailed, BadInput)}  # fmt: skip
    assert seen == {"NotFound": (404, "not_found"), "PermissionDenied": (403, "forbidden"),
                    "Unauthenticated": (401, "unauthenticated"), "Conflict": (409, "conflict"),
                    "RateLimited": (429, "rate_limited"), "ValidationFailed": (422, "validation_failed"),
                    "BadInput": (400, "bad_request")}  # fmt: skip
    # a subclass keeps what it doesn't name: its parent's status, code and message
    assert (RowsInvalid.status, RowsInvalid.code, RowsInvalid.default_message) == (
        422, "validation_failed", ValidationFailed.default_message)  # fmt: skip
    assert (ImportTooLarge.status, ImportTooLarge.code) == (413, "payload_too_large")
    assert (PHIConfirmationRequired.status, PHIConfirmationRequired.code) == (422, "phi_confirmation_required")
    assert NotFound().message == "We couldn't find that."


@pytest.mark.parametrize("path", ["/c/%00", "/c/pediatric-ibd?sort=%00", "/api/v1/communities/%00",
                                  "/api/v1/communities?cursor=a%00b", "/search?q%00=x"])  # fmt: skip
def test_an_address_with_a_nul_character_is_refused_before_any_lookup(client, path) -> None:
    # PostgreSQL refuses a NUL in any query: without this, each lookup by slug answered 500 there.
    response = client.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "bad_request"
    assert "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/collide", "/collide"])
def test_a_write_that_collides_with_a_row_committed_meanwhile_is_a_conflict_not_a_500(app, path) -> None:
    with committed(app):
        factories.user(username="taken")
    app.add_url_rule(path, endpoint=f"collide{path}", view_func=transactional(factories.colliding_write))
    response = app.test_client().get(path)
    assert response.status_code == 409
    assert "Someone else made the same change at the same moment" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.username)) == "taken"  # nothing of the refused write stayed


def test_other_integrity_errors_are_bugs_and_answer_500(app) -> None:
    def insert_without_required_columns() -> None:
        db.session.execute(text("INSERT INTO community (id) VALUES (999)"))  # NOT NULL fails: a bug

    app.add_url_rule("/api/v1/broken", view_func=transactional(insert_without_required_columns))
    response = app.test_client().get("/api/v1/broken")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
