"""LHN: a platform for learning health networks. create_app builds the Flask application."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from sqlalchemy import inspect as sa_inspect
from werkzeug.middleware.proxy_fix import ProxyFix

from lhn.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    if app.config["PROXY_FIX"]:
        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    from lhn.inputs import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    _register_blueprints(app)
    from lhn import limits

    limits.limit_every_write(app)  # the routes are all in now
    _register_request_hooks(app)
    from lhn import plurals

    app.jinja_env.filters.update(plural=plurals.plural, noun=plurals.noun)  # every count in a template
    from lhn.cli import cli
    from lhn.errors import register_error_handlers

    register_error_handlers(app)
    app.cli.add_command(cli)
    return app


def _init_extensions(app: Flask) -> None:
    import lhn.models  # noqa: F401 - every mapper must be known before first use
    from lhn import attachments, database, limits, realtime
    from lhn.accounts.services import load_user_for_session
    from lhn.chat import sockets as chat_sockets
    from lhn.extensions import csrf, db, limiter, login_manager, migrate
    from lhn.realtime import server as realtime_server

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            database.configure_engine(engine, writing_person=_signed_in_person)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    attachments.raise_upload_limit(app)  # before CSRF's check reads the form under the app-wide cap
    csrf.init_app(app)
    limiter.init_app(app)
    limits.init_app(app)  # Retry-After on refusals, saying the same wait as their message
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_for_session)
    # Explicit async mode, same origin only, the message queue, and every feature's socket events.
    realtime_server.init_socketio(app, [chat_sockets.FEATURE])
    realtime.install_session_hooks()


def _signed_in_person() -> int | None:
    """Whose write a request makes: the person its session or token signed in (Flask-Login's slot, filled by then).
    The id is read from the identity map: a database event must not load anything."""
    user = g.get("_login_user")
    identity = sa_inspect(user).identity if getattr(user, "is_authenticated", False) else None
    return int(identity[0]) if identity else None


def _register_blueprints(app: Flask) -> None:
    from lhn.accounts import mydata as _accounts_data  # noqa: F401 - my-data receivers
    from lhn.accounts.views import bp as accounts_bp
    from lhn.attachments import mydata as _attachments_data  # noqa: F401 - my-data receivers
    from lhn.attachments.views import bp as attachments_bp
    from lhn.chat import mydata as _chat_data  # noqa: F401 - my-data receivers
    from lhn.chat.views import bp as chat_bp
    from lhn.communities import mydata as _communities_data  # noqa: F401 - my-data receivers
    from lhn.communities.views import bp as communities_bp
    from lhn.health import bp as health_bp
    from lhn.mail.views import bp as mail_bp
    from lhn.measures import mydata as _measures_data  # noqa: F401 - my-data receivers
    from lhn.measures.views import bp as measures_bp
    from lhn.moderation import handlers as _moderation_handlers  # noqa: F401 - connects the signal receivers
    from lhn.moderation import mydata as _moderation_data  # noqa: F401 - my-data receivers
    from lhn.moderation.views import bp as moderation_bp
    from lhn.notifications import handlers  # noqa: F401 - connects the signal receivers
    from lhn.notifications import mydata as _notifications_data  # noqa: F401 - my-data receivers
    from lhn.notifications.views import bp as notifications_bp
    from lhn.posts import cache as posts_cache
    from lhn.posts import handlers as _posts_handlers  # noqa: F401 - answers measures' signals
    from lhn.posts import mydata as _posts_data  # noqa: F401 - my-data receivers
    from lhn.posts import services as _posts_services  # noqa: F401 - registers who may watch post:<id>
    from lhn.posts.views import bp as posts_bp
    from lhn.pro import mydata as _pro_data  # noqa: F401 - my-data receivers
    from lhn.pro.views import bp as pro_bp
    from lhn.programme import mydata as _programme_data  # noqa: F401 - my-data receivers
    from lhn.programme.views import bp as programme_bp
    from lhn.research import mydata as _research_data  # noqa: F401 - my-data receivers
    from lhn.research.views import bp as research_bp
    from lhn.search import handlers as _search_handlers  # noqa: F401 - keeps the index in step
    from lhn.search.views import bp as search_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(communities_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(measures_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(posts_bp)
    app.register_blueprint(programme_bp)
    app.register_blueprint(pro_bp)
    app.register_blueprint(research_bp)
    posts_cache.install()  # post versions for the rendered-answers cache
    app.register_blueprint(search_bp)
    _register_api(app)


def _register_api(app: Flask) -> None:
    """/api/v1: each feature's api module adds its routes to lhn.api.bp and describes them in OPENAPI_PATHS."""
    from lhn import api
    from lhn.accounts import api as accounts_api
    from lhn.attachments import api as attachments_api
    from lhn.chat import api as chat_api
    from lhn.communities import api as communities_api
    from lhn.measures import api as measures_api
    from lhn.moderation import api as moderation_api
    from lhn.notifications import api as notifications_api
    from lhn.posts import api as posts_api
    from lhn.pro import api as pro_api
    from lhn.programme import api as programme_api
    from lhn.research import api as research_api
    from lhn.search import api as search_api

    features = [accounts_api, communities_api, notifications_api, measures_api, moderation_api, chat_api]
    api.init_app(app, [*features, posts_api, programme_api, pro_api, research_api, search_api, attachments_api])


# Content Security Policy: no inline scripts, no third-party anything (no CDN leaks page views).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# Powerful browser features LHN never uses, denied to our pages and anything they embed, and the
# advertising APIs that would tell third parties which health communities someone reads.
# (FLoC's "interest-cohort" is gone from browsers; naming it only logs a console error.)
DENIED_FEATURES = (
    "accelerometer", "attribution-reporting", "bluetooth", "browsing-topics", "camera", "display-capture",
    "geolocation", "gyroscope", "hid", "idle-detection", "join-ad-interest-group", "magnetometer", "microphone",
    "midi", "payment", "run-ad-auction", "serial", "usb", "xr-spatial-tracking",
)  # fmt: skip
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)


