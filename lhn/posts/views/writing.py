"""Writing posts: the new-post and edit pages with their preview, the live preview, withdrawing, and a post's
history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.forms import ActionForm, Saved, apply_errors, form_page, saved
from lhn.limits import user_rate_limited, wrote
from lhn.markup import render_markdown
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import POST_FORMS, TITLE_HELP
from lhn.posts.models import Post, PostKind
from lhn.posts.services.posts import compose_markdown
from lhn.posts.views.common import bp, post_access, to_post


def _fields_from(form: Any, kind: PostKind) -> posts.PostFields:
    sections = {s.name: getattr(form, s.name).data or "" for s in posts.SECTIONS[kind]}
    fields = posts.PostFields(title=form.title.data or "", tags=form.tags.data or "", sections=sections)
    if kind == PostKind.CALL:
        fields.roles, fields.other_roles = list(form.roles.data or []), form.other_roles.data or ""
        fields.deadline = form.deadline.data or None
    if kind == PostKind.EXPERIENCE:
        fields.linked_idea_id = form.linked_idea_id.data or None
    return fields


def _prepare(form: Any, kind: PostKind, community: Any) -> None:
    form.title.description = TITLE_HELP[kind]
    if kind == PostKind.EXPERIENCE:
        form.linked_idea_id.choices = [("", "— none —")] + [(str(i), t) for i, t in posts.idea_choices(community.id)]


def _preview(form: Any, kind: PostKind) -> str | None:
    """The post as it will look, or None with the reason on the form (a text too complex to render)."""
    fields = _fields_from(form, kind)
    details: dict[str, Any] = dict(fields.sections)
    if kind == PostKind.CALL:
        details.update(roles=fields.roles, other_roles=fields.other_roles)
    try:
        return str(render_markdown(compose_markdown(kind, details), field=posts.SECTIONS[kind][0].name))
    except ValidationFailed as exc:
        apply_errors(form, exc)  # rendering runs no PHI guard: nothing for the confirm box
        return None


def _post_form(form: Any, kind: PostKind, community: Any, post: Any,
               write: Callable[[posts.PostFields, bool], Post]) -> Saved[Post] | tuple[str, int]:  # fmt: skip
    """The new-post and edit pages once the form is built: the post `write(fields, confirm_phi)` saved, or the
    page (again) with the preview or what went wrong."""
    _prepare(form, kind, community)
    preview_html = None
    if form.validate_on_submit():
        if form.preview.data:
            preview_html = _preview(form, kind)
        elif done := saved(form, lambda: write(_fields_from(form, kind), bool(form.confirm_phi.data))):
            return done
    return form_page("posts/form.html", form, kind=kind, community=community, post=post,
                     sections=posts.SECTIONS[kind], preview_html=preview_html)  # fmt: skip


@bp.route("/c/<slug>/new/<kind>", methods=["GET", "POST"])
@login_required
@user_rate_limited("post", methods=["POST"], deduct_when=wrote)
def new(slug: str, kind: str) -> ResponseReturnValue:
    community, membership = communities.get_readable_community(current_user, slug)
    try:
        post_kind = PostKind(kind)
    except ValueError:
        abort(404)
    refusal = posts.post_refusal(community, membership, by=current_user)
    if refusal:  # muted (until when), or not a member
        flash(refusal, "info")
        return redirect(url_for("communities.show", slug=slug))
    form = POST_FORMS[post_kind]()
    page = _post_form(form, post_kind, community, None, lambda fields, confirm_phi: posts.create_post(
        community, post_kind, fields, by=current_user, confirm_phi=confirm_phi))  # fmt: skip
    if not isinstance(page, Saved):
        return page
    flash(f"{post_kind.label} posted.", "success")
    return to_post(page.value)


@bp.route("/c/<slug>/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str, post_id: int) -> ResponseReturnValue:
    post = post_access(slug, post_id).post
    if not permissions.can_edit(current_user, post):
        abort(403)
    form_class = POST_FORMS[post.kind]
    if request.method == "GET":
        current = posts.fields_of(post)
        form = form_class(data={
            "title": current.title, "tags": " ".join(current.tags or []), **current.sections, "roles": current.roles,
            "other_roles": current.other_roles, "deadline": str(current.deadline or ""),
            "linked_idea_id": str(current.linked_idea_id or ""),
        })  # fmt: skip
    else:
        form = form_class()
    page = _post_form(form, post.kind, post.community, post, lambda fields, confirm_phi:
                      posts.edit_post(post, fields, by=current_user, confirm_phi=confirm_phi))  # fmt: skip
    if not isinstance(page, Saved):
        return page
    flash("Saved. The earlier version stays in the history.", "success")
    return to_post(post)


@bp.post("/preview")
@user_rate_limited("preview", forms=False)  # fetched by posts.js: no form to re-render
def preview() -> ResponseReturnValue:
    """Rendered Markdown for the live preview (the same renderer as saving; nothing is stored). Rate limited:
    rendering costs CPU that others' requests share."""
    if not current_user.is_authenticated:
        abort(401)
    text = request.form.get("text", "")[: posts.POST_BODY_MAX]
    html = {"Content-Type": "text/html; charset=utf-8"}
    try:
        return render_markdown(text), 200, html
    except ValidationFailed as exc:
        return Markup('<p class="form-error">{}</p>').format(" ".join(exc.errors.values())), 422, html


@bp.post("/c/<slug>/posts/<int:post_id>/withdraw")
@login_required
def withdraw(slug: str, post_id: int) -> ResponseReturnValue:
    post = post_access(slug, post_id).post
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_post(post, by=current_user)
        flash("Withdrawn. It no longer shows in lists or search.", "info")
    return to_post(post)


@bp.get("/c/<slug>/posts/<int:post_id>/revisions")
def revisions(slug: str, post_id: int) -> ResponseReturnValue:
    post_access(slug, post_id)
    post, history = posts.list_post_revisions(post_id, by=current_user)
    return render_template("posts/revisions.html", post=post, answer=None, history=history, community=post.community,
                           mine=permissions.is_author(current_user, post))  # fmt: skip
