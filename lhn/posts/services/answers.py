"""Answers (with revisions), comments, votes and the asker's accepted answer."""

from __future__ import annotations

from sqlalchemy import select, update

from lhn import phi, realtime, signals
from lhn.accounts.models import User
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.posts import permissions
from lhn.posts.models import Answer, AnswerRevision, AnswerVote, Comment, Post, PostKind, PostVote
from lhn.posts.services.common import (
    ANSWER_MAX,
    COMMENT_MAX,
    Access,
    Written,
    check_slow_mode,
    checked_body,
    get_access,
    get_answer_access,
    get_comment_access,
    notify_new_mentions,
    prepare_text,
    wilson_lower_bound,
    word_diff,
    written_body,
)
from lhn.posts.services.posts import RevisionView, revision_findings, revision_rows
from lhn.posts.services.vetting import answer_path, current_vetting, refresh_post_vetting, settle_vetting_reviews

# An answer asks for vetting (a review item for the community's moderators) when the asker accepts it or
# its score reaches this, and it isn't vetted: the answers people rely on are the ones to check first.
VETTING_SCORE = 3


def _lock(post: Post) -> None:
    """Serialise writers on one post (PostgreSQL; SQLite writers already run one at a time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Post.id).where(Post.id == post.id).with_for_update())


# --- answers -----------------------------------------------------------------------------------------


def ask_for_vetting(answer: Answer) -> None:
    """Put a visible, unvetted answer in the review queue as "awaiting vetting" (one open item per answer)."""
    if answer.vetted_at is None and answer.is_visible:
        signals.review_needed.send("answer", target_id=answer.id, community_id=answer.community_id,
                                   kind="answer_vetting", subject_user_id=answer.author_id)  # fmt: skip


def post_answer(post_id: int, body: str, *, by: User, confirm_phi: bool = False) -> Answer:
    """A member answers a question. The asker is notified; the page's watchers get `answer_posted`.

    Guards: mutes, the thread's slow mode, the new-account link cap and the PHI guard (`confirm_phi`).
    Flushes; sends signals.answer_posted, signals.mentioned, signals.post_content_changed (and
    signals.phi_confirmed). Raises NotFound, PermissionDenied (not a member, muted, not a question,
    withdrawn or hidden), ValidationFailed (slow mode, links, phi.PHIConfirmationRequired).
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        access = get_access(post_id, by=by)
        post = access.post
        if post.kind != PostKind.QUESTION:
            raise PermissionDenied("Only questions take answers; comment on this post instead.")
        if not permissions.can_answer(by, post, access.membership):
            raise access.write_denied("Join the community to answer.", closed="This question is closed.")
        text, written = written_body(body, post.community, by=by, limit=ANSWER_MAX, confirm_phi=confirm_phi)
    check_slow_mode(post, by=by)  # in the write transaction: two quick answers can't both pass
    answer = Answer(post=post, community_id=post.community_id, author=by, body=text, body_html=written.html)
    db.session.add(answer)
    db.session.flush()
    notify_new_mentions(post, written.mentioned, "", by=by, url=answer_path(answer))
    db.session.add(AnswerRevision(answer_id=answer.id, number=1, body=text, editor_id=by.id, created_at=utcnow()))
    post.answer_count = Post.answer_count + 1
    db.session.flush()
    db.session.refresh(post, ["answer_count"])
    phi.record_confirmed(written.findings, by=by, target_type="answer", target_id=answer.id,
                         community_id=post.community_id)  # fmt: skip
    signals.answer_posted.send(post, answer=answer)
    signals.post_content_changed.send(post)
    realtime.emit_after_commit(realtime.EVENT_ANSWER_POSTED, {"post_id": post.id, "answer_id": answer.id},
                               to=realtime.post_room(post.id))  # fmt: skip
    return answer


