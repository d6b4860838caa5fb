"""Measures over JSON, the learning loop on a chart: PDSA cycles, chart notes, deliberate phase changes, points left
out of a baseline and the annotations a chart shows. Same services as the pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, created, json_body, require_user
from lhn.api.openapi import DATE, ID, PHI_CONFIRM, TEXT, body_schema, path_param, query_param, ref
from lhn.database import iso_or_none, transactional
from lhn.errors import ValidationFailed
from lhn.measures import services as measures
from lhn.measures.api.common import (
    SITE_SLUG,
    acting_on,
    get_site,
    items_of,
    measure_creation,
    measure_op,
    measure_read,
    measure_removal,
    person_or_none,
    removal_route,
    site_json,
)
from lhn.measures.models import ChartNote, Measure, PdsaCycle, PeriodMark
from lhn.measures.services import periods

CYCLE_TEXT_FIELDS = ("title", "plan", "prediction", "do_notes", "study", "started_on")
CYCLE_FIELDS = (*CYCLE_TEXT_FIELDS, "idea_id")


def cycle_json(cycle: PdsaCycle) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": cycle.id,
        "measure": cycle.measure_id,
        "site": site_json(cycle.institution),
        "idea_id": cycle.idea_id,
        "title": cycle.title,
    }
    for name in measures.PDSA_TEXT_FIELDS:
        payload[name] = getattr(cycle, name)
        payload[f"{name}_html"] = getattr(cycle, f"{name}_html")
    return payload | {
        "act": cycle.act.value if cycle.act else None,
        "started_on": cycle.started_on.isoformat(),
        "ended_on": iso_or_none(cycle.ended_on),
        "closed_at": iso_or_none(cycle.closed_at),
        "created_by": person_or_none(cycle.created_by),
        "created_at": cycle.created_at.isoformat(),
    }


def note_json(note: ChartNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "site": note.institution.slug if note.institution else None,
        "on": note.on.isoformat(),
        "text": note.text,
        "created_by": person_or_none(note.created_by),
        "created_at": note.created_at.isoformat(),
    }


def mark_json(mark: PeriodMark, measure: Measure) -> dict[str, Any]:
    """A phase change or a baseline exclusion: a reasoned mark on one period of a chart."""
    return {
        "id": mark.id,
        "site": mark.institution.slug if mark.institution else None,
        "period": periods.label(mark.period_start, measure.period.value),
        "period_start": mark.period_start.isoformat(),
        "reason": mark.reason,
        "created_by": person_or_none(mark.created_by),
        "created_at": mark.created_at.isoformat(),
    }


def _period_mark(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a new period mark in a JSON body, as the services take them."""
    return {
        "site": inputs.text(body, "site", ""),
        "period": inputs.text(body, "period", missing=""),
        "reason": inputs.text(body, "reason", missing=""),
        "confirm_phi": inputs.phi_confirmed(body),
    }


def _chart(measure_id: int) -> tuple[int | None, Measure]:
    """The chart a read is about: the site `?site=<slug>` names (none or empty: the network chart), then the
    measure, which the reader must be allowed to read. Raises NotFound."""
    slug = inputs.arg_text("site")
    site_id = get_site(slug).id if slug else None
    return site_id, measures.get_measure(measure_id, viewer=current_user)


def _cycle_fields(body: dict[str, Any], fields: measures.PdsaFields) -> measures.PdsaFields:
    """`fields` with what was sent: text as text (null: not sent; the service parses the date), idea_id an
    idea's id or null for none."""
    for name in CYCLE_TEXT_FIELDS:
        setattr(fields, name, inputs.text(body, name, getattr(fields, name)))
    fields.idea_id = inputs.ident(body, "idea_id", None, missing=fields.idea_id)
    return fields


# --- PDSA cycles -------------------------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/pdsa")
def list_cycles(measure_id: int) -> ResponseReturnValue:
    site_id, measure = _chart(measure_id)
    cycles = measures.list_cycles(measure, site_id=site_id)
    return jsonify(items=[cycle_json(c) for c in cycles])


@bp.post("/measures/<int:measure_id>/pdsa")
@transactional
def create_cycle(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    fields = _cycle_fields(body, measures.PdsaFields(site=inputs.text(body, "site", missing="")))
    measure = measures.get_measure(measure_id, viewer=user)
    cycle = measures.create_cycle(measure, fields, by=user, confirm_phi=inputs.phi_confirmed(body))
    return created(cycle_json(cycle))


@bp.get("/measures/<int:measure_id>/pdsa/<int:cycle_id>")
def show_cycle(measure_id: int, cycle_id: int) -> ResponseReturnValue:
    measure = measures.get_measure(measure_id, viewer=current_user)
    return jsonify(cycle_json(measures.get_cycle(measure, cycle_id, viewer=current_user)))


@bp.patch("/measures/<int:measure_id>/pdsa/<int:cycle_id>")
@transactional
def update_cycle(measure_id: int, cycle_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    measure = measures.get_measure(measure_id, viewer=user)
    cycle = measures.get_cycle(measure, cycle_id, viewer=user)
    unknown = sorted(set(body) - {*CYCLE_FIELDS, "confirm_phi"})
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "This field can't be changed (the site stays; close to act)."))
    fields, confirm_phi = _cycle_fields(body, measures.PdsaFields.of(cycle)), inputs.phi_confirmed(body)
    return jsonify(cycle_json(measures.update_cycle(cycle, measure, fields, by=user, confirm_phi=confirm_phi)))


