"""Equity strata pages: a measure's strata side by side with the gap between them, and a site's breakdown of a
period by a stratifier."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn.database import transaction
from lhn.errors import ValidationFailed
from lhn.forms import apply_errors, form_route
from lhn.measures import services as measures
from lhn.measures.forms import StrataForm
from lhn.measures.svg import fmt
from lhn.measures.svg.strata import render_strata
from lhn.measures.views.common import bp, measure_access, measure_page, site_choices, team_sites


@bp.get("/measures/<int:measure_id>/strata/<code>")
def strata(measure_id: int, code: str) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    view = measures.strata_view(measure, code, viewer=current_user)
    title = f"{measure.name} by {view.stratifier['label'].lower()}"
    return measure_page(
        "measures/strata.html", measure, acc=acc, view=view, title=title, chart_svg=render_strata(view, title=title),
        fmt=fmt,
    )  # fmt: skip


@form_route(bp, "/measures/<int:measure_id>/strata/<code>/new", "strata")
def submit_strata(measure_id: int, code: str) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    stratifier = measures.get_stratifier(measure, code)
    names = measure.type.fields
    if request.method == "POST":
        form = StrataForm()
    else:
        rows = [{"stratum": s["code"]} for s in stratifier["strata"]]
        form = StrataForm(formdata=None, data={"rows": rows, "site": request.args.get("site", "")})
    form.site.choices = site_choices(team_sites(acc))
    labels = {s["code"]: s["label"] for s in stratifier["strata"]}
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction():
                measures.record_strata(
                    measure, form.site.data or "", form.period.data or "", code, form.values(names), by=current_user
                )
        except ValidationFailed as exc:
            _show_errors(form, exc, names)
        else:
            flash(f"Saved the {stratifier['label'].lower()} breakdown of {form.period.data}.", "success")
            return redirect(url_for("measures.strata", measure_id=measure.id, code=code))
    return measure_page(
        "measures/strata_form.html", measure, acc=acc, form=form, stratifier=stratifier, labels=labels, names=names,
        two=len(names) > 1,
    ), (422 if form.errors or form.form_errors else 200)  # fmt: skip


def _show_errors(form: StrataForm, exc: ValidationFailed, names: tuple[str, ...]) -> None:
    """Each problem beside its stratum's cell ("<stratum>.<field>"), the site or the period; the sum on the form."""
    rest: dict[str, str] = {}
    rows = {row.form.stratum.data: row.form for row in form.rows}
    for key, message in exc.errors.items():
        stratum, _, name = key.partition(".")
        row = rows.get(stratum)
        if row is not None and name in names:
            target = row.first if name == names[0] else row.second
            target.errors = [*target.errors, message]
        elif key in ("site", "period"):
            rest[key] = message
        else:
            form.form_errors.append(message)
    apply_errors(form, ValidationFailed(rest))
