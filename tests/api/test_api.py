"""The JSON API: token auth, CSRF on cookie sessions, the error JSON and its status codes, OpenAPI coverage."""

import re

import pytest

from tests import factories
from tests.conftest import PASSWORD, committed, login


def token_for(client, username: str) -> str:
    response = client.post("/api/v1/tokens", json={"login": username, "password": PASSWORD, "name": "tests"})
    assert response.status_code == 201
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def people(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        factories.community(doc, slug="ibd", name="Pediatric IBD")
        cf = factories.community(doc, slug="cf-care", name="CF", restricted=True)
        factories.member(cf, factories.user("patient", username="cfteen"))
        factories.user("patient", username="intruder")


# --- token auth -----------------------------------------------------------------------------------


def test_token_valid_revoked_missing_and_wrong(app, client, people):
    token = token_for(client, "intruder")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["username"] == "intruder"
    assert me.get_json()["role"] == "patient"
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    wrong = client.get("/api/v1/me", headers=bearer("lhn_not-a-real-token"))
    assert_error(wrong, 401, "invalid_token")
    assert "Bearer" in wrong.headers["WWW-Authenticate"]
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "invalid_token")
    token_id = client.get("/api/v1/tokens", headers=bearer(token)).get_json()["items"][0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(token)).status_code == 204
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "invalid_token")


def test_creating_a_token_needs_the_right_password_and_a_name(client, people):
    assert_error(client.post("/api/v1/tokens", json={"login": "intruder", "password": "nope", "name": "x"}), 401,
                 "unauthenticated")  # fmt: skip
    assert_error(client.post("/api/v1/tokens", json={"login": "ghost", "password": "nope", "name": "x"}), 401,
                 "unauthenticated")  # fmt: skip
    error = assert_error(client.post("/api/v1/tokens", json={"login": "intruder", "password": PASSWORD}), 422,
                         "validation_failed")  # fmt: skip
    assert "name" in error["fields"]


def test_a_bad_bearer_token_is_refused_even_with_a_valid_cookie(app, people):
    client = app.test_client()
    login(client, "intruder")
    assert client.get("/api/v1/me").status_code == 200
    assert_error(client.get("/api/v1/me", headers=bearer("lhn_wrong")), 401, "invalid_token")


def test_token_creation_is_rate_limited(make_app, people):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for _ in range(2):
        client.post("/api/v1/tokens", json={"login": "intruder", "password": "nope", "name": "x"})
    limited = client.post("/api/v1/tokens", json={"login": "intruder", "password": PASSWORD, "name": "x"})
    assert_error(limited, 429, "rate_limited")


# --- CSRF on cookie sessions ------------------------------------------------------------------------


def test_cookie_sessions_need_the_csrf_header_on_writes_but_tokens_do_not(make_app, people):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"login": "intruder", "password": PASSWORD, "csrf_token": csrf})
    body = {"accept_guidelines": True}
    assert_error(client.post("/api/v1/communities/ibd/join", json=body), 403, "csrf_failed")
    meta = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    joined = client.post("/api/v1/communities/ibd/join", json=body, headers={"X-CSRFToken": meta})
    assert joined.status_code == 200
    token = token_for(app.test_client(), "doc")
    assert app.test_client().post("/api/v1/communities/ibd/join", json=body, headers=bearer(token)).status_code == 200


def test_an_anonymous_write_is_401_not_a_csrf_failure(make_app, people):
    """The README promises 401 to a client that isn't authenticated; a CSRF 403 would send it looking
    for a header it doesn't need."""
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/api/v1/communities/ibd/join", json={"accept_guidelines": True})
    assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_error(client.delete("/api/v1/tokens/1"), 401, "unauthenticated")
    assert client.get("/api/v1/me").headers["WWW-Authenticate"] == "Bearer"
    # Logging in for a token needs no session, and a logged-in cookie session still needs the CSRF header.
    token_for(client, "intruder")
    login_page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"login": "intruder", "password": PASSWORD, "csrf_token": csrf})
    assert_error(client.post("/api/v1/communities/ibd/join", json={"accept_guidelines": True}), 403, "csrf_failed")


# --- error JSON --------------------------------------------------------------------------------------


def test_error_json_and_status_codes(client, people):
    token = token_for(client, "intruder")
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/api/v1/communities/no-such"), 404, "not_found")
    assert_error(client.delete("/api/v1/communities"), 405, "method_not_allowed")
    assert_error(client.post("/api/v1/communities/ibd/join", data="not json", headers=bearer(token)), 400,
                 "bad_request")  # fmt: skip
    assert_error(client.post("/api/v1/communities/ibd/join", json=[1, 2], headers=bearer(token)), 400, "bad_request")
    error = assert_error(client.post("/api/v1/communities/ibd/join", json={}, headers=bearer(token)), 422,
                         "validation_failed")  # fmt: skip
    assert "accept_guidelines" in error["fields"]
    assert_error(client.post("/api/v1/communities", json={"name": "x"}, headers=bearer(token)), 403, "forbidden")
    assert_error(client.get("/api/v1/communities?cursor=%%%"), 422, "validation_failed")


