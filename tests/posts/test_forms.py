"""The post pages' forms, submitted as a browser sends them (tests/forms.py): votes, answers, comments, accepting,
withdrawing, hiding, vetting, idea statuses, interest in a call, and the search boxes of the lists."""

import pytest

from lhn.accounts import services as accounts
from lhn.extensions import db
from lhn.posts.models import Answer, Comment, Post
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit


@pytest.fixture
def world(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        teen = factories.member(ibd, factories.user("patient", username="teen")).user
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        factories.member(ibd, factories.user("caregiver", username="mum", display_name="Mum of two"))
        question = factories.question(ibd, teen)
        answer = factories.answer(question, doc)
        return {"question": question.path, "question_id": question.id, "answer_id": answer.id}


def _row(app, model, row_id):
    with app.app_context():
        return db.session.get(model, row_id)


def test_answer_vote_accept_comment_and_withdraw_through_the_question_page(app, client, world):
    url = world["question"]
    login(client, "mum")
    posted = submit(client, url, "Post answer", body="Our nurse came along; pack the spare meds.",
                    follow_redirects=True)  # fmt: skip
    assert "Our nurse came along" in posted.text
    assert submit(client, url, "Vote for this question").status_code == 302
    assert submit(client, url, "Vote up", action_has=f"/answers/{world['answer_id']}/vote").status_code == 302
    commented = submit(client, url, "Comment", which=0, body="Which meds did you pack?", follow_redirects=True)
    assert "Which meds did you pack?" in commented.text
    assert submit(client, url, "Withdraw", action_has="/comments/").status_code == 302
    assert submit(client, url, "Withdraw", action_has="/withdraw", which=0).status_code == 302  # my answer
    login(client, "teen")
    assert submit(client, url, "Accept: this helped me").status_code == 302
    with app.app_context():
        mine = db.session.query(Answer).filter(Answer.author.has(username="mum")).one()
        assert mine.withdrawn_at is not None
        assert db.session.query(Comment).one().withdrawn_at is not None
        assert db.session.get(Answer, world["answer_id"]).accepted_at is not None
        assert db.session.get(Answer, world["answer_id"]).score == 1
        assert db.session.get(Post, world["question_id"]).score == 1
    assert submit(client, url, "Withdraw", action_has=f"/posts/{world['question_id']}/withdraw").status_code == 302
    assert _row(app, Post, world["question_id"]).withdrawn_at is not None


def test_comment_on_the_question_itself_through_its_page(app, client, world):
    url = world["question"]
    login(client, "mum")
    commented = submit(client, url, "Comment", action_has=f"/posts/{world['question_id']}/comments", which=0,
                       body="Which school **year**?", follow_redirects=True)  # fmt: skip
    assert "<strong>year</strong>" in commented.text
    with app.app_context():
        comment = db.session.query(Comment).one()
        assert comment.answer_id is None
        assert comment.post_id == world["question_id"]
    login(client, "mod")
    assert submit(client, url, "Hide", action_has=f"/comment/{comment.id}/hide", reason="Off topic").status_code == 302
    assert _row(app, Comment, comment.id).hidden_at is not None


def test_edit_an_answer_through_its_page(app, client, world):
    login(client, "doc")
    url = f"/c/ibd/answers/{world['answer_id']}/edit"
    saved = submit(client, url, "Save answer", body="Ask the school nurse to join; pack spare meds.")
    assert saved.status_code == 302
    assert "pack spare meds" in _row(app, Answer, world["answer_id"]).body


def test_a_moderator_hides_a_question_through_the_page(app, client, world):
    login(client, "mod")
    hidden = submit(client, world["question"], "Hide", action_has=f"/post/{world['question_id']}/hide",
                    reason="Off topic for this community.")  # fmt: skip
    assert hidden.status_code == 302
    assert _row(app, Post, world["question_id"]).hidden_at is not None


def test_a_verified_clinician_vets_then_unvets_an_answer_through_the_pages(app, client, world):
    with committed(app):
        other = factories.answer(db.session.get(Post, world["question_id"]),
                                 factories.user("caregiver", username="dad"))  # fmt: skip
        other_id = other.id
    login(client, "doc")
    vetted = submit(client, f"/c/ibd/answers/{other_id}/vet", "Vet revision 1", note="Matches ECCO guidance.",
                    evidence="10.1093/ecco-jcc/jjz180", review_by="2027-06-01")  # fmt: skip
    assert vetted.status_code == 302
    assert _row(app, Answer, other_id).vetted_current
    unvetted = submit(client, f"/c/ibd/answers/{other_id}/unvet", "Remove the vetted mark",
                      reason="The guidance changed.")  # fmt: skip
    assert unvetted.status_code == 302
    assert not _row(app, Answer, other_id).vetted_current


def test_a_moderator_changes_an_ideas_status_through_the_page(app, client, world):
    with committed(app):
        idea = factories.idea(db.session.get(Post, world["question_id"]).community, accounts.get_user("teen"))
        url, idea_id = idea.path, idea.id
    login(client, "mod")
    changed = submit(client, url, "Change status", status="under_review", reason="We will discuss it in March.")
    assert changed.status_code == 302
    assert _row(app, Post, idea_id).idea_status.value == "under_review"


def test_interest_in_a_call_is_sent_decided_and_withdrawn_through_the_page(app, client, world):
    with committed(app):
        call = factories.call(db.session.get(Post, world["question_id"]).community, accounts.get_user("doc"))
        url = call.path
    login(client, "mum")
    sent = submit(client, url, "I'm interested", message="A parent at a site in Leeds.", follow_redirects=True)
    assert "You said you're interested" in sent.text
    author = app.test_client()
    login(author, "doc")
    decided = submit(author, url, "Accept Mum of two", follow_redirects=True)
    assert "Accepted" in decided.text
    withdrawn = submit(client, url, "Withdraw my interest", follow_redirects=True)
    assert "You said you're interested" not in withdrawn.text


@pytest.mark.parametrize("page", ["/feed", "/c/ibd/posts", "/c/ibd/vetted", "/search"])
def test_the_search_boxes_of_the_lists_search(app, client, world, page):
    login(client, "teen")
    found = submit(client, page, "Search", q="school trips")
    assert found.status_code == 200
    assert ('<a href="/c/ibd/q/' in found.text) == ("/vetted" not in page)  # the vetted search finds none yet


@pytest.mark.parametrize("tampered", ["99999999999999999999999", "-99999999999999999999999", "abc", "1_0", " 7"])
def test_a_comment_form_with_a_tampered_answer_id_is_refused_and_stores_nothing(app, client, world, tampered):
    login(client, "mum")
    refused = submit(client, world["question"], "Comment", action_has=f"/posts/{world['question_id']}/comments",
                     which=1, body="Which meds?", forge={"answer_id": tampered})  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert "Send a whole number" in refused.text
    with app.app_context():
        assert db.session.query(Comment).count() == 0


def test_a_hiding_reason_with_a_direction_control_says_so_and_hides_nothing(app, client, world):
    login(client, "mod")
    refused = submit(client, world["question"], "Hide", action_has=f"/post/{world['question_id']}/hide",
                     reason="Off \u202etopic", follow_redirects=True)  # fmt: skip
    assert refused.status_code == 200
    assert "invisible text-direction controls" in refused.text
    assert _row(app, Post, world["question_id"]).hidden_at is None
