"""Moderation over JSON: flags (rate limited), the queue, actions with the version (409 when stale), the
log, my sanctions, my data."""

import pytest

from lhn.accounts import services as accounts
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed


@pytest.fixture
def tokens(app, cast):
    client = app.test_client()
    return {name: token_for(client, name) for name in ("rdr1", "rdr2", "mod", "doc", "othermod", "author", "boss")}


def test_flag_over_the_api(client, cast, tokens):
    made = client.post(
        "/api/v1/flags",
        headers=bearer(tokens["rdr1"]),
        json={"target_type": "fake", "target_id": cast.answer_id, "reason": "phi", "details": "a phone number"},
    )
    assert made.status_code == 201
    assert made.get_json()["reason"] == "phi"
    again = client.post(
        "/api/v1/flags",
        headers=bearer(tokens["rdr1"]),
        json={"target_type": "fake", "target_id": cast.answer_id, "reason": "spam"},
    )
    assert_error(again, 422, "validation_failed")
    assert_error(
        client.post(
            "/api/v1/flags",
            headers=bearer(tokens["rdr2"]),
            json={"target_type": "fake", "target_id": 999, "reason": "spam"},
        ),
        404,
        "not_found",
    )
    bad = client.post(
        "/api/v1/flags",
        headers=bearer(tokens["rdr2"]),
        json={"target_type": "fake", "target_id": "1", "reason": "spam"},
    )
    assert "target_id" in assert_error(bad, 422, "validation_failed")["fields"]
    assert_error(
        client.post("/api/v1/flags", json={"target_type": "fake", "target_id": 1, "reason": "spam"}),
        401,
        "unauthenticated",
    )


def test_flags_are_rate_limited_per_user_and_lower_for_new_accounts(make_app, cast):
    app = make_app(NEW_ACCOUNT_RATE_LIMITS={"flag": "2 per hour"}, RATE_LIMITS={"flag": "3 per hour"})
    client = app.test_client()
    token = token_for(client, "rdr1")
    with committed(app):
        targets = [accounts.get_user(n).id for n in ("rdr2", "mod", "vet", "author")]
    body = lambda target: {"target_type": "user", "target_id": target, "reason": "spam"}  # noqa: E731
    for target in targets[:2]:
        assert client.post("/api/v1/flags", json=body(target), headers=bearer(token)).status_code == 201
    limited = client.post("/api/v1/flags", json=body(targets[2]), headers=bearer(token))
    assert_error(limited, 429, "rate_limited")
    assert "Retry-After" in limited.headers
    other = token_for(client, "rdr2")  # counters are per user, not per address
    assert client.post("/api/v1/flags", json=body(targets[3]), headers=bearer(other)).status_code == 201
    seasoned = make_app(NEW_ACCOUNT_DAYS=0, RATE_LIMITS={"flag": "3 per hour"}).test_client()
    token = token_for(seasoned, "rdr3")
    codes = [seasoned.post("/api/v1/flags", json=body(t), headers=bearer(token)).status_code for t in targets]
    assert codes == [201, 201, 201, 429]


def test_the_queue_and_acting_with_a_version(client, cast, tokens):
    client.post(
        "/api/v1/flags",
        headers=bearer(tokens["rdr1"]),
        json={"target_type": "fake", "target_id": cast.answer_id, "reason": "misinformation"},
    )
    assert_error(client.get("/api/v1/communities/ibd/review-queue", headers=bearer(tokens["rdr2"])), 403, "forbidden")
    assert_error(
        client.get("/api/v1/communities/ibd/review-queue", headers=bearer(tokens["othermod"])), 403, "forbidden"
    )
    queue = client.get("/api/v1/communities/ibd/review-queue", headers=bearer(tokens["mod"])).get_json()
    item = queue["items"][0]
    assert (item["kind"], item["version"], item["flag_count"]) == ("flagged_content", 1, 1)
    assert item["actions"] == ["dismiss", "hide", "redact", "warn", "mute"]
    assert item["target"]["excerpt"].startswith("Try 5 mg/kg")
    assert item["flags"][0]["flagger"]["username"] == "rdr1"
    url = f"/api/v1/review-items/{item['id']}/actions"
    assert_error(
        client.post(url, json={"action": "hide", "version": 1}, headers=bearer(tokens["mod"])), 422, "validation_failed"
    )
    assert_error(
        client.post(url, json={"action": "hide", "version": 1, "reason": "x"}, headers=bearer(tokens["othermod"])),
        404,
        "not_found",
    )
    done = client.post(url, json={"action": "hide", "version": 1, "reason": "Unsafe"}, headers=bearer(tokens["mod"]))
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["resolution"], done.get_json()["version"]) == (
        "resolved",
        "hidden",
        2,
    )
    stale = client.post(url, json={"action": "dismiss", "version": 1}, headers=bearer(tokens["doc"]))
    assert "already handled" in assert_error(stale, 409, "conflict")["message"]
    detail = client.get(f"/api/v1/review-items/{item['id']}", headers=bearer(tokens["doc"])).get_json()
    assert detail["original"].startswith("Try 5 mg/kg")
    assert detail["target"]["hidden"] is True
    log = client.get("/api/v1/communities/ibd/moderation-log").get_json()["items"]
    assert [(e["action"], e["by"]["username"], e["reason"]) for e in log] == [("hidden", "mod", "Unsafe")]
    assert log[0]["target"]["url"] == "/fake/1"


