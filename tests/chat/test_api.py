"""Chat over JSON: channels, history by keyset, sending (same service as the socket), edits, hides."""

import pytest

from lhn.chat import services as chat
from lhn.chat.models import GENERAL
from lhn.communities import services as communities
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed


@pytest.fixture
def people(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        community = factories.community(doc, slug="ibd")
        factories.member(community, factories.user("patient", username="teen"))
        factories.member(community, factories.user("caregiver", username="mod"), role="moderator")
        factories.user("patient", username="intruder")
        return chat.find_channel(community, GENERAL).id


def test_channels_are_for_members(client, people):
    teen = bearer(token_for(client, "teen"))
    listed = client.get("/api/v1/communities/ibd/channels", headers=teen)
    assert listed.status_code == 200
    assert [c["name"] for c in listed.get_json()["items"]] == ["general"]
    assert listed.get_json()["items"][0]["unread"] == 0
    assert_error(client.get("/api/v1/communities/ibd/channels"), 401, "unauthenticated")
    intruder = bearer(token_for(client, "intruder"))
    assert_error(client.get("/api/v1/communities/ibd/channels", headers=intruder), 403, "forbidden")
    assert_error(client.get(f"/api/v1/channels/{people}/messages", headers=intruder), 404, "not_found")
    sent = client.post(f"/api/v1/channels/{people}/messages", headers=intruder, json={"body": "hi"})
    assert_error(sent, 404, "not_found")


def test_moderators_add_channels(client, people):
    mod = bearer(token_for(client, "mod"))
    made = client.post("/api/v1/communities/ibd/channels", headers=mod,
                       json={"name": "clinicians-only", "topic": "Cases", "roles": ["clinician"]})  # fmt: skip
    assert made.status_code == 201
    assert made.get_json()["roles"] == ["clinician"]
    assert made.get_json()["patient_space"] is False
    teen = bearer(token_for(client, "teen"))
    assert_error(client.post("/api/v1/communities/ibd/channels", headers=teen, json={"name": "x"}), 403, "forbidden")
    bad = client.post("/api/v1/communities/ibd/channels", headers=mod, json={"name": "x", "roles": "clinician"})
    assert_error(bad, 422, "validation_failed")


def test_send_is_idempotent_and_history_pages_by_keyset(client, people):
    teen = bearer(token_for(client, "teen"))
    url = f"/api/v1/channels/{people}/messages"
    first = client.post(url, headers=teen, json={"body": "Hello **there**", "client_id": "api-1"})
    assert first.status_code == 201
    assert first.get_json()["body_html"] == "<p>Hello <strong>there</strong></p>"
    again = client.post(url, headers=teen, json={"body": "Hello **there**", "client_id": "api-1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    for n in range(4):
        client.post(url, headers=teen, json={"body": f"m{n}"})
    latest = client.get(url + "?limit=2", headers=teen).get_json()
    assert [m["body"] for m in latest["items"]] == ["m2", "m3"]
    assert latest["last_seq"] == 5
    older = client.get(url + f"?limit=2&before={latest['next_cursor']}", headers=teen).get_json()
    assert [m["body"] for m in older["items"]] == ["m0", "m1"]
    after = client.get(url + f"?after={first.get_json()['id']}&limit=10", headers=teen).get_json()
    assert [m["body"] for m in after["items"]] == ["m0", "m1", "m2", "m3"]
    assert after["next_cursor"] is None
    assert_error(client.get(url + "?before=abc", headers=teen), 422, "validation_failed")
    assert_error(client.get(url + "?before=3&after=1", headers=teen), 422, "validation_failed")
    assert_error(client.post(url, headers=teen, json={"body": ""}), 422, "validation_failed")
    blank = assert_error(client.post(url, headers=teen, json={"body": "  \n "}), 422, "validation_failed")
    assert blank["fields"]["body"] == "Write something first."  # the words the composer shows without a round trip
    assert_error(client.post(url, headers=teen, json={"body": "x" * 4001}), 422, "validation_failed")
    assert_error(client.post(url, headers=teen, data="nope"), 400, "bad_request")


def test_rate_limited_sends_answer_429_with_retry_after(make_app, people):
    app = make_app(CHAT_RATE_LIMIT="1 per minute")
    client = app.test_client()
    teen = bearer(token_for(client, "teen"))
    url = f"/api/v1/channels/{people}/messages"
    assert client.post(url, headers=teen, json={"body": "one"}).status_code == 201
    limited = client.post(url, headers=teen, json={"body": "two"})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_edit_delete_hide_and_unhide(client, people):
    teen, mod = bearer(token_for(client, "teen")), bearer(token_for(client, "mod"))
    message = client.post(f"/api/v1/channels/{people}/messages", headers=teen, json={"body": "draft"}).get_json()
    url = f"/api/v1/messages/{message['id']}"
    assert_error(client.patch(url, headers=mod, json={"body": "not yours"}), 403, "forbidden")
    edited = client.patch(url, headers=teen, json={"body": "final"})
    assert edited.get_json()["body"] == "final"
    assert edited.get_json()["edited_at"]
    assert_error(client.post(url + "/hide", headers=teen, json={"reason": "x"}), 403, "forbidden")
    assert_error(client.post(url + "/hide", headers=mod, json={}), 422, "validation_failed")
    assert client.post(url + "/hide", headers=mod, json={"reason": "Personal details"}).status_code == 200
    assert_error(client.post(url + "/hide", headers=mod, json={"reason": "again"}), 409, "conflict")
    with client.application.app_context():
        doc_view = client.get(f"/api/v1/channels/{people}/messages", headers=teen).get_json()["items"][0]
    assert doc_view["body"] == "final"  # the author still sees it
    assert client.delete(url + "/hide", headers=mod).get_json()["hidden"] is None
    assert client.delete(url, headers=teen).status_code == 204
    assert_error(client.delete(url, headers=teen), 403, "forbidden")
    gone = client.get(f"/api/v1/channels/{people}/messages", headers=teen).get_json()["items"][0]
    assert gone["deleted"]
    assert gone["body"] is None


def test_new_communities_get_general_through_the_api(client, people):
    doc = bearer(token_for(client, "doc"))
    made = client.post("/api/v1/communities", headers=doc,
                       json={"name": "Asthma kids", "condition_name": "Asthma", "guidelines": "Be kind."})  # fmt: skip
    slug = made.get_json()["slug"]
    assert [c["name"] for c in client.get(f"/api/v1/communities/{slug}/channels", headers=doc).get_json()["items"]] == [
        "general"
    ]
    with client.application.app_context():
        assert communities.get_community(slug)


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

WRITES = [
    ("POST", "/communities/ibd/channels", "mod", {"name": "clinicians-only"},
     {"name": "text", "topic": "text?", "roles": "texts?"}),
    ("POST", "/channels/{channel}/messages", "teen", {"body": "Hello"},
     {"body": "text", "client_id": "text?", "confirm_phi": "bool?"}),
    ("PUT", "/channels/{channel}/slow-mode", "mod", {"seconds": 10}, {"seconds": "int"}),
    ("PATCH", "/messages/{message}", "teen", {"body": "Edited"}, {"body": "text", "confirm_phi": "bool?"}),
    ("POST", "/messages/{message}/hide", "mod", {"reason": "Off topic"}, {"reason": "text"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "who", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, people, method, path, who, body, fields):
    with committed(app):
        from lhn.accounts import services as accounts

        message_id = factories.chat_message(people, accounts.get_user("teen"), "Hi").id
    url = "/api/v1" + path.format(channel=people, message=message_id)
    assert_wrong_types_refused(client, method, url, body, fields, bearer(token_for(client, who)))
    assert_nothing_coerced(app)


@pytest.mark.parametrize("query", [f"before={TOO_BIG}", "after=-1", "after=1e3", "before=x", "limit=0", "limit=101",
                                   "limit=" + "9" * 5000])  # fmt: skip
def test_history_query_strings_that_dont_fit_are_refused(client, people, query):
    response = client.get(f"/api/v1/channels/{people}/messages?{query}", headers=bearer(token_for(client, "teen")))
    assert query.split("=")[0] in assert_error(response, 422, "validation_failed")["fields"]
