"""Fixtures: an app on its own database (SQLite file, or PostgreSQL when LHN_TEST_DATABASE_URL is set),
clients, a login helper, and a query counter."""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule

from lhn import create_app
from lhn.extensions import db as _db
from tests.forms import MarkingLoader

PASSWORD = "correct horse battery"
PG_URL = os.environ.get("LHN_TEST_DATABASE_URL", "")

BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
    "WTF_CSRF_ENABLED": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,
    "ARGON2_PARALLELISM": 1,
    "LOGIN_RATE_LIMIT": "1000 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "CHAT_RATE_LIMIT": "1000 per minute",  # chat: tests that check the limit set their own
}


def pytest_report_header(config: pytest.Config) -> str:
    return f"LHN test database: {'PostgreSQL ' + make_url(PG_URL).database if PG_URL else 'SQLite (temp files)'}"


# --- every form submitted: tests/test_form_coverage.py -------------------------------------------------------

FORM_COVERAGE = "tests/test_form_coverage.py::test_every_form_in_the_templates_is_submitted_by_some_test"
PARTIAL = pytest.StashKey[str]()  # what a run leaves out of the tests that submit forms, or "" for none
_deselected: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected.extend(items)


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected theirs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests that use no database (the SQLite run has them): those without the
    database fixtures, in modules that don't import PG_URL to open databases of their own. Run the form coverage
    check last, and tell it whether this run includes every test that can submit a form: all of each module that
    uses tests/forms.py, but for live and browser tests (they drive real servers)."""
    if PG_URL:
        database_free = {item for item in items
                         if "database_template" not in getattr(item, "fixturenames", ())
                         and not hasattr(getattr(item, "module", None), "PG_URL")}  # fmt: skip
        if database_free:
            config.hook.pytest_deselected(items=list(database_free))
            items[:] = [item for item in items if item not in database_free]
    check = [item for item in items if item.nodeid == FORM_COVERAGE]
    if not check:
        return
    items.remove(check[0])
    items.append(check[0])
    root = Path(__file__).parent
    users = {p for p in root.rglob("test_*.py") if "from tests.forms import" in p.read_text(encoding="utf-8")}
    collected = {Path(str(item.path)) for item in [*items, *_deselected]}
    left_out = [p.relative_to(root.parent).as_posix() for p in sorted(users - collected)]
    left_out += [item.nodeid for item in _deselected
                 if Path(str(item.path)) in users and item.get_closest_marker("live") is None]  # fmt: skip
    config.stash[PARTIAL] = ", ".join(left_out[:5]) + (f" and {len(left_out) - 5} more" if len(left_out) > 5 else "")


# --- database per session, reset per test ------------------------------------------------------------


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the full schema: a SQLite file to copy, or a fresh PostgreSQL database."""
    if PG_URL:
        server = make_url(PG_URL)
        name = f"lhn_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        _build_schema(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _build_schema(f"sqlite:///{path}")
        yield str(path)


def _build_schema(url: str) -> None:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        _db.create_all()
        for engine in _db.engines.values():
            engine.dispose()


@contextmanager
def empty_database(template: str, directory: Path) -> Iterator[str]:
    """A database with the schema and no rows: a copy of the SQLite template in `directory`, or the PostgreSQL
    template database itself, emptied afterwards (tests run one at a time, so they take turns)."""
    if PG_URL:
        yield template
        engine = create_engine(template)
        with engine.begin() as conn:
            empty_postgres(conn)
        engine.dispose()
    else:
        path = directory / "lhn.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"


def empty_postgres(conn: Connection) -> None:
    """Delete every row and restart every id at 1, in one round trip. DELETE rather than TRUNCATE: TRUNCATE gives
    each of the ~40 tables new files (0.8 s per test on the CI machine, most of the PostgreSQL run), while deleting
    the few rows a test wrote takes about 10 ms. Foreign keys are not checked meanwhile, so any order will do."""
    names = "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
    sequences = conn.execute(text(names))
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f'DELETE FROM "{table.name}"' for table in _db.metadata.sorted_tables]  # noqa: S608 - our tables
    statements += [f"SELECT setval('{name}', 1, false)" for (name,) in sequences]
    conn.exec_driver_sql("; ".join(statements))


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    with empty_database(database_template, tmp_path) as url:
        yield url


