"""My data for posts: `export_posts` puts what a member wrote (posts, answers, comments, every revision),
their votes, their interest in calls and their vettings in their export; `erase_posts`, on account
deletion, keeps their writing under "Former member" or removes it, drops their votes and interest and
recounts what they touched.

Both are receivers of signals.export_requested / account_erasing (contract in lhn/signals.py),
connected when the app factory (lhn/__init__.py) imports this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none, utcnow
from lhn.extensions import db
from lhn.posts.models import (
    Answer,
    AnswerRevision,
    AnswerVote,
    CallInterest,
    Comment,
    IdeaStatusChange,
    InterestStatus,
    Post,
    PostRevision,
    PostVote,
    Vetting,
)
from lhn.posts.services.common import wilson_lower_bound
from lhn.posts.services.vetting import refresh_post_vetting


def _state(item: Any) -> str:
    return "hidden" if item.hidden_at is not None else "withdrawn" if item.withdrawn_at is not None else "visible"


# --- export ------------------------------------------------------------------------------------------------


@signals.export_requested.connect
def export_posts(user: User, **_: Any) -> dict[str, Any]:
    """Everything they wrote, with its full history (what moderators hid included: it is theirs)."""
    mine = db.session.scalars(
        select(Post).where(Post.author_id == user.id).options(joinedload(Post.community)).order_by(Post.id)
    )
    answers = db.session.scalars(select(Answer).where(Answer.author_id == user.id).order_by(Answer.id))
    comments = db.session.scalars(select(Comment).where(Comment.author_id == user.id).order_by(Comment.id))
    post_revisions = db.session.scalars(
        select(PostRevision).where(PostRevision.editor_id == user.id).order_by(PostRevision.id)
    )
    answer_revisions = db.session.scalars(
        select(AnswerRevision).where(AnswerRevision.editor_id == user.id).order_by(AnswerRevision.id)
    )
    post_votes = db.session.scalars(select(PostVote).where(PostVote.user_id == user.id).order_by(PostVote.id))
    answer_votes = db.session.scalars(select(AnswerVote).where(AnswerVote.user_id == user.id).order_by(AnswerVote.id))
    interests = db.session.scalars(
        select(CallInterest).where(CallInterest.user_id == user.id).order_by(CallInterest.id)
    )
    vettings = db.session.scalars(select(Vetting).where(Vetting.by_id == user.id).order_by(Vetting.id))
    return {
        "posts": [
            {
                "id": p.id,
                "community": p.community.slug,
                "kind": p.kind.value,
                "title": p.title,
                "body": p.body,
                "sections": p.details or {},
                "tags": p.tag_list,
                "url": p.path,
                "created_at": iso_or_none(p.created_at),
                "edited_at": iso_or_none(p.edited_at),
                "state": _state(p),
            }
            for p in mine
        ],
        "answers": [
            {
                "id": a.id,
                "post_id": a.post_id,
                "body": a.body,
                "created_at": iso_or_none(a.created_at),
                "edited_at": iso_or_none(a.edited_at),
                "accepted": a.accepted_at is not None,
                "state": _state(a),
            }
            for a in answers
        ],
        "comments": [
            {
                "id": c.id,
                "post_id": c.post_id,
                "answer_id": c.answer_id,
                "body": c.body,
                "created_at": iso_or_none(c.created_at),
                "state": _state(c),
            }
            for c in comments
        ],
        "revisions": [
            *(
                {
                    "post_id": r.post_id,
                    "number": r.number,
                    "title": r.title,
                    "body": r.body,
                    "tags": r.tags,
                    "created_at": iso_or_none(r.created_at),
                }
                for r in post_revisions
            ),
            *(
                {"answer_id": r.answer_id, "number": r.number, "body": r.body, "created_at": iso_or_none(r.created_at)}
                for r in answer_revisions
            ),
        ],
        "votes": [
            *({"post_id": v.post_id, "value": v.value, "created_at": iso_or_none(v.created_at)} for v in post_votes),
            *(
                {"answer_id": v.answer_id, "value": v.value, "created_at": iso_or_none(v.created_at)}
                for v in answer_votes
            ),
        ],
        "call_interests": [
            {
                "post_id": i.post_id,
                "message": i.message,
                "status": i.status.value,
                "created_at": iso_or_none(i.created_at),
            }
            for i in interests
        ],
        "vettings": [
            {
                "answer_id": v.answer_id,
                "action": v.action.value,
                "revision": v.revision_number,
                "note": v.note,
                "evidence": v.evidence,
                "created_at": iso_or_none(v.created_at),
            }
            for v in vettings
        ],
    }


# --- erasure -----------------------------------------------------------------------------------------------


@signals.account_erasing.connect
def erase_posts(user: User, *, mode: str, former: User, **_: Any) -> None:
    """keep: their posts, answers, comments and revisions show "Former member"; remove: they are deleted
    (a removed post takes its answers and comments with it) and leave search. Either way their votes and
    interest in calls go (counters kept right), and their vettings and idea decisions stay as the
    community's record, by "Former member"."""
    touched_posts: set[int] = set()
    touched_answers: set[int] = set()
    _drop_votes_and_interest(user, touched_posts, touched_answers)
    for model, column in ((Vetting, Vetting.by_id), (IdeaStatusChange, IdeaStatusChange.by_id)):
        db.session.execute(update(model).where(column == user.id).values({column: former.id}))
    if mode == "keep":
        touched_posts.update(db.session.scalars(select(Answer.post_id).where(Answer.author_id == user.id)))
        touched_posts.update(db.session.scalars(select(Comment.post_id).where(Comment.author_id == user.id)))
        db.session.execute(
            update(Post).where(Post.author_id == user.id)
            .values(author_id=former.id, page_version=Post.page_version + 1)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        for writing, written_by in (
            (Answer, Answer.author_id),
            (Comment, Comment.author_id),
            (PostRevision, PostRevision.editor_id),
            (AnswerRevision, AnswerRevision.editor_id),
        ):
            db.session.execute(
                update(writing).where(written_by == user.id).values({written_by: former.id})
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    else:
        _remove_writing(user, touched_posts, touched_answers)
    db.session.expire_all()
    _recount(touched_posts, touched_answers)


def _drop_votes_and_interest(user: User, touched_posts: set[int], touched_answers: set[int]) -> None:
    touched_posts.update(db.session.scalars(select(PostVote.post_id).where(PostVote.user_id == user.id)))
    touched_answers.update(db.session.scalars(select(AnswerVote.answer_id).where(AnswerVote.user_id == user.id)))
    touched_posts.update(db.session.scalars(select(CallInterest.post_id).where(CallInterest.user_id == user.id)))
    db.session.execute(delete(PostVote).where(PostVote.user_id == user.id))
    db.session.execute(delete(AnswerVote).where(AnswerVote.user_id == user.id))
    db.session.execute(delete(CallInterest).where(CallInterest.user_id == user.id))


def _remove_writing(user: User, touched_posts: set[int], touched_answers: set[int]) -> None:
    own_posts = set(db.session.scalars(select(Post.id).where(Post.author_id == user.id)))
    answers = db.session.execute(select(Answer.id, Answer.post_id).where(Answer.author_id == user.id)).all()
    comments = db.session.execute(select(Comment.post_id, Comment.answer_id).where(Comment.author_id == user.id)).all()
    touched_posts.update(p for _, p in answers)
    touched_posts.update(p for p, _ in comments)
    touched_answers.update(a for _, a in comments if a is not None)
    # Out of search first: search drops the document of a post that is no longer visible.
    for post in db.session.scalars(select(Post).where(Post.author_id == user.id)):
        if post.is_visible:
            post.withdrawn_at = utcnow()
            db.session.flush()
            signals.post_content_changed.send(post)
    db.session.execute(delete(Comment).where(Comment.author_id == user.id))
    db.session.execute(delete(Answer).where(Answer.author_id == user.id))
    db.session.execute(update(Post).where(Post.linked_idea_id.in_(own_posts)).values(linked_idea_id=None))
    db.session.execute(delete(Post).where(Post.author_id == user.id))
    touched_posts.difference_update(own_posts)
    touched_answers.difference_update(a for a, _ in answers)


def _count(*where: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count()).where(*where)) or 0


def _recount(post_ids: set[int], answer_ids: set[int]) -> None:
    """Counters, vetted state and search of what others wrote and they had voted on, answered or commented."""
    visible_comment = (Comment.hidden_at.is_(None), Comment.withdrawn_at.is_(None))
    for answer in db.session.scalars(select(Answer).where(Answer.id.in_(answer_ids))) if answer_ids else []:
        votes = dict(
            db.session.execute(
                select(AnswerVote.value, func.count())
                .where(AnswerVote.answer_id == answer.id)
                .group_by(AnswerVote.value)
            ).all()
        )
        answer.ups, answer.downs = votes.get(1, 0), votes.get(-1, 0)
        answer.score, answer.wilson = answer.ups - answer.downs, wilson_lower_bound(answer.ups, answer.downs)
        answer.comment_count = _count(Comment.answer_id == answer.id, *visible_comment)
    for post in db.session.scalars(select(Post).where(Post.id.in_(post_ids))) if post_ids else []:
        post.score = _count(PostVote.post_id == post.id)
        post.answer_count = _count(Answer.post_id == post.id, Answer.hidden_at.is_(None), Answer.withdrawn_at.is_(None))
        post.comment_count = _count(Comment.post_id == post.id, Comment.answer_id.is_(None), *visible_comment)
        post.interest_count = _count(CallInterest.post_id == post.id, CallInterest.status != InterestStatus.WITHDRAWN)
        db.session.flush()
        refresh_post_vetting(post)
        signals.post_content_changed.send(post)
    db.session.flush()
