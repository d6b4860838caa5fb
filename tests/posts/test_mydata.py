"""My data for posts (issue 6): the export holds a member's posts, answers, comments, revisions, votes,
interest in calls and vettings; deleting the account keeps their writing as "Former member" or removes it
(and its search entries), with everyone else's counters kept right. Runs on PostgreSQL too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lhn.accounts import services as accounts
from lhn.accounts.mydata import FORMER_MEMBER
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.moderation.models import AuditEvent
from lhn.posts import services as posts
from lhn.posts.models import Answer, AnswerRevision, AnswerVote, Comment, Post, PostRevision, PostVote, Vetting
from lhn.search import services as search
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import PASSWORD, committed


def u(name):
    return accounts.get_user(name)


@pytest.fixture
def ids(app) -> dict[str, int]:
    """leaver (a member who wrote a bit of everything) and others in ibd: asker, reader, vet (a verified
    clinician)."""
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd")
        leaver = factories.member(ibd, factories.user("patient", username="leaver")).user
        asker = factories.member(ibd, factories.user("caregiver", username="asker")).user
        reader = factories.member(ibd, factories.user("patient", username="reader")).user
        vet = factories.vetter(ibd)
        own = factories.question(ibd, leaver, title="Marmalade sandwiches before infusions?")
        posts.edit_post(own, posts.PostFields(title="Marmalade sandwiches before an infusion?",
                                              sections={"body": "Does anyone eat first?"}), by=leaver)  # fmt: skip
        theirs = factories.question(ibd, asker, title="How long do infusions take?")
        answer = posts.post_answer(theirs.id, "About two hours, bring quince jam.", by=leaver)
        kept = posts.post_answer(theirs.id, "Ours take three hours.", by=reader)
        other_answer = posts.post_answer(own.id, "Yes, a light breakfast.", by=reader)
        idea = factories.idea(ibd, asker)
        comment = posts.post_comment(idea.id, "I would use this line.", by=leaver)
        posts.vote_post(theirs.id, 1, by=leaver)
        posts.vote_answer(kept.id, 1, by=leaver)
        posts.vote_answer(answer.id, 1, by=reader)
        call = factories.call(ibd, asker)
        posts.express_interest(call.id, "Count me in.", by=leaver)
        vetted = posts.vet_answer(kept.id, by=vet, note="Matches the unit's leaflet.", evidence="31758784")
        return {"own": own.id, "theirs": theirs.id, "answer": answer.id, "kept": kept.id, "idea": idea.id,
                "comment": comment.id, "call": call.id, "other_answer": other_answer.id, "vet": vet.id,
                "vetting": vetted.id}  # fmt: skip


def test_the_export_holds_what_they_wrote_and_did_with_posts(ctx, ids):
    data = mydata.export_my_data(u("leaver"))
    assert [p["title"] for p in data["posts"]] == ["Marmalade sandwiches before an infusion?"]
    assert data["posts"][0]["sections"] == {"body": "Does anyone eat first?"}
    assert [a["body"] for a in data["answers"]] == ["About two hours, bring quince jam."]
    assert [c["body"] for c in data["comments"]] == ["I would use this line."]
    titles = [r.get("title") for r in data["revisions"] if "post_id" in r]
    assert titles == ["Marmalade sandwiches before infusions?", "Marmalade sandwiches before an infusion?"]
    assert [r["body"] for r in data["revisions"] if "answer_id" in r] == ["About two hours, bring quince jam."]
    assert {("post_id", ids["theirs"], 1), ("answer_id", ids["kept"], 1)} == {
        (key, v[key], v["value"]) for v in data["votes"] for key in ("post_id", "answer_id") if key in v
    }
    assert data["call_interests"][0]["message"] == "Count me in."
    assert data["vettings"] == []
    assert "quince" not in str(mydata.export_my_data(u("reader"))["answers"])  # only their own
    assert mydata.export_my_data(db.session.get(type(u("leaver")), ids["vet"]))["vettings"][0]["note"] == (
        "Matches the unit's leaflet."
    )
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == u("leaver").id)) == "data.export"


def test_the_export_over_the_api_includes_posts(client, ids):
    data = client.get("/api/v1/me/export", headers=bearer(token_for(client, "leaver"))).get_json()
    assert data["answers"][0]["body"] == "About two hours, bring quince jam."
    assert data["posts"]


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def found(term):
    return [hit.post.id for hit in search.search(term, by=u("reader")).page.items]


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_deleting_the_account_keeps_or_removes_their_writing(ctx, ids, mode):
    leaver_id = u("leaver").id
    assert found("marmalade") == [ids["own"]]
    assert found("quince") == [ids["theirs"]]
    mydata.delete_account(u("leaver"), password=PASSWORD, mode=mode)
    db.session.expire_all()
    former = accounts.get_user(FORMER_MEMBER)
    for model, column in ((Post, Post.author_id), (Answer, Answer.author_id), (Comment, Comment.author_id),
                          (PostRevision, PostRevision.editor_id), (AnswerRevision, AnswerRevision.editor_id),
                          (PostVote, PostVote.user_id), (AnswerVote, AnswerVote.user_id)):  # fmt: skip
        assert count(model, column == leaver_id) == 0, model
    theirs, kept = db.session.get(Post, ids["theirs"]), db.session.get(Answer, ids["kept"])
    assert theirs.score == 0
    assert (kept.ups, kept.score) == (0, 0)
    assert db.session.get(Post, ids["call"]).interest_count == 0
    assert db.session.get(Vetting, ids["vetting"]).by_id == ids["vet"]  # others' vettings untouched
    if mode == "keep":
        assert db.session.get(Post, ids["own"]).author_id == former.id
        assert db.session.get(Answer, ids["answer"]).author_id == former.id
        assert db.session.get(Comment, ids["comment"]).author_id == former.id
        assert count(PostRevision, PostRevision.editor_id == former.id) == 2
        assert theirs.answer_count == 2
        assert db.session.get(Post, ids["idea"]).comment_count == 1
        assert found("marmalade") == [ids["own"]]
        assert found("quince") == [ids["theirs"]]
    else:
        assert db.session.get(Post, ids["own"]) is None
        assert db.session.get(Answer, ids["other_answer"]) is None  # an answer to a removed question goes with it
        assert db.session.get(Answer, ids["answer"]) is None
        assert db.session.get(Comment, ids["comment"]) is None
        assert theirs.answer_count == 1
        assert db.session.get(Post, ids["idea"]).comment_count == 0
        assert found("marmalade") == []
        assert found("quince") == []
        assert found("three hours") == [ids["theirs"]]  # others' answers stay searchable
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == leaver_id)).all()
    assert "account.delete" in actions
