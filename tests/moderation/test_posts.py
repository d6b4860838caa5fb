"""Moderation on posts, answers and comments (issue 6, phase 2): the target adapters, permissions of each
action on post targets, auto-hide on an answer, hidden content leaving search and coming back, redaction
of the current text and of one revision (database, HTML, search), vetting review items and their log
lines, revisions of flagged posts, and the audit rows. Runs on SQLite and, with LHN_TEST_DATABASE_URL, on
PostgreSQL (the search assertions then exercise the tsvector backend)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation import services
from lhn.moderation.models import AuditEvent, ModerationLogEntry, ReviewItem, ReviewKind, ReviewStatus
from lhn.moderation.services import actions, queue, targets
from lhn.notifications.models import Notification
from lhn.posts import services as posts
from lhn.posts.models import Answer, AnswerRevision, Comment, Post, PostRevision
from lhn.search import services as search
from tests import factories
from tests.moderation.conftest import PHONE


def u(name):
    return accounts.get_user(name)


def open_items(target_type, target_id, kind=ReviewKind.FLAGGED_CONTENT):
    return list(
        db.session.scalars(
            select(ReviewItem).where(
                ReviewItem.target_type == target_type,
                ReviewItem.target_id == target_id,
                ReviewItem.kind == kind,
                ReviewItem.status == ReviewStatus.OPEN,
            )
        )
    )


def found(term, who="rdr2"):
    return [hit.post.id for hit in search.search(term, by=u(who)).page.items]


def log_actions(community_slug="ibd"):
    community = communities.get_community(community_slug)
    return [
        (e.action, e.target_type, e.target_id)
        for e in db.session.scalars(
            select(ModerationLogEntry)
            .where(ModerationLogEntry.community_id == community.id)
            .order_by(ModerationLogEntry.id)
        )
    ]


def audited(action, object_type=None, object_id=None):
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
    return list(db.session.scalars(stmt))


# --- the adapters ------------------------------------------------------------------------------------------


def test_post_answer_and_comment_adapters_load_what_the_queue_shows(ctx, thread, count_queries):
    adapters = {t: targets.get_adapter(t) for t in ("post", "answer", "comment")}
    assert all(adapters.values()), "post, answer and comment are registered"
    with count_queries() as queries:
        answers = adapters["answer"].load_many([thread.answer_id, 999_999])
    assert len(queries) == 1, queries
    answer = answers[thread.answer_id]
    question = db.session.get(Post, thread.question_id)
    assert (answer.label, answer.community_id, answer.author.username) == ("answer", question.community_id, "author")
    assert answer.url == f"/c/ibd/q/{thread.question_id}#answer-{thread.answer_id}"
    assert PHONE in answer.excerpt
    assert not answer.hidden
    post = adapters["post"].load(thread.idea_id)
    assert post.url == f"/c/ibd/ideas/{thread.idea_id}"
    assert post.excerpt.startswith("Offer a nurse phone line")
    comment = adapters["comment"].load(thread.comment_id)
    assert comment.url.endswith(f"#comment-{thread.comment_id}")
    assert comment.author.username == "rdr1"
    assert adapters["answer"].revision_ids(thread.answer_id) == [1, 2]
    assert adapters["comment"].revision_ids(thread.comment_id) == []


def test_only_readers_of_a_restricted_community_can_flag_its_posts(ctx, thread):
    closed = factories.community(u("doc"), slug="closed", restricted=True)
    secret = factories.question(closed, factories.member(closed).user, title="A question only members can read")
    with pytest.raises(NotFound):
        factories.flag(u("intruder"), secret.id, "spam", target_type="post")
    with pytest.raises(ValidationFailed) as refused:
        factories.flag(u("author"), thread.answer_id, "spam", target_type="answer")
    assert "own writing" in refused.value.errors[""]
    assert factories.flag(u("intruder"), thread.answer_id, "spam", target_type="answer").id  # public: any reader


# --- permissions of each action on post targets --------------------------------------------------------------


@pytest.mark.parametrize("target", ["post", "answer", "comment"])
def test_who_may_act_on_a_flagged_post_answer_or_comment(ctx, thread, target):
    target_id = {"post": thread.idea_id, "answer": thread.answer_id, "comment": thread.comment_id}[target]
    flagger = "rdr2"
    factories.flag(u(flagger), target_id, "misinformation", target_type=target)
    item = open_items(target, target_id)[0]
    ibd = communities.get_community("ibd")
    # Members (and the flagger) don't see the queue; another community's moderator can't reach the item.
    for name in ("rdr3", flagger, "intruder"):
        with pytest.raises(PermissionDenied):
            queue.list_review_queue(by=u(name), community=ibd)
    for name in ("othermod", "rdr3", "intruder"):
        with pytest.raises(NotFound):
            actions.act_on_item(item.id, by=u(name), action="hide", version=item.version, reason="No.")
    # The community's moderator sees every content action; only a site admin may also suspend.
    view = queue.get_item_view(item.id, by=u("mod"))
    assert view.actions == ["dismiss", "hide", "redact", "warn", "mute"]
    assert "suspend" in queue.get_item_view(item.id, by=u("boss")).actions
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason="Unproven claim.")
    db.session.expire_all()
    assert db.session.get({"post": Post, "answer": Answer, "comment": Comment}[target], target_id).hidden_reason == (
        "Unproven claim."
    )


def test_hiding_an_answer_from_the_queue_shows_a_placeholder_notifies_logs_and_audits(ctx, thread):
    factories.flag(u("rdr2"), thread.answer_id, "misinformation", target_type="answer")
    item = open_items("answer", thread.answer_id)[0]
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason="Unproven dosing advice.")
    answer = db.session.get(Answer, thread.answer_id)
    assert answer.hidden_at is not None
    assert answer.hidden_reason == "Unproven dosing advice."
    assert answer.hidden_by_id == u("mod").id
    question = db.session.get(Post, thread.question_id)
    assert question.answer_count == 0  # counters follow
    page = posts.post_page(question.id, by=u("rdr3"))
    assert not page.access.sees_original(answer)
    assert posts.post_page(question.id, by=u("author")).access.sees_original(answer)
    assert posts.post_page(question.id, by=u("mod")).access.sees_original(answer)
    notices = db.session.scalars(select(Notification.text).where(Notification.user_id == u("author").id)).all()
    assert sum("hid your answer: Unproven dosing advice." in n for n in notices) == 1  # once, not twice
    assert ("hidden", "answer", thread.answer_id) in log_actions()
    assert audited("content.hidden", "answer", thread.answer_id)
    assert audited("review.hide", "review_item", item.id)
    # A second moderator holding the old version is told it was handled.
    with pytest.raises(Conflict, match="already handled by"):
        actions.act_on_item(item.id, by=u("doc"), action="dismiss", version=item.version)


def test_hiding_from_the_post_page_is_logged_and_audited_too(ctx, thread):
    posts.hide_content("comment", thread.comment_id, by=u("mod"), reason="Off topic.")
    posts.restore_content("comment", thread.comment_id, by=u("mod"))
    assert log_actions()[-2:] == [("hidden", "comment", thread.comment_id), ("restored", "comment", thread.comment_id)]
    assert audited("content.hidden", "comment", thread.comment_id)
    assert audited("content.restored", "comment", thread.comment_id)


# --- auto-hide and search --------------------------------------------------------------------------------------


def test_flags_reaching_the_threshold_hide_an_answer_pending_review_and_it_leaves_search(ctx, thread):
    assert found("lozenges") == [thread.question_id]
    assert found('"twice a day helped"') == [thread.question_id]  # the answer's text is indexed with its question
    factories.flag(u("rdr1"), thread.answer_id, "misinformation", target_type="answer")
    factories.flag(u("rdr2"), thread.answer_id, "misinformation", target_type="answer")
    assert db.session.get(Answer, thread.answer_id).hidden_at is None  # 2 < 3
    factories.flag(u("rdr3"), thread.answer_id, "phi", target_type="answer")
    answer = db.session.get(Answer, thread.answer_id)
    assert answer.hidden_at is not None
    assert answer.hidden_by_id is None
    assert answer.hidden_reason == services.AUTO_HIDE_REASON
    assert found('"twice a day helped"') == []  # the answer's words left the index
    assert found("lozenges") == [thread.question_id]  # its question (title) stays
    assert ("auto_hidden", "answer", thread.answer_id) in log_actions()
    assert db.session.scalars(
        select(Notification.text).where(Notification.user_id == u("author").id, Notification.text.like("%flags%"))
    ).all()
    item = open_items("answer", thread.answer_id)[0]
    assert queue.get_item_view(item.id, by=u("mod")).actions[0] == "restore"
    actions.act_on_item(item.id, by=u("mod"), action="restore", version=item.version)
    assert found('"twice a day helped"') == [thread.question_id]  # back on restore


def test_a_hidden_post_leaves_search_and_comes_back_on_restore(ctx, thread):
    assert found("nurse phone line") == [thread.idea_id]
    factories.flag(u("rdr1"), thread.idea_id, "spam", target_type="post")
    item = open_items("post", thread.idea_id)[0]
    actions.act_on_item(item.id, by=u("mod"), action="hide", version=item.version, reason="Duplicate.")
    assert found("nurse phone line") == []
    assert found("nurse phone line", who="mod") == []  # search never shows hidden posts, even to moderators
    posts.restore_content("post", thread.idea_id, by=u("mod"))
    assert found("nurse phone line") == [thread.idea_id]


# --- redaction -----------------------------------------------------------------------------------------------


def test_redacting_the_current_text_and_then_one_revision_erases_it_everywhere(ctx, thread):
    assert found(f'"{PHONE}"') == [thread.question_id]
    factories.flag(u("rdr1"), thread.answer_id, "phi", target_type="answer")
    item = open_items("answer", thread.answer_id)[0]
    _view, text = queue.view_original(item.id, by=u("mod"))
    assert (PHONE, "a phone number") in queue.phi_fragments(text)
    actions.act_on_item(item.id, by=u("mod"), action="redact", version=item.version, fragments=[PHONE])
    answer = db.session.get(Answer, thread.answer_id)
    assert PHONE not in answer.body
    assert targets.REDACTED_MARK in answer.body
    assert PHONE not in answer.body_html
    revisions = {
        r.number: r.body
        for r in db.session.scalars(select(AnswerRevision).where(AnswerRevision.answer_id == answer.id))
    }
    assert PHONE not in revisions[2]
    assert PHONE in revisions[1]
    assert found(f'"{PHONE}"') == []
    item = db.session.get(ReviewItem, item.id)
    assert item.is_open
    assert item.redacted
    actions.act_on_item(item.id, by=u("mod"), action="redact", version=item.version, fragments=[PHONE], revision_id=1)
    assert PHONE not in db.session.scalar(
        select(AnswerRevision.body).where(AnswerRevision.answer_id == answer.id, AnswerRevision.number == 1)
    )
    history = posts.list_answer_revisions(answer.id, by=u("mod"))[1]
    assert all(PHONE not in v.revision.body for v in history)
    entries = db.session.scalars(
        select(ModerationLogEntry.details)
        .where(ModerationLogEntry.action == "redacted")
        .order_by(ModerationLogEntry.id)
    ).all()
    assert entries == ["a phone number from this answer", "a phone number from revision 1 of this answer"]
    assert all(PHONE not in e.reason + e.details for e in db.session.scalars(select(ModerationLogEntry)))
    assert len(audited("content.redacted", "answer", answer.id)) == 2
    assert audited("content.hidden_viewed") == []  # the answer was visible: no restricted view


def test_an_author_redacts_their_own_post_title_sections_and_history(ctx, thread):
    ibd = communities.get_community("ibd")
    fields = posts.PostFields(
        title="Wheelchair access at 221 Baker Street clinic?",
        sections={"body": "Our address is 221 Baker Street, ring 513-555-0134."},
    )
    post = posts.create_post(ibd, "question", fields, by=u("asker"), confirm_phi=True)
    assert found("Baker") == [post.id]
    count = actions.redact_target(u("asker"), target_type="post", target_id=post.id)  # the scanner's findings
    assert count == 3
    post = db.session.get(Post, post.id)
    assert "Baker" not in post.title + post.body + post.body_html + str(post.details)
    revision = db.session.scalar(select(PostRevision).where(PostRevision.post_id == post.id))
    assert "Baker" not in revision.title + revision.body
    assert found("Baker") == []
    with pytest.raises(PermissionDenied):
        actions.redact_target(u("rdr1"), target_type="post", target_id=post.id, fragments=["clinic"])


# --- revisions of flagged posts ---------------------------------------------------------------------------------


def test_every_edit_of_a_flagged_post_creates_a_revision_moderators_can_redact(ctx, thread):
    factories.flag(u("rdr1"), thread.idea_id, "misinformation", target_type="post")
    idea = db.session.get(Post, thread.idea_id)
    for proposal in ("A nurse line, 8am to 6pm.", "A nurse line, 8am to 4pm."):
        fields = posts.fields_of(idea)
        fields.sections["proposal"] = proposal
        posts.edit_post(idea, fields, by=u("author"))
    assert idea.revision == 3
    item = open_items("post", thread.idea_id)[0]
    assert targets.get_adapter("post").revision_ids(item.target_id) == [1, 2, 3]
    assert "8am to 8pm" in targets.get_adapter("post").source_text(item.target_id, 1)


# --- vetting in the review queue ------------------------------------------------------------------------------


def test_accepted_or_well_voted_answers_ask_for_vetting_and_vetting_closes_the_item(ctx, thread):
    answer_id = thread.answer_id
    assert open_items("answer", answer_id, ReviewKind.ANSWER_VETTING) == []
    posts.accept_answer(answer_id, by=u("asker"))
    item = open_items("answer", answer_id, ReviewKind.ANSWER_VETTING)[0]
    assert item.subject_user_id == u("author").id
    assert queue.get_item_view(item.id, by=u("mod")).actions == ["dismiss"]
    factories.vet(db.session.get(Answer, answer_id), by=u("doc"))
    db.session.expire_all()
    item = db.session.get(ReviewItem, item.id)
    assert (item.status, item.resolution) == (ReviewStatus.RESOLVED, "vetted")
    assert ("vetted", "answer", answer_id) in log_actions()
    # A second answer reaching a score of 3 asks too; a moderator may dismiss that.
    other = factories.answer(db.session.get(Post, thread.question_id), u("rdr3"), body="Ask your IBD nurse first.")
    for voter in ("rdr1", "rdr2", "asker"):
        posts.vote_answer(other.id, 1, by=u(voter))
    item = open_items("answer", other.id, ReviewKind.ANSWER_VETTING)[0]
    actions.act_on_item(item.id, by=u("mod"), action="dismiss", version=item.version)
    assert db.session.get(ReviewItem, item.id).resolution == "dismissed"


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_an_edited_vetted_answer_is_reviewed_approve_revets_reject_unvets(ctx, thread, decision):
    answer = db.session.get(Answer, thread.answer_id)
    factories.vet(answer, by=u("doc"))
    posts.edit_answer(answer.id, "Zinc lozenges twice a day helped us. Ask your pharmacist.", by=u("author"))
    assert answer.changed_since_vetting
    item = open_items("answer", answer.id, ReviewKind.VETTED_ANSWER_CHANGED)[0]
    # Keeping the seal on new text is clinical judgement: the verified clinician may; a moderator curates.
    assert queue.get_item_view(item.id, by=u("doc")).actions == ["approve", "reject", "dismiss"]
    assert queue.get_item_view(item.id, by=u("mod")).actions == ["reject", "dismiss"]
    for name in ("author", "othermod"):
        with pytest.raises(NotFound):
            queue.get_item_view(item.id, by=u(name))
    reason = "" if decision == "approve" else "The new text drops the evidence."
    actions.act_on_item(item.id, by=u("doc" if decision == "approve" else "mod"), action=decision,
                        version=item.version, reason=reason)  # fmt: skip
    db.session.expire_all()
    answer = db.session.get(Answer, thread.answer_id)
    item = db.session.get(ReviewItem, item.id)
    if decision == "approve":
        assert answer.vetted_current
        assert answer.vetted_revision == 3
        assert item.resolution == "revetted"
        assert log_actions()[-1] == ("revetted", "answer", answer.id)
        assert posts.current_vetting(answer).evidence[0]["value"] == "10.1093/ecco-jcc/jjz180"  # same evidence
    else:
        assert answer.vetted_at is None
        assert not answer.vetted_current
        assert item.resolution == "unvetted"
        entry = db.session.scalars(select(ModerationLogEntry).order_by(ModerationLogEntry.id.desc())).first()
        assert (entry.action, entry.reason) == ("unvetted", "The new text drops the evidence.")


def test_rejecting_a_changed_vetted_answer_needs_a_reason(ctx, thread):
    answer = db.session.get(Answer, thread.answer_id)
    factories.vet(answer, by=u("doc"))
    posts.edit_answer(answer.id, "Zinc lozenges helped us.", by=u("author"))
    item = open_items("answer", answer.id, ReviewKind.VETTED_ANSWER_CHANGED)[0]
    with pytest.raises(ValidationFailed):
        actions.act_on_item(item.id, by=u("mod"), action="reject", version=item.version)


def test_withdrawing_an_answer_settles_its_vetting_items(ctx, thread):
    posts.accept_answer(thread.answer_id, by=u("asker"))
    item = open_items("answer", thread.answer_id, ReviewKind.ANSWER_VETTING)[0]
    posts.withdraw_answer(thread.answer_id, by=u("author"))
    db.session.expire_all()
    assert db.session.get(ReviewItem, item.id).resolution == "withdrawn"
