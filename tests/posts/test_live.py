"""The live contract: events queued for post rooms after commit, who may watch a post, the answers fragment."""

from unittest import mock

import pytest

from lhn import realtime
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login


@pytest.fixture
def sent(app):
    """Events that would leave after commit: [(event, payload, room)]."""
    calls = []
    with mock.patch.object(realtime.socketio, "emit", lambda e, p, to, namespace: calls.append((e, p, to))):
        yield calls


def test_answers_votes_and_vettings_reach_the_post_room_after_commit(app, sent):
    with committed(app):
        ibd = factories.community()
        q = factories.question(ibd)
        q_id = q.id
    with committed(app):
        q = posts.get_post(q_id, by=None)
        a = factories.answer(q)
        a_id, author = a.id, a.author.username
    room = realtime.post_room(q_id)
    assert ("answer_posted", {"post_id": q_id, "answer_id": a_id}, room) in sent
    with committed(app):
        voter = factories.member(posts.get_post(q_id, by=None).community).user
        posts.vote_answer(a_id, 1, by=voter)
        posts.vote_post(q_id, 1, by=voter)
    assert ("vote_changed", {"post_id": q_id, "answer_id": a_id, "score": 1}, room) in sent
    assert ("vote_changed", {"post_id": q_id, "answer_id": None, "score": 1}, room) in sent
    with committed(app):
        factories.vet(posts.get_answer_access(a_id, by=None)[0])
    assert ("answer_vetted", {"post_id": q_id, "answer_id": a_id, "vetted": True}, room) in sent
    with committed(app):
        from lhn.accounts import services as accounts

        posts.edit_answer(a_id, "Changed text", by=accounts.get_user(author))
    assert ("answer_vetted", {"post_id": q_id, "answer_id": a_id, "vetted": False}, room) in sent


def test_nothing_is_sent_when_the_transaction_rolls_back(app, sent):
    with committed(app):
        q = factories.question(factories.community())
        q_id = q.id
    from lhn.extensions import db

    with app.app_context():
        factories.answer(posts.get_post(q_id, by=None))
        db.session.rollback()
    assert not [s for s in sent if s[0] == "answer_posted"]


def test_only_readers_may_watch_a_post_room(app):
    with committed(app):
        cf = factories.community(restricted=True)
        q = factories.question(cf)
        member, intruder = q.author, factories.user()
        q_id = q.id
        assert realtime.watch_room(member, f"post:{q_id}") == f"post:{q_id}"
        assert realtime.watch_room(intruder, f"post:{q_id}") is None
        assert realtime.watch_room(None, f"post:{q_id}") is None
        assert realtime.watch_room(member, "post:999999") is None


def test_the_answers_fragment_is_the_same_partial_with_the_same_permissions(app, client):
    with committed(app):
        ibd = factories.community(slug="ibd-live")
        q = factories.question(ibd)
        factories.answer(q, body="A fragment answer")
        cf = factories.community(slug="cf-live", restricted=True)
        secret = factories.question(cf)
        q_id, secret_id = q.id, secret.id
        factories.user(username="intruder")
    fragment = client.get(f"/c/ibd-live/q/{q_id}/answers")
    assert fragment.status_code == 200
    assert "A fragment answer" in fragment.text
    assert "<html" not in fragment.text
    page = client.get(f"/c/ibd-live/q/{q_id}").text
    assert f'data-live-room="post:{q_id}"' in page
    assert f'data-fragment-url="/c/ibd-live/q/{q_id}/answers"' in page
    assert 'aria-live="polite"' in page
    login(client, "intruder")
    assert client.get(f"/c/cf-live/q/{secret_id}/answers").status_code == 404