def test_oversized_bodies_get_413_json(make_app, people):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/api/v1/tokens", data="x" * 5000, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_an_unexpected_error_is_a_generic_500_json(app, people, monkeypatch):
    from lhn.communities import services

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services, "list_communities", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/api/v1/communities")
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in error["message"]
    page = app.test_client().get("/")
    assert page.status_code == 500
    assert "secret" not in page.text
    assert "Something went wrong" in page.text


# --- communities over JSON ------------------------------------------------------------------------


def test_restricted_community_over_the_api_for_a_logged_in_non_member(client, people):
    token = token_for(client, "intruder")
    community = client.get("/api/v1/communities/cf-care", headers=bearer(token)).get_json()
    assert community["can_read"] is False
    assert "guidelines_html" not in community
    assert community["description_html"]
    assert_error(client.get("/api/v1/communities/cf-care/members", headers=bearer(token)), 403, "forbidden")
    assert_error(client.get("/api/v1/communities/cf-care/join-requests", headers=bearer(token)), 403, "forbidden")
    joined = client.post("/api/v1/communities/cf-care/join", json={"accept_guidelines": True, "message": "hi"},
                         headers=bearer(token))  # fmt: skip
    assert joined.status_code == 202
    assert joined.get_json()["status"] == "requested"
    doc = token_for(client, "doc")
    requests = client.get("/api/v1/communities/cf-care/join-requests", headers=bearer(doc)).get_json()["items"]
    assert [r["person"]["username"] for r in requests] == ["intruder"]
    bad = client.post(f"/api/v1/join-requests/{requests[0]['id']}", json={"decision": "maybe"}, headers=bearer(doc))
    assert "decision" in assert_error(bad, 422, "validation_failed")["fields"]
    ok = client.post(f"/api/v1/join-requests/{requests[0]['id']}", json={"decision": "approve"}, headers=bearer(doc))
    assert ok.get_json()["status"] == "approved"
    assert_error(client.post(f"/api/v1/join-requests/{requests[0]['id']}", json={"decision": "approve"},
                             headers=bearer(doc)), 409, "conflict")  # fmt: skip
    members = client.get("/api/v1/communities/cf-care/members", headers=bearer(token)).get_json()["items"]
    assert {m["username"] for m in members} == {"doc", "cfteen", "intruder"}


def test_public_community_members_show_badges_and_roles(client, people):
    members = client.get("/api/v1/communities/ibd/members").get_json()["items"]
    assert members == [
        {
            "username": "doc",
            "display_name": members[0]["display_name"],
            "role": "clinician",
            "verification": "verified",
            "is_admin": False,
            "is_verifier": False,
            "institution": None,
            "community_role": "owner",
            "joined_at": members[0]["joined_at"],
        }
    ]


def test_create_join_leave_and_moderators_over_the_api(client, people):
    doc = token_for(client, "doc")
    teen = token_for(client, "intruder")
    created = client.post("/api/v1/communities", headers=bearer(doc), json={
        "name": "Type 1 Diabetes", "condition_name": "Type 1 diabetes", "guidelines": "Be kind",
        "condition_system": "icd-10", "condition_code": "E10.9"})  # fmt: skip
    assert created.status_code == 201
    assert created.get_json()["my_role"] == "owner"
    bad = client.post("/api/v1/communities", headers=bearer(doc), json={"name": "", "condition_name": ""})
    assert {"name", "condition_name", "guidelines"} <= set(assert_error(bad, 422, "validation_failed")["fields"])
    assert client.post("/api/v1/communities/type-1-diabetes/join", json={"accept_guidelines": True},
                       headers=bearer(teen)).get_json()["status"] == "joined"  # fmt: skip
    assert_error(client.put("/api/v1/communities/type-1-diabetes/members/intruder", json={"role": "moderator"},
                            headers=bearer(teen)), 403, "forbidden")  # fmt: skip
    promoted = client.put("/api/v1/communities/type-1-diabetes/members/intruder", json={"role": "moderator"},
                          headers=bearer(doc))  # fmt: skip
    assert promoted.get_json()["community_role"] == "moderator"
    mine = client.get("/api/v1/me/communities", headers=bearer(teen)).get_json()["items"]
    assert [c["slug"] for c in mine] == ["type-1-diabetes"]
    assert client.post("/api/v1/communities/type-1-diabetes/leave", headers=bearer(teen)).status_code == 204
    patched = client.patch("/api/v1/communities/type-1-diabetes", json={"visibility": "restricted"},
                           headers=bearer(doc))  # fmt: skip
    assert patched.get_json()["visibility"] == "restricted"


