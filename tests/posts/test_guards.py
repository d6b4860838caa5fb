"""Abuse and privacy guards on writing posts, answers and comments (issue 6): the PHI guard (service, API,
pages), mutes, slow mode on a thread, the new-account link cap, per-user rate limits on each kind of write
(post, answer, comment, flag) over the pages and the API, and the flag links on a post's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation.models import PHIConfirmation
from lhn.moderation.services import sanctions
from lhn.phi import PHIConfirmationRequired
from lhn.posts import services as posts
from lhn.posts.models import Answer, Comment, Post
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit

PHONE = "513-555-0134"
LINKS = "See https://a.example, https://b.example and https://c.example."


def u(name):
    return accounts.get_user(name)


@pytest.fixture
def ids(app) -> dict[str, int]:
    """ibd: owner doc, moderator mod, members asker and member (both new accounts), veteran (an old account);
    intruder outside. A question by asker and an idea by asker."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        asker = factories.member(ibd, factories.user("caregiver", username="asker")).user
        factories.member(ibd, factories.user("patient", username="member"))
        veteran = factories.member(ibd, factories.user("patient", username="veteran")).user
        veteran.created_at = utcnow() - timedelta(days=30)
        factories.user("patient", username="intruder")
        question = factories.question(ibd, asker)
        idea = factories.idea(ibd, asker)
        return {"question": question.id, "idea": idea.id}


def confirmations(name):
    return list(db.session.scalars(select(PHIConfirmation).where(PHIConfirmation.user_id == u(name).id)))


# --- the PHI guard --------------------------------------------------------------------------------------


def test_the_phi_guard_asks_before_a_post_answer_or_comment_and_records_the_confirmation(ctx, ids):
    ibd = communities.get_community("ibd")
    fields = posts.PostFields(title="Our clinic letters go to the wrong house", sections={"body": f"Call {PHONE}."})
    with pytest.raises(PHIConfirmationRequired) as asked:
        posts.create_post(ibd, "question", fields, by=u("member"))
    assert asked.value.code == "phi_confirmation_required"
    assert "a phone number" in asked.value.errors["body"]
    post = posts.create_post(ibd, "question", fields, by=u("member"), confirm_phi=True)
    with pytest.raises(PHIConfirmationRequired):
        posts.post_answer(ids["question"], "Mail me at sam@example.org", by=u("member"))
    answer = posts.post_answer(ids["question"], "Mail me at sam@example.org", by=u("member"), confirm_phi=True)
    with pytest.raises(PHIConfirmationRequired):
        posts.post_comment(ids["idea"], "Born 14/03/2009, DOB 14/03/2009", by=u("member"))
    comment = posts.post_comment(ids["idea"], "DOB 14/03/2009", by=u("member"), confirm_phi=True)
    recorded = {(c.target_type, c.target_id, c.kinds) for c in confirmations("member")}
    assert recorded == {("post", post.id, "phone"), ("answer", answer.id, "email"),
                        ("comment", comment.id, "date_of_birth")}  # fmt: skip
    # An edit asks only about identifiers the confirmed version didn't have.
    posts.edit_answer(answer.id, "Mail me at sam@example.org, any time.", by=u("member"))
    with pytest.raises(PHIConfirmationRequired):
        posts.edit_answer(answer.id, f"Mail me at sam@example.org or ring {PHONE}.", by=u("member"))
    assert db.session.get(Answer, answer.id).revision == 2
    # Realistic clinical text passes without a prompt.
    posts.post_answer(ids["question"], "Infliximab 5 mg/kg at weeks 0, 2 and 6; see PMID 31758784.", by=u("member"))


def test_the_phi_guard_over_the_api(client, ids):
    token = token_for(client, "member")
    body = {"body": f"Ring me on {PHONE}"}
    response = client.post(f"/api/v1/posts/{ids['question']}/answers", json=body, headers=bearer(token))
    error = assert_error(response, 422, "phi_confirmation_required")
    assert "phone number" in error["fields"]["body"]
    response = client.post(f"/api/v1/posts/{ids['question']}/answers", json={**body, "confirm_phi": True},
                           headers=bearer(token))  # fmt: skip
    assert response.status_code == 201
    question = {"kind": "question", "title": f"Is {PHONE} the right IBD helpline?", "body": "Asking for a friend."}
    response = client.post("/api/v1/communities/ibd/posts", headers=bearer(token), json=question)
    assert assert_error(response, 422, "phi_confirmation_required")["fields"]["title"]
    response = client.post(f"/api/v1/posts/{ids['idea']}/comments", json={"body": "DOB 14/03/2009"},
                           headers=bearer(token))  # fmt: skip
    assert_error(response, 422, "phi_confirmation_required")


