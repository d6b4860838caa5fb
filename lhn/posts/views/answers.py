"""Answers on the posts blueprint: answering, editing, withdrawing, history, votes, accepting, and vetting
(vet, unvet, ask for a re-review, the vetting history)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.database import transaction
from lhn.errors import Conflict
from lhn.forms import ActionForm, flash_errors, form_page, saved
from lhn.limits import user_rate_limited, wrote
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import AnswerForm, ReasonForm, ValueForm, VetForm
from lhn.posts.views.common import answer_access, bp, post_access, sent_int, to_answer
from lhn.posts.views.show import form_on_page


@bp.post("/c/<slug>/posts/<int:post_id>/answers")
@login_required
@user_rate_limited("answer", deduct_when=wrote)
def answer(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = AnswerForm()
    return form_on_page(access, "answer_form", form, lambda: posts.post_answer(
        post_id, form.body.data or "", by=current_user, confirm_phi=bool(form.confirm_phi.data)),
        lambda new: ("Answer posted.", f"#answer-{new.id}"))  # fmt: skip


@bp.route("/c/<slug>/answers/<int:answer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_answer(slug: str, answer_id: int) -> ResponseReturnValue:
    found, access = answer_access(slug, answer_id)
    if not permissions.can_edit(current_user, found):
        abort(403)
    form = AnswerForm(data={"body": found.body} if request.method == "GET" else None)
    form.submit.label.text = "Save answer"
    if form.validate_on_submit() and saved(form, lambda: posts.edit_answer(
            answer_id, form.body.data or "", by=current_user, confirm_phi=bool(form.confirm_phi.data))):  # fmt: skip
        flash("Saved. The earlier version stays in the history.", "success")
        return to_answer(access.post, answer_id)
    return form_page("posts/answer_edit.html", form, answer=found, post=access.post, community=access.community)


@bp.post("/c/<slug>/answers/<int:answer_id>/withdraw")
@login_required
def withdraw_answer(slug: str, answer_id: int) -> ResponseReturnValue:
    _found, access = answer_access(slug, answer_id)
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_answer(answer_id, by=current_user)
        flash("Your answer was withdrawn.", "info")
    return to_answer(access.post, answer_id)


@bp.get("/c/<slug>/answers/<int:answer_id>/revisions")
def answer_revisions(slug: str, answer_id: int) -> ResponseReturnValue:
    answer_access(slug, answer_id)
    found, history = posts.list_answer_revisions(answer_id, by=current_user)
    return render_template("posts/revisions.html", post=found.post, answer=found, history=history,
                           community=found.post.community, mine=permissions.is_author(current_user, found))  # fmt: skip


@bp.post("/c/<slug>/answers/<int:answer_id>/vote")
@login_required
def vote_answer(slug: str, answer_id: int) -> ResponseReturnValue:
    _found, access = answer_access(slug, answer_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.vote_answer(answer_id, sent_int(form.value.data), by=current_user)
    return to_answer(access.post, answer_id)


@bp.post("/c/<slug>/answers/<int:answer_id>/accept")
@login_required
def accept(slug: str, answer_id: int) -> ResponseReturnValue:
    _found, access = answer_access(slug, answer_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.accept_answer(answer_id, by=current_user, accept=form.value.data != "0")
    return to_answer(access.post, answer_id)


# --- vetting ----------------------------------------------------------------------------------------------


@bp.route("/c/<slug>/answers/<int:answer_id>/vet", methods=["GET", "POST"])
@login_required
def vet(slug: str, answer_id: int) -> ResponseReturnValue:
    found, access = answer_access(slug, answer_id)
    if not permissions.can_vet(current_user, access.community, access.membership):
        abort(403)
    form = VetForm()
    if form.validate_on_submit() and saved(form, lambda: posts.vet_answer(
            answer_id, by=current_user, note=form.note.data or "", evidence=form.evidence.data or "",
            review_by=form.review_by.data or None)):  # fmt: skip
        flash("Vetted. The answer now shows your seal and evidence.", "success")
        return to_answer(access.post, answer_id)
    return form_page("posts/vet.html", form, answer=found, post=access.post, community=access.community,
                     vetting=posts.current_vetting(found), unvet=False)  # fmt: skip


@bp.route("/c/<slug>/answers/<int:answer_id>/unvet", methods=["GET", "POST"])
@login_required
def unvet(slug: str, answer_id: int) -> ResponseReturnValue:
    return _curate(slug, answer_id, posts.unvet_answer, page="unvet",
                   done="The vetted mark was removed; the reason is in the answer's vetting history.")  # fmt: skip


@bp.route("/c/<slug>/answers/<int:answer_id>/rereview", methods=["GET", "POST"])
@login_required
def rereview(slug: str, answer_id: int) -> ResponseReturnValue:
    done = "Re-review requested: the vetter is told, and the answer shows that its review is due."
    return _curate(slug, answer_id, posts.request_rereview, page="rereview", done=done)


def _curate(slug: str, answer_id: int, act: Callable[..., Any], *, page: str, done: str) -> ResponseReturnValue:
    """A curation with a reason (unvet, ask for a re-review): the form, then `act(answer_id, by=, reason=)`."""
    found, access = answer_access(slug, answer_id)
    if not permissions.can_curate_vetting(current_user, access.community, access.membership):
        abort(403)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            if saved(form, lambda: act(answer_id, by=current_user, reason=form.reason.data or "")):
                flash(done, "info")
                return to_answer(access.post, answer_id)
        except Conflict as exc:  # not vetted (any more), or a review already due
            flash_errors(exc)
            return to_answer(access.post, answer_id)
    return form_page("posts/vet.html", form, answer=found, post=access.post, community=access.community,
                     vetting=posts.current_vetting(found), unvet=page == "unvet",
                     rereview=page == "rereview")  # fmt: skip


@bp.get("/c/<slug>/answers/<int:answer_id>/vettings")
def vettings(slug: str, answer_id: int) -> ResponseReturnValue:
    answer_access(slug, answer_id)
    found, history = posts.list_vettings(answer_id, by=current_user)
    return render_template("posts/vettings.html", answer=found, post=found.post, community=found.post.community,
                           history=history)  # fmt: skip
