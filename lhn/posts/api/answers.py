"""Answers over JSON: answering, editing, withdrawing, history, votes, accepting, and vetting (vet, unvet,
re-review, the vetting history)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.database import transactional
from lhn.limits import user_rate_limited, wrote
from lhn.posts import services as posts
from lhn.posts.api.payloads import answer_json, revision_json, vetting_json


@bp.post("/posts/<int:post_id>/answers")
@user_rate_limited("answer", deduct_when=wrote)
@transactional
def post_answer(post_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    body, confirm_phi = inputs.text(data, "body", missing=""), inputs.phi_confirmed(data)
    answer = posts.post_answer(post_id, body, by=user, confirm_phi=confirm_phi)
    return created(answer_json(answer, access=posts.get_access(post_id, by=user)))


@bp.patch("/answers/<int:answer_id>")
@transactional
def edit_answer(answer_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    body, confirm_phi = inputs.text(data, "body", missing=""), inputs.phi_confirmed(data)
    answer = posts.edit_answer(answer_id, body, by=user, confirm_phi=confirm_phi)
    return jsonify(answer_json(answer, access=posts.get_access(answer.post_id, by=user),
                               vetting=posts.current_vetting(answer)))  # fmt: skip


@bp.delete("/answers/<int:answer_id>")
@transactional
def withdraw_answer(answer_id: int) -> ResponseReturnValue:
    posts.withdraw_answer(answer_id, by=require_user())
    return "", 204


@bp.get("/answers/<int:answer_id>/revisions")
def answer_revisions(answer_id: int) -> ResponseReturnValue:
    _answer, history = posts.list_answer_revisions(answer_id, by=current_user)
    return jsonify(items=[revision_json(v, with_title=False) for v in history])


@bp.post("/answers/<int:answer_id>/vote")
@transactional
def vote_answer(answer_id: int) -> ResponseReturnValue:
    user, value = require_user(), inputs.integer(json_body(), "value", minimum=-1, maximum=1)
    answer = posts.vote_answer(answer_id, value, by=user)
    return jsonify(answer_id=answer.id, score=answer.score, ups=answer.ups, downs=answer.downs)


@bp.post("/answers/<int:answer_id>/accept")
@transactional
def accept_answer(answer_id: int) -> ResponseReturnValue:
    answer = posts.accept_answer(answer_id, by=require_user())
    return jsonify(answer_id=answer.id, accepted=True)


@bp.delete("/answers/<int:answer_id>/accept")
@transactional
def unaccept_answer(answer_id: int) -> ResponseReturnValue:
    answer = posts.accept_answer(answer_id, by=require_user(), accept=False)
    return jsonify(answer_id=answer.id, accepted=False)


@bp.post("/answers/<int:answer_id>/vet")
@transactional
def vet_answer(answer_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    note, evidence = inputs.text(data, "note", missing=""), inputs.text_list(data, "evidence", missing=[])
    review_by = inputs.text(data, "review_by", "") or None
    vetting = posts.vet_answer(answer_id, by=user, note=note, evidence=evidence, review_by=review_by)
    return created(vetting_json(vetting))


@bp.delete("/answers/<int:answer_id>/vet")
@transactional
def unvet_answer(answer_id: int) -> ResponseReturnValue:
    user = require_user()
    reason = inputs.text(json_body(), "reason", missing="") if request.get_data() else inputs.arg_text("reason")
    return jsonify(vetting_json(posts.unvet_answer(answer_id, by=user, reason=reason)))


@bp.post("/answers/<int:answer_id>/rereview")
@transactional
def request_rereview(answer_id: int) -> ResponseReturnValue:
    user, data = require_user(), json_body()
    return jsonify(vetting_json(posts.request_rereview(answer_id, by=user, reason=inputs.text(data, "reason"))))


@bp.get("/answers/<int:answer_id>/vettings")
def answer_vettings(answer_id: int) -> ResponseReturnValue:
    _answer, history = posts.list_vettings(answer_id, by=current_user)
    return jsonify(items=[vetting_json(v) for v in history])
