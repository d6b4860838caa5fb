"""Accounts over JSON through the input boundary (the flows themselves are in tests/api/test_api.py): wrong
types are refused with the field named and never stored as text; nulls in optional fields change nothing."""

import pytest

from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import PASSWORD, committed

WRITES = [
    ("POST", "/tokens", None, {"login": "doc", "password": PASSWORD, "name": "script"},
     {"login": "text", "password": "text", "name": "text"}),
    ("PATCH", "/me", "doc", {}, {"display_name": "text?", "bio": "text?", "role": "text?", "institution": "text?",
                                 "confirm_real_name": "bool?", "show_presence": "bool?"}),
    ("POST", "/me/password", "doc", {"current_password": "wrong", "new_password": "a long new passphrase"},
     {"current_password": "text", "new_password": "text"}),
    ("POST", "/me/verification", "claimed", {"orcid": "0000-0002-1825-0097"},
     {"licence_number": "text?", "licence_issuer": "text?", "institutional_email": "text?", "orcid": "text?",
      "statement": "text?"}),
    ("POST", "/institutions", "boss", {"slug": "north", "name": "North Hospital", "kind": "hospital"},
     {"slug": "text", "name": "text", "kind": "text", "city": "text?", "country": "text?"}),
]  # fmt: skip


@pytest.fixture
def people(app):
    with committed(app):
        factories.institution(slug="south", name="South Hospital")
        factories.user("clinician", username="doc", verified=True)
        factories.user("clinician", username="claimed")
        factories.user("other", username="boss", admin=True)


@pytest.mark.parametrize(("method", "path", "who", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, people, method, path, who, body, fields):
    headers = bearer(token_for(client, who)) if who else {}
    assert_wrong_types_refused(client, method, "/api/v1" + path, body, fields, headers)
    assert_nothing_coerced(app)


def test_null_in_an_optional_profile_field_keeps_its_value(client, people):
    doc = bearer(token_for(client, "doc"))
    client.patch("/api/v1/me", json={"bio": "Paediatric gastroenterologist", "institution": "south"}, headers=doc)
    kept = client.patch("/api/v1/me", json={"bio": None, "institution": None, "show_presence": None}, headers=doc)
    assert kept.get_json()["bio"] == "Paediatric gastroenterologist"
    assert kept.get_json()["institution"]["slug"] == "south"
    cleared = client.patch("/api/v1/me", json={"institution": ""}, headers=doc)
    assert cleared.get_json()["institution"] is None
    assert_error(client.patch("/api/v1/me", json={"display_name": "\u202eeman"}, headers=doc), 422, "validation_failed")
    assert_error(client.patch("/api/v1/me", json={"institution": "Lake\u0000side"}, headers=doc), 422,
                 "validation_failed")  # fmt: skip


def test_a_deeply_nested_login_body_is_a_bad_request_not_a_crash_in_the_login_limit(client, people):
    response = client.post("/api/v1/tokens", data="[" * 100_000, content_type="application/json")
    assert_error(response, 400, "bad_request")
