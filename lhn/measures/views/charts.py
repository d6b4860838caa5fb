"""Chart pages: the community's measures dashboard, a measure's chart page and its chart as a file for slides, notes,
phases and baseline exclusions on a chart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.forms import ActionForm, apply_errors, check_submitted, choices
from lhn.limits import user_rate_limited
from lhn.measures import permissions as measure_permissions
from lhn.measures import services as measures
from lhn.measures import spc, svg
from lhn.measures.forms import AnswerForm, ExclusionForm, NoteForm, PhaseForm
from lhn.measures.models import Measure
from lhn.measures.views.common import (
    back_to_chart,
    bp,
    flash_refusal,
    measure_access,
    measure_page,
    phi_recheck,
    removed,
)
from lhn.phi import PHIConfirmationRequired


@bp.get("/c/<slug>/measures")
def dashboard(slug: str) -> ResponseReturnValue:
    cursor = inputs.arg_cursor()
    community, membership = communities.get_readable_community(current_user, slug)
    page, cards = measures.measure_cards(community, viewer=current_user, cursor=cursor)
    return render_template(
        "measures/dashboard.html",
        community=community,
        membership=membership,
        page=page,
        cards=cards,
        can_create=measure_permissions.can_create_measure(current_user, community, membership),
        sparkline=svg.render_sparkline,
        fmt=svg.fmt,
    )


@bp.get("/measures/<int:measure_id>")
def show(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    # chart and rules are checked by the service (the page then shows the default chart and why).
    site, kind, rules = (inputs.arg_text(name) or None for name in ("site", "chart", "rules"))
    return _chart_page(measure, site=site, kind=kind, rules=rules)


@bp.get("/measures/<int:measure_id>/chart.svg", defaults={"file_format": "svg"})
@bp.get("/measures/<int:measure_id>/chart.png", defaults={"file_format": "png"})
@user_rate_limited("preview", methods=["GET"], forms=False)  # drawing a PNG costs CPU everyone shares
def chart_file(measure_id: int, file_format: str) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    site, kind, rules = (inputs.arg_text(name) or None for name in ("site", "chart", "rules"))
    file = measures.chart_file(measure, viewer=current_user, site_slug=site, kind=kind, rules=rules,
                               file_format=file_format)  # fmt: skip
    if file.view.restricted:  # audited as on the page, after the drawing (which holds no write lock)
        with transaction():
            measures.record_view(file.view, by=current_user)
    return Response(file.body, mimetype=file.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"'})  # fmt: skip


# The forms on a chart page that write to the chart shown, by their name in the template.
CHART_FORMS = {"note_form": NoteForm, "phase_form": PhaseForm, "exclusion_form": ExclusionForm}


def _chart_page(measure: Measure, *, site: str | None, kind: str | None = None, rules: str | None = None,
                refused: tuple[str, Any] | None = None) -> Any:  # fmt: skip
    """A measure's chart page; `refused` (a form's name and the form) shows that form as submitted, with its
    errors (422), so nothing typed is lost."""
    page = measures.chart_page(measure, viewer=current_user, site_slug=site, kind=kind, rules=rules)
    forms = {name: _on_chart(form_class(formdata=None), page) for name, form_class in CHART_FORMS.items()}
    if refused:
        name, form = refused
        forms[name] = _on_chart(form, page)
    html = measure_page(
        "measures/show.html",
        measure,
        page=page,
        chart_svg=svg.render_chart(page.view, title=page.title, annotations=page.annotations),
        mr_svg=svg.render_moving_ranges(page.view) if page.view.kind == spc.I else "",
        funnel_svg=svg.render_funnel(page.funnel) if page.funnel else "",
        position_words=svg.POSITION_WORDS,
        answer_form=AnswerForm(formdata=None),
        action_form=ActionForm(formdata=None),
        chart_labels=spc.CHART_LABELS,
        rulesets=spc.RULESETS,
        rule_short=spc.RULE_SHORT,
        fmt=svg.fmt,
        **forms,
    )
    if page.view.restricted:  # a site's team seeing its withheld data is audited; everyone else stays read-only
        with transaction():
            measures.record_view(page.view, by=current_user)
    return (html, 422) if refused else html


def _on_chart(form: Any, page: measures.ChartPage) -> Any:
    """A note or phase form for the chart shown, or None if the reader may not annotate it."""
    form.site.choices = choices(page.annotation_site)
    form.site.data = page.site.slug if page.site else ""
    return form if form.site.choices else None


def _annotate(measure: Measure, form: Any, write: Callable[[], object], *, text: str, button: str,
              failed: str, done: str) -> Any:  # fmt: skip
    """Add a note, a phase or an exclusion from the chart page: back to the chart; refused, the chart page again with
    the form as typed and why; or the form again to confirm possible PHI."""
    site = form.site.data or ""
    form.site.choices = choices([(site, "")])  # any site: the service checks it
    try:
        check_submitted(form)
        with transaction():
            write()
    except PHIConfirmationRequired as exc:
        back = url_for("measures.show", measure_id=measure.id, site=site or None)
        return phi_recheck(form, exc, texts=[text], button=button, back=back)
    except ValidationFailed as exc:
        flash_refusal(exc, failed)  # also says what the form can't show beside a field (whose chart, slow down)
        apply_errors(form, exc)
        name = next(name for name, form_class in CHART_FORMS.items() if isinstance(form, form_class))
        return _chart_page(measure, site=site or None, refused=(name, form))
    flash(done, "success")
    return back_to_chart(measure, site)


@bp.post("/measures/<int:measure_id>/notes")
@login_required
def add_note(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = NoteForm()
    return _annotate(
        measure, form,
        lambda: measures.add_note(measure, site=form.site.data or "", on=form.on.data, text=form.text.data or "",
                                  by=current_user, confirm_phi=form.confirm_phi.data),
        text="text", button="Add note", failed="Note not added", done="Note added to the chart.",
    )  # fmt: skip


@bp.post("/measures/<int:measure_id>/phases")
@login_required
def add_phase(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = PhaseForm()
    return _annotate(
        measure, form,
        lambda: measures.add_phase(measure, site=form.site.data or "", period=form.period.data or "",
                                   reason=form.reason.data or "", by=current_user, confirm_phi=form.confirm_phi.data),
        text="reason", button="Start a new phase", failed="Phase not started",
        done="New phase started: limits are computed afresh from that period.",
    )  # fmt: skip


@bp.post("/measures/<int:measure_id>/phases/<int:phase_id>/remove")
@login_required
def remove_phase(measure_id: int, phase_id: int) -> ResponseReturnValue:
    measure = removed(measure_id, lambda m: measures.remove_phase(m, phase_id, by=current_user), "Phase removed.")
    return back_to_chart(measure, request.form.get("site"))


@bp.post("/measures/<int:measure_id>/exclusions")
@login_required
def exclude_from_baseline(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = ExclusionForm()
    return _annotate(
        measure, form,
        lambda: measures.exclude_from_baseline(measure, site=form.site.data or "", period=form.period.data or "",
                                               reason=form.reason.data or "", by=current_user,
                                               confirm_phi=form.confirm_phi.data),
        text="reason", button="Leave out of the baseline", failed="Point not left out",
        done="Point left out of the baseline: the centre line and limits are computed without it.",
    )  # fmt: skip


@bp.post("/measures/<int:measure_id>/exclusions/<int:exclusion_id>/remove")
@login_required
def include_in_baseline(measure_id: int, exclusion_id: int) -> ResponseReturnValue:
    measure = removed(measure_id, lambda m: measures.include_in_baseline(m, exclusion_id, by=current_user),
                      "Point back in the baseline.")  # fmt: skip
    return back_to_chart(measure, request.form.get("site"))
