"""PDSA cycle pages: start one at a site (optionally testing an idea), record the do and study, close it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.forms import apply_errors, choices
from lhn.measures import charts, learning
from lhn.measures import services as measures
from lhn.measures.forms import CloseForm, PdsaForm
from lhn.measures.models import Measure
from lhn.measures.views import _flash_errors, _measure, _site_choices, _team_sites, bp
from lhn.phi import PHIConfirmationRequired

# --- PDSA cycles ---------------------------------------------------------------------------------------


def _pdsa_form(measure: Measure, acc: measures.Access, form: PdsaForm) -> bool:
    """Fill the site and idea choices; returns whether to show an idea picker (there are ideas to pick)."""
    sites = _team_sites(acc)
    if acc.is_owner:
        data_sites = charts.load_data(measure).sites.values()
        sites = list({s.id: s for s in [*sites, *data_sites]}.values())
    form.site.choices = _site_choices(sites)
    ideas = learning.ideas(measure.community_id)
    form.idea_id.choices = choices(
        [("", "— none —")] + [(str(i), str(v.get("title", i))) for i, v in (ideas or {}).items()]
    )
    return bool(ideas)


def _pdsa_fields(form: PdsaForm) -> learning.PdsaFields:
    return learning.PdsaFields(
        site=form.site.data or "",
        title=form.title.data or "",
        plan=form.plan.data or "",
        prediction=form.prediction.data or "",
        do_notes=form.do_notes.data or "",
        study=form.study.data or "",
        started_on=form.started_on.data,
        idea_id=form.idea_id.data or None,
    )


@bp.route("/measures/<int:measure_id>/pdsa/new", methods=["GET", "POST"])
@login_required
def new_cycle(measure_id: int):  # type: ignore[no-untyped-def]
    measure, acc = _measure(measure_id)
    form, phi = PdsaForm(), None
    has_ideas = _pdsa_form(measure, acc, form)
    if form.validate_on_submit():
        try:
            with transaction():
                cycle = learning.create_cycle(measure, _pdsa_fields(form), by=current_user,
                                              confirm_phi=form.confirm_phi.data)  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
            phi = exc if isinstance(exc, PHIConfirmationRequired) else None
        else:
            flash("PDSA cycle started. It shows on the site's chart.", "success")
            return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=cycle.id))
    return render_template(
        "measures/pdsa_form.html",
        measure=measure,
        community=measure.community,
        form=form,
        cycle=None,
        has_ideas=has_ideas,
        phi=phi,
    )


@bp.route("/measures/<int:measure_id>/pdsa/<int:cycle_id>", methods=["GET", "POST"])
def cycle(measure_id: int, cycle_id: int):  # type: ignore[no-untyped-def]
    measure, acc = _measure(measure_id)
    item = learning.get_cycle(measure, cycle_id, viewer=current_user)
    form, phi = PdsaForm(obj=item if request.method == "GET" else None), None
    has_ideas = _pdsa_form(measure, acc, form)
    if request.method == "GET":
        form.site.data = item.institution.slug
        form.started_on.data = item.started_on.isoformat()
        form.idea_id.data = str(item.idea_id or "")
    elif not current_user.is_authenticated:
        abort(401)
    elif form.validate_on_submit():
        try:
            with transaction():
                learning.update_cycle(item, measure, _pdsa_fields(form), by=current_user,
                                      confirm_phi=form.confirm_phi.data)  # fmt: skip
        except ValidationFailed as exc:
            apply_errors(form, exc)
            phi = exc if isinstance(exc, PHIConfirmationRequired) else None
        else:
            flash("PDSA cycle updated.", "success")
            return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id))
    idea = None
    if item.idea_id is not None:
        idea = (learning.ideas(measure.community_id, [item.idea_id]) or {}).get(item.idea_id)
    return render_template(
        "measures/pdsa.html",
        measure=measure,
        community=measure.community,
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
def close_cycle(measure_id: int, cycle_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    item = learning.get_cycle(measure, cycle_id, viewer=current_user)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            with transaction():
                learning.close_cycle(
                    item,
                    measure,
                    act=form.act.data or "",
                    act_notes=form.act_notes.data or "",
                    ended_on=form.ended_on.data,
                    by=current_user,
                    confirm_phi=form.confirm_phi.data,
                )
        except PHIConfirmationRequired as exc:  # the closing again, with the notes kept and the box to tick
            apply_errors(form, exc)
            back = url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id)
            return render_template("_phi_recheck.html", form=form, phi=exc, texts=["act_notes"], action=request.path,
                                   button="Close the cycle", back=back), 422  # fmt: skip
        except ValidationFailed as exc:
            _flash_errors(exc, "Not closed: ")
        else:
            flash("Cycle closed." + (" Its summary was posted on the idea." if item.idea_id else ""), "success")
    return redirect(url_for("measures.cycle", measure_id=measure.id, cycle_id=item.id))
