"""The JSON of posts, answers, comments, vettings, idea status changes and interest, and the reading of a post's
fields from a request body: what every posts endpoint (and search) sends and takes."""

from __future__ import annotations

from typing import Any

from lhn import inputs
from lhn.api import page_json, person_json
from lhn.communities.models import CommunityRole
from lhn.database import iso_or_none
from lhn.posts import services as posts
from lhn.posts.models import Answer, CallInterest, Comment, IdeaStatusChange, Post, PostKind, Vetting


def moderation_state(item: Any, sees_original: bool) -> tuple[dict[str, Any] | None, bool]:
    """The moderation state a reader sees, and whether they may see the text."""
    state = None
    if item.hidden_at is not None:
        state = {"state": "hidden", "reason": item.hidden_reason, "at": iso_or_none(item.hidden_at)}
    elif item.withdrawn_at is not None:
        state = {"state": "withdrawn", "at": iso_or_none(item.withdrawn_at)}
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
        "vetted_at": iso_or_none(post.vetted_at),
        "idea_status": post.idea_status.value if post.idea_status else None,
        "created_at": iso_or_none(post.created_at),
        "edited_at": iso_or_none(post.edited_at),
    }


def vetting_json(vetting: Vetting, role: CommunityRole | None = None) -> dict[str, Any]:
    return {
        "id": vetting.id,
        "action": vetting.action.value,
        "by": person_json(vetting.by, role.value if role else None),
        "at": iso_or_none(vetting.created_at),
        "revision": vetting.revision_number,
        "note": vetting.note,
        "evidence": vetting.evidence,
        "review_by": iso_or_none(vetting.review_by),
        "review_due": vetting.review_due,
        "standing": vetting.standing,  # clinician, researcher, or moderator (a community that lets moderators vet)
    }


def answer_json(answer: Answer, *, page: posts.PostPage | None = None, access: posts.Access | None = None,
                vetting: Vetting | None = None) -> dict[str, Any]:  # fmt: skip
    access = access or (page.access if page else None)
    state, readable = moderation_state(answer, bool(access and access.sees_original(answer)))
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
        "created_at": iso_or_none(answer.created_at),
        "edited_at": iso_or_none(answer.edited_at),
        "vetted": answer.vetted_current,
        "changed_since_vetting": answer.changed_since_vetting,
        "vetting": vetting_json(vetting, page.role_of(vetting.by_id) if page else None) if vetting else None,
    }
    if page is not None:
        data["my_vote"] = page.my_answer_votes.get(answer.id, 0)
        data["comments"] = [comment_json(c, page) for c in page.answer_comments.get(answer.id, [])]
    return data


def comment_json(comment: Comment, page: posts.PostPage | None = None) -> dict[str, Any]:
    state, readable = moderation_state(comment, bool(page and page.access.sees_original(comment)))
    role = page.role_of(comment.author_id) if page else None
    return {
        "id": comment.id,
        "post_id": comment.post_id,
        "answer_id": comment.answer_id,
        "author": person_json(comment.author, role.value if role else None),
        "body_html": comment.body_html if readable or page is None else None,
        "moderation": state,
        "created_at": iso_or_none(comment.created_at),
    }


def change_json(change: IdeaStatusChange) -> dict[str, Any]:
    return {"from": change.from_status.value if change.from_status else None, "to": change.to_status.value,
            "reason": change.reason, "by": person_json(change.by), "at": iso_or_none(change.created_at)}  # fmt: skip


def interest_json(interest: CallInterest) -> dict[str, Any]:
    return {"id": interest.id, "post_id": interest.post_id, "person": person_json(interest.user),
            "message": interest.message, "status": interest.status.value,
            "created_at": iso_or_none(interest.created_at), "decided_at": iso_or_none(interest.decided_at)}  # fmt: skip


def post_json(page: posts.PostPage) -> dict[str, Any]:
    post = page.post
    state, readable = moderation_state(post, page.access.sees_original(post))
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
        data["answers"] = [answer_json(a, page=page) for a in page.listed_answers]
    if post.kind == PostKind.IDEA:
        data["timeline"] = [change_json(c) for c in page.timeline]
        data["experiences"] = [{"id": e.id, "title": e.title, "url": e.path} for e in page.experiences]
    if post.kind == PostKind.EXPERIENCE:
        data["linked_idea_id"] = post.linked_idea_id
    if post.kind == PostKind.CALL:
        data.update(deadline=iso_or_none(post.deadline), open=posts.is_open(post), interest_count=post.interest_count,
                    my_interest=interest_json(page.my_interest) if page.my_interest else None,
                    interests=[interest_json(i) for i in page.interests])  # fmt: skip
    return data


def post_fields(data: dict[str, Any], post: Post | None = None) -> posts.PostFields:
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


def page_of_posts(listing: posts.PostList) -> dict[str, Any]:
    items = [post_summary_json(p, listing.roles.get((p.community_id, p.author_id))) for p in listing.page.items]
    return page_json(items, listing.page.next_cursor)


def revision_json(view: posts.RevisionView, *, with_title: bool) -> dict[str, Any]:
    r = view.revision
    data = {"number": r.number, "editor": person_json(r.editor), "at": iso_or_none(r.created_at), "body": r.body,
            "body_diff": view.body_diff}  # fmt: skip
    if with_title:
        data.update(title=r.title, tags=r.tags.split(), title_diff=view.title_diff)
    return data