def test_verification_over_the_api(client, people):
    with client.application.app_context():
        pass
    claimed = client.post("/api/v1/tokens", json={"login": "doc", "password": PASSWORD, "name": "x"})
    assert claimed.status_code == 201
    teen = token_for(client, "intruder")
    refused = client.post("/api/v1/me/verification", json={"orcid": "0000-0002-1825-0097"}, headers=bearer(teen))
    assert_error(refused, 422, "validation_failed")
    client.patch("/api/v1/me", json={"role": "researcher"}, headers=bearer(teen))
    submitted = client.post("/api/v1/me/verification", json={"orcid": "0000-0002-1825-0097"}, headers=bearer(teen))
    assert submitted.status_code == 201
    assert client.get("/api/v1/users/intruder").get_json()["verification"] == "claimed"


def test_institutions_and_public_profiles(client, app):
    with committed(app):
        factories.institution(slug="north", name="North Hospital", kind="clinic")
        factories.user(username="alice")
    assert client.get("/api/v1/institutions").get_json()["items"][0] == {
        "slug": "north",
        "name": "North Hospital",
        "kind": "clinic",
        "city": "Leeds",
        "country": "United Kingdom",
    }
    profile = client.get("/api/v1/users/alice").get_json()
    assert "email" not in profile
    assert_error(client.get("/api/v1/users/ghost"), 404, "not_found")


def test_verification_history_and_notes_only_for_the_person_and_site_admins(app, people):
    from lhn.accounts import services as accounts

    with committed(app):
        admin = factories.user("other", username="staff", admin=True)
        applicant = factories.user("researcher", username="rae")
        request = accounts.submit_verification(applicant, orcid="0000-0002-1825-0097")
        accounts.decide_verification(
            request.id, by=admin, approve=False, note="This ORCID iD belongs to someone else"
        )
    anonymous = app.test_client()
    profile = anonymous.get("/api/v1/users/rae").get_json()
    assert profile["verification"] == "claimed"  # the public badge
    assert profile["verification_history"] == []
    assert "someone else" not in anonymous.get("/u/rae").text
    for username in ("intruder", "rae", "staff"):
        client = app.test_client()
        login(client, username)
        history = client.get("/api/v1/users/rae").get_json()["verification_history"]
        page = client.get("/u/rae").text
        if username == "intruder":
            assert history == []
            assert "someone else" not in page
        else:
            assert [h["note"] for h in history] == ["This ORCID iD belongs to someone else"]
            assert history[0]["decided_by"]["username"] == "staff"
            assert "This ORCID iD belongs to someone else" in page


def test_openapi_says_a_profile_needs_no_login(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/users/{username}"]["get"]
    assert operation["security"] == []
    # Only a wrong or revoked bearer token is refused (401); no token is fine.
    assert operation["responses"]["401"]["description"] == "Not authenticated, or the bearer token is revoked or wrong"


# --- the OpenAPI document ---------------------------------------------------------------------------


def test_openapi_lists_every_api_route_and_nothing_else(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                if status >= "400" and status != "414":  # 414 comes from the HTTP server, before the app
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def _schemas_in(schema):
    """Every (sub)schema of a request schema, depth first."""
    yield schema
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _schemas_in(schema[key])
    for sub in schema.get("properties", {}).values():
        yield from _schemas_in(sub)
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _schemas_in(sub)


def test_openapi_describes_what_the_input_boundary_accepts(client):
    """Request bodies and parameters say their types, integers their range (what the database holds), objects
    their required fields; every operation that parses a body or a query string documents 400/422."""
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert "400" in op["responses"], where  # any address may carry a NUL, refused before routing
            params = op.get("parameters", [])
            schemas = [p["schema"] for p in params]
            if "requestBody" in op:
                content = op["requestBody"]["content"]  # JSON, or a form with a file (attachments)
                body = (content.get("application/json") or content["multipart/form-data"])["schema"]
                assert body["type"] == "object", where
                assert {"400", "422"} <= set(op["responses"]), where
                schemas.append(body)
            if any(p["in"] == "query" for p in params):
                assert "422" in op["responses"], where
            for p in params:
                if p["in"] == "path" and p["schema"].get("type") == "integer":
                    assert (p["schema"]["minimum"], p["schema"]["maximum"]) == (1, 2**31 - 1), where
            for schema in (s for top in schemas for s in _schemas_in(top)):
                assert {"type", "enum", "const", "oneOf", "anyOf", "allOf"} & set(schema), (where, schema)
                types = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
                if "integer" in types:  # an INTEGER column's range (PostgreSQL's 4 bytes)
                    assert "enum" in schema or schema["maximum"] <= 2**31 - 1, (where, schema)
                if "number" in types:  # a decimal, stored as double precision
                    assert "enum" in schema or schema["maximum"] <= 2**63 - 1, (where, schema)
                if "required" in schema:
                    assert set(schema["required"]) <= set(schema["properties"]), (where, schema)
