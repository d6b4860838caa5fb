"""Actions on answers (edit, withdraw, history, vote, accept, vet and unvet), withdrawing comments, and
hiding and restoring content. The routes go on the posts blueprint (lhn/posts/views.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request
from flask_login import current_user, login_required

from lhn.database import transaction
from lhn.errors import Conflict, NotFound, ValidationFailed
from lhn.forms import ActionForm, apply_errors, flash_errors
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import AnswerForm, ReasonForm, ValueForm, VetForm
from lhn.posts.models import Answer
from lhn.posts.views import _access, _int, _to_post, bp, form_failed

# --- answers -------------------------------------------------------------------------------------------


def _answer_access(slug: str, answer_id: int) -> tuple[Answer, posts.Access]:
    found, access = posts.get_answer_access(answer_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such answer.")
    return found, access


@bp.route("/c/<slug>/answers/<int:answer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_answer(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    found, access = _answer_access(slug, answer_id)
    if not permissions.can_edit(current_user, found):
        abort(403)
    form = AnswerForm(data={"body": found.body} if request.method == "GET" else None)
    form.submit.label.text = "Save answer"
    if form.validate_on_submit():
        try:
            with transaction():
                posts.edit_answer(answer_id, form.body.data or "", by=current_user,
                                  confirm_phi=bool(form.confirm_phi.data))  # fmt: skip
        except ValidationFailed as exc:
            form_failed(form, exc)
        else:
            flash("Saved. The earlier version stays in the history.", "success")
            return _to_post(access.post, f"#answer-{answer_id}")
    status = 422 if form.errors else 200
    return render_template("posts/answer_edit.html", form=form, answer=found, post=access.post,
                           community=access.community), status  # fmt: skip


@bp.post("/c/<slug>/answers/<int:answer_id>/withdraw")
@login_required
def withdraw_answer(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    _found, access = _answer_access(slug, answer_id)
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_answer(answer_id, by=current_user)
        flash("Your answer was withdrawn.", "info")
    return _to_post(access.post, f"#answer-{answer_id}")


@bp.get("/c/<slug>/answers/<int:answer_id>/revisions")
def answer_revisions(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    _answer_access(slug, answer_id)
    found, history = posts.list_answer_revisions(answer_id, by=current_user)
    return render_template("posts/revisions.html", post=found.post, answer=found, history=history,
                           community=found.post.community, mine=permissions.is_author(current_user, found))  # fmt: skip


@bp.post("/c/<slug>/answers/<int:answer_id>/vote")
@login_required
def vote_answer(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    _found, access = _answer_access(slug, answer_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.vote_answer(answer_id, _int(form.value.data), by=current_user)
    return _to_post(access.post, f"#answer-{answer_id}")


@bp.post("/c/<slug>/answers/<int:answer_id>/accept")
@login_required
def accept(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    _found, access = _answer_access(slug, answer_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.accept_answer(answer_id, by=current_user, accept=form.value.data != "0")
    return _to_post(access.post, f"#answer-{answer_id}")


@bp.route("/c/<slug>/answers/<int:answer_id>/vet", methods=["GET", "POST"])
@login_required
def vet(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    found, access = _answer_access(slug, answer_id)
    if not permissions.can_vet(current_user, access.community, access.membership):
        abort(403)
    form = VetForm()
    if form.validate_on_submit():
        try:
            with transaction():
                posts.vet_answer(answer_id, by=current_user, note=form.note.data or "",
                                 evidence=form.evidence.data or "", review_by=form.review_by.data or None)  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash("Vetted. The answer now shows your seal and evidence.", "success")
            return _to_post(access.post, f"#answer-{answer_id}")
    status = 422 if form.errors or form.form_errors else 200
    return render_template("posts/vet.html", form=form, answer=found, post=access.post, community=access.community,
                           vetting=posts.current_vetting(found), unvet=False), status  # fmt: skip


@bp.route("/c/<slug>/answers/<int:answer_id>/unvet", methods=["GET", "POST"])
@login_required
def unvet(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    return _curate(slug, answer_id, posts.unvet_answer, page="unvet",
                   done="The vetted mark was removed; the reason is in the answer's vetting history.")  # fmt: skip


@bp.route("/c/<slug>/answers/<int:answer_id>/rereview", methods=["GET", "POST"])
@login_required
def rereview(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    done = "Re-review requested: the vetter is told, and the answer shows that its review is due."
    return _curate(slug, answer_id, posts.request_rereview, page="rereview", done=done)


def _curate(slug: str, answer_id: int, act: Any, *, page: str, done: str):  # type: ignore[no-untyped-def]
    """A curation with a reason (unvet, ask for a re-review): the form, then `act(answer_id, by=, reason=)`."""
    found, access = _answer_access(slug, answer_id)
    if not permissions.can_curate_vetting(current_user, access.community, access.membership):
        abort(403)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            with transaction():
                act(answer_id, by=current_user, reason=form.reason.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Conflict as exc:  # not vetted (any more), or a review already due
            flash_errors(exc)
            return _to_post(access.post, f"#answer-{answer_id}")
        else:
            flash(done, "info")
            return _to_post(access.post, f"#answer-{answer_id}")
    status = 422 if form.errors or form.form_errors else 200
    return render_template("posts/vet.html", form=form, answer=found, post=access.post, community=access.community,
                           vetting=posts.current_vetting(found), unvet=page == "unvet",
                           rereview=page == "rereview"), status  # fmt: skip


@bp.get("/c/<slug>/answers/<int:answer_id>/vettings")
def vettings(slug: str, answer_id: int):  # type: ignore[no-untyped-def]
    _answer_access(slug, answer_id)
    found, history = posts.list_vettings(answer_id, by=current_user)
    return render_template("posts/vettings.html", answer=found, post=found.post, community=found.post.community,
                           history=history)  # fmt: skip


# --- withdrawing comments, hiding and restoring -----------------------------------------------------------


@bp.post("/c/<slug>/comments/<int:comment_id>/withdraw")
@login_required
def withdraw_comment(slug: str, comment_id: int):  # type: ignore[no-untyped-def]
    found, access = posts.get_comment_access(comment_id, by=current_user)
    if access.post.community.slug != slug:
        raise NotFound("No such comment.")
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_comment(comment_id, by=current_user)
    return _to_post(access.post, f"#comment-{found.id}")


@bp.post("/c/<slug>/<any(post,answer,comment):target>/<int:item_id>/<any(hide,restore):action>")
@login_required
def moderate(slug: str, target: str, item_id: int, action: str):  # type: ignore[no-untyped-def]
    if target == "post":
        access = _access(slug, item_id)
    elif target == "answer":
        access = _answer_access(slug, item_id)[1]
    else:
        _comment, access = posts.get_comment_access(item_id, by=current_user)
        if access.post.community.slug != slug:
            raise NotFound("No such comment.")
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    service = posts.hide_content if action == "hide" else posts.restore_content
    anchor = "" if target == "post" else f"#{target}-{item_id}"
    try:
        with transaction():
            service(target, item_id, by=current_user, reason=form.reason.data or "")  # type: ignore[arg-type]
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return _to_post(access.post, anchor)
    flash("Hidden. Readers see the reason; you and the author still see the text." if action == "hide"
          else "Restored.", "success")  # fmt: skip
    return _to_post(access.post, anchor)
