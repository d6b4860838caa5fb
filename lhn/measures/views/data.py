"""Measure data pages: submit a value with the site's consent, many periods at once in a grid, CSV upload with preview,
exports, FHIR in and out."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.accounts import services as accounts
from lhn.database import transaction
from lhn.errors import NotFound, ValidationFailed
from lhn.forms import apply_errors, form_route, form_status
from lhn.measures import services as measures
from lhn.measures import svg
from lhn.measures.forms import ConsentForm, DataForm, EntryGridForm, FhirImportForm, UploadForm
from lhn.measures.models import Measure
from lhn.measures.services import periods
from lhn.measures.views.common import bp, measure_access, measure_page, site_choices, team_sites
from lhn.plurals import plural


def _consent_forms(measure: Measure, acc: measures.Access) -> list[dict[str, Any]]:
    out = []
    for site in sorted(team_sites(acc), key=lambda s: s.name):
        form = ConsentForm()
        form.site.data = site.slug
        out.append(
            {
                "site": site,
                "consent": measures.active_consent(measure.community_id, site.id),
                "form": form,
                "statement": measures.consent_statement(site, measure.community),
            }
        )
    return out


def _flash_signals(result: measures.ImportResult) -> None:
    if result.signals_sent:
        flash("The new data made a rule fire: you, the owners and the site's team were notified.", "info")


@bp.route("/measures/<int:measure_id>/data/new", methods=["GET", "POST"])
@login_required
def submit(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    form = DataForm()
    form.site.choices = site_choices(team_sites(acc))
    names = measure.type.fields
    form.first.label.text = names[0].capitalize()
    if len(names) > 1:
        form.second.label.text = names[1].capitalize()
    if request.method == "POST" and form.validate_on_submit():
        values = {names[0]: form.first.data}
        if len(names) > 1:
            values[names[1]] = form.second.data
        try:
            with transaction():
                measures.record_value(measure, form.site.data or "", form.period.data or "", values, by=current_user)
        except ValidationFailed as exc:
            mapping = {
                "site": "site",
                "period": "period",
                names[0]: "first",
                **({names[1]: "second"} if len(names) > 1 else {}),
            }
            apply_errors(form, ValidationFailed({mapping.get(k, ""): v for k, v in exc.errors.items()}))
        else:
            flash(f"Saved {form.period.data} for {accounts.find_institution(form.site.data).name}.", "success")  # type: ignore[union-attr]
            return redirect(url_for("measures.show", measure_id=measure.id, site=form.site.data))
    return measure_page(
        "measures/data_form.html",
        measure,
        acc=acc,
        form=form,
        consents=_consent_forms(measure, acc),
        example=periods.EXAMPLES[measure.period.value],
        two=len(names) > 1,
    ), form_status(form)


@form_route(bp, "/measures/<int:measure_id>/data/grid", "import")
def entry_grid(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    posted = request.method == "POST"
    form = EntryGridForm()
    slug = form.site.data if posted else inputs.arg_text("site")
    grid = measures.entry_grid(measure, by=current_user, site_slug=slug or None)
    names = measure.type.fields
    if not posted:
        form = EntryGridForm.of(grid)
        if grid.restricted:  # its team sees the site's data withheld from everyone else: audited, as on its chart
            with transaction():
                measures.record_restricted_view(measure, reader=current_user)
    elif form.validate_on_submit():
        try:
            with transaction():  # the service checks every row before its write begins
                result = measures.enter_rows(measure, grid.site.slug, form.entries(len(names)), by=current_user)
        except measures.RowsInvalid as exc:
            form.show_row_errors(exc, names)
        else:
            flash(f"Saved {plural(result.stored, 'value')} for {grid.site.name} ({result.replaced} replaced earlier "
                  "ones)." if result.stored else "Nothing changed: every value was already stored.", "success")
            _flash_signals(result)
            return redirect(url_for("measures.show", measure_id=measure.id, site=grid.site.slug))
    page = measure_page("measures/entry_grid.html", measure, form=form, grid=grid, names=names)
    return (page, 422) if form.has_errors else page


@bp.post("/measures/<int:measure_id>/consent")
@login_required
def consent(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    form = ConsentForm()
    if not form.validate_on_submit() or (site := accounts.find_institution(form.site.data or "")) is None:
        abort(400)  # the site is a hidden field: only a tampered form names one that isn't there
    if form.decision.data == "give":
        try:
            with transaction():
                measures.give_consent(measure, site, by=current_user, agreed=bool(form.agree.data))
        except ValidationFailed:
            flash("Tick the box to record the site's consent.", "error")
        else:
            flash(f"Consent recorded for {site.name}.", "success")
    else:  # "withdraw": the form refuses any other value
        with transaction():
            measures.withdraw_consent(measure, site, by=current_user)
        flash(f"Consent withdrawn: {site.name}'s data is no longer shared with the network.", "info")
    return redirect(url_for("measures.submit", measure_id=measure.id))


@form_route(bp, "/measures/<int:measure_id>/data/upload", "import")
def upload(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    form = UploadForm()
    preview, error_list = None, []
    if request.method == "POST" and form.validate_on_submit():
        upload_file = request.files.get("file")
        try:
            if upload_file and upload_file.filename:  # one byte past the cap is enough to refuse a larger file
                raw = upload_file.read(measures.MAX_IMPORT_BYTES + 1)
                measures.check_upload_size(len(raw))  # before anything is cut off
                form.csv_text.data = raw.decode("utf-8", errors="replace")
            text = form.csv_text.data or ""
            if request.form.get("confirm") == "1":
                with transaction():
                    result = measures.import_csv(measure, text, by=current_user)
                flash(f"Imported {result.stored} values ({result.replaced} replaced earlier ones).", "success")
                _flash_signals(result)
                return redirect(url_for("measures.show", measure_id=measure.id))
            preview = measures.preview_csv(measure, text, by=current_user)  # reads only: no write lock
            error_list = [e for _, errors in preview for e in errors]
        except measures.RowsInvalid as exc:
            error_list = exc.row_errors
    return measure_page(
        "measures/upload.html",
        measure,
        acc=acc,
        form=form,
        preview=preview,
        errors=error_list,
        columns=measures.csv_columns(measure),
        example=periods.EXAMPLES[measure.period.value],
        caps=measures.IMPORT_CAPS,
        sites=sorted(team_sites(acc), key=lambda s: s.name),
    ), 422 if error_list else form_status(form)


@bp.get("/measures/<int:measure_id>/data.csv")
def export_csv(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    with transaction():
        body = measures.export_csv(measure, viewer=current_user)
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="measure-{measure.id}.csv"'}
    )


@bp.get("/measures/<int:measure_id>/sites/<slug>/history")
@login_required
def history(measure_id: int, slug: str) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    site = accounts.find_institution(slug)
    if site is None:
        raise NotFound("No such site.")
    with transaction():
        page = measures.history(measure, site, viewer=current_user, cursor=inputs.arg_cursor())
    return measure_page(
        "measures/history.html",
        measure,
        site=site,
        page=page,
        label=lambda d: periods.label(d, measure.period.value),
        fmt=svg.fmt,
    )


# --- FHIR ----------------------------------------------------------------------------------------


def _json_download(payload: dict[str, Any], name: str) -> Response:
    return Response(
        json.dumps(payload, indent=2),
        mimetype="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/measures/<int:measure_id>/fhir/measure.json")
def fhir_measure(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    return _json_download(measures.measure_resource(measure, base_url=request.host_url), f"measure-{measure.id}.json")


@bp.get("/measures/<int:measure_id>/fhir/reports.json")
def fhir_reports(measure_id: int) -> ResponseReturnValue:
    measure, _acc = measure_access(measure_id)
    with transaction():
        bundle = measures.report_bundle(measure, viewer=current_user, base_url=request.host_url)
    return _json_download(bundle, f"measure-{measure.id}-reports.json")


@form_route(bp, "/measures/<int:measure_id>/fhir/import", "import")
def fhir_import(measure_id: int) -> ResponseReturnValue:
    measure, acc = measure_access(measure_id)
    form = FhirImportForm()
    error_list: list[measures.RowError] = []
    if request.method == "POST" and form.validate_on_submit():
        upload_file = request.files.get("file")
        try:
            payload = measures.read_bundle(upload_file.read(measures.MAX_IMPORT_BYTES + 1) if upload_file else b"")
            with transaction():
                result = measures.import_bundle(measure, payload, by=current_user)
        except measures.RowsInvalid as exc:
            error_list = exc.row_errors
        else:
            flash(f"Imported {result.stored} values from FHIR ({result.replaced} replaced).", "success")
            _flash_signals(result)
            return redirect(url_for("measures.show", measure_id=measure.id))
    return measure_page(
        "measures/fhir_import.html",
        measure,
        acc=acc,
        form=form,
        errors=error_list,
        caps=measures.IMPORT_CAPS,
    ), 422 if error_list else form_status(form)
