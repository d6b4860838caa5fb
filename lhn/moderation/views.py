"""Moderation pages: flag anything, the review queues and items, the public log, community settings, my
standing (sanctions), the audit trail for admins, and my data (export, delete my account)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, Response, abort, flash, json, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from lhn import inputs
from lhn.communities import services as communities
from lhn.database import transaction
from lhn.errors import Conflict, ValidationFailed
from lhn.forms import ActionForm, acted, check_submitted, choices, flash_errors, form_page, form_route, safe_next, saved
from lhn.limits import user_rate_limited
from lhn.moderation import mydata as my_data
from lhn.moderation import permissions, services
from lhn.moderation.forms import (
    DeleteAccountForm,
    FlagForm,
    RedactOwnForm,
    ReviewActionForm,
    SettingsForm,
    queue_filters,
)
from lhn.moderation.models import FlagReason, ReviewKind
from lhn.moderation.services import actions, audit, queue, sanctions, targets
from lhn.moderation.services import log as modlog

bp = Blueprint("moderation", __name__)


def _safe_next(default: str) -> str:
    return safe_next(request.values.get("next")) or default


# --- flags -------------------------------------------------------------------------------------------


@form_route(bp, "/flag/<target_type>/<int:target_id>", "flag")
def flag(target_type: str, target_id: int) -> ResponseReturnValue:
    target = targets.get_visible_target(current_user, target_type, target_id, missing="Nothing to flag here.")
    form = FlagForm()
    shared = services.flag_communities(current_user, target)
    form.community.choices = choices(
        [("", "Elsewhere on the site (site admins review it)"), *((c.slug, c.name) for c in shared)]
    )
    if form.validate_on_submit() and saved(form, lambda: services.flag_target(
        current_user, target_type=target_type, target_id=target_id, reason=form.reason.data,
        details=form.details.data or "", community=form.community.data or None, confirm_phi=form.confirm_phi.data,
    )):  # fmt: skip
        flash("Thank you. Moderators will review it; flags are never shown to the person you flagged.", "success")
        return redirect(target.url)
    return form_page("moderation/flag.html", form, target=target, show_community=bool(shared))


# --- the review queue --------------------------------------------------------------------------------


def _action_form(view: queue.ItemView) -> ReviewActionForm:
    form = ReviewActionForm(formdata=None, version=view.item.version)
    form.mute_days.choices = choices([(str(d), f"{d} day{'s' if d > 1 else ''}") for d in sanctions.MUTE_DAYS])
    form.suspend_days.choices = choices(
        [(str(d), f"{d} day{'s' if d > 1 else ''}" if d else "Until lifted") for d in sanctions.SUSPEND_DAYS]
    )
    return form


def _queue(community: Any) -> str:
    filters = queue_filters()
    page = queue.list_review_queue(by=current_user, community=community, **filters)
    return render_template(
        "moderation/queue.html",
        community=community,
        page=page,
        kinds=list(ReviewKind),
        kind=filters["kind"],
        status=filters["status"],
        forms=_action_form,
        labels=permissions.ACTION_LABELS,
        reasons={r.value: r.label for r in FlagReason},
        mutes=sanctions.list_community_mutes(community, by=current_user) if community else [],
        lift_form=ActionForm(),
        moderates=community is not None,
    )


@bp.get("/c/<slug>/review")
@login_required
def community_queue(slug: str) -> ResponseReturnValue:
    return _queue(communities.get_community(slug))


@bp.get("/review")
@login_required
def site_queue() -> ResponseReturnValue:
    return _queue(None)


def _render_item(view: queue.ItemView, text: str, form: ReviewActionForm | None = None, status: int = 200) -> Any:
    adapter = targets.get_adapter(view.item.target_type)
    revisions = adapter.revision_ids(view.target.id) if adapter and view.target else []
    form = form or _action_form(view)
    form.fragments.choices = choices(
        [(fragment, f"{fragment} ({label})") for fragment, label in queue.phi_fragments(text)]
    )
    return render_template(
        "moderation/item.html",
        view=view,
        text=text,
        form=form,
        revisions=revisions,
        labels=permissions.ACTION_LABELS,
        reasons={r.value: r.label for r in FlagReason},
    ), status


@bp.get("/review/<int:item_id>")
@login_required
def item(item_id: int) -> ResponseReturnValue:
    with transaction():  # the audit row of reading hidden content; the page (and its PHI scan) after
        view, text = queue.view_original(item_id, by=current_user)
    return _render_item(view, text)


@bp.post("/review/<int:item_id>/actions")
@login_required
def act(item_id: int) -> ResponseReturnValue:
    form = ReviewActionForm()
    form.mute_days.choices = form.suspend_days.choices = []
    try:
        done = acted(form, lambda: _act_on_item(item_id, form))
    except Conflict as exc:  # someone else handled it meanwhile: look again
        flash(exc.message, "warning")
        return redirect(url_for("moderation.item", item_id=item_id))
    if done:
        flash(f"Done: {done.value.resolution or 'redacted'}.", "success")
    return redirect(_safe_next(url_for("moderation.item", item_id=item_id)))


def _act_on_item(item_id: int, form: ReviewActionForm) -> Any:
    """The review action the validated form asks for: the days of a mute or suspension, the fragments to redact."""
    days_field = {"mute": form.mute_days, "suspend": form.suspend_days}.get(form.action.data)
    days = inputs.whole_number(days_field.data or "") if days_field is not None else None
    fragments = list(form.fragments.data or []) + (form.other_fragments.data or "").splitlines()
    return actions.act_on_item(
        item_id, by=current_user, action=form.action.data, version=form.version.data, reason=form.reason.data or "",
        days=days, fragments=fragments, revision_id=form.revision_id.data, hide_target=form.hide_target.data,
    )  # fmt: skip


@bp.post("/redact/<target_type>/<int:target_id>/revisions/<int:revision>")
@login_required
@user_rate_limited("redact")
def redact_own(target_type: str, target_id: int, revision: int) -> ResponseReturnValue:
    """The author (or a moderator) removes personal details from one version of a post or answer: the History
    page's form. The service checks who may; the text is gone, the public log says what kind went."""
    form = RedactOwnForm()
    back = _safe_next("/")
    try:
        check_submitted(form)
        fragments = [*(form.fragments.data or []), *(form.other_fragments.data or "").splitlines()]
        with transaction():
            count = actions.redact_target(
                current_user, target_type=target_type, target_id=target_id, revision_id=revision,
                fragments=[f for f in fragments if f.strip()] or None,
            )  # fmt: skip
    except ValidationFailed as exc:
        flash_errors(exc)
        return redirect(back)
    flash(f"Removed from revision {revision} ({count} {'place' if count == 1 else 'places'}).", "success")
    return redirect(back)


