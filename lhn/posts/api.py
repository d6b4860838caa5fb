"""Posts over JSON: lists and the knowledge base, writing, answers, comments, votes, accepting, vetting,
idea status, interest in calls, hiding. The same services as the pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, page_json, person_json, require_user
from lhn.communities import services as communities
from lhn.communities.models import CommunityRole
from lhn.database import transactional
from lhn.limits import user_rate_limited, wrote
from lhn.posts import services as posts
from lhn.posts.forms import list_filters
from lhn.posts.models import Answer, CallInterest, Comment, IdeaStatusChange, Post, PostKind, Vetting


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _hidden(item: Any, sees_original: bool) -> tuple[dict[str, Any] | None, bool]:
    """The moderation state a reader sees, and whether they may see the text."""
    state = None
    if item.hidden_at is not None:
        state = {"state": "hidden", "reason": item.hidden_reason, "at": _iso(item.hidden_at)}
    elif item.withdrawn_at is not None:
        state = {"state": "withdrawn", "at": _iso(item.withdrawn_at)}
    return state, item.is_visible or sees_original


def post_summary_json(post: Post, role: CommunityRole | None = None) -> dict[str, Any]:
    return {
        "id": post.id,
        "kind": post.kind.value,
        "community": post.community.slug,
        "title": post.title,
        "url": post.path,
        "author": person_json(post.author, role.value if role else None),
        "tags": post.tag_list,
        "score": post.score,
        "answer_count": post.answer_count,
        "comment_count": post.comment_count,
        "vetted_at": _iso(post.vetted_at),
        "idea_status": post.idea_status.value if post.idea_status else None,
        "created_at": _iso(post.created_at),
        "edited_at": _iso(post.edited_at),
    }


def vetting_json(vetting: Vetting, role: CommunityRole | None = None) -> dict[str, Any]:
    return {
        "id": vetting.id,
        "action": vetting.action.value,
        "by": person_json(vetting.by, role.value if role else None),
        "at": _iso(vetting.created_at),
        "revision": vetting.revision_number,
        "note": vetting.note,
        "evidence": vetting.evidence,
        "review_by": _iso(vetting.review_by),
        "review_due": vetting.review_due,
        "standing": vetting.standing,  # clinician, researcher, or moderator (a community that lets moderators vet)
    }


def answer_json(answer: Answer, *, page: posts.PostPage | None = None, access: posts.Access | None = None,
                vetting: Vetting | None = None) -> dict[str, Any]:  # fmt: skip
    access = access or (page.access if page else None)
    state, readable = _hidden(answer, bool(access and access.sees_original(answer)))
    role = page.role_of(answer.author_id) if page else None
    vetting = vetting or (page.vettings.get(answer.id) if page else None)
    data: dict[str, Any] = {
        "id": answer.id,
        "post_id": answer.post_id,
        "author": person_json(answer.author, role.value if role else None),
        "body": answer.body if readable else None,
        "body_html": answer.body_html if readable else None,
        "moderation": state,
        "score": answer.score,
        "ups": answer.ups,
        "downs": answer.downs,
        "accepted": answer.accepted_at is not None,
        "revision": answer.revision,
        "created_at": _iso(answer.created_at),
        "edited_at": _iso(answer.edited_at),
        "vetted": answer.vetted_current,
        "changed_since_vetting": answer.changed_since_vetting,
        "vetting": vetting_json(vetting, page.role_of(vetting.by_id) if page else None) if vetting else None,
    }
    if page is not None:
        data["my_vote"] = page.my_answer_votes.get(answer.id, 0)
        data["comments"] = [comment_json(c, page) for c in page.answer_comments.get(answer.id, [])]
    return data


def comment_json(comment: Comment, page: posts.PostPage | None = None) -> dict[str, Any]:
    state, readable = _hidden(comment, bool(page and page.access.sees_original(comment)))
    role = page.role_of(comment.author_id) if page else None
    return {
        "id": comment.id,
        "post_id": comment.post_id,
        "answer_id": comment.answer_id,
        "author": person_json(comment.author, role.value if role else None),
        "body_html": comment.body_html if readable or page is None else None,
        "moderation": state,
        "created_at": _iso(comment.created_at),
    }


def change_json(change: IdeaStatusChange) -> dict[str, Any]:
    return {"from": change.from_status.value if change.from_status else None, "to": change.to_status.value,
            "reason": change.reason, "by": person_json(change.by), "at": _iso(change.created_at)}  # fmt: skip


def interest_json(interest: CallInterest) -> dict[str, Any]:
    return {"id": interest.id, "post_id": interest.post_id, "person": person_json(interest.user),
            "message": interest.message, "status": interest.status.value, "created_at": _iso(interest.created_at),
            "decided_at": _iso(interest.decided_at)}  # fmt: skip


def post_json(page: posts.PostPage) -> dict[str, Any]:
    post = page.post
    state, readable = _hidden(post, page.access.sees_original(post))
    data = post_summary_json(post, page.role_of(post.author_id))
    data.update(
        body=post.body if readable else None,
        body_html=post.body_html if readable else None,
        sections=(post.details or {}) if readable else None,
        moderation=state,
        revision=post.revision,
        my_vote=page.my_post_vote,
        comments=[comment_json(c, page) for c in page.comments],
    )
    if post.kind == PostKind.QUESTION:
        data["answers"] = [answer_json(a, page=page) for a in page.answers if a.is_visible or a.hidden_at
                           or page.access.sees_original(a)]  # fmt: skip
    if post.kind == PostKind.IDEA:
        data["timeline"] = [change_json(c) for c in page.timeline]
        data["experiences"] = [{"id": e.id, "title": e.title, "url": e.path} for e in page.experiences]
    if post.kind == PostKind.EXPERIENCE:
        data["linked_idea_id"] = post.linked_idea_id
    if post.kind == PostKind.CALL:
        data.update(deadline=_iso(post.deadline), open=posts.is_open(post), interest_count=post.interest_count,
                    my_interest=interest_json(page.my_interest) if page.my_interest else None,
                    interests=[interest_json(i) for i in page.interests])  # fmt: skip
    return data


def _fields(data: dict[str, Any], post: Post | None = None) -> posts.PostFields:
    """PostFields from JSON. A field not sent (or null) keeps its current value on PATCH and is empty on
    create, where the service names every required one that is empty; a null linked_idea_id unlinks."""
    current = posts.fields_of(post) if post else posts.PostFields()
    sections = {**current.sections, **inputs.text_map(data, "sections", {})}
    body = inputs.text(data, "body", None)  # a question's details: the same as sections.body
    if body is not None:
        sections["body"] = body
    read_tags = inputs.text_list if isinstance(data.get("tags"), list) else inputs.text  # a list, or one string
    return posts.PostFields(
        title=inputs.text(data, "title", current.title), tags=read_tags(data, "tags", current.tags),
        sections=sections, roles=inputs.text_list(data, "roles", current.roles),
        other_roles=inputs.text(data, "other_roles", current.other_roles),
        deadline=inputs.text(data, "deadline", current.deadline),
        linked_idea_id=inputs.ident(data, "linked_idea_id", None, missing=current.linked_idea_id),  # null: none
    )  # fmt: skip


def _confirm_phi(data: dict[str, Any]) -> bool:
    """The PHI guard's confirmation: `confirm_phi: true`."""
    return inputs.boolean(data, "confirm_phi", False)