# --- one app per test, built cheaply --------------------------------------------------------------------------
# Every test builds its own app (own database, own config). Most of that cost was work that comes out the same each
# time: Werkzeug compiling a URL builder for each of ~370 rules (about 0.22 s of an app's 0.28 s) and Jinja
# compiling each template a test renders. Both are kept for the test process; what each app does with them is
# unchanged.
#
# The process also keeps a large heap between tests (SQLAlchemy's mappers cache the statements compiled for each
# test's engine, up to their limits), which Python's default thresholds scanned whole about every third test: 40 %
# of the run's time. Fewer, larger young collections leave the old generation alone for longer; cycles still go.
gc.set_threshold(50_000, 20, 20)


class _SharedTemplateCode(BytecodeCache):
    """Compiled templates shared by the test apps: Jinja still reads each source and checks its checksum."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


SHARED_TEMPLATE_CODE = _SharedTemplateCode()
_compile_url_builder = Rule._compile_builder
_url_builders: dict[tuple[Any, ...], Any] = {}


def _shared_url_builder(rule: Rule, append_unknown: bool = True) -> Any:
    """A rule's URL builder is a plain function of its text, its parsed parts and its defaults (the app binds it to
    the rule), so rules alike share one. This replaces a Werkzeug private method: tests/test_harness.py checks that
    every shared builder is the one Werkzeug would compile, and a missing attribute fails here loudly."""
    defaults = tuple(sorted((name, repr(value)) for name, value in (rule.defaults or {}).items()))
    key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
    if key not in _url_builders:
        _url_builders[key] = _compile_url_builder(rule, append_unknown)
    return _url_builders[key]


Rule._compile_builder = _shared_url_builder  # type: ignore[method-assign]


@contextmanager
def _apps(database_url: str, directory: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        app.jinja_env.loader = MarkingLoader(app.jinja_env.loader)  # forms say their template: tests/forms.py
        app.jinja_env.bytecode_cache = SHARED_TEMPLATE_CODE
        app.instance_path = str(directory / "instance")
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            _db.session.remove()
            for engine in _db.engines.values():  # the app's pool and, on PostgreSQL, light_reads'
                engine.dispose()


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    with _apps(database_url, tmp_path) as factory:
        yield factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture(scope="module")
def module_app(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and database shared by a module's tests: for a large parametrised matrix whose cells each
    build their own data (a community per cell), where a fresh database per cell would dominate the time.

    Give it a module of its own: on PostgreSQL every app uses the one test database, which the function-scoped
    `app` empties after each test."""
    directory = tmp_path_factory.mktemp("module")
    with empty_database(database_template, directory) as url, _apps(url, directory) as factory:
        yield factory()


@pytest.fixture
def ibd(ctx: None) -> Any:
    """Inside an app context: the Pediatric IBD community, owned by doc (tests/factories.py pediatric_ibd)."""
    from tests import factories

    return factories.pediatric_ibd()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An app context for service tests. Don't use the test client inside it: requests would share it."""
    with app.app_context():
        yield
        _db.session.rollback()


@contextmanager
def committed(app: Flask) -> Iterator[None]:
    """Set up data through services and commit it, outside any request."""
    with app.app_context():
        yield
        _db.session.commit()


def login(client: FlaskClient, username: str, password: str = PASSWORD, remember: bool = False) -> Any:
    response = client.post(
        "/login", data={"login": username, "password": password, "remember": "y" if remember else ""}
    )
    assert response.status_code == 302, f"login failed for {username}"
    return response


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as queries: ...` then `len(queries)`: SQL statements run meanwhile."""

    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT")):
                statements.append(statement)

        with app.app_context():
            engines = list(_db.engines.values())  # the app's pool and, on PostgreSQL, light_reads'
        for engine in engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", record)

    return counter


# --- the real server --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_database_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.servers import build_demo_database

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    build_demo_database(path)
    return path


@pytest.fixture(scope="session")
def live_server(demo_database_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """gunicorn on a loopback port over a copy of the demo database, shared by a session's tests."""
    from tests.servers import LiveServer

    directory = tmp_path_factory.mktemp("live")
    shutil.copy(demo_database_template, directory / "lhn.sqlite3")
    server = LiveServer(f"sqlite:///{directory / 'lhn.sqlite3'}", log_path=directory / "server.log").start()
    yield server
    server.stop()


# --- real-time (chat) ----------------------------------------------------------------------------------


@pytest.fixture
def socket_client(app: Flask) -> Callable[..., Any]:
    """socket_client("username") -> a Flask-SocketIO test client with that user's logged-in session
    (socket_client() for an anonymous one). `.emit(event, data, callback=True)` returns the ack;
    `.get_received()` lists the events pushed to it. See tests/chat/test_sockets.py."""
    from lhn.extensions import socketio

    def factory(username: str | None = None) -> Any:
        http = app.test_client()
        if username:
            login(http, username)
        return socketio.test_client(app, flask_test_client=http)

    return factory
