"""create_app: configuration sources, production refusals, cookies and security headers."""

import re
from pathlib import Path

import pytest

from lhn import create_app
from tests import factories
from tests.conftest import BASE_CONFIG, PASSWORD, committed


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHN_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="LHN_SECRET_KEY"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="at least 32"):
        create_app({"ENV": "production", "SECRET_KEY": "short", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x"})


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        (None, "LHN_PUBLIC_ORIGIN must be set"),
        ("lhn.example.org", "https://"),
        ("http://lhn.example.org", "https://"),
        ("https://lhn.example.org/forum", "no path"),
    ],
)
def test_production_refuses_to_start_without_a_public_https_origin(tmp_path: Path, origin, message) -> None:
    """Links in emails (a password reset's) are built on it: without it they take the Host header of whoever asked."""
    config = {"ENV": "production", "SECRET_KEY": "s" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x"}
    with pytest.raises(RuntimeError, match=message):
        create_app({**config, "PUBLIC_ORIGIN": origin})


def test_development_generates_a_secret_key_once_into_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LHN_SECRET_KEY", raising=False)
    import lhn.config

    key_file = tmp_path / "secret_key"
    first = lhn.config._development_secret_key(tmp_path)
    assert key_file.read_text().strip() == first
    assert len(first) >= 48
    assert lhn.config._development_secret_key(tmp_path) == first
    assert oct(key_file.stat().st_mode)[-3:] == "600"


def test_environment_variables_override_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LHN_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    monkeypatch.setenv("LHN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("LHN_RATELIMIT_STORAGE_URI", "memory://")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.sqlite3"
    assert app.config["SECRET_KEY"] == "k" * 40


def test_production_cookies_are_secure_host_only(tmp_path: Path) -> None:
    app = create_app(
        {
            **BASE_CONFIG,
            "ENV": "production",
            "TESTING": False,
            "SECRET_KEY": "s" * 40,
            "PUBLIC_ORIGIN": "https://lhn.example.org",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-lhn_session"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_security_headers_on_pages_and_json(client) -> None:
    for path in ("/", "/api/v1/communities", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert client.get("/api/v1/communities").content_type == "application/json"


@pytest.mark.parametrize("path", ["/", "/api/v1/communities", "/no-such-page", "/api/v1/no-such-thing"])
def test_pages_api_answers_and_errors_isolate_the_window_and_deny_powerful_features(client, path) -> None:
    response = client.get(path)
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    denied = {rule.split("=")[0] for rule in response.headers["Permissions-Policy"].split(", ") if rule.endswith("=()")}
    assert {"camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"} <= denied


def test_socketio_async_mode_is_explicit(app) -> None:
    from lhn.extensions import socketio

    assert socketio.async_mode == "threading"


# --- the Origin check on cookie-authenticated writes ---------------------------------------------------

FOREIGN = [
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost.evil.example"},
    {"Origin": "https://localhost"},  # another scheme is another origin
    {"Origin": "null"},  # sandboxed frames and privacy-sensitive redirects
    {"Referer": "https://evil.example/lure.html"},  # no Origin: the Referer's origin counts
]
OWN = [{}, {"Origin": "http://localhost"}, {"Referer": "http://localhost/c/ibd"}]


def cookie_session(app):  # type: ignore[no-untyped-def]
    """alice's browser, logged in, and the page's CSRF token (form field and meta tag alike)."""
    client = app.test_client()
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": form_token})
    return client, re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


@pytest.fixture
def site(make_app):  # type: ignore[no-untyped-def]
    """make_app(**config) on a database with alice and a public community "ibd", CSRF on."""

    def factory(**config):  # type: ignore[no-untyped-def]
        return make_app(WTF_CSRF_ENABLED=True, **config)

    with committed(factory()):
        factories.community(factories.user("clinician", username="doc", verified=True), slug="ibd")
        factories.user(username="alice")
    return factory


def join(client, headers):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/communities/ibd/join", json={"accept_guidelines": True}, headers=headers)


@pytest.mark.parametrize("headers", FOREIGN)
def test_a_cookie_write_with_a_valid_csrf_token_from_another_origin_is_refused(site, headers) -> None:
    client, csrf = cookie_session(site())
    api = join(client, {"X-CSRFToken": csrf, **headers})
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "csrf_failed"
    page = client.post("/logout", data={"csrf_token": csrf}, headers=headers)
    assert page.status_code == 403
    assert "sent from another site" in page.text
    assert client.get("/settings/profile").status_code == 200  # still logged in: the forged logout did nothing


@pytest.mark.parametrize("headers", OWN)
def test_a_cookie_write_from_our_own_pages_or_without_origin_and_referer_is_accepted(site, headers) -> None:
    client, csrf = cookie_session(site())
    assert join(client, {"X-CSRFToken": csrf, **headers}).status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}, headers=headers).status_code == 302


def test_bearer_token_writes_need_no_origin_check(site) -> None:
    client = site().test_client()
    created = client.post("/api/v1/tokens", json={"login": "alice", "password": PASSWORD, "name": "script"})
    assert join(client, {"Authorization": f"Bearer {created.get_json()['token']}", "Origin": "https://evil.example"}
                ).status_code == 200  # fmt: skip


def test_the_public_origin_and_a_trusted_proxy_s_origin_are_our_own(site) -> None:
    client, csrf = cookie_session(site(PUBLIC_ORIGIN="https://lhn.example.org"))
    assert join(client, {"X-CSRFToken": csrf, "Origin": "https://lhn.example.org"}).status_code == 200
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "lhn.example.net",
        "Origin": "https://lhn.example.net",
        "Referer": "https://lhn.example.net/c/ibd",
    }  # Flask-WTF wants a same-origin Referer on HTTPS
    client, csrf = cookie_session(site(PROXY_FIX=1))
    assert join(client, {"X-CSRFToken": csrf, **forwarded}).status_code == 200
    client, csrf = cookie_session(site())  # no trusted proxy: anyone can send X-Forwarded-Host
    assert join(client, {"X-CSRFToken": csrf, **forwarded}).status_code == 403
