"""PDSA cycle pages: start one at a site (optionally testing an idea), record the do and study, close it."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.forms import choices, fields_of, form_status, saved
from lhn.measures import services as measures
from lhn.measures.forms import CloseForm, PdsaForm
from lhn.measures.models import Measure
from lhn.measures.views.common import (
    bp,
    flash_refusal,
    measure_access,
    measure_page,
    phi_recheck,
    site_choices,
    team_sites,
)
from lhn.phi import PHIConfirmationRequired


def _pdsa_form(measure: Measure, acc: measures.Access, form: PdsaForm) -> bool:
    """Fill the site and idea choices; returns whether to show an idea picker (there are ideas to pick)."""
    sites = team_sites(acc)
    if acc.is_owner:
        data_sites = measures.load_data(measure).sites.values()
        sites = list({s.id: s for s in [*sites, *data_sites]}.values())
    form.site.choices = site_choices(sites)
    ideas = measures.ideas(measure.community_id)
    form.idea_id.choices = choices(
        [("", "— none —")] + [(str(i), str(v.get("title", i))) for i, v in (ideas or {}).items()]
    )
    return bool(ideas)


@bp.route("/measures/<int:measure_id>/pdsa/new", methods=["GET", "POST"])
@login_required
def new_cycle(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    form, phi = PdsaForm(), None
    has_ideas = _pdsa_form(measure, acc, form)
    if form.validate_on_submit():
        fields = fields_of(form, measures.PdsaFields)
        if done := saved(form, lambda: measures.create_cycle(measure, fields, by=current_user,
                                                             confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("PDSA cycle started. It shows on the site's chart.", "success")
            return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=done.value.id))
        phi = form.phi  # type: ignore[attr-defined]
    return measure_page(
        "measures/pdsa_form.html",
        measure,
        form=form,
        cycle=None,
        has_ideas=has_ideas,
        phi=phi,
    ), form_status(form)


@bp.route("/measures/<int:measure_id>/pdsa/<int:cycle_id>", methods=["GET", "POST"])
def cycle(measure_id: int, cycle_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    item = measures.get_cycle(measure, cycle_id, viewer=current_user)
    form, phi = PdsaForm(obj=item if request.method == "GET" else None), None
    has_ideas = _pdsa_form(measure, acc, form)
    if request.method == "GET":
        form.site.data = item.institution.slug
        form.started_on.data = item.started_on.isoformat()
        form.idea_id.data = str(item.idea_id or "")
    elif not current_user.is_authenticated:
        abort(401)
    elif form.validate_on_submit():
        fields = fields_of(form, measures.PdsaFields)
        if saved(form, lambda: measures.update_cycle(item, measure, fields, by=current_user,
                                                     confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("PDSA cycle updated.", "success")
            return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id))
        phi = form.phi  # type: ignore[attr-defined]
    idea = None
    if item.idea_id is not None:
        idea = (measures.ideas(measure.community_id, [item.idea_id]) or {}).get(item.idea_id)
    return measure_page(
        "measures/pdsa.html",
        measure,
        cycle=item,
        form=form,
        close_form=CloseForm(),
        can_edit=acc.can_annotate(item.institution_id),
        has_ideas=has_ideas,
        idea=idea,
        phi=phi,
    )


@bp.post("/measures/<int:measure_id>/pdsa/<int:cycle_id>/close")
@login_required
def close_cycle(measure_id: int, cycle_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    item = measures.get_cycle(measure, cycle_id, viewer=current_user)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            with transaction():
                measures.close_cycle(
                    item,
                    measure,
                    act=form.act.data or "",
                    act_notes=form.act_notes.data or "",
                    ended_on=form.ended_on.data,
                    by=current_user,
                    confirm_phi=form.confirm_phi.data,
                )
        except PHIConfirmationRequired as exc:
            back = url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id)
            return phi_recheck(form, exc, texts=["act_notes"], button="Close the cycle", back=back)
        except ValidationFailed as exc:
            flash_refusal(exc, "Not closed")
        else:
            flash("Cycle closed." + (" Its summary was posted on the idea." if item.idea_id else ""), "success")
    return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id))
