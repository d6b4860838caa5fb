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
from lhn.database import unchanged_since
from lhn.errors import Conflict
from lhn.extensions import db
from lhn.markup import render_markdown
from lhn.posts.models import Answer, AnswerRevision, Comment, Post, PostRevision
from lhn.posts.services.common import mentionable
from lhn.posts.services.posts import compose_markdown

Target = Literal["post", "answer", "comment"]
# text -> (new text, how many fragments were replaced)
Replace = Callable[[str], tuple[str, int]]


# What a prepared redaction hands back: how many fragments it found, and the function that stores it.
Prepared = tuple[int, Callable[[], None]]


def _store_nothing() -> None:
    pass


NOTHING: Prepared = (0, _store_nothing)


def _html(text: str, post: Post) -> str:
    return str(render_markdown(text, mentions=[u.username for u in mentionable(text, post.community)]))


EDITED_MEANWHILE = "The text was edited while the redaction was prepared; please look again."


def prepare_redaction(target: Target, item_id: int, replace: Replace, *, revision: int | None = None) -> Prepared:
    """Work out a redaction without the write lock (call inside lhn.database.reading()): apply `replace` to the
    current text (revision None, or the current revision's number: the text and its revision row) or to one
    older revision, and render the new HTML. Returns (how many fragments go, store): store() writes it in the
    write transaction, re-indexes search when the current text changed, and raises Conflict if the text was
    edited meanwhile. No permission check: the caller checks."""
    if target == "post":
        post = db.session.get(Post, item_id)
        return _prepare_post(post, replace, revision) if post is not None else NOTHING
    if target == "answer":
        answer = db.session.get(Answer, item_id)
        return _prepare_answer(answer, replace, revision) if answer is not None else NOTHING
    comment = db.session.get(Comment, item_id)
    if comment is None:
        return NOTHING
    body, count = replace(comment.body)
    html = _html(body, comment.post) if count else ""
    before = comment.body

    def store() -> None:
        if not unchanged_since(comment, body=before):
            raise Conflict(EDITED_MEANWHILE)
        comment.body, comment.body_html = body, html
        db.session.flush()

    return (count, store) if count else NOTHING


def _versions(item: Post | Answer, revision: int | None) -> tuple[int, int, bool]:
    """(the revision the text is at now, the revision to redact, whether that one is the current text)."""
    seen = item.revision
    number = seen if revision is None else revision
    return seen, number, number == seen


def _prepare_post(post: Post, replace: Replace, revision: int | None) -> Prepared:
    seen, number, current = _versions(post, revision)
    row = _post_revision(post.id, number)
    count = 0
    row_title, row_body = "", ""
    if row is not None:
        row_title, n_title = replace(row.title)
        row_body, n_body = replace(row.body)
        count = n_title + n_body
    changed, title, body, html = 0, "", "", ""
    details: dict[str, Any] = {}
    if current:
        title, n_title = replace(post.title)
        details, n_details = _replace_details(post.details or {}, replace)
        body, n_rest = replace(compose_markdown(post.kind, details))  # anything outside the sections (none)
        changed = n_title + n_details + n_rest
        html = _html(body, post) if changed else ""
        count = max(count, changed)

    def store() -> None:
        if not unchanged_since(post, revision=seen):
            raise Conflict(EDITED_MEANWHILE)
        stored = _post_revision(post.id, number) if row is not None else None
        if stored is not None:
            stored.title, stored.body = row_title, row_body
        if changed:
            post.title, post.details, post.body, post.body_html = title, details, body, html
            signals.post_content_changed.send(post)
        db.session.flush()

    return count, store


def _prepare_answer(answer: Answer, replace: Replace, revision: int | None) -> Prepared:
    seen, number, current = _versions(answer, revision)
    row = _answer_revision(answer.id, number)
    row_body, count = replace(row.body) if row is not None else ("", 0)
    changed, body, html = 0, "", ""
    if current:
        body, changed = replace(answer.body)
        html = _html(body, answer.post) if changed else ""
        count = max(count, changed)

    def store() -> None:
        if not unchanged_since(answer, revision=seen):
            raise Conflict(EDITED_MEANWHILE)
        stored = _answer_revision(answer.id, number) if row is not None else None
        if stored is not None:
            stored.body = row_body
        if changed:
            answer.body, answer.body_html = body, html
            db.session.flush()
            signals.post_content_changed.send(answer.post)
        db.session.flush()

    return count, store


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