def edit_answer(answer_id: int, body: str, *, by: User, confirm_phi: bool = False) -> Answer:
    """The author edits their answer; the new text becomes a revision (always: moderators reviewing a
    flagged answer see every version). If the answer was vetted, the seal now says "changed since
    vetting" (the vetting stays pinned to its revision) and the answer enters the review queue as
    "vetted answer changed" until re-vetted. The PHI guard asks about identifiers the previous version
    didn't have; new accounts keep the link cap.

    Flushes; sends signals.vetted_answer_changed and signals.review_needed (if it was vetted),
    signals.post_content_changed (and signals.phi_confirmed).
    Raises NotFound, PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired too).
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        answer, access = get_answer_access(answer_id, by=by)
        if not permissions.can_edit(by, answer):
            raise PermissionDenied("Only the author can edit this answer.")
        text = checked_body(body, limit=ANSWER_MAX)
        if text == answer.body:
            return answer
        previous = answer.body
        written = prepare_text({"body": text}, text, access.community, by=by, confirm_phi=confirm_phi,
                               previous=previous)  # fmt: skip
    post = access.post
    notify_new_mentions(post, written.mentioned, previous, by=by, url=answer_path(answer))
    answer.body, answer.body_html = text, written.html
    answer.revision += 1
    answer.edited_at = utcnow()
    db.session.add(AnswerRevision(answer_id=answer.id, number=answer.revision, body=text, editor_id=by.id,
                                  created_at=utcnow()))  # fmt: skip
    was_current = answer.vetted_current
    answer.vetted_current = False
    db.session.flush()
    phi.record_confirmed(written.findings, by=by, target_type="answer", target_id=answer.id,
                         community_id=answer.community_id)  # fmt: skip
    if answer.vetted_at is not None:
        signals.review_needed.send("answer", target_id=answer.id, community_id=answer.community_id,
                                   kind="vetted_answer_changed", subject_user_id=answer.author_id)  # fmt: skip
    if was_current:
        refresh_post_vetting(post)
        signals.vetted_answer_changed.send(post, answer=answer, vetting=current_vetting(answer))
        realtime.emit_after_commit(realtime.EVENT_ANSWER_VETTED,
                                   {"post_id": post.id, "answer_id": answer.id, "vetted": False},
                                   to=realtime.post_room(post.id))  # fmt: skip
    signals.post_content_changed.send(post)
    return answer


def withdraw_answer(answer_id: int, *, by: User) -> Answer:
    """The author withdraws their answer (it stays in the history; the page shows a placeholder).

    An accepted answer stops being accepted. Flushes. Raises NotFound, PermissionDenied.
    """
    answer, access = get_answer_access(answer_id, by=by)
    if not permissions.is_author(by, answer):
        raise PermissionDenied("Only the author can withdraw this answer.")
    if answer.withdrawn_at is None:
        answer.withdrawn_at = utcnow()
        answer.accepted_at = None
        after_answer_visibility_change(answer, access.post, visible=False)
        settle_vetting_reviews(answer, by=by, resolution="withdrawn")
    return answer


def after_answer_visibility_change(answer: Answer, post: Post, *, visible: bool) -> None:
    """Counters, the post's vetted state and search follow an answer that was hidden, withdrawn or restored."""

    post.answer_count = Post.answer_count + (1 if visible else -1)
    db.session.flush()
    db.session.refresh(post, ["answer_count"])
    refresh_post_vetting(post)
    signals.post_content_changed.send(post)
    realtime.emit_after_commit(realtime.EVENT_ANSWER_POSTED, {"post_id": post.id, "answer_id": answer.id},
                               to=realtime.post_room(post.id))  # fmt: skip


def list_answer_revisions(answer_id: int, *, by: object) -> tuple[Answer, list[RevisionView]]:
    """Every version of an answer, newest first, with word diffs. Raises NotFound."""
    answer, access = get_answer_access(answer_id, by=by)
    views, previous = [], None
    author = isinstance(by, User) and by.id == answer.author_id
    for revision in revision_rows(answer, access):
        findings = revision_findings(revision.body) if author else []
        views.append(
            RevisionView(revision, [], word_diff(previous.body if previous else "", revision.body), [], findings)
        )
        previous = revision
    return answer, list(reversed(views))


# --- accepting --------------------------------------------------------------------------------------


