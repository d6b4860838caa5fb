"""Communities over JSON through the input boundary (the flows themselves are in tests/api/test_api.py):
wrong types are refused with the field named, never stored as text; query strings that don't fit are refused."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed

COMMUNITY = {"name": "Type 1 Diabetes", "condition_name": "Type 1 diabetes", "guidelines": "Be kind"}
COMMUNITY_FIELDS = {"name": "text", "condition_name": "text", "guidelines": "text", "slug": "text?",
                    "condition_code": "text?", "condition_system": "text?", "description": "text?",
                    "visibility": "text?"}  # fmt: skip
WRITES = [
    ("POST", "/communities", "doc", COMMUNITY, COMMUNITY_FIELDS),
    ("PATCH", "/communities/ibd", "doc", {}, dict.fromkeys(COMMUNITY_FIELDS, "text?")),
    ("POST", "/communities/ibd/join", "teen", {"accept_guidelines": True},
     {"accept_guidelines": "bool", "message": "text?"}),
    ("POST", "/communities/cf-care/join", "teen", {"accept_guidelines": True, "message": "Hello"},
     {"accept_guidelines": "bool", "message": "text?"}),
    ("PUT", "/communities/ibd/members/member", "doc", {"role": "moderator"}, {"role": "text"}),
    ("POST", "/join-requests/{join_request}", "doc", {"decision": "approve"}, {"decision": "text", "note": "text?"}),
    ("POST", "/verification-requests/{verification}", "boss", {"decision": "approve"},
     {"decision": "text", "note": "text?"}),
]  # fmt: skip


@pytest.fixture
def world(app):
    """ibd (public) and cf (restricted) owned by doc, with a member, a pending join request and a pending
    verification request; teen belongs to neither; boss is a site admin."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd")
        cf = factories.community(doc, slug="cf-care", restricted=True)
        factories.member(ibd, factories.user("patient", username="member"))
        factories.user("patient", username="teen")
        factories.user("other", username="boss", admin=True)
        asking = communities.request_to_join(factories.user("caregiver"), cf, accept_guidelines=True)
        claim = accounts.submit_verification(factories.user("researcher"), orcid="0000-0002-1825-0097")
        return {"join_request": asking.id, "verification": claim.id}


@pytest.mark.parametrize(("method", "path", "who", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, world, method, path, who, body, fields):
    url = "/api/v1" + path.format(**world)
    assert_wrong_types_refused(client, method, url, body, fields, bearer(token_for(client, who)))
    assert_nothing_coerced(app)


@pytest.mark.parametrize("query", [f"cursor={encode_cursor(['ibd', TOO_BIG])}", f"cursor={encode_cursor([1, 1])}",
                                   "q=%E2%80%AEdbi", "q=" + "x" * 501])  # fmt: skip
def test_directory_query_strings_that_dont_fit_are_refused(client, world, query):
    assert_error(client.get(f"/api/v1/communities?{query}"), 422, "validation_failed")


@pytest.mark.parametrize("query", [f"cursor={encode_cursor([TOO_BIG])}", f"cursor={encode_cursor(['x'])}",
                                   "role=%E2%80%AE"])  # fmt: skip
def test_member_list_query_strings_that_dont_fit_are_refused(client, world, query):
    assert_error(client.get(f"/api/v1/communities/ibd/members?{query}"), 422, "validation_failed")
