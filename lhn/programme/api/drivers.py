"""Driver diagrams over JSON: list and start a community's diagrams, read one as a tree with each change idea's
status, edit its aim and nodes, read its history. Same services as the pages. Edits may send `version` (the
version they were made on): a diagram changed since answers 422 instead of being overwritten."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, person_json, require_user
from lhn.api.openapi import ID, PHI_CONFIRM, TEXT, body_schema, nullable, op, path_param, query_param, ref
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited
from lhn.programme import services as programme
from lhn.programme.models import DiagramVersion, DriverDiagram, DriverNode

VERSION = {**ID, "description": "The version the change was made on (optional)"}


def diagram_json(diagram: DriverDiagram) -> dict[str, Any]:
    return {
        "id": diagram.id,
        "community": diagram.community.slug,
        "title": diagram.title,
        "aim": diagram.aim,
        "measure_id": diagram.measure_id,
        "version": diagram.version,
        "created_at": iso_or_none(diagram.created_at),
        "updated_at": iso_or_none(diagram.updated_at),
    }


def node_json(node: programme.NodeView) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": node.id, "kind": node.kind.value, "label": node.label}
    if node.status is not None:
        idea = node.idea
        payload["status"] = node.status
        payload["idea"] = {"id": idea["id"], "title": idea["title"], "url": idea["url"]} if idea else None
        payload["cycles"] = [
            {"id": c.id, "measure_id": c.measure_id, "site": c.site, "title": c.title, "act": c.act}
            for c in node.cycles
        ]
    return payload | {"children": [node_json(child) for child in node.children]}


def saved_node_json(node: DriverNode) -> dict[str, Any]:
    return {"id": node.id, "kind": node.kind.value, "label": node.label, "parent_id": node.parent_id,
            "idea_id": node.idea_id}  # fmt: skip


def version_json(version: DiagramVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "summary": version.summary,
        "by": person_json(version.created_by) if version.created_by else None,
        "at": iso_or_none(version.created_at),
        "diagram": version.snapshot,
    }


def _aim_fields(body: dict[str, Any], diagram: DriverDiagram | None = None) -> dict[str, Any]:
    """The aim's fields sent; on a PATCH (`diagram`) an absent field keeps its value and a null outcome measure
    clears it."""
    return {
        "title": inputs.text(body, "title", missing=diagram.title if diagram else ""),
        "aim": inputs.text(body, "aim", missing=diagram.aim if diagram else ""),
        "measure_id": inputs.ident(body, "measure_id", None, missing=diagram.measure_id if diagram else None),
        "confirm_phi": inputs.phi_confirmed(body),
    }


def _version(body: dict[str, Any]) -> int | None:
    return inputs.ident(body, "version", None)


@bp.get("/communities/<slug>/drivers")
def list_diagrams(slug: str) -> ResponseReturnValue:
    community, _can_edit = programme.readable_community(current_user, slug)
    return jsonify(items=[diagram_json(d) for d in programme.list_diagrams(community)])


@bp.post("/communities/<slug>/drivers")
@user_rate_limited("programme")
@transactional
def create_diagram(slug: str) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    community, _can_edit = programme.readable_community(user, slug)
    return created(diagram_json(programme.create_diagram(community, by=user, **_aim_fields(body))))


@bp.get("/drivers/<int:diagram_id>")
def show_diagram(diagram_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    view = programme.diagram_view(diagram, viewer=current_user)
    return jsonify(diagram_json(diagram) | {"status_counts": view.status_counts(),
                                            "drivers": [node_json(n) for n in view.drivers]})  # fmt: skip


@bp.patch("/drivers/<int:diagram_id>")
@user_rate_limited("programme")
@transactional
def update_diagram(diagram_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    diagram = programme.get_diagram(diagram_id, viewer=user)
    fields = _aim_fields(body, diagram)
    return jsonify(diagram_json(programme.update_diagram(diagram, version=_version(body), by=user, **fields)))


@bp.post("/drivers/<int:diagram_id>/nodes")
@user_rate_limited("programme")
@transactional
def add_node(diagram_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    diagram = programme.get_diagram(diagram_id, viewer=user)
    node = programme.add_node(
        diagram, parent_id=inputs.ident(body, "parent_id", None), label=inputs.text(body, "label", missing=""),
        idea_id=inputs.ident(body, "idea_id", None), version=_version(body), by=user,
        confirm_phi=inputs.phi_confirmed(body),
    )  # fmt: skip
    return created(saved_node_json(node))


@bp.patch("/drivers/<int:diagram_id>/nodes/<int:node_id>")
@user_rate_limited("programme")
@transactional
def update_node(diagram_id: int, node_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    diagram = programme.get_diagram(diagram_id, viewer=user)
    node = programme.get_node(diagram, node_id)
    node = programme.update_node(
        diagram, node.id, label=inputs.text(body, "label", missing=node.label),
        idea_id=inputs.ident(body, "idea_id", None, missing=node.idea_id), version=_version(body), by=user,
        confirm_phi=inputs.phi_confirmed(body),
    )  # fmt: skip
    return jsonify(saved_node_json(node))


@bp.delete("/drivers/<int:diagram_id>/nodes/<int:node_id>")
@user_rate_limited("programme")
@transactional
def remove_node(diagram_id: int, node_id: int) -> ResponseReturnValue:
    user = require_user()
    diagram = programme.get_diagram(diagram_id, viewer=user)
    programme.remove_node(diagram, node_id, version=inputs.arg_int("version"), by=user)
    return "", 204


@bp.get("/drivers/<int:diagram_id>/versions")
def list_versions(diagram_id: int) -> ResponseReturnValue:
    diagram = programme.get_diagram(diagram_id, viewer=current_user)
    return jsonify(items=[version_json(v) for v in programme.list_versions(diagram)])


DIAGRAM_ID = path_param("diagram_id", "integer")
NODE_ID = path_param("node_id", "integer")
SLUG = path_param("slug")
AIM_FIELDS = {"title": TEXT, "aim": TEXT, "measure_id": nullable(ID), "confirm_phi": PHI_CONFIRM}
NODE = {"type": "object", "properties": {"id": ID, "kind": {"enum": ["primary", "secondary", "change"]},
                                         "label": TEXT, "parent_id": nullable(ID), "idea_id": nullable(ID)}}

OPENAPI_SCHEMAS = {
    "DriverDiagram": {"type": "object", "properties": {
        "id": ID, "community": TEXT, "title": TEXT, "aim": TEXT, "measure_id": nullable(ID), "version": ID,
        "created_at": TEXT, "updated_at": TEXT,
        "status_counts": {"type": "object", "description": "Change ideas by status (the diagram's own page)"},
        "drivers": {"type": "array", "description": "Primary drivers, each with `children` down to change ideas; "
                                                    "a change idea has `status`, `idea` and `cycles`"},
    }},
    "DriverNode": NODE,
}
OPENAPI_PATHS = {
    "/communities/{slug}/drivers": {
        "get": op("A community's driver diagrams", params=[SLUG], auth=False, tag="programme", errors=("403", "404"),
                  response={"type": "object", "properties": {"items": {"type": "array",
                                                                       "items": ref("DriverDiagram")}}}),
        "post": op("Start a driver diagram (the community's owners)", params=[SLUG], status="201", tag="programme",
                   response=ref("DriverDiagram"), body=body_schema({"title": TEXT, "aim": TEXT},
                                                                   {"measure_id": nullable(ID),
                                                                    "confirm_phi": PHI_CONFIRM}),
                   errors=("401", "403", "404", "422", "429")),
    },
    "/drivers/{diagram_id}": {
        "get": op("A driver diagram as a tree; each change idea's status comes from the PDSA cycles of its idea",
                  params=[DIAGRAM_ID], auth=False, tag="programme", response=ref("DriverDiagram"), errors=("404",)),
        "patch": op("Change the title, aim or outcome measure (owners): a new version", params=[DIAGRAM_ID],
                    tag="programme", response=ref("DriverDiagram"),
                    body=body_schema(None, {**AIM_FIELDS, "version": VERSION}),
                    errors=("401", "403", "404", "422", "429")),
    },
    "/drivers/{diagram_id}/nodes": {
        "post": op("Add a primary driver (no parent), a secondary driver (under a primary) or a change idea (under "
                   "a secondary, optionally linking an idea)", params=[DIAGRAM_ID], status="201", tag="programme",
                   response=ref("DriverNode"),
                   body=body_schema({"label": TEXT}, {"parent_id": nullable(ID), "idea_id": nullable(ID),
                                                      "version": VERSION, "confirm_phi": PHI_CONFIRM}),
                   errors=("401", "403", "404", "422", "429")),
    },
    "/drivers/{diagram_id}/nodes/{node_id}": {
        "patch": op("Rename a node or change the idea a change idea links", params=[DIAGRAM_ID, NODE_ID],
                    tag="programme", response=ref("DriverNode"),
                    body=body_schema(None, {"label": TEXT, "idea_id": nullable(ID), "version": VERSION,
                                            "confirm_phi": PHI_CONFIRM}),
                    errors=("401", "403", "404", "422", "429")),
        "delete": op("Remove a node and everything under it (`?version=` optional)", status="204",
                     params=[DIAGRAM_ID, NODE_ID, query_param("version", "The version it was removed from", VERSION)],
                     tag="programme", errors=("401", "403", "404", "422", "429")),
    },
    "/drivers/{diagram_id}/versions": {
        "get": op("Every change to the diagram, newest first, each with the diagram after it", params=[DIAGRAM_ID],
                  auth=False, tag="programme", errors=("404",)),
    },
}  # fmt: skip
