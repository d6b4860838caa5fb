"""Actions on a post's page: votes, comments, slow mode, an idea's status, interest in a call and the author's
decisions on it, and hiding and restoring posts, answers and comments."""

from __future__ import annotations

from flask import abort, flash
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.database import transaction
from lhn.errors import NotFound
from lhn.forms import ActionForm, acted, flash_errors, saved
from lhn.limits import user_rate_limited, wrote
from lhn.posts import services as posts
from lhn.posts.forms import CommentForm, InterestForm, ReasonForm, SlowModeForm, StatusForm, ValueForm
from lhn.posts.views.common import answer_access, bp, comment_access, post_access, sent_int, to_post
from lhn.posts.views.show import form_on_page


@bp.post("/c/<slug>/posts/<int:post_id>/vote")
@login_required
def vote(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = ValueForm()
    if form.validate_on_submit():
        with transaction():
            posts.vote_post(post_id, sent_int(form.value.data), by=current_user)
    return to_post(access.post)


@bp.post("/c/<slug>/posts/<int:post_id>/comments")
@login_required
@user_rate_limited("comment", deduct_when=wrote)
def comment(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = CommentForm()
    answer_id = sent_int(form.answer_id.data, "answer_id") if form.answer_id.data else None
    return form_on_page(access, "comment_form", form, lambda: posts.post_comment(
        post_id, form.body.data or "", by=current_user, answer_id=answer_id, confirm_phi=bool(form.confirm_phi.data)),
        lambda comment: (None, f"#comment-{comment.id}"))  # fmt: skip


@bp.post("/c/<slug>/posts/<int:post_id>/slow-mode")
@login_required
def slow_mode(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = SlowModeForm()
    if not form.validate_on_submit():
        flash("Give the number of seconds between writes (0 turns slow mode off).", "error")
        return to_post(access.post)
    if done := saved(form, lambda: posts.set_slow_mode(post_id, form.seconds.data, by=current_user)):
        flash(f"Slow mode: one answer or comment per person every {done.value} seconds." if done.value
              else "Slow mode is off.", "success")  # fmt: skip
    else:
        flash_errors(form.refusal)
    return to_post(access.post)


@bp.post("/c/<slug>/posts/<int:post_id>/status")
@login_required
def change_status(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = StatusForm()
    form.status.choices = [(s.value, s.label) for s in posts.next_statuses(access.post)]
    return form_on_page(access, "status_form", form, lambda: posts.change_idea_status(
        post_id, form.status.data or "", by=current_user, reason=form.reason.data or ""),
        lambda change: (f"The idea is now {change.to_status.label.lower()}.", "#timeline"))  # fmt: skip


# --- calls for collaborators --------------------------------------------------------------------------------


@bp.post("/c/<slug>/posts/<int:post_id>/interest")
@login_required
def interest(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    form = InterestForm()
    sent = "Sent. The author will see your message and badge, and you'll hear their decision."
    return form_on_page(access, "interest_form", form, lambda: posts.express_interest(
        post_id, form.message.data or "", by=current_user), lambda _interest: (sent, "#interest"))  # fmt: skip


@bp.post("/c/<slug>/posts/<int:post_id>/interest/withdraw")
@login_required
def withdraw_interest(slug: str, post_id: int) -> ResponseReturnValue:
    access = post_access(slug, post_id)
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_interest(post_id, by=current_user)
        flash("You withdrew your interest.", "info")
    return to_post(access.post, "#interest")


@bp.post("/c/<slug>/interests/<int:interest_id>")
@login_required
def decide_interest(slug: str, interest_id: int) -> ResponseReturnValue:
    form = ValueForm()
    if not form.validate_on_submit() or form.value.data not in ("accept", "decline"):
        abort(400)
    with transaction():
        row = posts.decide_interest(interest_id, by=current_user, accept=form.value.data == "accept")
        if row.post.community.slug != slug:
            raise NotFound("No such interest.")
    flash(f"{row.user.display_name}: {row.status.label.lower()}.", "success")
    return to_post(row.post, "#interested")


# --- withdrawing comments, hiding and restoring -----------------------------------------------------------


@bp.post("/c/<slug>/comments/<int:comment_id>/withdraw")
@login_required
def withdraw_comment(slug: str, comment_id: int) -> ResponseReturnValue:
    found, access = comment_access(slug, comment_id)
    if ActionForm().validate_on_submit():
        with transaction():
            posts.withdraw_comment(comment_id, by=current_user)
    return to_post(access.post, f"#comment-{found.id}")


@bp.post("/c/<slug>/<any(post,answer,comment):target>/<int:item_id>/<any(hide,restore):action>")
@login_required
def moderate(slug: str, target: str, item_id: int, action: str) -> ResponseReturnValue:
    if target == "post":
        access = post_access(slug, item_id)
    elif target == "answer":
        access = answer_access(slug, item_id)[1]
    else:
        access = comment_access(slug, item_id)[1]
    service = posts.hide_content if action == "hide" else posts.restore_content
    anchor = "" if target == "post" else f"#{target}-{item_id}"
    form = ReasonForm()
    # A refusal (no reason given for hiding, already hidden) is flashed; a form that doesn't validate is a 400.
    if acted(form, lambda: service(target, item_id, by=current_user, reason=form.reason.data or "")):  # type: ignore[arg-type]
        flash("Hidden. Readers see the reason; you and the author still see the text." if action == "hide"
              else "Restored.", "success")  # fmt: skip
    return to_post(access.post, anchor)
