"""Configuration: safe defaults, then instance/config.py, then LHN_* environment variables."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

# Environment variables an operator sets, mapped to the config keys they fill.
ENV_KEYS = {
    "LHN_ENV": "ENV",
    "LHN_PERIODIC_SECONDS": "PERIODIC_SECONDS",
    "LHN_MAIL_DIRECTORY": "MAIL_DIRECTORY",
    "LHN_ATTACHMENTS_DIR": "ATTACHMENTS_DIR",
    "LHN_DATABASE_URL": "DATABASE_URL",
    "LHN_SECRET_KEY": "SECRET_KEY",
    "LHN_SOCKETIO_MESSAGE_QUEUE": "SOCKETIO_MESSAGE_QUEUE",
    "LHN_SOCKETIO_ASYNC_MODE": "SOCKETIO_ASYNC_MODE",
    "LHN_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "LHN_PUBLIC_ORIGIN": "PUBLIC_ORIGIN",
    "LHN_PROXY_FIX": "PROXY_FIX",
    "LHN_MAX_SOCKETS": "MAX_SOCKETS",
    "LHN_LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
    "LHN_ACCOUNT_MAIL_RATE_LIMIT": "ACCOUNT_MAIL_RATE_LIMIT",
    "LHN_ACCOUNT_MAIL_LIMIT": "ACCOUNT_MAIL_LIMIT",
    "LHN_SOCKETIO_CHANNEL": "SOCKETIO_CHANNEL",
    "LHN_REALTIME_KEY_PREFIX": "REALTIME_KEY_PREFIX",
    "LHN_CHAT_RATE_LIMIT": "CHAT_RATE_LIMIT",
    "LHN_WRITE_RATE_LIMIT": "WRITE_RATE_LIMIT",
    "LHN_MEASURES_SUPPRESSION_COALITION": "MEASURES_SUPPRESSION_COALITION",
    **{
        f"LHN_MAIL_{name}": f"MAIL_{name}"
        for name in (
            "SERVER",
            "PORT",
            "USERNAME",
            "PASSWORD",
            "USE_TLS",
            "USE_SSL",
            "DEFAULT_SENDER",
            "MAX_ATTEMPTS",
            "WORKER",
        )
    },
}


class DefaultConfig:
    ENV = "development"  # "production" turns on Secure cookies and requires a real secret key
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}

    SESSION_COOKIE_NAME = "lhn_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_NAME = "lhn_remember"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # A form field may be as large as the request (Flask's default is 500 kB): the CSV upload hands its file from
    # the preview to the import in a hidden field, and a file may be 2 MB (lhn.measures.services.data.MAX_IMPORT_BYTES).
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, so long forms don't expire

    RATELIMIT_STORAGE_URI = "memory://"
    # Off: Flask-Limiter's Retry-After (its window's reset) went on every answer and overrode a refusal's own
    # wait (slow mode's 116 s read 3591 s). lhn.limits sends Retry-After on refusals, matching their message.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"  # per address and per login name, all ways of logging in
    # Password reset requests, per client address and per address typed; and the mail any one account gets of
    # reset links, confirmation links and "someone tried to register" notices (silently: docs/email.md).
    ACCOUNT_MAIL_RATE_LIMIT = "5 per hour;20 per day"
    ACCOUNT_MAIL_LIMIT = "3 per hour;10 per day"
    # Per-user limits on writes (lhn/limits.py has the defaults per action; keys here override them).
    RATE_LIMITS: dict[str, str] = {}
    NEW_ACCOUNT_RATE_LIMITS: dict[str, str] = {}
    NEW_ACCOUNT_DAYS = 3  # lower limits and at most two links per post during an account's first days

    # argon2id at the OWASP minimum (m=19 MiB, t=2, p=1); tests lower it for speed
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1

    SOCKETIO_ASYNC_MODE = "threading"
    SOCKETIO_MESSAGE_QUEUE: str | None = None
    PUBLIC_ORIGIN: str | None = None  # e.g. https://lhn.example.org; also allowed for sockets and cookie writes
    MAX_SOCKETS = 200  # threading mode: refuse sockets beyond this so pages never starve
    SOCKETIO_CHANNEL = "lhn"  # Redis pub/sub channel; give each deployment sharing a Redis its own
    SOCKETIO_MAX_PAYLOAD = 64 * 1024  # bytes per Socket.IO packet (a chat message is far smaller)
    REALTIME_KEY_PREFIX = "lhn"  # Redis keys for presence and the socket registry (scale-out)
    # Chat sends and edits per person: "" = lhn.limits' "chat" row (RATE_LIMITS / NEW_ACCOUNT_RATE_LIMITS,
    # lower for new accounts); a limit string here applies to everybody (load tests, benchmarks).
    CHAT_RATE_LIMIT = ""
    # Every other write, per person and endpoint (or socket event): "" = lhn.limits' "write" row, the backstop; a
    # limit string here applies to everybody (a data-heavy network, load tests, the API fuzzer).
    WRITE_RATE_LIMIT = ""
    CHAT_MESSAGE_MAX = 4000  # characters of Markdown per chat message
    PROXY_FIX = 0  # number of trusted proxies in front of the app
    HEALTH_WRITE_TIMEOUT_MS = 1000  # /healthz is "degraded" (503) when a write can't get SQLite's lock this fast
    PERIODIC_SECONDS = 3600  # how often a server runs lhn/periodic.py's jobs (review-by dates); 0: off (cron)
    # Reminders (lhn/reminders.py): a period's data is due this many days after it ends; vetters are reminded this
    # many days before a review-by date and again this long after it fell due; requests remind after these hours.
    REMINDER_SUBMISSION_GRACE_DAYS = 5
    REMINDER_REVIEW_AHEAD_DAYS = 7
    REMINDER_REVIEW_REPEAT_DAYS = 7
    REMINDER_REQUEST_HOURS = 48
    # Email (docs/email.md): without MAIL_SERVER, mail goes to instance/mail/ and shows at /dev/mail.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_DEFAULT_SENDER = "LHN <no-reply@lhn.local>"
    MAIL_MAX_ATTEMPTS = 8  # then the email is "dead" and listed for admins at /admin/mail
    MAIL_WORKER = "embedded"  # a sending thread in each server process; "external": `lhn worker` processes send
    # Measures: how many sites' teams may pool their own data without recovering another site's small count
    # (1-3; see docs/measures.md). 1 hides less in networks of three or four sites, and protects less.
    MEASURES_SUPPRESSION_COALITION = 2


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, the instance file, LHN_* variables and test overrides."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    for env_name, key in ENV_KEYS.items():
        if env_name in os.environ:
            app.config[key] = os.environ[env_name]
    if test_config:
        app.config.update(test_config)
    for key in ("MAX_SOCKETS", "PROXY_FIX", "MEASURES_SUPPRESSION_COALITION", "MAIL_PORT", "MAIL_MAX_ATTEMPTS"):
        app.config[key] = int(app.config[key])
    if not 1 <= app.config["MEASURES_SUPPRESSION_COALITION"] <= 3:
        raise RuntimeError("LHN_MEASURES_SUPPRESSION_COALITION must be 1, 2 or 3 (see docs/measures.md).")
    _finish(app)


LIGHT_READS = "light_reads"  # the bind key of light_reads' pool (a server database only; SQLite needs none)


def _finish(app: Flask) -> None:
    production = app.config["ENV"] == "production"
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'lhn.sqlite3'}"
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite") and ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
        # A file, no server: a connection never goes stale, so no ping before each checkout. A request keeps its
        # connection from its first query to its end, so the pool covers the requests one process serves at
        # once (SQLAlchemy's 5 + 10 made the 16th request wait for a connection before it waited for its turn).
        options = {k: v for k, v in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if k != "pool_pre_ping"}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 32, "max_overflow": 96, **options}
    elif not url.startswith("sqlite"):
        # Stored pages' version lookups (lhn/light_reads.py) take connections from a pool of their own without
        # pool_pre_ping: on PostgreSQL the ping was one of the two round trips such a page cost (bench/README.md).
        # A read tries again once on a connection the database dropped, which is what the ping caught.
        light_reads = {"url": url, "pool_pre_ping": False}
        app.config["SQLALCHEMY_BINDS"] = {LIGHT_READS: light_reads, **app.config.get("SQLALCHEMY_BINDS", {})}
    if not app.config.get("SECRET_KEY"):
        if production:
            raise RuntimeError("LHN_SECRET_KEY must be set in production (refusing to start without it).")
        app.config["SECRET_KEY"] = _development_secret_key(Path(app.instance_path))
    if production:
        if len(app.config["SECRET_KEY"]) < 32:
            raise RuntimeError("LHN_SECRET_KEY must be at least 32 characters in production.")
        _check_public_origin(app.config.get("PUBLIC_ORIGIN"))
        # __Host- cookies are only accepted over HTTPS, on this exact host, for the whole site.
        app.config.update(
            SESSION_COOKIE_SECURE=True,
            REMEMBER_COOKIE_SECURE=True,
            SESSION_COOKIE_NAME="__Host-lhn_session",
            REMEMBER_COOKIE_NAME="__Host-lhn_remember",
        )


def _check_public_origin(origin: str | None) -> None:
    """Links in emails are built on it; without it a password reset link would take the Host header of whoever
    asked for it (a link to their own site)."""
    if not origin:
        raise RuntimeError("LHN_PUBLIC_ORIGIN must be set in production (e.g. https://lhn.example.org).")
    parts = urlsplit(origin)
    if parts.scheme != "https" or not parts.netloc:
        raise RuntimeError(f"LHN_PUBLIC_ORIGIN must be an https:// origin in production, not {origin!r}.")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise RuntimeError(f"LHN_PUBLIC_ORIGIN is an origin, with no path: https://{parts.netloc}, not {origin!r}.")


def _development_secret_key(instance: Path) -> str:
    """Generate a secret key into the instance folder on first run, then reuse it."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