def test_the_phi_guard_on_the_pages_shows_the_confirm_box(client, ids):
    login(client, "member")
    page = f"/c/ibd/posts/{ids['question']}/answers"
    response = client.post(page, data={"body": f"Ring me on {PHONE}"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This may contain a phone number" in html
    assert 'name="confirm_phi"' in html
    assert PHONE in html  # the text is kept in the form
    response = client.post(page, data={"body": f"Ring me on {PHONE}", "confirm_phi": "y"})
    assert response.status_code == 302
    response = client.post(f"/c/ibd/posts/{ids['idea']}/comments", data={"body": "DOB 14/03/2009"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This may contain a date of birth" in html
    assert 'id="comment-body-post-phi-confirm"' in html  # one comment form per answer: ids stay unique
    response = client.post(f"/c/ibd/posts/{ids['idea']}/comments", data={"body": "DOB 14/03/2009", "confirm_phi": "y"})
    assert response.status_code == 302
    response = client.post("/c/ibd/new/question", data={"title": "Which school forms do you use?",
                                                        "body": "Ours are at sam@example.org"})  # fmt: skip
    assert response.status_code == 422
    assert 'name="confirm_phi"' in response.get_data(as_text=True)


# --- mutes, slow mode, links --------------------------------------------------------------------------------


def test_a_muted_member_reads_but_cannot_post_answer_or_comment(app, client, ids):
    with committed(app):
        sanctions.mute(u("member"), communities.get_community("ibd"), by=u("mod"), reason="Cool off.", days=1)
    with app.app_context():
        ibd = communities.get_community("ibd")
        fields = posts.PostFields(title="A question from a muted member", sections={"body": "Hello?"})
        for attempt in (
            lambda: posts.create_post(ibd, "question", fields, by=u("member")),
            lambda: posts.post_answer(ids["question"], "An answer.", by=u("member")),
            lambda: posts.post_comment(ids["idea"], "A comment.", by=u("member")),
        ):
            with pytest.raises(PermissionDenied, match="muted"):
                attempt()
    token = token_for(client, "member")
    response = client.post(f"/api/v1/posts/{ids['question']}/answers", json={"body": "Hi"}, headers=bearer(token))
    assert "muted" in assert_error(response, 403, "forbidden")["message"]
    assert client.get(f"/api/v1/posts/{ids['question']}", headers=bearer(token)).status_code == 200


def test_slow_mode_on_a_thread_set_by_a_moderator(client, ids):
    token = token_for(client, "member")
    url = f"/api/v1/posts/{ids['idea']}/slow-mode"
    assert_error(client.put(url, json={"seconds": 60}, headers=bearer(token)), 403, "forbidden")
    mod = token_for(client, "mod")
    assert client.put(url, json={"seconds": 60}, headers=bearer(mod)).get_json() == {"post_id": ids["idea"],
                                                                                    "seconds": 60}  # fmt: skip
    comments = f"/api/v1/posts/{ids['idea']}/comments"
    assert client.post(comments, json={"body": "First."}, headers=bearer(token)).status_code == 201
    error = assert_error(client.post(comments, json={"body": "Second."}, headers=bearer(token)), 422,
                         "validation_failed")  # fmt: skip
    assert "slow mode" in error["fields"]["body"]
    assert client.post(comments, json={"body": "Moderators are exempt."}, headers=bearer(mod)).status_code == 201
    assert client.post(comments, json={"body": "Another member."}, headers=bearer(token_for(client, "asker"))
                       ).status_code == 201  # fmt: skip
    assert client.put(url, json={"seconds": 0}, headers=bearer(mod)).get_json()["seconds"] == 0
    assert client.post(comments, json={"body": "Off again."}, headers=bearer(token)).status_code == 201


def test_slow_mode_from_the_post_page(client, ids):
    login(client, "mod")
    page = client.get(f"/c/ibd/ideas/{ids['idea']}").get_data(as_text=True)
    assert "Slow mode" in page
    response = client.post(f"/c/ibd/posts/{ids['idea']}/slow-mode", data={"seconds": "30"})
    assert response.status_code == 302
    assert "Slow mode (on: 30 s)" in client.get(f"/c/ibd/ideas/{ids['idea']}").get_data(as_text=True)
    client.post("/logout")
    login(client, "member")
    assert "Slow mode" not in client.get(f"/c/ibd/ideas/{ids['idea']}").get_data(as_text=True)
    assert client.post(f"/c/ibd/posts/{ids['idea']}/slow-mode", data={"seconds": "0"}).status_code == 403


def test_new_accounts_may_include_at_most_two_links(ctx, ids):
    with pytest.raises(ValidationFailed) as capped:
        posts.post_answer(ids["question"], LINKS, by=u("member"))
    assert "at most 2 links" in capped.value.errors["body"]
    with pytest.raises(ValidationFailed):
        posts.post_comment(ids["idea"], LINKS, by=u("member"))
    ibd = communities.get_community("ibd")
    with pytest.raises(ValidationFailed):
        posts.create_post(ibd, "question", posts.PostFields(title="Guides I found useful", sections={"body": LINKS}),
                          by=u("member"))  # fmt: skip
    assert posts.post_answer(ids["question"], LINKS, by=u("veteran")).id  # an older account


def test_the_link_cap_follows_the_configured_new_account_days(app, ctx, ids):
    app.config["NEW_ACCOUNT_DAYS"] = 0  # nobody counts as new
    assert posts.post_answer(ids["question"], LINKS, by=u("member")).id


# --- rate limits on each kind of write ------------------------------------------------------------------


ONE = {"post": "1 per hour", "answer": "1 per hour", "comment": "1 per hour", "flag": "1 per hour"}


def test_each_kind_of_write_is_rate_limited_per_user_over_the_api(make_app, ids):
    app = make_app(NEW_ACCOUNT_RATE_LIMITS=ONE)
    client = app.test_client()
    auth = bearer(token_for(client, "member"))
    writes = {
        "post": ("/api/v1/communities/ibd/posts", lambda n: {"kind": "question", "title": f"Rate limited question {n}",
                                                             "body": "Details."}),
        "answer": (f"/api/v1/posts/{ids['question']}/answers", lambda n: {"body": f"Answer {n}"}),
        "comment": (f"/api/v1/posts/{ids['idea']}/comments", lambda n: {"body": f"Comment {n}"}),
    }  # fmt: skip
    for kind, (url, body) in writes.items():
        assert client.post(url, json={}, headers=auth).status_code == 422  # refused input doesn't count
        assert client.post(url, json=body(1), headers=auth).status_code == 201, kind
        assert_error(client.post(url, json=body(2), headers=auth), 429, "rate_limited")
    with app.app_context():
        answer_id = db.session.scalar(select(Answer.id).where(Answer.author_id == u("member").id))
        comment_id = db.session.scalar(select(Comment.id).where(Comment.author_id == u("member").id))
    asker = bearer(token_for(client, "asker"))
    flag = {"target_type": "answer", "target_id": answer_id, "reason": "spam"}
    assert client.post("/api/v1/flags", json=flag, headers=asker).status_code == 201
    response = client.post("/api/v1/flags", json={**flag, "target_type": "comment", "target_id": comment_id},
                           headers=asker)  # fmt: skip
    assert_error(response, 429, "rate_limited")
    # Limits are per user: another member still writes.
    other = bearer(token_for(client, "asker"))
    assert client.post(writes["answer"][0], json={"body": "Mine."}, headers=other).status_code == 201


def test_each_kind_of_write_is_rate_limited_per_user_on_the_pages(make_app, ids):
    app = make_app(NEW_ACCOUNT_RATE_LIMITS=ONE)
    client = app.test_client()
    login(client, "member")
    new = "/c/ibd/new/question"
    assert client.post(new, data={"title": "Short"}).status_code == 422  # a re-rendered form doesn't count
    assert client.post(new, data={"title": "Rate limited question one", "body": "x"}).status_code == 302
    assert client.post(new, data={"title": "Rate limited question two", "body": "x"}).status_code == 429
    answers = f"/c/ibd/posts/{ids['question']}/answers"
    assert client.post(answers, data={"body": "One."}).status_code == 302
    assert client.post(answers, data={"body": "Two."}).status_code == 429
    comments = f"/c/ibd/posts/{ids['idea']}/comments"
    assert client.post(comments, data={"body": "One."}).status_code == 302
    assert client.post(comments, data={"body": "Two."}).status_code == 429
    with app.app_context():
        post_ids = list(db.session.scalars(select(Post.id).where(Post.author_id == u("member").id)))
    assert len(post_ids) == 1
    other = app.test_client()
    login(other, "asker")
    assert other.post(f"/flag/post/{post_ids[0]}", data={"reason": "spam"}).status_code == 302
    assert other.post(f"/flag/post/{post_ids[0]}", data={"reason": "spam"}).status_code == 429


# --- flag links -----------------------------------------------------------------------------------------------


def test_flag_links_show_for_signed_in_readers_on_others_writing_only(app, client, ids):
    with committed(app):
        answer_id = posts.post_answer(ids["question"], "Pack spare clothes.", by=u("member")).id
        comment_id = posts.post_comment(ids["idea"], "Good idea.", by=u("member")).id
    question, idea = f"/c/ibd/q/{ids['question']}", f"/c/ibd/ideas/{ids['idea']}"
    assert "Flag" not in client.get(question).get_data(as_text=True)  # visitors: no flag links
    login(client, "intruder")  # public community: any signed-in reader may flag
    html = client.get(question).get_data(as_text=True)
    assert f'href="/flag/post/{ids["question"]}"' in html
    assert f'href="/flag/answer/{answer_id}"' in html
    assert f'href="/flag/comment/{comment_id}"' in client.get(idea).get_data(as_text=True)
    client.post("/logout")
    login(client, "member")
    html = client.get(question).get_data(as_text=True)
    assert f'href="/flag/post/{ids["question"]}"' in html
    assert f"/flag/answer/{answer_id}" not in html
    assert client.get(f"/flag/answer/{answer_id}").status_code == 200
    response = client.post(f"/flag/answer/{answer_id}", data={"reason": "spam"})
    assert response.status_code == 422  # the flag form again, with why
    assert "own writing" in response.get_data(as_text=True)


def test_slow_mode_on_a_thread_is_in_the_public_log_and_the_audit_trail(client, app, ids):
    from lhn.moderation.models import AuditEvent
    from lhn.moderation.services import log as modlog

    mod = token_for(client, "mod")
    url = f"/api/v1/posts/{ids['idea']}/slow-mode"
    assert client.put(url, json={"seconds": 45}, headers=bearer(mod)).status_code == 200
    assert client.put(url, json={"seconds": 0}, headers=bearer(mod)).status_code == 200
    with app.app_context():
        entries = modlog.list_moderation_log(communities.get_community("ibd"), by=u("member")).items
        lines = [(e.action, e.target_type, e.target_id, e.target_url) for e in entries]
        audited = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "post")))
    assert ("slow_mode_on", "post", ids["idea"], f"/c/ibd/ideas/{ids['idea']}") in lines
    assert ("slow_mode_off", "post", ids["idea"], f"/c/ibd/ideas/{ids['idea']}") in lines
    assert audited.count("slow_mode.set") == 1
    assert audited.count("slow_mode.off") == 1


def test_a_muted_member_who_clicks_ask_is_told_they_are_muted_until_when(app, client, ids):
    with committed(app):
        sanctions.mute(u("member"), communities.get_community("ibd"), by=u("mod"), reason="Cool off.", days=1)
        membership = communities.find_membership(u("member"), communities.get_community("ibd"))
        until = f"{membership.muted_until:%d %b %Y %H:%M} UTC"
    login(client, "member")
    listing = client.get("/c/ibd/posts").get_data(as_text=True)
    assert "Join the community" not in listing  # they are a member
    assert f"You are muted in this community until {until}" in listing
    page = client.get("/c/ibd/new/question", follow_redirects=True).get_data(as_text=True)
    assert "Join the community to post in it" not in page
    assert f"You are muted in this community until {until}" in page
    # Someone who isn't a member is still asked to join.
    client.post("/logout")
    login(client, "intruder")
    assert "Join the community to post in it" in client.get("/c/ibd/new/question", follow_redirects=True).text


def test_the_log_links_a_slow_mode_entry_to_its_thread_and_reads_well_with_a_long_title(app, client, ids):
    title = "How do you keep a teenager on a low-residue diet during exam season without a fight?"
    with committed(app):
        long_one = factories.question(communities.get_community("ibd"), u("asker"), title=title).id
    mod = token_for(client, "mod")
    slow = client.put(f"/api/v1/posts/{long_one}/slow-mode", json={"seconds": 60}, headers=bearer(mod))
    assert slow.status_code == 200
    html = client.get("/c/ibd/moderation-log").get_data(as_text=True)
    line = next(li for li in html.split("<li>") if "turned on slow mode in" in li)
    href = line.split("turned on slow mode in", 1)[1].split('href="', 1)[1].split('"', 1)[0]
    assert href == f"/c/ibd/q/{long_one}"
    assert client.get(href).status_code == 200  # not a 404
    assert " a the " not in line
    text = " ".join(re.sub(r"<[^>]+>", " ", line).replace("&#34;", '"').split())
    assert 'turned on slow mode in the thread "How do you keep a teenager on a low-residue diet' in text
    quoted = text.split('the thread "', 1)[1].split('"', 1)[0]  # the title's quote is closed
    assert quoted == title


# --- a refused write keeps the text and says how long to wait (issue 10) ------------------------------------


def minutes_in(page: str) -> int:
    found = re.search(r"try again in (\d+) (minute|hour)s?", page)
    assert found, "the page does not say how long to wait"
    return int(found.group(1)) * (60 if found.group(2) == "hour" else 1)


def test_a_rate_limited_form_is_re_rendered_with_the_text_and_the_wait(make_app, ids):
    app = make_app(NEW_ACCOUNT_RATE_LIMITS=ONE)
    client = app.test_client()
    login(client, "member")
    question = {"title": "Which lunch boxes keep food cold until noon?", "body": "Ours warm up by ten."}
    assert submit(client, "/c/ibd/new/question", "Post question", **question).status_code == 302
    typed = {"title": "Which water bottles fit school bag pockets?", "body": "Ours are all too tall, sadly."}
    refused = submit(client, "/c/ibd/new/question", "Post question", **typed)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert 'value="Which water bottles fit school bag pockets?"' in page
    assert "Ours are all too tall, sadly." in page
    wait = int(refused.headers["Retry-After"])
    assert 3500 < wait <= 3600
    assert minutes_in(page) == -(-wait // 60)  # the same wait, rounded up to whole minutes
    # The answer form on the question page: the same.
    url = f"/c/ibd/q/{ids['question']}"
    assert submit(client, url, "Post answer", body="A cool bag with two ice packs.").status_code == 302
    refused = submit(client, url, "Post answer", body="Freeze the water bottle overnight.")
    assert refused.status_code == 429
    assert "Freeze the water bottle overnight." in refused.get_data(as_text=True)
    assert minutes_in(refused.get_data(as_text=True)) == -(-int(refused.headers["Retry-After"]) // 60)
    # And a comment.
    url = f"/c/ibd/ideas/{ids['idea']}"
    assert submit(client, url, "Comment", body="Our school has a fridge.").status_code == 302
    refused = submit(client, url, "Comment", body="Ask the office for the fridge.")
    assert refused.status_code == 429
    assert "Ask the office for the fridge." in refused.get_data(as_text=True)
    assert minutes_in(refused.get_data(as_text=True)) == -(-int(refused.headers["Retry-After"]) // 60)


def test_a_rate_limited_login_keeps_the_name_and_says_how_long_to_wait(make_app, ids):
    # (The flag form goes through the same code; tests/forms.py can't tick its reason radio button yet.)
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    visitor = app.test_client()
    for _ in range(2):
        submit(visitor, "/login", "Log in", login="asker", password="wrong password")
    refused = submit(visitor, "/login", "Log in", login="asker", password="wrong password")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert 'value="asker"' in page
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 60
    assert re.search(rf"try again in {wait} seconds?", page) or minutes_in(page) == 1


def test_slow_mode_says_the_same_wait_in_its_message_and_its_retry_after(make_app, ids):
    app = make_app(NEW_ACCOUNT_RATE_LIMITS={"comment": "20 per hour"})
    client = app.test_client()
    mod = bearer(token_for(client, "mod"))
    assert client.put(f"/api/v1/posts/{ids['idea']}/slow-mode", json={"seconds": 120}, headers=mod).status_code == 200
    auth = bearer(token_for(client, "member"))
    comments = f"/api/v1/posts/{ids['idea']}/comments"
    assert client.post(comments, json={"body": "First."}, headers=auth).status_code == 201
    refused = client.post(comments, json={"body": "Second."}, headers=auth)
    error = assert_error(refused, 422, "validation_failed")
    wait = int(refused.headers["Retry-After"])
    assert 110 <= wait <= 120
    assert f"{wait} seconds" in error["fields"]["body"]
    # On the page: the comment is kept, and the header agrees with the message.
    login(client, "member")
    refused = submit(client, f"/c/ibd/ideas/{ids['idea']}", "Comment", body="Third, from the page.")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Third, from the page." in page
    assert f"please wait {refused.headers['Retry-After']} seconds" in page
