"""The rendered-answers cache for anonymous readers: every change to a question's page shows at once."""

import pytest

from lhn.accounts import services as accounts
from lhn.posts import cache
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login


@pytest.fixture
def question(app):
    with committed(app):
        ibd = factories.community(slug="ibd-cache")
        q = factories.question(ibd, factories.member(ibd, factories.user(username="asker")).user)
        a = factories.answer(q, factories.member(ibd, factories.user(username="answerer")).user, body="First answer")
        factories.member(ibd, factories.user(username="moderator1"), role="moderator")
        ibd.moderators_may_vet = True  # moderator1 vets below
        factories.member(ibd, factories.user(username="voter"))
        return q.id, a.id


def test_every_change_shows_to_anonymous_readers_at_once(app, client, question):
    q_id, a_id = question
    url = f"/c/ibd-cache/q/{q_id}"
    assert "First answer" in client.get(url).text
    assert "First answer" in client.get(url).text  # from the cache now

    def change(fn):
        with committed(app):
            fn(lambda name: accounts.get_user(name))

    change(lambda u: posts.post_answer(q_id, "Second answer", by=u("moderator1")))
    assert "Second answer" in client.get(url).text
    change(lambda u: posts.vote_answer(a_id, 1, by=u("voter")))
    assert 'aria-label="Score 1"' in client.get(url).text
    change(lambda u: posts.edit_answer(a_id, "First answer, edited", by=u("answerer")))
    assert "First answer, edited" in client.get(url).text
    change(lambda u: posts.vet_answer(a_id, by=u("moderator1"), note="Good", evidence="PMID 123"))
    assert "Vetted by" in client.get(url).text
    change(lambda u: posts.post_comment(q_id, "A comment on it", by=u("voter"), answer_id=a_id))
    assert "A comment on it" in client.get(url).text
    change(lambda u: posts.accept_answer(a_id, by=u("asker")))
    assert "Accepted by the asker" in client.get(url).text
    change(lambda u: posts.hide_content("answer", a_id, by=u("moderator1"), reason="Rude"))
    page = client.get(url).text
    assert "First answer, edited" not in page
    assert "Reason: Rude" in page
    assert client.get(f"/c/ibd-cache/q/{q_id}/answers").text.count("Reason: Rude") == 1


def test_logged_in_readers_never_get_the_anonymous_html(app, client, question):
    q_id, _a_id = question
    url = f"/c/ibd-cache/q/{q_id}"
    client.get(url)
    login(client, "answerer")
    assert ">Edit</a>" in client.get(url).text


def test_entries_expire_so_badges_catch_up(app, client, question, monkeypatch):
    q_id, _a_id = question
    url = f"/c/ibd-cache/q/{q_id}"
    with committed(app):
        answerer = accounts.get_user("answerer")
        answerer.display_name = "Renamed person"  # a badge change that bumps no post version
    client.get(url)
    with committed(app):
        accounts.get_user("answerer").display_name = "Renamed again"
    assert "Renamed again" not in client.get(url).text
    monkeypatch.setattr(cache, "TTL", 0.0)
    assert "Renamed again" in client.get(url).text


def test_idea_pages_follow_status_changes_and_new_linked_experiences(app, client, question):
    with committed(app):
        from lhn.communities import services as communities

        ibd = communities.get_community("ibd-cache")
        idea = factories.idea(ibd, accounts.get_user("voter"))
        idea_id = idea.id
    url = f"/c/ibd-cache/ideas/{idea_id}"
    assert "Experiences that put it into practice" not in client.get(url).text
    with committed(app):
        factories.experience(posts.get_post(idea_id, by=None).community, accounts.get_user("answerer"),
                             title="We tried the nurse line at our site", linked_idea_id=idea_id)  # fmt: skip
    assert "We tried the nurse line at our site" in client.get(url).text
    with committed(app):
        posts.change_idea_status(idea_id, "under_review", by=accounts.get_user("moderator1"), reason="Looks good")
    assert "Looks good" in client.get(url).text
