"""Fixtures shared by the live tests."""

import pytest

from tests.live.chat_client import ChatClient


@pytest.fixture
def clients():
    """Chat clients a test makes; each is disconnected at the end, whatever happened."""
    made: list[ChatClient] = []
    yield made
    for client in made:
        client.disconnect()
