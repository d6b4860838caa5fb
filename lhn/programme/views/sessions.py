"""Learning session pages: a community's sessions and calendar feed, announcing and editing one, registering,
its invitation (.ics), and the storyboards sites bring to it."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import attachments
from lhn.database import transaction
from lhn.forms import ActionForm, acted, choices, form_page, form_route, saved
from lhn.limits import user_rate_limited
from lhn.measures import services as measures
from lhn.measures import spc, svg
from lhn.programme import services as programme
from lhn.programme.forms import SessionForm, StoryboardForm
from lhn.programme.models import LearningSession
from lhn.programme.views.common import bp


def _session_form(form: SessionForm, session: LearningSession | None = None) -> SessionForm:
    form.time_zone.choices = choices([(z, z) for z in programme.time_zones()])
    if not form.is_submitted():
        fields = programme.SessionFields.of(session) if session else programme.SessionFields(time_zone="UTC")
        for name in ("title", "starts", "ends", "time_zone", "online", "location", "capacity", "agenda"):
            form[name].data = getattr(fields, name)
    return form


def _fields(form: SessionForm) -> programme.SessionFields:
    return programme.SessionFields(
        title=form.title.data or "", starts=form.starts.data or "", ends=form.ends.data or "",
        time_zone=form.time_zone.data or "", online=bool(form.online.data), location=form.location.data or "",
        capacity=form.capacity.data or "", agenda=form.agenda.data or "",
    )  # fmt: skip


def _ics(body: bytes, filename: str) -> Response:
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@bp.get("/c/<slug>/sessions")
def sessions(slug: str) -> ResponseReturnValue:
    community, can_edit = programme.readable_community(current_user, slug)
    upcoming, past = programme.list_sessions(community)
    return render_template("programme/sessions.html", community=community, can_edit=can_edit, upcoming=upcoming,
                           past=past, local_time=programme.local_time)  # fmt: skip


@bp.get("/c/<slug>/sessions.ics")
def calendar_feed(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    upcoming, past = programme.list_sessions(community)
    rows = [(s, url_for("programme.session", session_id=s.id, _external=True), False) for s, _taken in upcoming + past]
    return _ics(programme.calendar(rows, name=f"{community.name}: learning sessions"), f"{community.slug}-sessions.ics")


@form_route(bp, "/c/<slug>/sessions/new", "programme")
def new_session(slug: str) -> ResponseReturnValue:
    community = programme.editable_community(current_user, slug)
    form = _session_form(SessionForm())
    if form.validate_on_submit():
        fields = _fields(form)
        done = saved(form, lambda: programme.create_session(community, fields, by=current_user,
                                                            confirm_phi=form.confirm_phi.data))  # fmt: skip
        if done:
            flash("Learning session announced.", "success")
            return redirect(url_for("programme.session", session_id=done.value.id))
    return form_page("programme/session_form.html", form, community=community, session=None,
                     phi=getattr(form, "phi", None))  # fmt: skip


@bp.get("/sessions/<int:session_id>")
def session(session_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    community = learning.community
    can_edit = programme.may_announce(current_user, community)
    return render_template(
        "programme/session.html", community=community, session=learning, can_edit=can_edit,
        places=programme.places(learning, current_user), join_link=programme.may_see_join_link(learning, current_user),
        storyboards=programme.list_storyboards(learning), team_sites=programme.team_sites(community, current_user),
        people=programme.registered_people(learning, by=current_user) if can_edit else [],
        local_time=programme.local_time(learning), action_form=ActionForm(), open=programme.registration_open(learning),
    )  # fmt: skip


@form_route(bp, "/sessions/<int:session_id>/edit", "programme")
def edit_session(session_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    programme.editable_community(current_user, learning.community.slug)
    form = _session_form(SessionForm(), learning)
    if form.validate_on_submit():
        fields = _fields(form)
        if saved(form, lambda: programme.update_session(learning, fields, by=current_user,
                                                        confirm_phi=form.confirm_phi.data)):  # fmt: skip
            flash("Session saved.", "success")
            return redirect(url_for("programme.session", session_id=learning.id))
    return form_page("programme/session_form.html", form, community=learning.community, session=learning,
                     phi=getattr(form, "phi", None))  # fmt: skip


def _session_action(session_id: int, write: Any, done: str) -> Any:
    learning = programme.get_session(session_id, viewer=current_user)
    if acted(ActionForm(), lambda: write(learning)):
        flash(done, "info")
    return redirect(url_for("programme.session", session_id=learning.id))


@bp.post("/sessions/<int:session_id>/register")
@login_required
@user_rate_limited("programme", forms=False)
def register(session_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    saved_row = acted(ActionForm(), lambda: programme.register(learning, by=current_user))
    if saved_row:
        waiting = saved_row.value.status.value == "waitlisted"
        flash("The session is full: you are on the waiting list, and we'll tell you if a place opens."
              if waiting else "You're registered. Add it to your calendar below.", "success")  # fmt: skip
    return redirect(url_for("programme.session", session_id=learning.id))


@bp.post("/sessions/<int:session_id>/unregister")
@login_required
@user_rate_limited("programme", forms=False)
def unregister(session_id: int) -> ResponseReturnValue:
    return _session_action(session_id, lambda s: programme.cancel_registration(s, by=current_user),
                           "You gave up your place.")  # fmt: skip


@bp.post("/sessions/<int:session_id>/cancel")
@login_required
@user_rate_limited("programme", forms=False)
def cancel(session_id: int) -> ResponseReturnValue:
    return _session_action(session_id, lambda s: programme.cancel_session(s, by=current_user), "Session cancelled.")


@bp.get("/sessions/<int:session_id>.ics")
def invitation(session_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    url = url_for("programme.session", session_id=learning.id, _external=True)
    body = programme.calendar([(learning, url, programme.may_see_join_link(learning, current_user))],
                              name=learning.title)  # fmt: skip
    return _ics(body, f"learning-session-{learning.id}.ics")


# --- storyboards --------------------------------------------------------------------------------------------------


def _storyboard_form(form: StoryboardForm, learning: LearningSession, sites: list[Any]) -> StoryboardForm:
    form.site.choices = choices([(s.slug, s.name) for s in sites])
    form.measure_ids.choices = [(i, name) for i, name in programme.measure_choices(learning.community)]
    return form


@form_route(bp, "/sessions/<int:session_id>/storyboard", "programme")
def write_storyboard(session_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    sites = programme.team_sites(learning.community, current_user)
    form = _storyboard_form(StoryboardForm(), learning, sites)
    if not form.is_submitted():
        slug = request.args.get("site") or (sites[0].slug if sites else "")
        existing = next((s for s in programme.list_storyboards(learning) if s.institution.slug == slug), None)
        form.site.data = slug
        if existing is not None:
            for name in ("aim", "measure_ids", "changes", "learned", "notes"):
                form[name].data = getattr(existing, name)
    if form.validate_on_submit():
        fields = programme.StoryboardFields(
            site=form.site.data or "", aim=form.aim.data or "", measure_ids=list(form.measure_ids.data or []),
            changes=form.changes.data or "", learned=form.learned.data or "", notes=form.notes.data or "",
        )  # fmt: skip
        done = saved(form, lambda: programme.save_storyboard(learning, fields, by=current_user,
                                                             confirm_phi=form.confirm_phi.data))  # fmt: skip
        if done:
            flash("Storyboard saved.", "success")
            return redirect(url_for("programme.storyboard", session_id=learning.id, storyboard_id=done.value.id))
    return form_page("programme/storyboard_form.html", form, community=learning.community, session=learning,
                     has_sites=bool(sites), phi=getattr(form, "phi", None))  # fmt: skip


@bp.get("/sessions/<int:session_id>/storyboards/<int:storyboard_id>")
def storyboard(session_id: int, storyboard_id: int) -> ResponseReturnValue:
    learning = programme.get_session(session_id, viewer=current_user)
    board = programme.get_storyboard(learning, storyboard_id)
    charts = programme.storyboard_charts(board, viewer=current_user)
    can_write = programme.on_site_team(board.institution_id, learning.community, current_user)
    html = render_template(
        "programme/storyboard.html", community=learning.community, session=learning, storyboard=board,
        charts=[(c, svg.render_chart(c.page.view, title=c.page.title, annotations=c.page.annotations)) for c in charts],
        can_write=can_write, chart_labels=spc.CHART_LABELS, action_form=ActionForm(),
        files=attachments.files_view(programme.STORYBOARD, attachments.stamps(programme.STORYBOARD, [board]),
                                     {board.id: programme.may_write(board.institution_id, learning.community,
                                                                    current_user)}),
    )  # fmt: skip
    restricted = [c.page.view for c in charts if c.page.view.restricted]
    if restricted:  # a site's team seeing its withheld data is audited, as on the measure's page
        with transaction():
            for view in restricted:
                measures.record_view(view, by=current_user)
    return html
