"""Change package pages: the package with its evidence (and a printable copy), proposing an adopted idea, the
owners' decisions, and every version."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import attachments
from lhn.database import utcnow
from lhn.forms import ActionForm, acted, choices, form_page, form_route, saved
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme.forms import DecisionForm, ProposeChangeForm
from lhn.programme.views.common import bp, id_or_none

DECIDED = {"accept": "Added to the change package.", "decline": "Proposal declined.",
           "remove": "Removed from the change package."}  # fmt: skip


@bp.get("/c/<slug>/change-package")
def package(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    view = programme.package_view(community, viewer=current_user)
    shown = view.accepted + view.proposed
    files = attachments.files_view(programme.PACKAGE_ENTRY,
                                   attachments.stamps(programme.PACKAGE_ENTRY, [v.entry for v in shown]),
                                   {v.entry.id: v.may_attach for v in shown})  # fmt: skip
    return render_template("programme/package.html", community=community, package=view, decision_form=DecisionForm(),
                           files=files, action_form=ActionForm())  # fmt: skip


@bp.get("/c/<slug>/change-package/print")
def printable_package(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    view = programme.package_view(community, viewer=current_user)
    return render_template("programme/package_print.html", community=community, package=view, now=utcnow())


@bp.get("/c/<slug>/change-package/versions")
def package_versions(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    return render_template("programme/package_versions.html", community=community,
                           versions=programme.package_versions(community))  # fmt: skip


@form_route(bp, "/c/<slug>/change-package/propose", "programme")
def propose(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    form = ProposeChangeForm()
    form.idea_id.choices = choices([(str(i), title) for i, title in programme.adopted_ideas(community)])
    if form.validate_on_submit():
        idea_id = id_or_none(form.idea_id.data) or 0
        if saved(form, lambda: programme.propose(community, idea_id, form.summary.data or "", by=current_user,
                                                 confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("Proposed: the community's owners decide whether it joins the package.", "success")
            return redirect(url_for("programme.package", slug=community.slug))
    return form_page("programme/package_propose.html", form, community=community, phi=getattr(form, "phi", None))


@bp.post("/change-package/<int:entry_id>/decide")
@login_required
@user_rate_limited("programme", forms=False)
def decide(entry_id: int) -> ResponseReturnValue:
    entry = programme.get_entry(entry_id, viewer=current_user)
    form = DecisionForm()
    decision, note = form.decision.data, form.note.data or ""
    writes = {"accept": lambda: programme.accept(entry, by=current_user, note=note),
              "decline": lambda: programme.decline(entry, by=current_user, note=note),
              "remove": lambda: programme.remove(entry, by=current_user, note=note)}  # fmt: skip
    if acted(form, lambda: writes[decision]()):
        flash(DECIDED[decision], "success")
    return redirect(url_for("programme.package", slug=entry.community.slug))
