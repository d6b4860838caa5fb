"""Search over JSON: query strings go through the input boundary (lhn/inputs.py)."""

import pytest

from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error
from tests.bad_input import TOO_BIG
from tests.conftest import committed


@pytest.fixture
def community(app):
    with committed(app):
        ibd = factories.community(factories.user("clinician", username="doc", verified=True), slug="ibd")
        factories.question(ibd, title="School trips with Crohn's disease")


@pytest.mark.parametrize("query", [
    "q=trips&sort=best", "q=trips&cursor=" + encode_cursor([TOO_BIG]), "q=trips&cursor=" + encode_cursor(["x"]),
    "q=trips&sort=relevance&cursor=" + encode_cursor(["x", 1]),
    "q=trips&sort=relevance&cursor=" + encode_cursor([1.5, TOO_BIG]),
    "q=trips%E2%80%AE", "q=" + "x" * 501, "community=ibd%E2%80%AE",
])  # fmt: skip
def test_search_query_strings_that_dont_fit_are_refused(client, community, query):
    assert_error(client.get(f"/api/v1/search?{query}"), 422, "validation_failed")


def test_similar_titles_refuse_direction_controls(client, community):
    assert client.get("/api/v1/communities/ibd/similar?title=school+trip").get_json()["items"]
    assert_error(client.get("/api/v1/communities/ibd/similar?title=%E2%80%AEpirt"), 422, "validation_failed")
