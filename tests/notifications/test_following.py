"""Following: follow and unfollow what one may read, automatic follows, followers told once per event."""

import pytest
from sqlalchemy import select

from lhn.communities import services as communities
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from lhn.mail.models import OutboxMessage
from lhn.notifications import services as notifications
from lhn.notifications.models import Notification
from lhn.realtime import user_room
from lhn.realtime.emit import _PENDING as PENDING_EMITS
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit


def kinds(user):
    return [n.kind for n in notifications.list_notifications(user).items]


def test_author_and_answerer_follow_automatically_and_followers_hear_of_answers(ctx):
    community = factories.community()
    asker, first, second = (factories.member(community).user for _ in range(3))
    post = factories.question(community, asker)
    assert notifications.find_follow(asker, "post", post.id) is not None
    factories.answer(post, first)
    assert notifications.find_follow(first, "post", post.id) is not None
    factories.answer(post, second)
    # The asker hears as the author ("answer"), once; the first answerer as a follower; the second answerer
    # (the actor) not at all.
    assert kinds(asker) == ["answer", "answer"]
    assert kinds(first) == ["followed_answer"]
    assert kinds(second) == []


def test_a_follower_hears_of_comments_vettings_and_new_posts(ctx):
    community = factories.community()
    reader = factories.member(community).user
    post = factories.question(community)
    notifications.follow(reader, "post", post.id)
    notifications.follow(reader, "community", community.id)
    answer = factories.answer(post)
    factories.vet(answer)
    factories.question(community, title="Another question about diets")
    assert kinds(reader) == ["new_post", "followed_vetted", "followed_answer"]
    texts = [n.text for n in notifications.list_notifications(reader).items]
    assert "Another question about diets" in texts[0]


def test_a_mentioned_follower_gets_one_notice_for_the_new_post(ctx):
    community = factories.community()
    reader = factories.member(community, factories.user(username="reader")).user
    notifications.follow(reader, "community", community.id)
    factories.question(community, body="What do you think, @reader?")
    assert kinds(reader) == ["mention"]


def test_unfollow_stops_notices_and_is_idempotent(ctx):
    community = factories.community()
    reader = factories.member(community).user
    post = factories.question(community)
    notifications.follow(reader, "post", post.id)
    assert notifications.follow(reader, "post", post.id).id  # twice: still one row
    assert notifications.unfollow(reader, "post", post.id) is True
    assert notifications.unfollow(reader, "post", post.id) is False
    factories.answer(post)
    assert kinds(reader) == []


def test_an_intruder_cannot_follow_what_they_cannot_read(ctx):
    restricted = factories.community(restricted=True)
    post = factories.question(restricted)
    intruder = factories.user()
    for target_type, target_id in [("post", post.id), ("community", restricted.id), ("post", 10**6)]:
        with pytest.raises(NotFound):
            notifications.follow(intruder, target_type, target_id)
    with pytest.raises(ValidationFailed):
        notifications.follow(intruder, "user", 1)


def test_a_follower_who_left_a_restricted_community_hears_nothing(ctx):
    restricted = factories.community(restricted=True)
    reader = factories.member(restricted).user
    post = factories.question(restricted)
    notifications.follow(reader, "post", post.id)
    communities.leave_community(reader, restricted)
    factories.answer(post)
    assert kinds(reader) == ["join_request"]  # being let in, not the answer


def test_followers_are_told_in_a_fixed_number_of_queries(ctx, count_queries):
    community = factories.community()

    def queries_for(followers):
        post = factories.question(community)
        for _ in range(followers):
            notifications.follow(factories.member(community).user, "post", post.id)
        author = factories.member(community).user
        with count_queries() as queries:
            factories.answer(post, author)
        return len(queries)

    few, many = queries_for(2), queries_for(8)
    # Each notice costs its INSERT; preferences, readability and the unread counts (the live badge) are one query each.
    assert many - few == 6


def test_follow_button_on_a_question_page(app, client):
    with committed(app):
        community = factories.community(slug="ibd")
        factories.member(community, factories.user(username="reader"))
        post = factories.question(community)
        path = post.path
    login(client, "reader")
    done = submit(client, path, "Follow this question")
    assert done.status_code == 302
    assert done.headers["Location"] == path
    page = client.get(path).text
    assert "You follow this question." in page
    submit(client, path, "Unfollow this question")
    assert "Follow this question" in client.get(path).text


def test_follows_over_the_api(app, client):
    with committed(app):
        community = factories.community(slug="ibd")
        factories.member(community, factories.user(username="reader"))
        post_id = factories.question(community).id
    login(client, "reader")
    made = client.post("/api/v1/follows", json={"target_type": "post", "target_id": post_id})
    assert made.status_code == 200, made.json
    assert [f["target_id"] for f in client.get("/api/v1/follows").json["items"]] == [post_id]
    gone = client.delete(f"/api/v1/follows/post/{post_id}")
    assert gone.json == {"followed": True}
    refused = client.post("/api/v1/follows", json={"target_type": "planet", "target_id": 1})
    assert refused.status_code == 422


def test_no_email_for_a_site_only_follower(ctx):
    community = factories.community()
    reader = factories.member(community).user
    post = factories.question(community)
    notifications.follow(reader, "post", post.id)
    factories.answer(post)
    assert db.session.scalars(select(Notification).where(Notification.user_id == reader.id)).all()
    assert not db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == reader.email)).all()


def test_a_channel_follower_gets_one_unread_notice_however_many_messages(ctx):
    community = factories.community()
    reader, talker = factories.member(community).user, factories.member(community).user
    channel = factories.channel(community, name="parents")
    notifications.follow(reader, "channel", channel.id)
    for body in ("First", "Second", "Third"):
        factories.chat_message(channel.id, talker, body)
    [notice] = notifications.list_notifications(reader).items
    assert notice.kind == "channel_activity"
    assert "#parents" in notice.text
    assert "First" not in notice.text
    notifications.mark_read(reader)
    factories.chat_message(channel.id, talker, "Fourth")
    assert notifications.unread_count(reader) == 1
    assert kinds(talker) == []


def test_unfollow_from_the_settings_page_and_follow_a_measure(app, client):
    with committed(app):
        community = factories.community(slug="ibd")
        reader = factories.member(community, factories.user(username="reader")).user
        factories.question(community, reader, title="School trips")  # followed automatically
        measure = factories.measure(community)
        notifications.follow(reader, "measure", measure.id)
        notifications.follow(reader, "community", community.id)
        notifications.follow(reader, "channel", factories.channel(community, name="parents").id)
        measure_name = measure.name
    login(client, "reader")
    done = submit(client, "/settings/notifications", "Unfollow Question: “School trips”")
    assert done.headers["Location"] == "/settings/notifications"
    page = client.get("/settings/notifications").text
    assert f"Unfollow Measure: {measure_name}" in page
    assert "Unfollow Channel: #parents in" in page
    assert "School trips" not in page


def test_a_followers_live_badge_counts_the_new_notice_with_the_unread_ones(ctx):
    community = factories.community()
    post = factories.question(community)
    reader = factories.member(community).user
    notifications.follow(reader, "post", post.id)
    for n in range(2):
        notifications.notify(reader, kind="mention", text=f"Earlier {n}", url=f"/earlier/{n}")
    db.session.info.pop(PENDING_EMITS, None)  # what this transaction would push: only the answer's notice
    factories.answer(post, factories.member(community).user)
    pushed = [p for event, p, room, _ in db.session.info[PENDING_EMITS] if room == user_room(reader.id)]
    assert [p["unread"] for p in pushed] == [3]
    assert notifications.unread_count(reader) == 3
