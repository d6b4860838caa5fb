"""Fixtures shared by the live tests, and .ci/run's switch that runs them on the other core."""

import os
import shutil
from pathlib import Path

import pytest

from tests.live.chat_client import ChatClient
from tests.servers import LiveServer, create_postgres_database, flask_command, postgres_available


@pytest.fixture
def clients():
    """Chat clients a test makes; each is disconnected at the end, whatever happened."""
    made: list[ChatClient] = []
    yield made
    for client in made:
        client.disconnect()


# The demo served by gunicorn, once per test module, on SQLite and on PostgreSQL: PostgreSQL refuses what SQLite takes
# (a NUL in text, an id beyond its 4-byte INTEGER) and lets two transactions write at once (tests/live/test_races.py).
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_server(request, demo_database_template, tmp_path_factory):
    """(server, its work folder); rate limits are out of the way."""
    work = tmp_path_factory.mktemp("demo_server")
    drop = None
    if request.param == "sqlite":
        shutil.copy(demo_database_template, work / "lhn.sqlite3")
        database_url = f"sqlite:///{work / 'lhn.sqlite3'}"
    else:
        if not postgres_available():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
        database_url, drop = create_postgres_database("lhn_live_demo")
        flask_command(database_url, "db", "upgrade")
        flask_command(database_url, "lhn", "seed-demo")
    unlimited = {"LHN_CHAT_RATE_LIMIT": "100000 per minute", "LHN_WRITE_RATE_LIMIT": "100000 per minute"}
    live = LiveServer(database_url, env=unlimited, log_path=work / "server.log").start(60)
    yield live, work
    live.stop()
    if drop is not None:
        drop()


APART = pytest.mark.skip(reason="LHN_LIVE_RUN_APART=1: .ci/run runs tests/live beside the PostgreSQL suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """LHN_LIVE_RUN_APART=1 (the SQLite suite in .ci/run): skip this folder's tests, which .ci/run runs on the other
    core after the PostgreSQL suite. Their servers are subprocesses, so they add nothing to the suite's coverage."""
    if os.environ.get("LHN_LIVE_RUN_APART") != "1":
        return
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(APART)