def _origin_of(url: str) -> str:
    """The "scheme://host[:port]" of a URL, as browsers write the Origin header ("" if it has none)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def _refuse_writes_from_other_origins(app: Flask) -> None:
    """A second line behind the CSRF token, for pages and API alike: a browser's write that relies on our
    cookies must come from our own origin (the request's host, behind LHN_PROXY_FIX's trusted proxies, or
    LHN_PUBLIC_ORIGIN). Without Origin and Referer it passes: scripts and privacy tools send neither, and the
    CSRF token still applies. Bearer tokens are exempt: no page on another site can make a browser send one."""
    from flask_wtf.csrf import CSRFError

    @app.before_request
    def _same_origin_writes() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.headers.get("Authorization", "").partition(" ")[0].lower() == "bearer":
            return
        sender = request.headers.get("Origin") or request.headers.get("Referer")
        if sender is None:
            return
        own = {_origin_of(request.host_url), _origin_of(app.config["PUBLIC_ORIGIN"] or "")} - {""}
        if _origin_of(sender) not in own:  # "null" (sandboxed frames) has no origin, so it is refused too
            raise CSRFError("The request was sent from another site.")


def _register_request_hooks(app: Flask) -> None:
    from flask_login import current_user

    _refuse_writes_from_other_origins(app)

    from lhn import periodic
    from lhn.inputs import BadInput
    from lhn.mail import worker as mail_worker

    @app.before_request
    def _refuse_nul_in_address() -> None:
        # No stored text holds a NUL (markup.clean_text drops it) and PostgreSQL refuses one in any query,
        # so an address carrying one can match nothing: say so before a lookup turns it into a 500.
        args = request.args.items(multi=True)
        if "\x00" in request.path or any("\x00" in key + value for key, value in args):
            raise BadInput("The address contains a NUL character (%00); remove it.")

    @app.before_request
    def _start_background_work() -> None:  # a serving process only (never the CLI); once per process
        periodic.start(app)
        mail_worker.start(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # A window we open, or that opens us, gets no handle on the other (window.opener): no tabnabbing.
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages for a signed-in person may hold health information: never store them in caches.
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        from lhn.accounts.models import Role
        from lhn.communities.models import CommunityRole

        return {"Role": Role, "CommunityRole": CommunityRole}

    from lhn import layout

    app.context_processor(layout.template_context)  # base.html's notification count and sanction banners
