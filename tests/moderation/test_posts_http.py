"""The moderation flow on an answer over the JSON API and the pages: flag, the queue (moderators only),
hide with the optimistic lock (409 for the stale second action), the placeholder for readers and the
original for the author and moderators, the public log."""

from __future__ import annotations

from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import login
from tests.moderation.conftest import PHONE


def test_flag_queue_hide_placeholder_and_log_over_the_api(client, thread):
    tokens = {name: bearer(token_for(client, name)) for name in ("rdr2", "mod", "doc", "othermod", "author")}
    response = client.post("/api/v1/flags", headers=tokens["rdr2"], json={
        "target_type": "answer", "target_id": thread.answer_id, "reason": "misinformation",
        "details": "Zinc doesn't treat flares."})  # fmt: skip
    assert response.status_code == 201
    assert_error(client.get("/api/v1/communities/ibd/review-queue", headers=tokens["rdr2"]), 403, "forbidden")
    assert_error(client.get("/api/v1/communities/ibd/review-queue", headers=tokens["othermod"]), 403, "forbidden")
    items = client.get("/api/v1/communities/ibd/review-queue", headers=tokens["mod"]).get_json()["items"]
    item = next(i for i in items if i["target"] and i["target"]["type"] == "answer")
    assert item["target"]["url"].endswith(f"#answer-{thread.answer_id}")
    assert item["reasons"] == {"misinformation": 1}
    act = f"/api/v1/review-items/{item['id']}/actions"
    assert_error(client.post(act, headers=tokens["othermod"], json={"action": "hide", "version": item["version"],
                                                                    "reason": "x"}), 404, "not_found")  # fmt: skip
    response = client.post(act, headers=tokens["mod"], json={"action": "hide", "version": item["version"],
                                                             "reason": "Unproven treatment claim."})  # fmt: skip
    assert response.status_code == 200
    assert response.get_json()["resolution"] == "hidden"
    stale = client.post(act, headers=tokens["doc"], json={"action": "dismiss", "version": item["version"]})
    assert "already handled" in assert_error(stale, 409, "conflict")["message"]

    def shown(headers=None):
        data = client.get(f"/api/v1/posts/{thread.question_id}", headers=headers or {}).get_json()
        return next(a for a in data["answers"] if a["id"] == thread.answer_id)

    for reader in (None, bearer(token_for(client, "rdr3"))):
        answer = shown(reader)
        assert answer["body"] is None
        assert answer["moderation"]["reason"] == "Unproven treatment claim."
    assert PHONE in shown(tokens["author"])["body"]
    assert PHONE in shown(tokens["mod"])["body"]
    log = client.get("/api/v1/communities/ibd/moderation-log").get_json()["items"]
    assert (log[0]["action"], log[0]["reason"]) == ("hidden", "Unproven treatment claim.")
    assert PHONE not in str(log)


def test_the_pages_show_a_placeholder_to_readers_and_the_original_to_moderators(app, client, thread):
    from lhn.posts import services as posts
    from tests.conftest import committed
    from tests.moderation.test_posts import u

    with committed(app):
        posts.hide_content("answer", thread.answer_id, by=u("mod"), reason="Unproven treatment claim.")
    page = f"/c/ibd/q/{thread.question_id}"
    for who in (None, "rdr3"):
        if who:
            login(client, who)
        html = client.get(page).get_data(as_text=True)
        assert "This answer was hidden by a moderator." in html
        assert "Unproven treatment claim." in html
        assert PHONE not in html
    client.post("/logout")
    login(client, "mod")
    html = client.get(page).get_data(as_text=True)
    assert "This answer was hidden by a moderator." in html
    assert PHONE in html
    log = client.get("/c/ibd/moderation-log").get_data(as_text=True)
    assert "Unproven treatment claim." in log
