"""Definition pages: define a measure, edit its definition (a new version), its change log."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.communities import services as communities
from lhn.forms import fields_of, form_page, form_status, saved
from lhn.measures import permissions as measure_permissions
from lhn.measures import services as measures
from lhn.measures.forms import MeasureForm
from lhn.measures.views.common import bp, measure_access, measure_page


@bp.route("/c/<slug>/measures/new", methods=["GET", "POST"])
@login_required
def create(slug: str) -> ResponseReturnValue:
    community, membership = communities.get_readable_community(current_user, slug)
    if not measure_permissions.can_create_measure(current_user, community, membership):
        abort(403)
    form = MeasureForm()
    if form.validate_on_submit() and (
        done := saved(
            form, lambda: measures.create_measure(community, fields_of(form, measures.MeasureFields), by=current_user)
        )
    ):
        flash("Measure defined. You own it: invite a patient or caregiver and a clinician to co-own it.", "success")
        return redirect(url_for("measures.show", measure_id=done.value.id))
    return form_page("measures/form.html", form, community=community, measure=None)


@bp.route("/measures/<int:measure_id>/edit", methods=["GET", "POST"])
@login_required
def edit(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    if not acc.can_edit:
        abort(403)
    form = MeasureForm(obj=None if request.method == "POST" else measures.MeasureFields.of(measure))
    if form.validate_on_submit() and saved(
        form,
        lambda: measures.update_measure(measure, dict(vars(fields_of(form, measures.MeasureFields))), by=current_user),
    ):
        flash(f"Saved. The definition is now version {measure.version}.", "success")
        return redirect(url_for("measures.show", measure_id=measure.id))
    return measure_page("measures/form.html", measure, form=form), form_status(form)


@bp.get("/measures/<int:measure_id>/changes")
def changes(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    return measure_page(
        "measures/changes.html",
        measure,
        page=measures.list_changes(measure, viewer=current_user, cursor=inputs.arg_cursor()),
    )
