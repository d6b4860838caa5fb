"""Measure pages: dashboard, chart (with notes and phases), definition, owners. Data pages are in data_views,
PDSA cycles in pdsa_views; both add their routes to this blueprint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from lhn import inputs
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import Conflict, NotFound, ValidationFailed
from lhn.extensions import db
from lhn.forms import ActionForm, apply_errors, check_submitted, choices
from lhn.measures import charts, learning, periods, spc, svg
from lhn.measures import permissions as measure_permissions
from lhn.measures import services as measures
from lhn.measures.forms import (
    AnswerForm,
    InviteForm,
    LeadForm,
    MeasureForm,
    NoteForm,
    PhaseForm,
)
from lhn.measures.models import Measure
from lhn.phi import PHIConfirmationRequired

bp = Blueprint("measures", __name__)


def _measure(measure_id: int) -> tuple[Measure, measures.Access]:
    measure = measures.get_measure(measure_id, viewer=current_user)
    return measure, measures.access(measure, current_user)


def _site_choices(sites: list[Institution], *, network: str | None = None) -> list[Any]:
    pairs = [("", network)] if network else []
    return choices(pairs + [(s.slug, s.name) for s in sorted(sites, key=lambda s: s.name)])


def _team_sites(acc: measures.Access) -> list[Institution]:
    return [s for s in (db.session.get(Institution, i) for i in acc.team_site_ids) if s is not None]


# --- dashboard ------------------------------------------------------------------------------------


@bp.get("/c/<slug>/measures")
def dashboard(slug: str):  # type: ignore[no-untyped-def]
    cursor = inputs.arg_cursor()
    community, membership = communities.get_readable_community(current_user, slug)
    page = measures.list_measures(community, viewer=current_user, cursor=cursor)
    co_owned = measures.co_owned_by_id([m.id for m in page.items])
    cards = []
    for measure in page.items:
        acc = measures.access(measure, current_user)
        view = charts.chart_view(measure, acc)
        cards.append(
            {
                "measure": measure,
                "view": view,
                "spark": svg.render_sparkline(view),
                "co_owned": co_owned[measure.id],
                "signals": sorted({s.rule_label for s in view.signals}),
            }
        )
    return render_template(
        "measures/dashboard.html",
        community=community,
        membership=membership,
        page=page,
        cards=cards,
        can_create=measure_permissions.can_create_measure(current_user, community, membership),
        fmt=svg.fmt,
    )


def _fields(form: MeasureForm) -> measures.MeasureFields:
    return measures.MeasureFields(
        name=form.name.data or "",
        type=form.type.data or "",
        period=form.period.data or "",
        improvement=form.improvement.data or "",
        unit=form.unit.data or "",
        target=form.target.data,
        description=form.description.data or "",
        data_source=form.data_source.data or "",
        rule_set=form.rule_set.data or spc.DEFAULT_RULESET,
        baseline_points=form.baseline_points.data,
        multiplier=form.multiplier.data,
    )


@bp.route("/c/<slug>/measures/new", methods=["GET", "POST"])
@login_required
def create(slug: str):  # type: ignore[no-untyped-def]
    community, membership = communities.get_readable_community(current_user, slug)
    if not measure_permissions.can_create_measure(current_user, community, membership):
        abort(403)
    form = MeasureForm()
    if form.validate_on_submit():
        try:
            with transaction():
                measure = measures.create_measure(community, _fields(form), by=current_user)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash("Measure defined. You own it: invite a patient or caregiver and a clinician to co-own it.", "success")
            return redirect(url_for("measures.show", measure_id=measure.id))
    return render_template("measures/form.html", form=form, community=community, measure=None)


# --- the chart page ----------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>")
def show(measure_id: int):  # type: ignore[no-untyped-def]
    # chart and rules are checked by chart_view (the page then shows the default chart and why).
    site_slug, chart, rules = (inputs.arg_text(name) or None for name in ("site", "chart", "rules"))
    measure, acc = _measure(measure_id)
    site = accounts.find_institution(site_slug) if site_slug else None
    if site_slug and site is None:
        raise NotFound("No such site.")
    measure_data = charts.load_data(measure)
    error = ""
    try:
        view = charts.chart_view(
            measure,
            acc,
            site=site,
            kind=chart,
            rules=rules,
            data=measure_data,
        )
    except ValidationFailed as exc:
        error = " ".join(exc.errors.values())
        view = charts.chart_view(measure, acc, site=site, data=measure_data)
    notes = learning.annotations(measure, site_id=site.id if site else None)
    where = site.name if site else "All sites"
    title = f"{measure.name} — {where} — {spc.CHART_LABELS[view.kind]}"
    visible_sites = [
        measure_data.sites[i] for i in measure_data.cells if i in measure_data.consenting or i in acc.team_site_ids
    ]
    owners = measures.list_owners(measure)
    page = render_template(
        "measures/show.html",
        measure=measure,
        community=measure.community,
        acc=acc,
        view=view,
        site=site,
        chart_svg=svg.render_chart(view, title=title, annotations=notes),
        mr_svg=svg.render_moving_ranges(view) if view.kind == spc.I else "",
        annotations=notes,
        error=error,
        sites=sorted(visible_sites, key=lambda s: s.name),
        owners=owners,
        co_owned=measures.co_owned([o.user for o in owners]),
        cycles=learning.list_cycles(measure, site_id=site.id if site else None),
        chart_labels=spc.CHART_LABELS,
        rulesets=spc.RULESETS,
        fmt=svg.fmt,
        rule_short=spc.RULE_SHORT,
        invitation=measures.pending_invitation(measure, current_user),
        answer_form=AnswerForm(),
        note_form=_note_form(acc, site),
        phase_form=_phase_form(acc, site),
        phases=charts.phase_changes(measure, site.id if site else None),
        action_form=ActionForm(),
        period_example=periods.EXAMPLES[measure.period.value],
        chosen_kind=chart if chart and not error else "",
    )
    if view.restricted:  # a site's team seeing its withheld data is audited; everyone else stays read-only
        with transaction():
            charts.record_view(view, by=current_user)
    return page


def _annotatable(acc: measures.Access, site: Institution | None) -> list[Any]:
    """Notes and phases go on the chart being looked at, if the reader may annotate it."""
    if site is None:
        return choices([("", "All sites (network chart)")]) if acc.is_owner else []
    return choices([(site.slug, site.name)]) if acc.can_annotate(site.id) else []


def _note_form(acc: measures.Access, site: Institution | None) -> NoteForm | None:
    form = NoteForm()
    form.site.choices = _annotatable(acc, site)
    form.site.data = site.slug if site else ""
    return form if form.site.choices else None


def _phase_form(acc: measures.Access, site: Institution | None) -> PhaseForm | None:
    form = PhaseForm()
    form.site.choices = _annotatable(acc, site)
    form.site.data = site.slug if site else ""
    return form if form.site.choices else None


def _back(measure: Measure, site: str | None = None) -> Response:
    return redirect(url_for("measures.show", measure_id=measure.id, site=site or None))  # type: ignore[return-value]


@bp.post("/measures/<int:measure_id>/notes")
@login_required
def add_note(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    form = NoteForm()
    form.site.choices = choices([(form.site.data or "", "")])  # any site: the service checks it
    try:
        check_submitted(form)
        with transaction():
            learning.add_note(measure, site=form.site.data or "", on=form.on.data, text=form.text.data or "",
                              by=current_user, confirm_phi=form.confirm_phi.data)  # fmt: skip
    except PHIConfirmationRequired as exc:  # the note again, with the text kept and the box to tick
        apply_errors(form, exc)
        back = url_for("measures.show", measure_id=measure.id, site=form.site.data or None)
        return render_template("_phi_recheck.html", form=form, phi=exc, texts=["text"], action=request.path,
                               button="Add note", back=back), 422  # fmt: skip
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(f"Note not added: {message}", "error")
    else:
        flash("Note added to the chart.", "success")
    return _back(measure, form.site.data)


@bp.post("/measures/<int:measure_id>/phases")
@login_required
def add_phase(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    form = PhaseForm()
    form.site.choices = choices([(form.site.data or "", "")])  # any site: the service checks it
    try:
        check_submitted(form)
        with transaction():
            learning.add_phase(measure, site=form.site.data or "", period=form.period.data or "",
                               reason=form.reason.data or "", by=current_user,
                               confirm_phi=form.confirm_phi.data)  # fmt: skip
    except PHIConfirmationRequired as exc:  # the phase again, with the reason kept and the box to tick
        apply_errors(form, exc)
        back = url_for("measures.show", measure_id=measure.id, site=form.site.data or None)
        return render_template("_phi_recheck.html", form=form, phi=exc, texts=["reason"], action=request.path,
                               button="Start a new phase", back=back), 422  # fmt: skip
    except ValidationFailed as exc:
        for message in exc.errors.values():
            flash(f"Phase not started: {message}", "error")
    else:
        flash("New phase started: limits are computed afresh from that period.", "success")
    return _back(measure, form.site.data)


@bp.post("/measures/<int:measure_id>/phases/<int:phase_id>/remove")
@login_required
def remove_phase(measure_id: int, phase_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    if ActionForm().validate_on_submit():
        with transaction():
            learning.remove_phase(measure, phase_id, by=current_user)
        flash("Phase removed.", "info")
    return _back(measure, request.form.get("site"))


# --- definition -----------------------------------------------------------------------------------


@bp.route("/measures/<int:measure_id>/edit", methods=["GET", "POST"])
@login_required
def edit(measure_id: int):  # type: ignore[no-untyped-def]
    measure, acc = _measure(measure_id)
    if not acc.can_edit:
        abort(403)
    form = MeasureForm(obj=None if request.method == "POST" else measures.MeasureFields.of(measure))
    if form.validate_on_submit():
        changes = dict(vars(_fields(form)))
        try:
            with transaction():
                measures.update_measure(measure, changes, by=current_user)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(f"Saved. The definition is now version {measure.version}.", "success")
            return redirect(url_for("measures.show", measure_id=measure.id))
    return render_template("measures/form.html", form=form, community=measure.community, measure=measure)


@bp.get("/measures/<int:measure_id>/changes")
def changes(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    return render_template(
        "measures/changes.html",
        measure=measure,
        community=measure.community,
        page=measures.list_changes(measure, viewer=current_user, cursor=inputs.arg_cursor()),
    )


# --- owners and site data leads ----------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/owners")
def owners(measure_id: int):  # type: ignore[no-untyped-def]
    measure, acc = _measure(measure_id)
    owners_ = measures.list_owners(measure)
    lead_form = LeadForm()
    lead_form.site.choices = _site_choices(accounts.list_institutions())
    return render_template(
        "measures/owners.html",
        measure=measure,
        community=measure.community,
        acc=acc,
        owners=owners_,
        co_owned=measures.co_owned([o.user for o in owners_]),
        leads=measures.list_site_leads(measure),
        invite_form=InviteForm(),
        lead_form=lead_form,
        action_form=ActionForm(),
        answer_form=AnswerForm(),
        invitation=measures.pending_invitation(measure, current_user),
        open_invitations=[
            i for i in measures.list_invitations(measure, viewer=current_user) if acc.can_edit and i.is_open
        ],
    )


def _flash_errors(exc: ValidationFailed, prefix: str = "") -> None:
    for message in exc.errors.values():
        flash(prefix + message, "error")


@bp.post("/measures/<int:measure_id>/owners/invite")
@login_required
def invite(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            with transaction():
                invitation = measures.invite_owner(measure, form.username.data or "", by=current_user)
        except ValidationFailed as exc:
            _flash_errors(exc)
        else:
            flash(f"Invitation sent to {invitation.user.display_name}.", "success")
    return redirect(url_for("measures.owners", measure_id=measure.id))


@bp.post("/measures/<int:measure_id>/owners/answer")
@login_required
def answer(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash("Your answer didn't arrive: reload the page and choose Accept or Decline again.", "error")
    else:
        with transaction():
            measures.answer_invitation(measure, by=current_user, accept=form.decision.data == "accept")
        flash("You now co-own this measure." if form.decision.data == "accept" else "Invitation declined.", "success")
    return redirect(url_for("measures.owners", measure_id=measure.id))


@bp.post("/measures/<int:measure_id>/owners/invitations/<int:invitation_id>/withdraw")
@login_required
def withdraw_invitation(measure_id: int, invitation_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    if ActionForm().validate_on_submit():
        try:
            with transaction():
                invitation = measures.withdraw_invitation(measure, invitation_id, by=current_user)
        except Conflict as exc:
            flash(str(exc), "error")
        else:
            flash(f"Invitation to {invitation.user.display_name} withdrawn.", "info")
    return redirect(url_for("measures.owners", measure_id=measure.id))


@bp.post("/measures/<int:measure_id>/owners/<username>/remove")
@login_required
def remove_owner(measure_id: int, username: str):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    if ActionForm().validate_on_submit():
        try:
            with transaction():
                measures.remove_owner(measure, username, by=current_user)
        except ValidationFailed as exc:
            _flash_errors(exc)
        else:
            flash("Owner removed.", "info")
    return redirect(url_for("measures.owners", measure_id=measure.id))


@bp.post("/measures/<int:measure_id>/leads")
@login_required
def appoint_lead(measure_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    form = LeadForm()
    form.site.choices = choices([(form.site.data or "", "")])  # any site: the service checks it
    try:
        check_submitted(form)
        with transaction():
            lead = measures.appoint_site_lead(measure, form.username.data or "", form.site.data or "", by=current_user)
    except ValidationFailed as exc:
        _flash_errors(exc)
    else:
        flash(f"{lead.user.display_name} is now a data lead for {lead.institution.name}.", "success")
    return redirect(url_for("measures.owners", measure_id=measure.id))


@bp.post("/measures/<int:measure_id>/leads/<int:lead_id>/remove")
@login_required
def remove_lead(measure_id: int, lead_id: int):  # type: ignore[no-untyped-def]
    measure, _acc = _measure(measure_id)
    if ActionForm().validate_on_submit():
        with transaction():
            measures.remove_site_lead(measure, lead_id, by=current_user)
        flash("Site data lead removed.", "info")
    return redirect(url_for("measures.owners", measure_id=measure.id))


# The other pages of the feature register on `bp` when imported.
from lhn.measures import data_views, pdsa_views  # noqa: E402, F401