def test_mute_and_my_sanctions_over_the_api(client, cast, tokens):
    client.post(
        "/api/v1/flags",
        headers=bearer(tokens["rdr1"]),
        json={"target_type": "fake", "target_id": cast.answer_id, "reason": "spam"},
    )
    item = client.get("/api/v1/review-queue", headers=bearer(tokens["boss"])).get_json()["items"][0]
    url = f"/api/v1/review-items/{item['id']}/actions"
    assert "suspend" in item["actions"]
    muted = client.post(
        url,
        json={"action": "mute", "version": item["version"], "reason": "Spam", "days": 7},
        headers=bearer(tokens["boss"]),
    )
    assert muted.status_code == 200
    mine = client.get("/api/v1/me/sanctions", headers=bearer(tokens["author"])).get_json()["items"]
    assert [(s["kind"], s["community"], s["reason"]) for s in mine] == [("mute", "ibd", "Spam")]


def test_export_over_the_api(client, cast, tokens):
    data = client.get("/api/v1/me/export", headers=bearer(tokens["author"])).get_json()
    assert data["profile"]["username"] == "author"
    assert {"memberships", "notifications", "flags", "sanctions", "api_tokens"} <= set(data)
    assert_error(client.get("/api/v1/me/export"), 401, "unauthenticated")


def test_the_site_queue_for_a_moderator_covers_their_communities_only(client, app, cast, tokens):
    with committed(app):
        factories.flag(accounts.get_user("rdr1"), cast.answer_id, "spam", target_type="fake")
    assert len(client.get("/api/v1/review-queue", headers=bearer(tokens["mod"])).get_json()["items"]) == 1
    assert client.get("/api/v1/review-queue", headers=bearer(tokens["othermod"])).get_json()["items"] == []
    assert_error(client.get("/api/v1/review-queue?kind=bogus", headers=bearer(tokens["mod"])), 422, "validation_failed")


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

WRITES = [
    ("POST", "/flags", "rdr2", {"target_type": "fake", "target_id": "{answer}", "reason": "spam"},
     {"target_type": "text", "target_id": "int", "reason": "text", "details": "text?", "community": "text?"}),
    ("POST", "/review-items/{item}/actions", "mod", {"action": "dismiss", "version": 1},
     {"action": "text", "version": "int", "reason": "text?", "days": "int?", "fragments": "texts?",
      "revision_id": "int?", "hide": "bool?"}),
    ("DELETE", "/me", "author", {"password": "not my password", "mode": "keep"}, {"password": "text", "mode": "text"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "who", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, cast, tokens, method, path, who, body, fields):
    app.config["RATE_LIMITS"] = app.config["NEW_ACCOUNT_RATE_LIMITS"] = {"flag": "1000 per hour"}
    with committed(app):
        flag = factories.flag(accounts.get_user("rdr1"), cast.answer_id, target_type="fake", reason="misinformation")
        ids = {"answer": cast.answer_id, "item": flag.review_item_id}
    body = {k: ids["answer"] if v == "{answer}" else v for k, v in body.items()}
    assert_wrong_types_refused(client, method, "/api/v1" + path.format(**ids), body, fields, bearer(tokens[who]))
    assert_nothing_coerced(app)


@pytest.mark.parametrize("query", ["kind=bogus", "status=closed", f"cursor={encode_cursor([0.5, TOO_BIG])}",
                                   f"cursor={encode_cursor(['x', 1])}"])  # fmt: skip
def test_queue_and_log_query_strings_that_dont_fit_are_refused(client, cast, tokens, query):
    for path in ("/communities/ibd/review-queue", "/review-queue"):
        assert_error(client.get(f"/api/v1{path}?{query}", headers=bearer(tokens["mod"])), 422, "validation_failed")
    if query.startswith("cursor"):
        assert_error(client.get(f"/api/v1/communities/ibd/moderation-log?{query}"), 422, "validation_failed")