def accept_answer(answer_id: int, *, by: User, accept: bool = True) -> Answer:
    """The asker marks one answer as the one that helped them (or takes the mark back).

    Accepting another answer moves the mark. The accepted answer is marked, not pinned above vetted
    ones. Flushes. Raises NotFound, PermissionDenied, Conflict (answer withdrawn or hidden).
    """
    answer, access = get_answer_access(answer_id, by=by)
    post = access.post
    if not permissions.can_accept(by, post):
        raise PermissionDenied("Only the person who asked can accept an answer.")
    if not answer.is_visible:
        raise Conflict("This answer was withdrawn or hidden.")
    _lock(post)
    if accept:
        db.session.execute(
            update(Answer).where(Answer.post_id == post.id, Answer.id != answer.id).values(accepted_at=None)
            .execution_options(synchronize_session="fetch")
        )  # fmt: skip
        if answer.accepted_at is None:
            answer.accepted_at = utcnow()
            ask_for_vetting(answer)
    else:
        answer.accepted_at = None
    db.session.flush()
    realtime.emit_after_commit(realtime.EVENT_VOTE_CHANGED,
                               {"post_id": post.id, "answer_id": answer.id, "score": answer.score},
                               to=realtime.post_room(post.id))  # fmt: skip
    return answer


# --- votes -----------------------------------------------------------------------------------------


def _check_vote(access: Access, item: Post | Answer, by: User, noun: str) -> None:
    if permissions.is_author(by, item):
        raise PermissionDenied(f"You can't vote on your own {noun}.")
    if not permissions.can_vote(by, item, access.membership, access.community):
        raise PermissionDenied("Join the community to vote." if item.is_visible else f"This {noun} is closed.")


def vote_answer(answer_id: int, value: int, *, by: User) -> Answer:
    """One vote per member on an answer: +1, -1, or 0 to take it back. Not on your own answer.

    Keeps ups, downs, score and the Wilson lower bound that orders answers. Watchers get `vote_changed`.
    An unvetted answer whose score reaches VETTING_SCORE asks for vetting (signals.review_needed).
    Flushes. Raises NotFound, PermissionDenied, ValidationFailed.
    """
    if value not in (-1, 0, 1):
        raise ValidationFailed({"value": "Vote 1 (up), -1 (down) or 0 (take your vote back)."})
    answer, access = get_answer_access(answer_id, by=by)
    _check_vote(access, answer, by, "answer")
    _lock(access.post)
    vote = db.session.scalar(select(AnswerVote).where(AnswerVote.answer_id == answer.id, AnswerVote.user_id == by.id))
    old = vote.value if vote else 0
    if value == old:
        return answer
    if vote is None:
        db.session.add(AnswerVote(answer_id=answer.id, post_id=answer.post_id, user_id=by.id, value=value))
    elif value == 0:
        db.session.delete(vote)
    else:
        vote.value = value
    old_score = answer.score
    answer.ups += (value == 1) - (old == 1)
    answer.downs += (value == -1) - (old == -1)
    answer.score = answer.ups - answer.downs
    answer.wilson = wilson_lower_bound(answer.ups, answer.downs)
    db.session.flush()
    if old_score < VETTING_SCORE <= answer.score:
        ask_for_vetting(answer)
    realtime.emit_after_commit(realtime.EVENT_VOTE_CHANGED,
                               {"post_id": answer.post_id, "answer_id": answer.id, "score": answer.score},
                               to=realtime.post_room(answer.post_id))  # fmt: skip
    return answer


def vote_post(post_id: int, value: int, *, by: User) -> Post:
    """One up vote per member on a question or an idea (1), or 0 to take it back. Not on your own.

    Flushes. Raises NotFound, PermissionDenied, ValidationFailed.
    """
    if value not in (0, 1):
        raise ValidationFailed({"value": "Questions and ideas take up votes only: send 1, or 0 to take it back."})
    access = get_access(post_id, by=by)
    post = access.post
    if post.kind not in (PostKind.QUESTION, PostKind.IDEA):
        raise ValidationFailed({"value": "Only questions and ideas take votes."})
    _check_vote(access, post, by, post.kind.label.lower())
    _lock(post)
    vote = db.session.scalar(select(PostVote).where(PostVote.post_id == post.id, PostVote.user_id == by.id))
    if (vote is not None) == bool(value):
        return post
    if vote is None:
        db.session.add(PostVote(post_id=post.id, user_id=by.id, value=1))
    else:
        db.session.delete(vote)
    post.score = Post.score + (1 if value else -1)
    db.session.flush()
    db.session.refresh(post, ["score"])
    realtime.emit_after_commit(realtime.EVENT_VOTE_CHANGED, {"post_id": post.id, "answer_id": None,
                               "score": post.score}, to=realtime.post_room(post.id))  # fmt: skip
    return post


