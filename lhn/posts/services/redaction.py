"""Erasing fragments of stored text (personal health information) from a post, answer or comment, or from
one revision in its history: the source, its rendered HTML and the search index follow.

Posts own their storage, so the rewriting happens here; the caller supplies the text transform
(moderation's redact_text) and checks who may do it. Nothing here reads the request or commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import select

from lhn import signals
from lhn.extensions import db
from lhn.markup import render_markdown
from lhn.posts.models import Answer, AnswerRevision, Comment, Post, PostRevision
from lhn.posts.services.common import mentionable
from lhn.posts.services.posts import compose_markdown

Target = Literal["post", "answer", "comment"]
# text -> (new text, how many fragments were replaced)
Replace = Callable[[str], tuple[str, int]]


def _html(text: str, post: Post) -> str:
    return str(render_markdown(text, mentions=[u.username for u in mentionable(text, post)]))


def revision_numbers(target: Target, item_id: int) -> list[int]:
    """The revision numbers of a post's or answer's history, oldest first (comments have none)."""
    if target == "post":
        stmt = select(PostRevision.number).where(PostRevision.post_id == item_id)
        return list(db.session.scalars(stmt.order_by(PostRevision.number)))
    if target == "answer":
        stmt = select(AnswerRevision.number).where(AnswerRevision.answer_id == item_id)
        return list(db.session.scalars(stmt.order_by(AnswerRevision.number)))
    return []


def _post_revision(post_id: int, number: int) -> PostRevision | None:
    return db.session.scalar(select(PostRevision).where(PostRevision.post_id == post_id, PostRevision.number == number))


def _answer_revision(answer_id: int, number: int) -> AnswerRevision | None:
    return db.session.scalar(
        select(AnswerRevision).where(AnswerRevision.answer_id == answer_id, AnswerRevision.number == number)
    )


def stored_text(target: Target, item_id: int, revision: int | None = None) -> str:
    """The Markdown source as stored (a post: its title, a blank line, its text), current or of one revision."""
    if target == "post":
        post = db.session.get(Post, item_id)
        if post is None:
            return ""
        row: Any = post if revision is None else _post_revision(item_id, revision)
        return f"{row.title}\n\n{row.body}" if row is not None else ""
    if target == "answer":
        answer = db.session.get(Answer, item_id)
        if answer is None:
            return ""
        found: Any = answer if revision is None else _answer_revision(item_id, revision)
        return found.body if found is not None else ""
    comment = db.session.get(Comment, item_id)
    return comment.body if comment is not None else ""


def _replace_details(details: dict[str, Any], replace: Replace) -> tuple[dict[str, Any], int]:
    out, count = {}, 0
    for key, value in details.items():
        if isinstance(value, str):
            value, n = replace(value)
            count += n
        out[key] = value
    return out, count


def redact_content(target: Target, item_id: int, replace: Replace, *, revision: int | None = None) -> int:
    """Apply `replace` to the current text (revision None, or the current revision's number: the text and
    its revision row) or to one older revision. Re-renders the HTML, re-indexes search when the current
    text changed. No permission check: the caller checks. Flushes. Returns how many fragments went."""
    if target == "post":
        count = _redact_post(item_id, replace, revision)
    elif target == "answer":
        count = _redact_answer(item_id, replace, revision)
    else:
        comment = db.session.get(Comment, item_id)
        if comment is None:
            return 0
        body, count = replace(comment.body)
        if count:
            comment.body, comment.body_html = body, _html(body, comment.post)
    db.session.flush()
    return count


def _redact_post(post_id: int, replace: Replace, revision: int | None) -> int:
    post = db.session.get(Post, post_id)
    if post is None:
        return 0
    current = revision is None or revision == post.revision
    row = _post_revision(post.id, post.revision if current else revision)  # type: ignore[arg-type]
    count = 0
    if row is not None:
        row.title, n_title = replace(row.title)
        row.body, n_body = replace(row.body)
        count = n_title + n_body
    if current:
        post.title, n_title = replace(post.title)
        details, n_details = _replace_details(post.details or {}, replace)
        post.details = details
        body = compose_markdown(post.kind, details)
        body, n_rest = replace(body)  # anything outside the sections (there should be nothing)
        changed = n_title + n_details + n_rest
        if changed:
            post.body, post.body_html = body, _html(body, post)
            signals.post_content_changed.send(post)
        count = max(count, changed)
    return count


def _redact_answer(answer_id: int, replace: Replace, revision: int | None) -> int:
    answer = db.session.get(Answer, answer_id)
    if answer is None:
        return 0
    current = revision is None or revision == answer.revision
    row = _answer_revision(answer.id, answer.revision if current else revision)  # type: ignore[arg-type]
    count = 0
    if row is not None:
        row.body, count = replace(row.body)
    if current:
        body, changed = replace(answer.body)
        if changed:
            answer.body, answer.body_html = body, _html(body, answer.post)
            db.session.flush()
            signals.post_content_changed.send(answer.post)
        count = max(count, changed)
    return count
