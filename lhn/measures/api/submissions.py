"""Measures over JSON, who has sent which period: the last closed period's status, the submission grid (sites ×
the last periods) and reminding the late sites. Same services as the owners' pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from lhn.api import bp
from lhn.api.openapi import ref
from lhn.database import iso_or_none, transactional
from lhn.limits import user_rate_limited, wrote
from lhn.measures import services as measures
from lhn.measures.api.common import SITE, acting_on, measure_op, site_json
from lhn.measures.services import periods
from lhn.measures.services.submissions import BEFORE, LATE, NOT_DUE, SENT


def submissions_json(status: measures.Submissions) -> dict[str, Any]:
    return {"period": status.period_label, "period_start": status.period_start.isoformat(),
            "submitted": [site_json(s) for s in status.submitted], "late": [site_json(s) for s in status.late]}


def grid_json(grid: measures.SubmissionGrid) -> dict[str, Any]:
    kind = grid.measure.period.value
    return {
        "periods": [{"period": periods.label(start, kind), "label": grid.label(start), "start": start.isoformat()}
                    for start in grid.periods],
        "sites": [site_json(row.site) for row in grid.rows],
        "cells": [{"site": row.site.slug, "period": periods.label(cell.period_start, kind), "status": cell.status,
                   "sent_at": iso_or_none(cell.sent_at)} for row in grid.rows for cell in row.cells],
        "late_from": periods.label(grid.late_from, kind),
        "reminder_period": periods.label(grid.reminder_period, kind),
        "can_remind": grid.can_remind,
    }  # fmt: skip


@bp.get("/measures/<int:measure_id>/submissions")
def submission_status(measure_id: int) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    return jsonify(submissions_json(measures.submission_status(measure, by=user)))


@bp.get("/measures/<int:measure_id>/submissions/grid")
def submission_grid(measure_id: int) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    return jsonify(grid_json(measures.submission_grid(measure, by=user)))


@bp.post("/measures/<int:measure_id>/reminders")
@user_rate_limited("remind", deduct_when=wrote)
@transactional
def remind_late_sites(measure_id: int) -> ResponseReturnValue:
    user, measure = acting_on(measure_id)
    reminded = measures.remind_late_sites(measure, by=user)
    return jsonify(reminded=[site_json(s) for s in reminded])


# --- OpenAPI ------------------------------------------------------------------------------------------------------

SUBMISSIONS = {
    "type": "object",
    "properties": {
        "period": {"type": "string"},
        "period_start": {"type": "string", "format": "date"},
        "submitted": {"type": "array", "items": SITE},
        "late": {"type": "array", "items": SITE},
    },
}
PERIOD_TEXT = {"type": "string", "description": "2024-01, 2024-W05 or 2024-Q1 (the measure's period)"}
OPENAPI_SCHEMAS = {
    "SubmissionGrid": {
        "type": "object",
        "required": ["periods", "sites", "cells", "late_from", "reminder_period", "can_remind"],
        "properties": {
            "periods": {
                "type": "array",
                "description": f"The last {measures.GRID_PERIODS} periods, oldest first (the last one is open)",
                "items": {"type": "object", "properties": {
                    "period": PERIOD_TEXT, "label": {"type": "string"}, "start": {"type": "string", "format": "date"},
                }},
            },
            "sites": {"type": "array", "items": SITE, "description": "The sites taking part, by name (a site's "
                      "team that doesn't own the measure sees its own sites only)"},
            "cells": {
                "type": "array",
                "description": "One per site and period",
                "items": {"type": "object", "properties": {
                    "site": {"type": "string", "description": "Institution slug"},
                    "period": PERIOD_TEXT,
                    "status": {"enum": [SENT, LATE, NOT_DUE, BEFORE], "description": "sent; late (the period ended "
                               "more than the reminder's grace days ago, nothing sent); not_due (open, or in its grace "
                               "days); before (it ended before the measure was defined: nobody was asked)"},
                    "sent_at": {"type": ["string", "null"], "description": "When the current value was sent"},
                }},
            },
            "late_from": {**PERIOD_TEXT, "description": "Periods up to this one are late when nothing was sent"},
            "reminder_period": {**PERIOD_TEXT, "description": "The period POST /reminders reminds of"},
            "can_remind": {"type": "boolean"},
        },
    },
}
OPENAPI_PATHS = {
    "/measures/{measure_id}/submissions": {
        "get": measure_op(
            "Who has sent the last closed period's data (owners): the sites taking part, sent and not yet",
            response=SUBMISSIONS,
        ),
    },
    "/measures/{measure_id}/submissions/grid": {
        "get": measure_op(
            f"The submission grid: the sites taking part × the last {measures.GRID_PERIODS} periods, each cell sent "
            "(when), late, not due yet or before the measure (owners see every site; a site's team its own). No "
            "values",
            response=ref("SubmissionGrid"),
        ),
    },
    "/measures/{measure_id}/reminders": {
        "post": measure_op(
            "Remind the sites that haven't sent the last closed period's data, now (owners; each site once a day; "
            "rate limited). Answers the sites reminded",
            response={"type": "object", "properties": {"reminded": {"type": "array", "items": SITE}}},
            errors=("401", "403", "404", "429"),
        ),
    },
}
