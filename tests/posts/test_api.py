"""Posts over JSON: every action through /api/v1, errors as JSON, restricted content invisible."""

from datetime import timedelta

import pytest

from lhn.database import utcnow
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed

DEADLINE = (utcnow().date() + timedelta(days=30)).isoformat()


@pytest.fixture
def api(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        cf = factories.community(doc, slug="cf-care", name="CF Care", restricted=True)
        factories.member(ibd, factories.user("patient", username="teen"))
        factories.member(ibd, factories.user("caregiver", username="sam_mod"), role="moderator")
        ibd.moderators_may_vet = True  # sam_mod vets in these tests; standing: tests/accounts/test_trust.py
        factories.member(ibd, factories.user("clinician", username="claimed"))
        factories.member(cf, factories.user("patient", username="cfteen"))
        factories.user("patient", username="intruder")
    return {
        name: bearer(token_for(client, name)) for name in ("doc", "teen", "sam_mod", "claimed", "cfteen", "intruder")
    }


def test_the_whole_question_flow_over_json(client, api):
    asked = client.post("/api/v1/communities/ibd/posts", headers=api["teen"], json={
        "kind": "question", "title": "How do you manage school trips during a flare?", "body": "Tips?",
        "tags": ["school", "trips"]})  # fmt: skip
    assert asked.status_code == 201, asked.get_json()
    post = asked.get_json()
    assert post["tags"] == ["school", "trips"]
    assert post["answers"] == []
    answered = client.post(f"/api/v1/posts/{post['id']}/answers", headers=api["claimed"], json={"body": "A nurse."})
    assert answered.status_code == 201
    answer = answered.get_json()
    assert_error(client.post(f"/api/v1/answers/{answer['id']}/vet", headers=api["claimed"],
                             json={"note": "n", "evidence": ["PMID 1"]}), 403, "forbidden")  # fmt: skip
    error = assert_error(
        client.post(
            f"/api/v1/answers/{answer['id']}/vet",
            headers=api["sam_mod"],
            json={"note": "", "evidence": ["javascript:alert(1)"]},
        ),
        422,
        "validation_failed",
    )
    assert set(error["fields"]) == {"note", "evidence"}
    vetted = client.post(f"/api/v1/answers/{answer['id']}/vet", headers=api["sam_mod"], json={
        "note": "Fine.", "evidence": ["10.1136/archdischild-2019-317932"], "review_by": DEADLINE})  # fmt: skip
    assert vetted.status_code == 201
    assert vetted.get_json()["evidence"][0]["url"] == "https://doi.org/10.1136/archdischild-2019-317932"
    assert_error(client.post(f"/api/v1/answers/{answer['id']}/vet", headers=api["doc"],
                             json={"note": "again", "evidence": ["PMID 2"]}), 409, "conflict")  # fmt: skip
    second = client.post(
        f"/api/v1/posts/{post['id']}/answers", headers=api["doc"], json={"body": "Another."}
    ).get_json()
    assert (
        client.post(f"/api/v1/answers/{second['id']}/vote", headers=api["teen"], json={"value": 1}).status_code == 200
    )
    assert_error(client.post(f"/api/v1/answers/{second['id']}/vote", headers=api["doc"], json={"value": 1}), 403,
                 "forbidden")  # fmt: skip
    assert_error(client.post(f"/api/v1/answers/{second['id']}/vote", headers=api["teen"], json={"value": "up"}), 422,
                 "validation_failed")  # fmt: skip
    assert client.post(f"/api/v1/answers/{second['id']}/accept", headers=api["teen"]).get_json()["accepted"] is True
    assert_error(client.post(f"/api/v1/answers/{second['id']}/accept", headers=api["doc"]), 403, "forbidden")
    shown = client.get(f"/api/v1/posts/{post['id']}").get_json()
    assert [a["id"] for a in shown["answers"]] == [answer["id"], second["id"]]  # vetted first, accepted not pinned
    assert shown["answers"][0]["vetting"]["by"]["username"] == "sam_mod"
    assert shown["answers"][1]["accepted"] is True
    edited = client.patch(
        f"/api/v1/answers/{answer['id']}", headers=api["claimed"], json={"body": "A nurse, and spares."}
    )
    assert edited.get_json()["changed_since_vetting"] is True
    assert edited.get_json()["vetting"]["revision"] == 1
    revisions = client.get(f"/api/v1/answers/{answer['id']}/revisions").get_json()["items"]
    assert [r["number"] for r in revisions] == [2, 1]
    error = assert_error(client.delete(f"/api/v1/answers/{answer['id']}/vet", headers=api["sam_mod"], json={}), 422,
                         "validation_failed")  # fmt: skip
    assert "reason" in error["fields"]
    unvet = client.delete(f"/api/v1/answers/{answer['id']}/vet?reason=Out+of+date", headers=api["sam_mod"])
    assert unvet.get_json()["action"] == "unvet"
    history = client.get(f"/api/v1/answers/{answer['id']}/vettings").get_json()["items"]
    assert [(h["action"], h["note"]) for h in history] == [("vet", "Fine."), ("unvet", "Out of date")]
    patched = client.patch(
        f"/api/v1/posts/{post['id']}", headers=api["teen"], json={"title": "How do you manage overnight school trips?"}
    )
    assert patched.get_json()["revision"] == 2
    assert patched.get_json()["tags"] == ["school", "trips"]  # kept
    assert (
        client.post(f"/api/v1/posts/{post['id']}/vote", headers=api["doc"], json={"value": 1}).get_json()["score"] == 1
    )
    assert client.delete(f"/api/v1/posts/{post['id']}", headers=api["teen"]).status_code == 204
    assert client.get("/api/v1/communities/ibd/posts").get_json()["items"] == []


def test_comment_on_a_question_over_json_asks_the_asker_to_clarify(client, api):
    asked = client.post("/api/v1/communities/ibd/posts", headers=api["teen"], json={
        "kind": "question", "title": "School trips during a flare?", "body": "Tips?"}).get_json()  # fmt: skip
    comment = client.post(f"/api/v1/posts/{asked['id']}/comments", headers=api["doc"],
                          json={"body": "Which *year* is your child in?"})  # fmt: skip
    assert comment.status_code == 201, comment.get_json()
    assert comment.get_json()["answer_id"] is None
    assert "<em>year</em>" in comment.get_json()["body_html"]
    assert_error(client.post(f"/api/v1/posts/{asked['id']}/comments", headers=api["intruder"],
                             json={"body": "Hi"}), 403, "forbidden")  # fmt: skip
    shown = client.get(f"/api/v1/posts/{asked['id']}").get_json()
    assert [c["id"] for c in shown["comments"]] == [comment.get_json()["id"]]
    assert shown["comment_count"] == 1
    notices = client.get("/api/v1/notifications", headers=api["teen"]).get_json()["items"]
    assert notices[0]["kind"] == "comment"
    assert notices[0]["url"].endswith(f"#comment-{comment.get_json()['id']}")


def test_ideas_calls_comments_and_hiding_over_json(client, api):
    idea = client.post("/api/v1/communities/ibd/posts", headers=api["teen"], json={
        "kind": "idea", "title": "A nurse phone line after infusions",
        "sections": {"problem": "p", "proposal": "q", "affected": "r"}}).get_json()  # fmt: skip
    assert idea["idea_status"] == "proposed"
    assert_error(client.post(f"/api/v1/posts/{idea['id']}/status", headers=api["teen"],
                             json={"status": "under_review", "reason": "x"}), 403, "forbidden")  # fmt: skip
    moved = client.post(f"/api/v1/posts/{idea['id']}/status", headers=api["sam_mod"],
                        json={"status": "under_review", "reason": "Promising"})  # fmt: skip
    assert moved.status_code == 201
    assert [t["to"] for t in client.get(f"/api/v1/posts/{idea['id']}").get_json()["timeline"]] == \
        ["proposed", "under_review"]  # fmt: skip
    comment = client.post(f"/api/v1/posts/{idea['id']}/comments", headers=api["doc"], json={"body": "Yes!"})
    assert comment.status_code == 201
    hidden = client.post(f"/api/v1/comments/{comment.get_json()['id']}/hide", headers=api["sam_mod"],
                         json={"reason": "Off topic"})  # fmt: skip
    assert hidden.get_json()["hidden"] is True
    seen = client.get(f"/api/v1/posts/{idea['id']}").get_json()["comments"][0]
    assert seen["body_html"] is None
    assert seen["moderation"] == {"state": "hidden", "reason": "Off topic", "at": seen["moderation"]["at"]}
    call = client.post("/api/v1/communities/ibd/posts", headers=api["doc"], json={
        "kind": "call", "title": "Sites wanted for a diet therapy trial", "roles": ["patients"],
        "deadline": DEADLINE, "sections": {"summary": "s", "commitment": "c", "ethics": "e"}}).get_json()  # fmt: skip
    interest = client.post(f"/api/v1/posts/{call['id']}/interest", headers=api["teen"], json={"message": "Me!"})
    assert interest.status_code == 201
    assert_error(client.post(f"/api/v1/posts/{call['id']}/interest", headers=api["teen"], json={"message": "x"}), 409,
                 "conflict")  # fmt: skip
    interest_id = interest.get_json()["id"]
    assert_error(client.post(f"/api/v1/interests/{interest_id}", headers=api["teen"], json={"decision": "accept"}),
                 404, "not_found")  # fmt: skip
    assert_error(client.post(f"/api/v1/interests/{interest_id}", headers=api["doc"], json={"decision": "maybe"}),
                 422, "validation_failed")  # fmt: skip
    decided = client.post(f"/api/v1/interests/{interest_id}", headers=api["doc"], json={"decision": "decline"})
    assert decided.get_json()["status"] == "declined"
    assert [i["status"] for i in client.get(f"/api/v1/posts/{call['id']}/interest", headers=api["teen"])
            .get_json()["items"]] == ["declined"]  # fmt: skip
    notices = client.get("/api/v1/notifications", headers=api["teen"]).get_json()["items"]
    assert any("declined your interest" in n["text"] for n in notices)


def test_restricted_content_is_invisible_over_json_and_bad_input_never_500s(app, client, api):
    secret = client.post("/api/v1/communities/cf-care/posts", headers=api["cfteen"], json={
        "kind": "question", "title": "Secret saline question for members", "body": "nebuliser"}).get_json()  # fmt: skip
    for headers in ({}, api["intruder"]):
        assert_error(client.get(f"/api/v1/posts/{secret['id']}", headers=headers), 404, "not_found")
        assert_error(client.get("/api/v1/communities/cf-care/posts", headers=headers), 403, "forbidden")
        assert_error(client.get("/api/v1/communities/cf-care/posts?q=saline", headers=headers), 403, "forbidden")
        assert client.get("/api/v1/search?q=saline", headers=headers).get_json()["items"] == []
        assert_error(client.post(f"/api/v1/posts/{secret['id']}/answers", headers=api["intruder"],
                                 json={"body": "hi"}), 404, "not_found")  # fmt: skip
        assert_error(client.get(f"/api/v1/posts/{secret['id']}/revisions", headers=headers), 404, "not_found")
    found = client.get("/api/v1/search?q=saline", headers=api["cfteen"]).get_json()["items"]
    assert [i["id"] for i in found] == [secret["id"]]
    assert "<mark>saline</mark>" in found[0]["title_html"]
    assert_error(client.post("/api/v1/communities/ibd/posts", headers=api["intruder"], json={"kind": "question"}), 403,
                 "forbidden")  # fmt: skip
    for body in ({"kind": "question", "title": 5, "tags": {"a": 1}}, {"kind": "poem"},
                 {"kind": "question", "title": "A valid enough title", "body": "x", "sections": "no"},
                 {"kind": "call", "title": "A call with bad roles", "roles": "patients"}):  # fmt: skip
        response = client.post("/api/v1/communities/ibd/posts", headers=api["teen"], json=body)
        assert response.status_code == 422, (body, response.get_json())
    assert_error(client.post("/api/v1/communities/ibd/posts", headers=api["teen"], data="nope"), 400, "bad_request")
    assert_error(client.get("/api/v1/search?q=kind:poem"), 422, "validation_failed")
    assert_error(client.get("/api/v1/search?q=x&cursor=zzz"), 422, "validation_failed")
    assert_error(client.get("/api/v1/communities/ibd/posts?view=hot"), 422, "validation_failed")
    assert_error(client.post("/api/v1/posts/999999/answers", headers=api["teen"], json={"body": "x"}), 404, "not_found")
    assert_error(client.post("/api/v1/answers/999999/vet", headers=api["doc"], json={}), 404, "not_found")


def test_lists_knowledge_base_feed_and_similar_over_json(app, client, api):
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd")
        q = factories.question(ibd, accounts.get_user("teen"), title="School trips with Crohn's disease", tags="school")
        factories.vet(factories.answer(q, accounts.get_user("doc")), accounts.get_user("sam_mod"))
        for i in range(3):
            factories.question(ibd, accounts.get_user("teen"), title=f"Another question number {i} here")
    first = client.get("/api/v1/communities/ibd/posts?kind=question").get_json()
    assert len(first["items"]) == 4
    paged = client.get("/api/v1/communities/ibd/posts?limit=2").get_json()
    assert paged["items"][0]["title"] == "Another question number 2 here"
    assert [p["title"] for p in client.get("/api/v1/communities/ibd/vetted").get_json()["items"]] == \
        ["School trips with Crohn's disease"]  # fmt: skip
    assert len(client.get("/api/v1/me/feed", headers=api["teen"]).get_json()["items"]) == 4
    assert len(client.get("/api/v1/me/vetted", headers=api["teen"]).get_json()["items"]) == 1
    assert_error(client.get("/api/v1/me/feed"), 401, "unauthenticated")
    similar = client.get("/api/v1/communities/ibd/similar?title=school+trip").get_json()["items"]
    assert [s["title"] for s in similar] == ["School trips with Crohn's disease"]
    searched = client.get("/api/v1/communities/ibd/posts?q=disease&tag=school").get_json()["items"]
    assert [s["title"] for s in searched] == ["School trips with Crohn's disease"]


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

TITLE = "How do you manage school trips during a flare?"
POST_FIELDS = {"title": "text?", "body": "text?", "sections": "text_map?", "tags": [12, True, {"a": "b"}, [12]],
               "roles": "texts?", "other_roles": "text?", "deadline": "text?", "linked_idea_id": "int?",
               "confirm_phi": "bool?"}  # fmt: skip
WRITES = [
    ("POST", "/communities/ibd/posts", "teen", {"kind": "question", "title": TITLE, "body": "Tips?"},
     {**POST_FIELDS, "kind": "text", "title": "text"}),
    ("PATCH", "/posts/{question}", "teen", {}, POST_FIELDS),
    ("POST", "/posts/{question}/vote", "doc", {"value": 1}, {"value": "vote"}),
    ("POST", "/posts/{idea}/comments", "doc", {"body": "Yes"}, {"body": "text", "answer_id": "int?",
                                                                 "confirm_phi": "bool?"}),
    ("PUT", "/posts/{question}/slow-mode", "sam_mod", {"seconds": 0}, {"seconds": "int"}),
    ("POST", "/posts/{idea}/status", "sam_mod", {"status": "under_review", "reason": "Promising"},
     {"status": "text", "reason": "text"}),
    ("POST", "/posts/{question}/answers", "doc", {"body": "A nurse."}, {"body": "text", "confirm_phi": "bool?"}),
    ("PATCH", "/answers/{answer}", "claimed", {"body": "Edited."}, {"body": "text", "confirm_phi": "bool?"}),
    ("POST", "/answers/{answer}/vote", "doc", {"value": 1}, {"value": "vote"}),
    ("POST", "/answers/{answer}/vet", "doc", {"note": "Fine.", "evidence": ["10.1136/archdischild-2019-317932"]},
     {"note": "text", "evidence": "texts", "review_by": "text?"}),
    ("DELETE", "/answers/{answer}/vet", "doc", {"reason": "Outdated"}, {"reason": "text"}),
    ("POST", "/posts/{call}/interest", "teen", {"message": "Me!"}, {"message": "text"}),
    ("POST", "/interests/{interest}", "doc", {"decision": "accept"}, {"decision": "text"}),
    ("POST", "/posts/{question}/hide", "sam_mod", {"reason": "Off topic"}, {"reason": "text"}),
    ("POST", "/comments/{comment}/hide", "sam_mod", {"reason": "Off topic"}, {"reason": "text"}),
    ("POST", "/answers/{answer}/restore", "sam_mod", {}, {"reason": "text?"}),
]  # fmt: skip


@pytest.fixture
def things(app, api):
    """A question with an answer, an idea with a comment, a call with someone's interest: their ids."""
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.communities import services as communities
        from lhn.posts import services as posts

        ibd, teen, doc = communities.get_community("ibd"), accounts.get_user("teen"), accounts.get_user("doc")
        question = factories.question(ibd, teen)
        idea = factories.idea(ibd, teen)
        call = factories.call(ibd, doc)
        return {"question": question.id, "idea": idea.id, "call": call.id,
                "answer": factories.answer(question, accounts.get_user("claimed")).id,
                "comment": posts.post_comment(idea.id, "Yes!", by=doc).id,
                "interest": posts.express_interest(call.id, "Me!", by=teen).id}  # fmt: skip


@pytest.mark.parametrize(("method", "path", "who", "body", "fields"), WRITES,
                         ids=[f"{w[0]} {w[1]}" for w in WRITES])  # fmt: skip
def test_writes_refuse_wrong_types_and_store_nothing(app, client, api, things, method, path, who, body, fields):
    assert_wrong_types_refused(client, method, "/api/v1" + path.format(**things), body, fields, api[who])
    assert_nothing_coerced(app)


@pytest.mark.parametrize("query", [f"cursor={encode_cursor([TOO_BIG])}", f"cursor={encode_cursor(['x', 1])}",
                                   f"cursor={encode_cursor([{'d': 'soon'}, 1])}", "view=hot", "period=year",
                                   "kind=poem", "tag=%E2%80%AE"])  # fmt: skip
def test_list_query_strings_out_of_range_are_refused(client, api, query):
    lists = ["/communities/ibd/posts", "/me/feed"]
    if query.startswith(("cursor", "tag")):  # the knowledge base takes only these two
        lists += ["/communities/ibd/vetted", "/me/vetted"]
    for path in lists:
        response = client.get(f"/api/v1{path}?{query}", headers=api["teen"])
        assert_error(response, 422, "validation_failed")
