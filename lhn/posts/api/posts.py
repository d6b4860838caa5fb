"""Posts over JSON: lists and the knowledge base, writing, revisions, votes, comments, slow mode and an idea's
status. The same services as the pages."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.communities import services as communities
from lhn.database import transactional
from lhn.limits import user_rate_limited, wrote
from lhn.posts import services as posts
from lhn.posts.api.payloads import (
    change_json,
    comment_json,
    page_of_posts,
    post_fields,
    post_json,
    revision_json,
)
from lhn.posts.forms import list_filters

# --- lists ------------------------------------------------------------------------------------------------


@bp.get("/communities/<slug>/vetted")
def knowledge_base(slug: str) -> ResponseReturnValue:
    tag, cursor = inputs.arg_text("tag") or None, inputs.arg_cursor()
    community, _membership = communities.get_readable_community(current_user, slug)
    listing = posts.list_knowledge_base(community, by=current_user, tag=tag, cursor=cursor)
    return jsonify(page_of_posts(listing))


@bp.get("/me/feed")
def my_feed() -> ResponseReturnValue:
    user = require_user()
    return jsonify(page_of_posts(posts.list_feed(by=user, **list_filters())))


@bp.get("/me/vetted")
def my_knowledge_base() -> ResponseReturnValue:
    user, tag, cursor = require_user(), inputs.arg_text("tag") or None, inputs.arg_cursor()
    return jsonify(page_of_posts(posts.list_knowledge_base(None, by=user, tag=tag, cursor=cursor)))


# --- posts ------------------------------------------------------------------------------------------------


@bp.post("/communities/<slug>/posts")
@user_rate_limited("post", deduct_when=wrote)
@transactional
def create_post(slug: str) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    kind, fields, confirm_phi = inputs.text(data, "kind", missing=""), post_fields(data), inputs.phi_confirmed(data)
    post = posts.create_post(communities.get_community(slug), kind, fields, by=user, confirm_phi=confirm_phi)
    return created(post_json(posts.post_page(post.id, by=user, with_sources=True)))


@bp.get("/posts/<int:post_id>")
def show_post(post_id: int) -> ResponseReturnValue:
    return jsonify(post_json(posts.post_page(post_id, by=current_user, with_sources=True)))


@bp.patch("/posts/<int:post_id>")
@transactional
def edit_post(post_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    post = posts.get_post(post_id, by=user)
    posts.edit_post(post, post_fields(data, post), by=user, confirm_phi=inputs.phi_confirmed(data))
    return jsonify(post_json(posts.post_page(post.id, by=user, with_sources=True)))


@bp.delete("/posts/<int:post_id>")
@transactional
def withdraw_post(post_id: int) -> ResponseReturnValue:
    user = require_user()
    posts.withdraw_post(posts.get_post(post_id, by=user), by=user)
    return "", 204


@bp.get("/posts/<int:post_id>/revisions")
def post_revisions(post_id: int) -> ResponseReturnValue:
    _post, history = posts.list_post_revisions(post_id, by=current_user)
    return jsonify(items=[revision_json(v, with_title=True) for v in history])


@bp.post("/posts/<int:post_id>/vote")
@transactional
def vote_post(post_id: int) -> ResponseReturnValue:
    user, value = require_user(), inputs.integer(json_body(), "value", minimum=-1, maximum=1)
    post = posts.vote_post(post_id, value, by=user)
    return jsonify(post_id=post.id, score=post.score, my_vote=value)


@bp.post("/posts/<int:post_id>/comments")
@user_rate_limited("comment", deduct_when=wrote)
@transactional
def comment(post_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    body, answer_id = inputs.text(data, "body", missing=""), inputs.ident(data, "answer_id", None)
    new = posts.post_comment(post_id, body, by=user, answer_id=answer_id, confirm_phi=inputs.phi_confirmed(data))
    return created(comment_json(new))


@bp.delete("/comments/<int:comment_id>")
@transactional
def withdraw_comment(comment_id: int) -> ResponseReturnValue:
    posts.withdraw_comment(comment_id, by=require_user())
    return "", 204


@bp.put("/posts/<int:post_id>/slow-mode")
@transactional
def set_post_slow_mode(post_id: int) -> ResponseReturnValue:
    user, seconds = require_user(), inputs.integer(json_body(), "seconds")
    return jsonify(post_id=post_id, seconds=posts.set_slow_mode(post_id, seconds, by=user))


@bp.post("/posts/<int:post_id>/status")
@transactional
def change_status(post_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    status, reason = inputs.text(data, "status", missing=""), inputs.text(data, "reason", missing="")
    return created(change_json(posts.change_idea_status(post_id, status, by=user, reason=reason)))