@bp.post("/sanctions/<int:sanction_id>/lift")
@login_required
def lift(sanction_id: int) -> ResponseReturnValue:
    if acted(ActionForm(), lambda: sanctions.lift(sanction_id, by=current_user)):
        flash("Lifted.", "success")
    return redirect(_safe_next(url_for("moderation.site_queue")))


# --- the public log and settings -------------------------------------------------------------------


@bp.get("/c/<slug>/moderation-log")
def community_log(slug: str) -> ResponseReturnValue:
    cursor = inputs.arg_cursor()
    community = communities.get_community(slug)
    page = modlog.list_moderation_log(community, by=current_user, cursor=cursor)
    membership = communities.find_membership(current_user, community)
    return render_template(
        "moderation/log.html",
        community=community,
        page=page,
        verb=modlog.verb,
        target_phrase=modlog.target_phrase,
        moderates=permissions.can_review(current_user, community, membership),
        can_edit=permissions.can_edit_settings(current_user, community, membership),
    )


@bp.get("/moderation-log")
@login_required
def site_log() -> ResponseReturnValue:
    page = modlog.list_moderation_log(None, by=current_user, cursor=inputs.arg_cursor())
    return render_template("moderation/log.html", community=None, page=page, verb=modlog.verb,
                           target_phrase=modlog.target_phrase)  # fmt: skip


@bp.route("/c/<slug>/moderation/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str) -> ResponseReturnValue:
    community = communities.get_community_where(current_user, slug, permissions.can_edit_settings)
    form = SettingsForm(obj=community if request.method == "GET" else None)
    if form.validate_on_submit() and saved(form, lambda: services.update_settings(
        community, by=current_user, flag_hide_threshold=form.flag_hide_threshold.data,
        moderators_may_vet=form.moderators_may_vet.data,
    )):  # fmt: skip
        flash("Moderation settings saved.", "success")
        return redirect(url_for("moderation.community_log", slug=slug))
    return form_page("moderation/settings.html", form, community=community)


# --- my standing, audit, my data ---------------------------------------------------------------------


@bp.get("/settings/standing")
@login_required
def standing() -> ResponseReturnValue:
    return render_template("moderation/standing.html", sanctions=sanctions.list_my_sanctions(current_user))


AUDIT_FILTERS = ("action", "actor", "object_type", "object_id", "since", "until")


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


@bp.get("/admin/audit")
@login_required
def audit_trail() -> ResponseReturnValue:
    if not permissions.can_read_audit(current_user):
        abort(403)
    filters = {name: inputs.arg_text(name) for name in AUDIT_FILTERS}  # shown again in the filter form
    page = audit.list_audit_events(
        by=current_user,
        action=filters["action"],
        actor=filters["actor"],
        object_type=filters["object_type"],
        object_id=inputs.arg_int("object_id"),
        since=_midnight(inputs.arg_date("since")),
        until=_midnight(inputs.arg_date("until")),
        cursor=inputs.arg_cursor(),
    )
    return render_template("moderation/audit.html", page=page, filters=filters, names=audit.actor_names(page.items))


@bp.get("/settings/my-data")
@login_required
def my_data_page() -> ResponseReturnValue:
    return render_template(
        "moderation/my_data.html",
        form=DeleteAccountForm(formdata=None),
        export_sections=my_data.EXPORT_SECTIONS.values(),
    )


@bp.get("/settings/my-data/export.json")
@login_required
def export_json() -> ResponseReturnValue:
    with transaction():
        data = my_data.export_my_data(current_user)
    body = json.dumps(data, indent=2, ensure_ascii=False)
    filename = f"lhn-{current_user.username}-{datetime.now(UTC):%Y%m%d}.json"
    return Response(
        body, mimetype="application/json", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@bp.post("/settings/my-data/delete")
@login_required
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    user = current_user._get_current_object()
    if form.validate_on_submit() and saved(
        form, lambda: my_data.delete_account(user, password=form.password.data, mode=form.mode.data)
    ):
        logout_user()
        session.clear()
        flash("Your account was deleted. Thank you for being part of LHN.", "info")
        return redirect(url_for("communities.index"))
    return form_page("moderation/my_data.html", form)
