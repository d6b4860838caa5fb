"""Fixtures shared by the live tests, and .ci/run's switch that runs them on the other core."""

import os
from pathlib import Path

import pytest

from tests.live.chat_client import ChatClient


@pytest.fixture
def clients():
    """Chat clients a test makes; each is disconnected at the end, whatever happened."""
    made: list[ChatClient] = []
    yield made
    for client in made:
        client.disconnect()


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
