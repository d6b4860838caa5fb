"""create_app: configuration sources, production refusals, cookies and security headers."""

from pathlib import Path

import pytest

from lhn import create_app
from tests.conftest import BASE_CONFIG


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LHN_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="LHN_SECRET_KEY"):
        create_app({"ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="at least 32"):
        create_app({"ENV": "production", "SECRET_KEY": "short", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x"})


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


def test_socketio_async_mode_is_explicit(app) -> None:
    from lhn.extensions import socketio

    assert socketio.async_mode == "threading"
