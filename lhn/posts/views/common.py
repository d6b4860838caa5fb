"""The posts blueprint and what its pages share: finding a post, answer or comment under the community in the
URL, a post's address, and the redirect back to it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from lhn.errors import NotFound, ValidationFailed
from lhn.inputs import whole_number
from lhn.posts import services as posts
from lhn.posts.models import Answer, Comment

bp = Blueprint("posts", __name__)


def post_access(slug: str, post_id: int) -> posts.Access:
    """The reader's access to a post of the community `slug` (NotFound for a post of another community)."""
    access = posts.get_access(post_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such post.")
    return access


def answer_access(slug: str, answer_id: int) -> tuple[Answer, posts.Access]:
    found, access = posts.get_answer_access(answer_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such answer.")
    return found, access


def comment_access(slug: str, comment_id: int) -> tuple[Comment, posts.Access]:
    found, access = posts.get_comment_access(comment_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such comment.")
    return found, access


def post_url(post: Any, **kwargs: Any) -> str:
    return url_for("posts.show", slug=post.community.slug, kind_path=post.kind.path, post_id=post.id, **kwargs)


def to_post(post: Any, anchor: str = "") -> Response:
    return redirect(post_url(post) + anchor)


def to_answer(post: Any, answer_id: int) -> Response:
    return to_post(post, f"#answer-{answer_id}")


def sent_int(value: Any, name: str = "value") -> int:
    """A number a button or hidden field sent (a vote's value, an answer's id): digits, perhaps a minus sign, that
    the database can hold (inputs.whole_number)."""
    number = whole_number(value, signed=True) if isinstance(value, str) else None
    if number is None:
        raise ValidationFailed({name: "Send a whole number."})
    return number