def page_of_posts(listing: posts.PostList) -> dict[str, Any]:
    items = [post_summary_json(p, listing.roles.get((p.community_id, p.author_id))) for p in listing.page.items]
    return page_json(items, listing.page.next_cursor)


# --- lists ------------------------------------------------------------------------------------------------


@bp.get("/communities/<slug>/vetted")
def knowledge_base(slug: str):  # type: ignore[no-untyped-def]
    tag, cursor = inputs.arg_text("tag") or None, inputs.arg_cursor()
    community, _membership = communities.get_readable_community(current_user, slug)
    listing = posts.list_knowledge_base(community, by=current_user, tag=tag, cursor=cursor)
    return jsonify(page_of_posts(listing))


@bp.get("/me/feed")
def my_feed():  # type: ignore[no-untyped-def]
    user = require_user()
    return jsonify(page_of_posts(posts.list_feed(by=user, **list_filters())))


@bp.get("/me/vetted")
def my_knowledge_base():  # type: ignore[no-untyped-def]
    user, tag, cursor = require_user(), inputs.arg_text("tag") or None, inputs.arg_cursor()
    return jsonify(page_of_posts(posts.list_knowledge_base(None, by=user, tag=tag, cursor=cursor)))


# --- posts ------------------------------------------------------------------------------------------------


@bp.post("/communities/<slug>/posts")
@user_rate_limited("post", deduct_when=wrote)
@transactional
def create_post(slug: str):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    kind, fields, confirm_phi = inputs.text(data, "kind", missing=""), _fields(data), _confirm_phi(data)
    post = posts.create_post(communities.get_community(slug), kind, fields, by=user, confirm_phi=confirm_phi)
    return created(post_json(posts.post_page(post.id, by=user, with_sources=True)))