@bp.post("/measures/<int:measure_id>/pdsa/<int:cycle_id>/close")
@transactional
def close_cycle(measure_id: int, cycle_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    act, act_notes, ended_on = (inputs.text(body, name, missing="") for name in ("act", "act_notes", "ended_on"))
    measure = measures.get_measure(measure_id, viewer=user)
    cycle = measures.get_cycle(measure, cycle_id, viewer=user)
    measures.close_cycle(cycle, measure, act=act, act_notes=act_notes, ended_on=ended_on, by=user,
                         confirm_phi=inputs.phi_confirmed(body))  # fmt: skip
    return jsonify(cycle_json(cycle))


# --- notes, phases, annotations ---------------------------------------------------------------------------------


@bp.get("/measures/<int:measure_id>/notes")
def list_notes(measure_id: int) -> ResponseReturnValue:
    site_id, measure = _chart(measure_id)
    return jsonify(items=[note_json(n) for n in measures.list_notes(measure, site_id=site_id)])


@bp.post("/measures/<int:measure_id>/notes")
@transactional
def add_note(measure_id: int) -> ResponseReturnValue:
    user, body = require_user(), json_body()
    site, on = inputs.text(body, "site", ""), inputs.text(body, "on", missing="")
    text = inputs.text(body, "text", missing="")
    measure = measures.get_measure(measure_id, viewer=user)
    note = measures.add_note(measure, site=site, on=on, text=text, by=user, confirm_phi=inputs.phi_confirmed(body))
    return created(note_json(note))


def _period_mark_routes(
    plural: str,
    item: str,
    listed: Callable[[Measure, int | None], Sequence[PeriodMark]],
    add: Callable[..., PeriodMark],
    remove: Callable[..., None],
) -> None:
    """One kind of period mark over JSON: GET (`site` picks the chart) and POST /measures/<id>/<plural>, DELETE
    /measures/<id>/<plural>/<item>_id. Endpoints list_<plural>, add_<item>, remove_<item>."""

    def list_marks(measure_id: int) -> ResponseReturnValue:
        site_id, measure = _chart(measure_id)
        return jsonify(items=[mark_json(m, measure) for m in listed(measure, site_id)])

    def add_mark(measure_id: int) -> ResponseReturnValue:
        user, measure = acting_on(measure_id)
        return created(mark_json(add(measure, by=user, **_period_mark(json_body())), measure))

    path = f"/measures/<int:measure_id>/{plural}"
    bp.add_url_rule(path, f"list_{plural}", list_marks, methods=["GET"])
    bp.add_url_rule(path, f"add_{item}", transactional(add_mark), methods=["POST"])
    removal_route(f"{plural}/<int:{item}_id>", f"remove_{item}", remove)


_period_mark_routes("phases", "phase", measures.phase_changes, measures.add_phase, measures.remove_phase)
_period_mark_routes("exclusions", "exclusion", measures.baseline_exclusions, measures.exclude_from_baseline,
                    measures.include_in_baseline)  # fmt: skip


@bp.get("/measures/<int:measure_id>/annotations")
def list_annotations(measure_id: int) -> ResponseReturnValue:
    site_id, measure = _chart(measure_id)
    items = measures.chart_annotations(measure, site_id=site_id)
    return jsonify(items=[{"on": a.on.isoformat(), "kind": a.kind, "text": a.text, "url": a.url} for a in items])


# --- OpenAPI ------------------------------------------------------------------------------------------------------

SITE_QUERY = query_param("site", "Institution slug for a site's chart; empty for the network chart")
CYCLE_ID = path_param("cycle_id", "integer")
CYCLE_TEXT = {"title": TEXT, "plan": TEXT, "prediction": TEXT, "do_notes": TEXT, "study": TEXT, "started_on": DATE}
IDEA_ID = {"idea_id": {**ID, "description": "An idea of the community the cycle tests; null for none"}}


def _chart_mark_schema(**properties: dict[str, Any]) -> dict[str, Any]:
    """The schema of what someone put on a chart: a site's (`site` its slug) or the network's (`site` null)."""
    fields = {
        "id": {"type": "integer"},
        "site": {"type": ["string", "null"]},
        **properties,
        "created_by": ref("Person"),
    }
    return {"type": "object", "properties": fields}


def _chart_mark_paths(schema: str, *, listed: str, added: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Listing one kind of thing put on a chart (`site` picks the chart) and putting one there: the body holds
    `fields`, then the chart's site (empty: the network's) and the PHI confirmation."""
    return {
        "get": measure_read(listed, response=items_of(ref(schema)), params=[SITE_QUERY]),
        "post": measure_creation(added, schema, body_schema(fields, {"site": SITE_SLUG, "confirm_phi": PHI_CONFIRM})),
    }


OPENAPI_SCHEMAS = {
    "PdsaCycle": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "site": {"type": "object"},
            "idea_id": {"type": ["integer", "null"]},
            "title": TEXT,
            "plan": TEXT,
            "prediction": TEXT,
            "do_notes": TEXT,
            "study": TEXT,
            "act": {"enum": ["adopt", "adapt", "abandon", None]},
            "act_notes": TEXT,
            "started_on": TEXT,
            "ended_on": {"type": ["string", "null"]},
            "closed_at": {"type": ["string", "null"]},
            "created_by": ref("Person"),
        },
    },
    "ChartNote": _chart_mark_schema(on=TEXT, text=TEXT),
    "PhaseChange": _chart_mark_schema(period=TEXT, reason=TEXT),
    "BaselineExclusion": _chart_mark_schema(period=TEXT, reason=TEXT),
}
OPENAPI_PATHS = {
    "/measures/{measure_id}/pdsa": {
        "get": measure_read(
            "PDSA cycles, newest first (`site` narrows to one site)",
            response=items_of(ref("PdsaCycle")),
            params=[query_param("site", "Institution slug; empty for every site")],
        ),
        "post": measure_creation(
            "Start a PDSA cycle at a site (its team or the owners), with a prediction, optionally testing an idea",
            "PdsaCycle",
            body_schema(
                {"site": SITE_SLUG, "title": TEXT, "prediction": TEXT, "started_on": DATE},
                {"plan": TEXT, "do_notes": TEXT, "study": TEXT, **IDEA_ID, "confirm_phi": PHI_CONFIRM},
            ),
        ),
    },
    "/measures/{measure_id}/pdsa/{cycle_id}": {
        "get": measure_read(
            "One PDSA cycle",
            response=ref("PdsaCycle"),
            params=[CYCLE_ID],
        ),
        "patch": measure_op(
            "Record the do and study as the cycle goes (the site's team or the owners); closed cycles don't change",
            response=ref("PdsaCycle"),
            params=[CYCLE_ID],
            body=body_schema(
                optional={**CYCLE_TEXT, **IDEA_ID, "confirm_phi": PHI_CONFIRM},
                closed=True,
                description="Fields not sent (or null) keep their value; a null idea_id unlinks",
            ),
        ),
    },
    "/measures/{measure_id}/pdsa/{cycle_id}/close": {
        "post": measure_op(
            "Act: adopt, adapt or abandon, with what was learned; a linked idea gets the summary",
            response=ref("PdsaCycle"),
            params=[CYCLE_ID],
            body=body_schema(
                {"act": {"enum": ["adopt", "adapt", "abandon"]}, "act_notes": TEXT, "ended_on": DATE},
                {"confirm_phi": PHI_CONFIRM},
            ),
        ),
    },
    "/measures/{measure_id}/notes": _chart_mark_paths(
        "ChartNote",
        listed="Notes on a chart's timeline",
        added="Add a note on a date (a site's team on its chart; owners anywhere, `site` empty for the network chart)",
        fields={"on": DATE, "text": TEXT},
    ),
    "/measures/{measure_id}/phases": _chart_mark_paths(
        "PhaseChange",
        listed="Deliberate phase changes of a chart (new limits from a period on)",
        added="Start new limits from a period on, with a reason (a site's team on its chart; owners anywhere). Logged",
        fields={"period": {**TEXT, "description": "2024-01, 2024-W05 or 2024-Q1"}, "reason": TEXT},
    ),
    "/measures/{measure_id}/phases/{phase_id}": {
        "delete": measure_removal(
            "Remove a phase change (who may start it). Logged", path_param("phase_id", "integer")
        ),
    },
    "/measures/{measure_id}/exclusions": _chart_mark_paths(
        "BaselineExclusion",
        listed="Points of a chart left out of their phase's baseline (still plotted and judged against the limits)",
        added="Leave one period's point out of its baseline, with its special cause (a site's team on its chart; "
        "owners anywhere). Logged",
        fields={"period": {**TEXT, "description": "2024-01, 2024-W05 or 2024-Q1"}, "reason": TEXT},
    ),
    "/measures/{measure_id}/exclusions/{exclusion_id}": {
        "delete": measure_removal(
            "Put an excluded point back into its baseline (who may exclude it). Logged",
            path_param("exclusion_id", "integer"),
        ),
    },
    "/measures/{measure_id}/annotations": {
        "get": measure_read(
            "What a chart marks on its timeline: PDSA cycles, adopted ideas, notes, phase changes and baseline "
            "exclusions",
            response=items_of(
                {
                    "type": "object",
                    "properties": {
                        "on": TEXT,
                        "kind": {"enum": ["pdsa", "idea", "note", "phase", "exclusion"]},
                        "text": TEXT,
                        "url": TEXT,
                    },
                }
            ),
            params=[SITE_QUERY],
        ),
    },
}
