"""Notifications: made from domain signals, private to their recipient, counted in the header, read."""

import re

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.notifications import services as notifications
from lhn.pagination import encode_cursor
from tests import factories
from tests.bad_input import TOO_BIG, assert_wrong_types_refused
from tests.conftest import committed, login


def test_verification_and_join_decisions_notify_the_person(ctx):
    admin = factories.user("other", admin=True)
    applicant = factories.user("clinician")
    request = accounts.submit_verification(applicant, licence_number="1", licence_issuer="GMC")
    accounts.decide_verification(request.id, by=admin, approve=False, note="Licence not found")
    community = factories.community(restricted=True)
    join = communities.request_to_join(applicant, community, accept_guidelines=True)
    communities.decide_join_request(join.id, by=admin, approve=True)
    texts = [n.text for n in notifications.list_notifications(applicant).items]
    assert texts == [
        f"Welcome! Your request to join {community.name} was approved.",
        "Your verification request was not approved: Licence not found",
    ]
    assert notifications.unread_count(applicant) == 2


def test_nobody_is_notified_of_their_own_action(ctx):
    user = factories.user()
    assert notifications.notify(user, kind="x", text="t", url="/", actor=user) is None
    assert notifications.unread_count(user) == 0


def test_mark_read_touches_only_the_readers_own(ctx):
    alice, bob = factories.user(), factories.user()
    mine = notifications.notify(alice, kind="x", text="for alice", url="/")
    theirs = notifications.notify(bob, kind="x", text="for bob", url="/")
    assert notifications.mark_read(alice, [mine.id, theirs.id]) == 1
    assert notifications.unread_count(bob) == 1
    assert notifications.open_notification(alice, theirs.id) == "/notifications"
    assert notifications.unread_count(bob) == 1


def test_header_count_page_and_opening_a_notification(app, client):
    with committed(app):
        alice = factories.user(username="alice")
        notifications.notify(alice, kind="answer", text="Someone answered your question", url="/c/x")
        notifications.notify(alice, kind="mention", text="You were mentioned", url="/c/y")
    login(client, "alice")
    assert re.search(r'id="notification-count"\s+aria-label="2 unread">2<', client.get("/").text)
    page = client.get("/notifications").text
    assert "Someone answered your question" in page
    link = re.search(r'href="(/notifications/\d+)">\s*<span class="visually-hidden">Unread: </span>You were', page)
    opened = client.get(link.group(1))
    assert opened.headers["Location"] == "/c/y"
    assert 'aria-label="1 unread">1<' in client.get("/").text
    client.post("/notifications/read")
    assert re.search(r'id="notification-count"\s+hidden', client.get("/").text)


def test_notifications_api(app, client):
    with committed(app):
        alice = factories.user(username="alice")
        factories.user(username="bob")
        notifications.notify(alice, kind="answer", text="An answer", url="/c/x")
    login(client, "alice")
    data = client.get("/api/v1/notifications").get_json()
    assert data["unread"] == 1
    assert data["items"][0]["text"] == "An answer"
    assert client.post("/api/v1/notifications/read", json={"ids": ["x"]}).status_code == 422
    assert client.post("/api/v1/notifications/read", json={}).get_json() == {"marked": 1, "unread": 0}
    bob = client.application.test_client()
    login(bob, "bob")
    assert bob.get("/api/v1/notifications").get_json()["items"] == []


def test_notifications_api_refuses_query_strings_and_ids_that_dont_fit(app, client):
    with committed(app):
        factories.user(username="alice")
    login(client, "alice")
    for query in ("unread=yes", f"cursor={encode_cursor([TOO_BIG])}", f"cursor={encode_cursor(['x'])}"):
        assert client.get(f"/api/v1/notifications?{query}").status_code == 422, query
    assert client.get("/api/v1/notifications?unread=true").status_code == 200
    assert_wrong_types_refused(client, "POST", "/api/v1/notifications/read", {}, {"ids": "ids?"}, {})
