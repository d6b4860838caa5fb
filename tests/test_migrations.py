"""Migrations build a fresh database that matches the models, with a single head."""

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from lhn import create_app
from lhn.extensions import db
from lhn.schema import include_object
from tests.conftest import BASE_CONFIG, PG_URL


def _fresh_url(tmp_path: Path) -> tuple[str, object]:
    if not PG_URL:
        return f"sqlite:///{tmp_path}/migrated.sqlite3", None
    server = make_url(PG_URL)
    name = f"lhn_mig_{uuid.uuid4().hex[:10]}"  # unique: runs in parallel (xdist, other checkouts) share the server
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False), (admin, name)


def test_upgrade_builds_a_database_matching_the_models(tmp_path: Path) -> None:
    url, cleanup = _fresh_url(tmp_path)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(directory=str(Path(app.root_path) / "migrations"))
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"include_object": include_object})
                diff = compare_metadata(context, db.metadata)
                tables = set(inspect(conn).get_table_names())
            db.engine.dispose()
        assert diff == []
        assert {"user_account", "community", "membership", "alembic_version"} <= tables
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_migrations_have_a_single_head(app) -> None:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(directory=str(Path(app.root_path) / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