def my_votes(user: object, post: Post, answer_ids: list[int]) -> tuple[int, dict[int, int]]:
    """(the user's vote on the post, {answer_id: vote}) in two queries; zeros for visitors."""
    if not isinstance(user, User):
        return 0, {}
    on_post = db.session.scalar(select(PostVote.value).where(PostVote.post_id == post.id, PostVote.user_id == user.id))
    on_answers: dict[int, int] = {}
    if answer_ids:
        rows = db.session.execute(
            select(AnswerVote.answer_id, AnswerVote.value).where(
                AnswerVote.post_id == post.id, AnswerVote.user_id == user.id
            )
        )
        on_answers = dict(rows.all())
    return on_post or 0, on_answers


# --- comments ---------------------------------------------------------------------------------------


def post_comment(
    post_id: int, body: str, *, by: User, answer_id: int | None = None, confirm_phi: bool = False
) -> Comment:
    """A member comments on a post (on a question: to ask the asker to clarify) or on an answer. The post's
    author (or the answer's author) is notified. Guards: mutes, the thread's slow mode, the new-account link cap and
    the PHI guard (`confirm_phi`). Flushes; sends signals.comment_posted and signals.mentioned (and
    signals.phi_confirmed).

    Raises NotFound, PermissionDenied (not a member, muted), ValidationFailed (phi.PHIConfirmationRequired too).
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        access = get_access(post_id, by=by)
        post = access.post
        answer = None
        if answer_id is not None:
            answer = db.session.get(Answer, answer_id)
            if answer is None or answer.post_id != post.id:
                raise NotFound("No such answer.")
            if not answer.is_visible:
                raise PermissionDenied("This answer was withdrawn or hidden.")
        if not permissions.can_comment(by, post, access.membership):
            raise access.write_denied("Join the community to comment.", closed="This post is closed.")
        text, written = written_body(body, post.community, by=by, limit=COMMENT_MAX, confirm_phi=confirm_phi)
    check_slow_mode(post, by=by)  # in the write transaction: two quick comments can't both pass
    comment = add_comment(post, text, written, by=by, answer=answer)
    phi.record_confirmed(written.findings, by=by, target_type="comment", target_id=comment.id,
                         community_id=post.community_id)  # fmt: skip
    return comment


def add_comment(post: Post, text: str, written: Written, *, by: User, answer: Answer | None = None) -> Comment:
    """Store a checked comment, rendered beforehand by prepare_text (also used for PDSA cycle summaries).
    Flushes; sends the signals."""
    comment = Comment(post_id=post.id, answer_id=answer.id if answer else None, community_id=post.community_id,
                      author=by, body=text, body_html=written.html)  # fmt: skip
    db.session.add(comment)
    db.session.flush()
    notify_new_mentions(post, written.mentioned, "", by=by, url=f"{post.path}#comment-{comment.id}")
    if answer is not None:
        answer.comment_count = Answer.comment_count + 1
    else:
        post.comment_count = Post.comment_count + 1
    db.session.flush()
    signals.comment_posted.send(post, comment=comment, answer=answer)
    return comment


def withdraw_comment(comment_id: int, *, by: User) -> Comment:
    """The author withdraws their comment. Flushes. Raises NotFound, PermissionDenied."""
    comment, _access = get_comment_access(comment_id, by=by)
    if not permissions.is_author(by, comment):
        raise PermissionDenied("Only the author can withdraw this comment.")
    if comment.withdrawn_at is None:
        comment.withdrawn_at = utcnow()
        count_comment(comment, -1)
    return comment


def count_comment(comment: Comment, delta: int) -> None:
    """Keep the visible-comment counter of the comment's post or answer (hidden, withdrawn, restored)."""
    if comment.answer_id is not None:
        db.session.execute(update(Answer).where(Answer.id == comment.answer_id)
                           .values(comment_count=Answer.comment_count + delta))  # fmt: skip
    else:
        db.session.execute(update(Post).where(Post.id == comment.post_id)
                           .values(comment_count=Post.comment_count + delta))  # fmt: skip
    db.session.flush()
