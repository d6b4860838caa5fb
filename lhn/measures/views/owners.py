"""Owner pages: the owners and site data leads of a measure, invitations to co-own it, appointing leads, who has
sent the last period's data (and the last periods', in the submission grid) and reminding the sites that haven't."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.accounts import services as accounts
from lhn.database import transaction
from lhn.errors import Conflict, ValidationFailed
from lhn.forms import ActionForm, acted, check_submitted, choices, flash_errors
from lhn.limits import user_rate_limited, wrote
from lhn.measures import services as measures
from lhn.measures.forms import AnswerForm, InviteForm, LeadForm
from lhn.measures.models import SiteDataLead
from lhn.measures.views.common import back_to_owners, bp, measure_access, measure_page, removed, site_choices

T = TypeVar("T")


def _written(write: Callable[[], T]) -> T | None:
    """Run a write of a form that redirects back to this page; flash why it was refused (None)."""
    try:
        with transaction():
            return write()
    except ValidationFailed as exc:
        flash_errors(exc)
        return None


@bp.get("/measures/<int:measure_id>/owners")
def owners(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    owners_ = measures.list_owners(measure)
    lead_form = LeadForm()
    lead_form.site.choices = site_choices(accounts.list_institutions())
    return measure_page(
        "measures/owners.html",
        measure,
        acc=acc,
        owners=owners_,
        co_owned=measures.co_owned([o.user for o in owners_]),
        leads=measures.list_site_leads(measure),
        submissions=measures.submission_status(measure, by=current_user) if acc.can_edit else None,
        grid_periods=measures.GRID_PERIODS,
        invite_form=InviteForm(),
        lead_form=lead_form,
        action_form=ActionForm(),
        answer_form=AnswerForm(),
        invitation=measures.pending_invitation(measure, current_user),
        open_invitations=[
            i for i in measures.list_invitations(measure, viewer=current_user) if acc.can_edit and i.is_open
        ],
    )


@bp.post("/measures/<int:measure_id>/owners/invite")
@login_required
def invite(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = InviteForm()
    if form.validate_on_submit() and (
        invitation := _written(lambda: measures.invite_owner(measure, form.username.data or "", by=current_user))
    ):
        flash(f"Invitation sent to {invitation.user.display_name}.", "success")
    return back_to_owners(measure)


@bp.post("/measures/<int:measure_id>/owners/answer")
@login_required
def answer(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash("Your answer didn't arrive: reload the page and choose Accept or Decline again.", "error")
    else:
        with transaction():
            measures.answer_invitation(measure, by=current_user, accept=form.decision.data == "accept")
        flash("You now co-own this measure." if form.decision.data == "accept" else "Invitation declined.", "success")
    return back_to_owners(measure)


@bp.post("/measures/<int:measure_id>/owners/invitations/<int:invitation_id>/withdraw")
@login_required
def withdraw_invitation(measure_id: int, invitation_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    write = lambda: measures.withdraw_invitation(measure, invitation_id, by=current_user)  # noqa: E731
    if done := acted(ActionForm(), write, refused=Conflict):
        flash(f"Invitation to {done.value.user.display_name} withdrawn.", "info")
    return back_to_owners(measure)


@bp.post("/measures/<int:measure_id>/owners/<username>/remove")
@login_required
def remove_owner(measure_id: int, username: str) -> ResponseReturnValue:
    measure = removed(measure_id, lambda m: measures.remove_owner(m, username, by=current_user), "Owner removed.")
    return back_to_owners(measure)


@bp.post("/measures/<int:measure_id>/leads")
@login_required
def appoint_lead(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = LeadForm()
    form.site.choices = choices([(form.site.data or "", "")])  # any site: the service checks it

    def appoint() -> SiteDataLead:
        check_submitted(form)  # the form's own errors are flashed as the service's are
        return measures.appoint_site_lead(measure, form.username.data or "", form.site.data or "", by=current_user)

    if lead := _written(appoint):
        flash(f"{lead.user.display_name} is now a data lead for {lead.institution.name}.", "success")
    return back_to_owners(measure)


@bp.post("/measures/<int:measure_id>/leads/<int:lead_id>/remove")
@login_required
def remove_lead(measure_id: int, lead_id: int) -> ResponseReturnValue:
    remove = lambda m: measures.remove_site_lead(m, lead_id, by=current_user)  # noqa: E731
    return back_to_owners(removed(measure_id, remove, "Site data lead removed."))


@bp.get("/measures/<int:measure_id>/submissions")
@login_required
def submission_grid(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    grid = measures.submission_grid(measure, by=current_user)
    return measure_page("measures/submissions.html", measure, grid=grid, action_form=ActionForm())


@bp.post("/measures/<int:measure_id>/reminders")
@login_required
@user_rate_limited("remind", deduct_when=wrote, forms=False)
def remind_late_sites(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    if done := acted(ActionForm(), lambda: measures.remind_late_sites(measure, by=current_user)):
        if done.value:
            flash(f"Reminded {', '.join(site.name for site in done.value)}.", "success")
        else:
            flash("Every late site was already reminded today (or none is late).", "info")
    if request.form.get("back") == "grid":  # sent from the submission grid: back to it
        return redirect(url_for("measures.submission_grid", measure_id=measure.id))
    return back_to_owners(measure)
