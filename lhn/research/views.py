"""Research study pages: a community's studies and the ones the reader may fit, posting a study, a study's page
("contact me" for those who fit; how many may match, the contacts and the audit for its lead), and the person's
own research profile."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.forms import ActionForm, acted, choices, fields_of, form_page, form_route, saved
from lhn.inputs import whole_number
from lhn.limits import user_rate_limited
from lhn.pro import services as pro
from lhn.research import services as research
from lhn.research.forms import ContactForm, ImportForm, ProfileForm, StatusForm, StudyForm
from lhn.research.models import Study
from lhn.research.permissions import is_study_lead

if TYPE_CHECKING:
    from lhn.communities.models import Community

bp = Blueprint("research", __name__)


def _institutions() -> list[tuple[str, str]]:
    return [(i.slug, i.name) for i in accounts.list_institutions()]


@bp.get("/c/<slug>/studies")
def index(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    return render_template("research/index.html", community=community, studies=research.list_studies(community),
                           matches=research.my_matches(community, current_user),
                           profile=research.find_profile(community, current_user),
                           consents=research.consents_to_contact(community, current_user),
                           can_post=research.may_post(current_user, community))  # fmt: skip


def _post_page(template: str, form: StudyForm | ImportForm, community: Community, post: Callable[[], Study],
               posted: str) -> ResponseReturnValue:  # fmt: skip
    """A study written or imported: once posted, the reader goes to it; refused, the form again with why."""
    if form.validate_on_submit() and (done := saved(form, post)):
        flash(posted, "success")
        return redirect(url_for("research.show", study_id=done.value.id))
    return form_page(template, form, community=community, can_post=research.may_post(current_user, community),
                     phi=getattr(form, "phi", None))  # fmt: skip


@form_route(bp, "/c/<slug>/studies/new", "research")
def new(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    form = StudyForm()
    form.fill_choices(_institutions(), [(i.code, i.title) for i in pro.list_instruments(community)])
    return _post_page("research/new.html", form, community, lambda: research.post_study(
        community, form.study_fields(), by=current_user, confirm_phi=form.confirm_phi.data),
        "Study posted. People who may fit it will see it; nothing about them reaches you until they ask to be "
        "contacted.")  # fmt: skip


@form_route(bp, "/c/<slug>/studies/import", "import")
def import_study(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    form = ImportForm()
    return _post_page("research/import.html", form, community, lambda: research.import_study(
        community, form.research_study.data or "", by=current_user, confirm_phi=form.confirm_phi.data),
        "Study imported and posted.")  # fmt: skip


@bp.get("/studies/<int:study_id>/research-study.json")
def research_study(study_id: int) -> ResponseReturnValue:
    study = research.get_study(study_id, viewer=current_user)
    return Response(json.dumps(study.resource, indent=2), mimetype="application/fhir+json",
                    headers={"Content-Disposition": f'attachment; filename="research-study-{study.id}.json"'})


def _show(study: Study, contact_form: ContactForm | None = None) -> tuple[str, int]:
    reach = None
    if is_study_lead(current_user, study):
        with transaction():  # the lead's view of the count is audited
            reach = research.study_reach(study, by=current_user)
    facts = research.my_facts(study.community, current_user)
    form = contact_form or ContactForm()
    return form_page("research/show.html", form, study=study, community=study.community, reach=reach,
                     fits=research.fits(study, facts), contact=research.find_my_contact(study, current_user),
                     audit=research.study_audit(study, by=current_user)
                     if research.may_read_audit(current_user, study) else None,
                     can_set_status=research.may_set_status(current_user, study), action_form=ActionForm(),
                     status_form=StatusForm(), phi=getattr(form, "phi", None))  # fmt: skip


@bp.get("/studies/<int:study_id>")
def show(study_id: int) -> ResponseReturnValue:
    return _show(research.get_study(study_id, viewer=current_user))


@bp.post("/studies/<int:study_id>/contact")
@login_required
@user_rate_limited("research")
def contact(study_id: int) -> ResponseReturnValue:
    study = research.get_study(study_id, viewer=current_user)
    form = ContactForm()
    if form.validate_on_submit() and saved(form, lambda: research.contact_study(
            study, current_user, share=form.share.data or [], message=form.message.data or "",
            confirm_phi=form.confirm_phi.data)):  # fmt: skip
        flash("Done: the study team can now see what you chose to share, and can contact you. You can withdraw "
              "at any time.", "success")
        return redirect(url_for("research.show", study_id=study.id))
    return _show(study, form)


@bp.post("/studies/<int:study_id>/withdraw")
@login_required
@user_rate_limited("research")
def withdraw(study_id: int) -> ResponseReturnValue:
    study = research.get_study(study_id, viewer=current_user)
    if acted(ActionForm(), lambda: research.withdraw_contact(study, current_user)):
        flash("Withdrawn: the study team no longer sees your contact.", "success")
    return redirect(url_for("research.show", study_id=study.id))


@bp.post("/studies/<int:study_id>/status")
@login_required
@user_rate_limited("research")
def status(study_id: int) -> ResponseReturnValue:
    study = research.get_study(study_id, viewer=current_user)
    form = StatusForm()
    if acted(form, lambda: research.set_status(study, form.status.data or "", by=current_user)):
        flash(f"The study is now {study.status.label.lower()}.", "success")
    return redirect(url_for("research.show", study_id=study.id))


@form_route(bp, "/c/<slug>/research-profile", "research")
def profile(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    mine = research.find_profile(community, current_user)
    form = ProfileForm(obj=mine)
    form.site.choices = choices([("", "Leave out"), *_institutions()])
    form.instrument_ids.choices = choices([(str(i.id), i.title) for i in pro.list_instruments(community)])
    if not form.is_submitted() and mine is not None:
        form.instrument_ids.data = [str(i) for i in mine.instrument_ids]
    elif not form.is_submitted() and current_user.institution is not None:  # a first profile: their own site
        form.site.data = current_user.institution.slug
    if form.validate_on_submit():
        fields = fields_of(form, research.ProfileFields)
        fields.instrument_ids = [n for i in form.instrument_ids.data or [] if (n := whole_number(i)) is not None]
        if saved(form, lambda: research.save_profile(community, current_user, fields,
                                                     confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("Your research profile is saved. Only you can see it.", "success")
            return redirect(url_for("research.index", slug=community.slug))
    return form_page("research/profile.html", form, community=community, phi=getattr(form, "phi", None),
                     consents=research.consents_to_contact(community, current_user))  # fmt: skip
