"""Patient-reported outcome pages: a community's questionnaires (owners offer or import them), answering one on
a phone-friendly page with save-and-resume, the person's own trend, and their responses as a FHIR Bundle."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.communities import services as communities
from lhn.communities.permissions import can_manage
from lhn.forms import choices, form_page, form_route, saved
from lhn.inputs import whole_number
from lhn.pro import services as pro
from lhn.pro import svg
from lhn.pro.forms import ConsentForm, ImportForm, MeasureForm, OfferForm, answer_form, answers_of
from lhn.pro.instruments import SHIPPED
from lhn.pro.models import Purpose

bp = Blueprint("pro", __name__)


@bp.get("/c/<slug>/questionnaires")
def index(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    instruments = pro.list_instruments(community)
    return render_template("pro/index.html", community=community, mine=pro.my_instruments(instruments, current_user),
                           can_offer=pro.may_offer(current_user, community),
                           can_respond=pro.responds_in(current_user, community))  # fmt: skip


@form_route(bp, "/c/<slug>/questionnaires/offer", "pro")
def offer(slug: str) -> ResponseReturnValue:
    community = communities.get_community_where(current_user, slug, can_manage)
    form = OfferForm()
    form.code.choices = choices([(code, q["title"]) for code, q in SHIPPED.items()])
    if form.validate_on_submit() and saved(form, lambda: pro.offer_shipped(
            community, form.code.data or "", schedule_days=whole_number(form.schedule_days.data or ""),
            by=current_user)):  # fmt: skip
        flash("Questionnaire offered to the community's patients and caregivers.", "success")
        return redirect(url_for("pro.index", slug=community.slug))
    return form_page("pro/offer.html", form, community=community, import_form=None)


@form_route(bp, "/c/<slug>/questionnaires/import", "import")
def import_questionnaire(slug: str) -> ResponseReturnValue:
    community = communities.get_community_where(current_user, slug, can_manage)
    form = ImportForm()
    if form.validate_on_submit() and saved(form, lambda: pro.import_questionnaire(
            community, form.questionnaire.data or "", schedule_days=whole_number(form.schedule_days.data or ""),
            by=current_user)):  # fmt: skip
        flash("Questionnaire imported and offered.", "success")
        return redirect(url_for("pro.index", slug=community.slug))
    return form_page("pro/import.html", form, community=community)


@form_route(bp, "/questionnaires/<int:instrument_id>", "pro")
def respond(instrument_id: int) -> ResponseReturnValue:
    instrument = pro.get_instrument(instrument_id, viewer=current_user)
    spec = pro.spec_of(instrument)
    draft = pro.draft_of(instrument, current_user)
    form = answer_form(spec, draft.answers if draft else None)
    if form.validate_on_submit():
        finish = form.action.data == "finish"
        done = saved(form, lambda: pro.save_answers(instrument, answers_of(form, spec), by=current_user,
                                                    complete=finish, confirm_phi=form.confirm_phi.data))  # fmt: skip
        if done and finish:  # the score is on the next page, never in the (cookie-kept) flash
            flash("Thank you: your answers are saved.", "success")
            return redirect(url_for("pro.mine", instrument_id=instrument.id))
        if done:
            flash("Saved. Come back to finish it whenever you like.", "info")
            return redirect(url_for("pro.index", slug=instrument.community.slug))
    return form_page("pro/respond.html", form, community=instrument.community, instrument=instrument, spec=spec,
                     can_respond=pro.may_respond(current_user, instrument), has_draft=draft is not None,
                     phi=getattr(form, "phi", None))  # fmt: skip


@form_route(bp, "/questionnaires/<int:instrument_id>/measures", "pro")
def measures(instrument_id: int) -> ResponseReturnValue:
    instrument = pro.get_instrument(instrument_id, viewer=current_user)
    defined = pro.measures_defined(instrument, viewer=current_user)
    form = MeasureForm()
    request = pro.MeasureRequest(statistic=form.statistic.data or "", threshold=form.threshold.data,
                                 period=form.period.data or "", improvement=form.improvement.data or "",
                                 name=form.name.data or "")  # fmt: skip
    if form.validate_on_submit() and (done := saved(form, lambda: pro.define_measure(instrument, request,
                                                                                      by=current_user))):
        flash("Measure defined. Its values are computed from the answers of people who chose to count them.",
              "success")
        return redirect(url_for("measures.show", measure_id=done.value.measure_id))
    return form_page("pro/measures.html", form, community=instrument.community, instrument=instrument,
                     defined=defined)


@bp.get("/questionnaires/<int:instrument_id>/mine")
@login_required
def mine(instrument_id: int) -> ResponseReturnValue:
    instrument = pro.get_instrument(instrument_id, viewer=current_user)
    spec = pro.spec_of(instrument)
    responses = pro.history(instrument, current_user)  # the reader's own, always
    safety = bool(responses) and pro.needs_safety_message(instrument, responses[-1])
    return render_template("pro/mine.html", community=instrument.community, instrument=instrument, spec=spec,
                           responses=responses, chart=svg.render_trend(spec, responses), safety=safety)  # fmt: skip


@bp.get("/settings/my-questionnaires.json")
@login_required
def my_bundle() -> ResponseReturnValue:
    body = json.dumps(pro.my_bundle(current_user), indent=2)
    return Response(body, mimetype="application/fhir+json",
                    headers={"Content-Disposition": 'attachment; filename="my-questionnaire-responses.json"',
                             "Cache-Control": "private, no-store"})  # fmt: skip


@form_route(bp, "/c/<slug>/my-consent", "pro")
def consent(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    current = pro.consents_of(community, current_user)
    form = ConsentForm(data={purpose.value: granted for purpose, granted in current.items()})
    if form.validate_on_submit():
        chosen = {purpose: bool(form[purpose.value].data) for purpose in Purpose}
        if saved(form, lambda: pro.set_consents(community, current_user, chosen)):
            flash("Your choices are saved. They apply from now on, to everything computed after this.", "success")
            return redirect(url_for("pro.consent", slug=community.slug))
    return form_page("pro/consent.html", form, community=community, record=pro.my_record(community, current_user))
