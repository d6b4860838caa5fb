"""Reads that decide whether a stored page can be served (every such request): one light statement outside the
request's Session, on a pooled connection that goes back at once, where the Session's begin, close and removal
cost more than the query. They see what is committed, so never use them for what a write depends on."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import Executable, Row
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from lhn.config import LIGHT_READS
from lhn.database import LIGHT_READ


def first(statement: Executable, **params: Any) -> Row[Any] | None:
    """The first row of `statement`. Build it once, with bindparam()s that `params` fill: building a select and its
    cache key on each call cost as much as the rest of the read (150 -> 78 µs on SQLite, bench/README.md).
    On a server database the connection comes from a pool without a ping before each checkout (config.LIGHT_READS:
    the ping was one round trip of two), and the read runs outside a transaction (no BEGIN and ROLLBACK), so it may
    run inside a request's write transaction without waiting for that request's lock."""
    db = current_app.extensions["sqlalchemy"]
    engine = db.engines.get(LIGHT_READS, db.engine)
    try:
        return _first_row(engine, statement, params)
    except DBAPIError as error:
        if not error.connection_invalidated:  # the database dropped the connection (restarted): no ping caught it
            raise
        return _first_row(engine, statement, params)


def _first_row(engine: Engine, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
    with engine.connect() as connection:
        # Marked, so that the request's transaction machinery leaves it alone (database._sqlite_begin).
        options: dict[str, Any] = {LIGHT_READ: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        return connection.execution_options(**options).execute(statement, params).first()
