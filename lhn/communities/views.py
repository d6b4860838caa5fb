"""Community pages: directory, create and edit, community page, join/leave, members, requests, verification."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.accounts import services as accounts
from lhn.communities import permissions
from lhn.communities import services as communities
from lhn.communities.forms import CommunityForm, DecisionForm, JoinForm, MemberRoleForm, VerificationDecisionForm
from lhn.communities.models import JoinRequest
from lhn.database import transaction
from lhn.errors import Conflict, ValidationFailed
from lhn.forms import ActionForm, acted, fields_of, flash_errors, form_page, saved

bp = Blueprint("communities", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    q = inputs.arg_text("q")
    page = communities.list_communities(q=q, cursor=inputs.arg_cursor())
    mine = communities.memberships_of(current_user)
    return render_template(
        "communities/index.html", page=page, q=q, mine=mine,
        my_communities=sorted((m.community for m in mine.values()), key=lambda c: c.name),
        can_create=permissions.can_create_community(current_user),
    )  # fmt: skip


@bp.route("/communities/new", methods=["GET", "POST"])
@login_required
def create_community() -> ResponseReturnValue:
    if not permissions.can_create_community(current_user):
        abort(403)
    form = CommunityForm()
    if form.validate_on_submit() and (
        done := saved(
            form, lambda: communities.create_community(fields_of(form, communities.CommunityFields), by=current_user)
        )
    ):
        flash("Community created. You are its owner.", "success")
        return redirect(url_for("communities.show", slug=done.value.slug))
    return form_page("communities/form.html", form, community=None)


@bp.route("/c/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_community(slug: str) -> ResponseReturnValue:
    community = communities.get_community_where(current_user, slug, permissions.can_manage)
    form = CommunityForm(obj=community if request.method == "GET" else None)
    if request.method == "GET":
        form.condition_system.data = community.condition_system.value if community.condition_system else ""
        form.visibility.data = community.visibility.value
    if form.validate_on_submit() and saved(
        form,
        lambda: communities.update_community(community, fields_of(form, communities.CommunityFields), by=current_user),
    ):
        flash("Community updated.", "success")
        return redirect(url_for("communities.show", slug=community.slug))
    return form_page("communities/form.html", form, community=community)


@bp.get("/c/<slug>")
def show(slug: str) -> ResponseReturnValue:
    return _community_page(slug)


def _community_page(slug: str, join_form: JoinForm | None = None) -> str:
    """The community's page; `join_form` is the join form as sent, with its errors."""
    page = communities.community_page(slug, by=current_user)
    return render_template("communities/show.html", **vars(page), join_form=join_form or JoinForm(),
                           leave_form=ActionForm())  # fmt: skip


@bp.post("/c/<slug>/join")
@login_required
def join(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    form = JoinForm()
    done = form.validate_on_submit() and saved(form, lambda: communities.join_or_request(
        current_user, community, accept_guidelines=form.accept_guidelines.data, message=form.message.data or "",
        confirm_phi=form.confirm_phi.data))  # fmt: skip
    if not done and getattr(form, "phi", None):  # the request again, with the text kept and the box to tick
        back = url_for("communities.show", slug=slug)
        return render_template("_phi_recheck.html", form=form, phi=form.phi, texts=["message"], action=request.path,
                               button="Ask to join", back=back), 422  # fmt: skip
    if not done:  # the page again, with what was typed and the reasons on the form
        return _community_page(slug, form), 422
    if isinstance(done.value, JoinRequest):
        flash("Request sent. A moderator will review it; you'll see the result here.", "success")
    else:
        flash(f"Welcome to {community.name}!", "success")
    return redirect(url_for("communities.show", slug=slug))


@bp.post("/c/<slug>/leave")
@login_required
def leave(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    form = ActionForm()
    if form.validate_on_submit():
        if saved(form, lambda: communities.leave_community(current_user, community)):
            flash(f"You left {community.name}.", "info")
        else:  # the only owner, or not a member
            flash_errors(form.refusal)
    return redirect(url_for("communities.show", slug=slug))


@bp.get("/c/<slug>/members")
def members(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    membership = communities.find_membership(current_user, community)
    role = inputs.arg_text("role")
    page = communities.list_members(community, by=current_user, role=role, cursor=inputs.arg_cursor())
    appointable = {m.id for m in page.items if permissions.can_appoint(current_user, community, membership, m)}
    return render_template(
        "communities/members.html", community=community, page=page, role=role, filters=communities.MEMBER_FILTERS,
        appointable=appointable, role_form=MemberRoleForm(),
    )  # fmt: skip


@bp.post("/c/<slug>/members/<username>/role")
@login_required
def set_member_role(slug: str, username: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    form = MemberRoleForm()
    if form.validate_on_submit():
        if done := saved(
            form, lambda: communities.set_member_role(community, username, form.role.data, by=current_user)
        ):
            flash(f"{done.value.user.display_name} is now a {done.value.role.value}.", "success")
        else:
            flash_errors(form.refusal)
    return redirect(url_for("communities.members", slug=slug))


@bp.get("/c/<slug>/requests")
@login_required
def join_requests(slug: str) -> ResponseReturnValue:
    community = communities.get_community(slug)
    rows = communities.list_join_requests(community, by=current_user)
    return render_template("communities/requests.html", community=community, requests=rows, form=DecisionForm())


@bp.post("/c/<slug>/requests/<int:request_id>")
@login_required
def decide_join_request(slug: str, request_id: int) -> ResponseReturnValue:
    form = DecisionForm()
    # Refused with Conflict when another moderator was quicker.
    done = acted(form, lambda: communities.decide_join_request(
        request_id, by=current_user, approve=form.decision.data == "approve", note=form.note.data or ""),
        refused=Conflict)  # fmt: skip
    if done:
        flash(f"Request from {done.value.user.display_name} {done.value.status.value}.", "success")
    return redirect(url_for("communities.join_requests", slug=slug))


@bp.get("/verification")
@login_required
def verification_queue() -> ResponseReturnValue:
    queue = communities.list_verification_queue(by=current_user)
    page = render_template("communities/verification_queue.html", queue=queue, form=VerificationDecisionForm())
    with transaction():  # staff's views of the evidence are recorded (after rendering: nothing slow under the lock)
        communities.record_evidence_views(current_user, queue)
    return page


@bp.post("/verification/<int:request_id>")
@login_required
def review_verification(request_id: int) -> ResponseReturnValue:
    form = VerificationDecisionForm()
    done = acted(form, lambda: accounts.decide_verification(
        request_id, by=current_user, approve=form.decision.data == "approve", note=form.note.data or "",
        expires_on=form.expires_on.data), refused=(ValidationFailed, Conflict))  # fmt: skip
    if done:
        flash(f"Verification for {done.value.user.display_name} {done.value.status.value}.", "success")
    return redirect(url_for("communities.verification_queue"))