@bp.get("/posts/<int:post_id>")
def show_post(post_id: int):  # type: ignore[no-untyped-def]
    return jsonify(post_json(posts.post_page(post_id, by=current_user, with_sources=True)))


@bp.patch("/posts/<int:post_id>")
@transactional
def edit_post(post_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    post = posts.get_post(post_id, by=user)
    posts.edit_post(post, _fields(data, post), by=user, confirm_phi=_confirm_phi(data))
    return jsonify(post_json(posts.post_page(post.id, by=user, with_sources=True)))


@bp.delete("/posts/<int:post_id>")
@transactional
def withdraw_post(post_id: int):  # type: ignore[no-untyped-def]
    user = require_user()
    posts.withdraw_post(posts.get_post(post_id, by=user), by=user)
    return "", 204


def _revision_json(view: posts.RevisionView, *, with_title: bool) -> dict[str, Any]:
    r = view.revision
    data = {"number": r.number, "editor": person_json(r.editor), "at": _iso(r.created_at), "body": r.body,
            "body_diff": view.body_diff}  # fmt: skip
    if with_title:
        data.update(title=r.title, tags=r.tags.split(), title_diff=view.title_diff)
    return data


@bp.get("/posts/<int:post_id>/revisions")
def post_revisions(post_id: int):  # type: ignore[no-untyped-def]
    _post, history = posts.list_post_revisions(post_id, by=current_user)
    return jsonify(items=[_revision_json(v, with_title=True) for v in history])


@bp.post("/posts/<int:post_id>/vote")
@transactional
def vote_post(post_id: int):  # type: ignore[no-untyped-def]
    user, value = require_user(), inputs.integer(json_body(), "value", minimum=-1, maximum=1)
    post = posts.vote_post(post_id, value, by=user)
    return jsonify(post_id=post.id, score=post.score, my_vote=value)


@bp.post("/posts/<int:post_id>/comments")
@user_rate_limited("comment", deduct_when=wrote)
@transactional
def comment(post_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    body, answer_id = inputs.text(data, "body", missing=""), inputs.ident(data, "answer_id", None)
    new = posts.post_comment(post_id, body, by=user, answer_id=answer_id, confirm_phi=_confirm_phi(data))
    return created(comment_json(new))


@bp.delete("/comments/<int:comment_id>")
@transactional
def withdraw_comment(comment_id: int):  # type: ignore[no-untyped-def]
    posts.withdraw_comment(comment_id, by=require_user())
    return "", 204


@bp.put("/posts/<int:post_id>/slow-mode")
@transactional
def set_post_slow_mode(post_id: int):  # type: ignore[no-untyped-def]
    user, seconds = require_user(), inputs.integer(json_body(), "seconds")
    return jsonify(post_id=post_id, seconds=posts.set_slow_mode(post_id, seconds, by=user))


@bp.post("/posts/<int:post_id>/status")
@transactional
def change_status(post_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    status, reason = inputs.text(data, "status", missing=""), inputs.text(data, "reason", missing="")
    return created(change_json(posts.change_idea_status(post_id, status, by=user, reason=reason)))


# --- answers ---------------------------------------------------------------------------------------------


@bp.post("/posts/<int:post_id>/answers")
@user_rate_limited("answer", deduct_when=wrote)
@transactional
def post_answer(post_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    body, confirm_phi = inputs.text(data, "body", missing=""), _confirm_phi(data)
    answer = posts.post_answer(post_id, body, by=user, confirm_phi=confirm_phi)
    return created(answer_json(answer, access=posts.get_access(post_id, by=user)))


@bp.patch("/answers/<int:answer_id>")
@transactional
def edit_answer(answer_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    body, confirm_phi = inputs.text(data, "body", missing=""), _confirm_phi(data)
    answer = posts.edit_answer(answer_id, body, by=user, confirm_phi=confirm_phi)
    return jsonify(answer_json(answer, access=posts.get_access(answer.post_id, by=user),
                               vetting=posts.current_vetting(answer)))  # fmt: skip


@bp.delete("/answers/<int:answer_id>")
@transactional
def withdraw_answer(answer_id: int):  # type: ignore[no-untyped-def]
    posts.withdraw_answer(answer_id, by=require_user())
    return "", 204


@bp.get("/answers/<int:answer_id>/revisions")
def answer_revisions(answer_id: int):  # type: ignore[no-untyped-def]
    _answer, history = posts.list_answer_revisions(answer_id, by=current_user)
    return jsonify(items=[_revision_json(v, with_title=False) for v in history])


@bp.post("/answers/<int:answer_id>/vote")
@transactional
def vote_answer(answer_id: int):  # type: ignore[no-untyped-def]
    user, value = require_user(), inputs.integer(json_body(), "value", minimum=-1, maximum=1)
    answer = posts.vote_answer(answer_id, value, by=user)
    return jsonify(answer_id=answer.id, score=answer.score, ups=answer.ups, downs=answer.downs)


@bp.post("/answers/<int:answer_id>/accept")
@transactional
def accept_answer(answer_id: int):  # type: ignore[no-untyped-def]
    answer = posts.accept_answer(answer_id, by=require_user())
    return jsonify(answer_id=answer.id, accepted=True)


@bp.delete("/answers/<int:answer_id>/accept")
@transactional
def unaccept_answer(answer_id: int):  # type: ignore[no-untyped-def]
    answer = posts.accept_answer(answer_id, by=require_user(), accept=False)
    return jsonify(answer_id=answer.id, accepted=False)


@bp.post("/answers/<int:answer_id>/vet")
@transactional
def vet_answer(answer_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    note, evidence = inputs.text(data, "note", missing=""), inputs.text_list(data, "evidence", missing=[])
    review_by = inputs.text(data, "review_by", "") or None
    vetting = posts.vet_answer(answer_id, by=user, note=note, evidence=evidence, review_by=review_by)
    return created(vetting_json(vetting))


@bp.delete("/answers/<int:answer_id>/vet")
@transactional
def unvet_answer(answer_id: int):  # type: ignore[no-untyped-def]
    user = require_user()
    reason = inputs.text(json_body(), "reason", missing="") if request.get_data() else inputs.arg_text("reason")
    return jsonify(vetting_json(posts.unvet_answer(answer_id, by=user, reason=reason)))


@bp.post("/answers/<int:answer_id>/rereview")
@transactional
def request_rereview(answer_id: int):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    return jsonify(vetting_json(posts.request_rereview(answer_id, by=user, reason=inputs.text(data, "reason"))))


@bp.get("/answers/<int:answer_id>/vettings")
def answer_vettings(answer_id: int):  # type: ignore[no-untyped-def]
    _answer, history = posts.list_vettings(answer_id, by=current_user)
    return jsonify(items=[vetting_json(v) for v in history])


# --- calls for collaborators ------------------------------------------------------------------------------


@bp.get("/posts/<int:post_id>/interest")
def list_interest(post_id: int):  # type: ignore[no-untyped-def]
    return jsonify(items=[interest_json(i) for i in posts.list_interests(post_id, by=current_user)])


@bp.post("/posts/<int:post_id>/interest")
@transactional
def express_interest(post_id: int):  # type: ignore[no-untyped-def]
    user, message = require_user(), inputs.text(json_body(), "message", missing="")
    return created(interest_json(posts.express_interest(post_id, message, by=user)))


@bp.delete("/posts/<int:post_id>/interest")
@transactional
def withdraw_interest(post_id: int):  # type: ignore[no-untyped-def]
    return jsonify(interest_json(posts.withdraw_interest(post_id, by=require_user())))


@bp.post("/interests/<int:interest_id>")
@transactional
def decide_interest(interest_id: int):  # type: ignore[no-untyped-def]
    user, decision = require_user(), inputs.choice(json_body(), "decision", ("accept", "decline"))
    return jsonify(interest_json(posts.decide_interest(interest_id, by=user, accept=decision == "accept")))


# --- hiding -----------------------------------------------------------------------------------------------


@transactional
def moderate(item_id: int, target: str, action: str):  # type: ignore[no-untyped-def]
    user, data = require_user(), json_body()
    # Hiding needs the reason readers will see; restoring may give one for the log.
    reason = inputs.text(data, "reason", missing="") if action == "hide" else inputs.text(data, "reason", "")
    service = posts.hide_content if action == "hide" else posts.restore_content
    item = service(target, item_id, by=user, reason=reason)  # type: ignore[arg-type]
    return jsonify(id=item.id, target=target, hidden=item.hidden_at is not None, reason=item.hidden_reason)


for _target in ("post", "answer", "comment"):
    for _action in ("hide", "restore"):
        bp.add_url_rule(f"/{_target}s/<int:item_id>/{_action}", endpoint=f"{_action}_{_target}", view_func=moderate,
                        methods=["POST"], defaults={"target": _target, "action": _action})  # fmt: skip


# The OpenAPI description of these routes (tests/api checks that every route is in it).
from lhn.posts.api_doc import OPENAPI_PATHS, OPENAPI_SCHEMAS  # noqa: E402

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "page_of_posts", "post_summary_json"]
