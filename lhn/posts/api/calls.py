"""Calls for collaborators over JSON: interest in a call, withdrawing it, and the author's decisions."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.database import transactional
from lhn.posts import services as posts
from lhn.posts.api.payloads import interest_json


@bp.get("/posts/<int:post_id>/interest")
def list_interest(post_id: int) -> ResponseReturnValue:
    return jsonify(items=[interest_json(i) for i in posts.list_interests(post_id, by=current_user)])


@bp.post("/posts/<int:post_id>/interest")
@transactional
def express_interest(post_id: int) -> ResponseReturnValue:
    user, message = require_user(), inputs.text(json_body(), "message", missing="")
    return created(interest_json(posts.express_interest(post_id, message, by=user)))


@bp.delete("/posts/<int:post_id>/interest")
@transactional
def withdraw_interest(post_id: int) -> ResponseReturnValue:
    return jsonify(interest_json(posts.withdraw_interest(post_id, by=require_user())))


@bp.post("/interests/<int:interest_id>")
@transactional
def decide_interest(interest_id: int) -> ResponseReturnValue:
    user, decision = require_user(), inputs.choice(json_body(), "decision", ("accept", "decline"))
    return jsonify(interest_json(posts.decide_interest(interest_id, by=user, accept=decision == "accept")))
