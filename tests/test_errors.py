"""The one mapping from errors to pages and error JSON: status, body and werkzeug's own headers."""

import pytest
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized


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
