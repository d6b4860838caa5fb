"""Driver diagram pages: a community's diagrams, one diagram (SVG and nested list, the owners' forms), its
history and any earlier version."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn.forms import acted, choices, form_page, form_route, saved
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme import svg
from lhn.programme.forms import DiagramForm, EditNodeForm, NodeForm, RemoveForm
from lhn.programme.models import DriverDiagram, NodeKind
from lhn.programme.views.common import bp
from lhn.programme.views.common import id_or_none as _id_or_none


def _version(form: Any) -> int | None:
    return _id_or_none(form.version.data)


def _diagram_form(form: DiagramForm, community: Any, diagram: DriverDiagram | None = None) -> DiagramForm:
    form.measure_id.choices = choices(
        [("", "— none —")] + [(str(i), name) for i, name in programme.measure_choices(community)]
    )
    if diagram is not None and not form.is_submitted():
        form.title.data, form.aim.data = diagram.title, diagram.aim
        form.measure_id.data = str(diagram.measure_id or "")
        form.version.data = str(diagram.version)
    return form


def _idea_choices(community: Any) -> list[Any]:
    return choices([("", "— none —")] + [(str(i), title) for i, title in programme.idea_choices(community)])


def _node_form(form: NodeForm, view: programme.DiagramView) -> NodeForm:
    """Where a new node can go: a primary driver, a secondary driver under a primary, a change under a secondary."""
    places = [("", "A primary driver")]
    for primary in view.drivers:
        places.append((str(primary.id), f"A secondary driver under “{primary.label}”"))
        places += [(str(s.id), f"A change idea under “{s.label}”") for s in primary.children]
    form.parent_id.choices = choices(places)
    form.idea_id.choices = _idea_choices(view.diagram.community)
    return form


@bp.get("/c/<slug>/drivers")
def diagrams(slug: str) -> ResponseReturnValue:
    community, can_edit = programme.readable_community(current_user, slug)
    return render_template("programme/diagrams.html", community=community, can_edit=can_edit,
                           diagrams=programme.list_diagrams(community))  # fmt: skip


@form_route(bp, "/c/<slug>/drivers/new", "programme")
def new_diagram(slug: str) -> ResponseReturnValue:
    community = programme.editable_community(current_user, slug)
    form = _diagram_form(DiagramForm(), community)
    if form.validate_on_submit():
        write = lambda: programme.create_diagram(  # noqa: E731
            community, title=form.title.data or "", aim=form.aim.data or "",
            measure_id=_id_or_none(form.measure_id.data), by=current_user, confirm_phi=form.confirm_phi.data,
        )  # fmt: skip
        if done := saved(form, write):
            flash("Driver diagram started. Add its primary drivers.", "success")
            return redirect(url_for("programme.diagram", diagram_id=done.value.id))
    return form_page("programme/diagram_form.html", form, community=community, diagram=None,
                     phi=getattr(form, "phi", None))  # fmt: skip


def _diagram_page(diagram: DriverDiagram, node_form: NodeForm | None = None) -> Any:
    """The diagram's page; `node_form` is the owners' add form as submitted, shown again with why (422)."""
    view = programme.diagram_view(diagram, viewer=current_user)
    form = _node_form(node_form or NodeForm(formdata=None), view) if view.can_edit else None
    if form is not None:
        form.version.data = str(diagram.version)  # the version the page shows, a refused form's too
    remove = RemoveForm(formdata=None)
    remove.version.data = str(diagram.version)
    page = render_template(
        "programme/diagram.html", community=diagram.community, view=view, node_form=form, remove_form=remove,
        diagram_svg=svg.render_diagram(view), labels=programme.STATUS_LABELS, phi=getattr(form, "phi", None),
    )  # fmt: skip
    return (page, 422) if node_form is not None else page


@bp.get("/drivers/<int:diagram_id>")
def diagram(diagram_id: int) -> ResponseReturnValue:
    return _diagram_page(programme.get_diagram(diagram_id, viewer=current_user))


@form_route(bp, "/drivers/<int:diagram_id>/edit", "programme")
def edit_diagram(diagram_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    programme.check_can_edit(current_user, diagram)
    form = _diagram_form(DiagramForm(), diagram.community, diagram)
    if form.validate_on_submit():
        write = lambda: programme.update_diagram(  # noqa: E731
            diagram, title=form.title.data or "", aim=form.aim.data or "",
            measure_id=_id_or_none(form.measure_id.data), version=_version(form), by=current_user,
            confirm_phi=form.confirm_phi.data,
        )  # fmt: skip
        if saved(form, write):
            flash("Diagram saved.", "success")
            return redirect(url_for("programme.diagram", diagram_id=diagram.id))
    return form_page("programme/diagram_form.html", form, community=diagram.community, diagram=diagram,
                     phi=getattr(form, "phi", None))  # fmt: skip


@bp.post("/drivers/<int:diagram_id>/nodes")
@login_required
@user_rate_limited("programme")
def add_node(diagram_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    form = _node_form(NodeForm(), programme.diagram_view(diagram, viewer=current_user))
    if form.validate_on_submit():
        write = lambda: programme.add_node(  # noqa: E731
            diagram, parent_id=_id_or_none(form.parent_id.data), label=form.label.data or "",
            idea_id=_id_or_none(form.idea_id.data), version=_version(form), by=current_user,
            confirm_phi=form.confirm_phi.data,
        )  # fmt: skip
        if done := saved(form, write):
            flash(f"{done.value.kind.label} added.", "success")
            return redirect(url_for("programme.diagram", diagram_id=diagram.id) + f"#node-{done.value.id}")
    return _diagram_page(diagram, form)


@form_route(bp, "/drivers/<int:diagram_id>/nodes/<int:node_id>/edit", "programme")
def edit_node(diagram_id: int, node_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    programme.check_can_edit(current_user, diagram)
    node = programme.get_node(diagram, node_id)
    is_change = node.kind == NodeKind.CHANGE
    form = EditNodeForm()
    if is_change:
        form.idea_id.choices = _idea_choices(diagram.community)
    else:
        del form.idea_id  # only a change idea links an idea
    if not form.is_submitted():
        form.label.data, form.version.data = node.label, str(diagram.version)
        if is_change:
            form.idea_id.data = str(node.idea_id or "")
    if form.validate_on_submit():
        idea_id = _id_or_none(form.idea_id.data) if is_change else None
        write = lambda: programme.update_node(  # noqa: E731
            diagram, node.id, label=form.label.data or "", idea_id=idea_id,
            version=_version(form), by=current_user, confirm_phi=form.confirm_phi.data,
        )  # fmt: skip
        if saved(form, write):
            flash(f"{node.kind.label} saved.", "success")
            return redirect(url_for("programme.diagram", diagram_id=diagram.id) + f"#node-{node.id}")
    remove = RemoveForm(formdata=None)
    remove.version.data = form.version.data
    return form_page("programme/node_form.html", form, community=diagram.community, diagram=diagram, node=node,
                     is_change=is_change, remove_form=remove,
                     phi=getattr(form, "phi", None))  # fmt: skip


@bp.post("/drivers/<int:diagram_id>/nodes/<int:node_id>/remove")
@login_required
@user_rate_limited("programme", forms=False)
def remove_node(diagram_id: int, node_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    form = RemoveForm()
    if acted(form, lambda: programme.remove_node(diagram, node_id, version=_version(form), by=current_user)):
        flash("Removed. The diagram's history keeps what it held.", "info")
    return redirect(url_for("programme.diagram", diagram_id=diagram.id))


@bp.get("/drivers/<int:diagram_id>/history")
def history(diagram_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    return render_template("programme/history.html", community=diagram.community, diagram=diagram,
                           versions=programme.list_versions(diagram))  # fmt: skip


@bp.get("/drivers/<int:diagram_id>/versions/<int:number>")
def version(diagram_id: int, number: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    return render_template("programme/version.html", community=diagram.community, diagram=diagram,
                           version=programme.get_version(diagram, number))  # fmt: skip
