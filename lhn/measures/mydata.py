"""My data for measures: the PDSA cycles, chart notes, phase changes and data submissions (totals and breakdowns by
stratum) a person authored in an export; on account deletion, their cycles and notes kept as "Former member" or
removed, while their submissions, phase changes, measure definitions and change log entries always pass to "Former
member" (the network's record).

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py), connected when the app
factory (lhn/__init__.py) imports this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none, reassign_rows
from lhn.extensions import db
from lhn.measures.models import (
    BaselineExclusion,
    ChartNote,
    DataPoint,
    Measure,
    MeasureChange,
    PdsaCycle,
    Period,
    PhaseChange,
    StratumDataPoint,
)
from lhn.measures.services import periods


def _slug(item: Any) -> str | None:
    return item.institution.slug if item.institution is not None else None  # None: the network chart


def _authored(model: Any, column: Any, user: User) -> list[Any]:
    """The rows of a chart item (a cycle, a note, a phase) that `user` wrote, oldest first, with their site."""
    stmt = select(model).where(column == user.id).options(joinedload(model.institution)).order_by(model.id)
    return list(db.session.scalars(stmt))


def _submitted(model: type[DataPoint] | type[StratumDataPoint], user: User) -> list[Any]:
    """The values (totals, or breakdowns by stratum) the person submitted, superseded ones too, with their measure's
    period."""
    return list(db.session.execute(
        select(model, Measure.period).join(Measure, Measure.id == model.measure_id)
        .where(model.submitted_by_id == user.id)
        .options(joinedload(model.institution)).order_by(model.id)))  # fmt: skip


def _submission(point: DataPoint | StratumDataPoint, period: Period, **breakdown: str) -> dict[str, Any]:
    """One submitted value as exported: a total, or with its `breakdown` (stratifier and stratum) a stratum's."""
    return {
        "measure_id": point.measure_id,
        "site": point.institution.slug,
        "period": periods.label(point.period_start, period.value),
        **breakdown,
        "numerator": point.numerator,
        "denominator": point.denominator,
        "measure_version": point.measure_version,
        "source": point.source,
        "submitted_at": iso_or_none(point.submitted_at),
        "superseded_at": iso_or_none(point.superseded_at),
    }


@signals.export_requested.connect
def export_measures(user: User, **_: Any) -> dict[str, Any]:
    """What they wrote on charts and the values they submitted, breakdowns by stratum too (superseded ones as well:
    the history is theirs)."""
    cycles, notes, phases, exclusions = (
        _authored(model, model.created_by_id, user)
        for model in (PdsaCycle, ChartNote, PhaseChange, BaselineExclusion)
    )
    submissions, strata = (_submitted(model, user) for model in (DataPoint, StratumDataPoint))
    return {
        "pdsa_cycles": [
            {
                "id": c.id,
                "measure_id": c.measure_id,
                "site": _slug(c),
                "idea_id": c.idea_id,
                "title": c.title,
                "plan": c.plan,
                "prediction": c.prediction,
                "do_notes": c.do_notes,
                "study": c.study,
                "act": c.act.value if c.act else None,
                "act_notes": c.act_notes,
                "started_on": iso_or_none(c.started_on),
                "ended_on": iso_or_none(c.ended_on),
                "created_at": iso_or_none(c.created_at),
            }
            for c in cycles
        ],
        "chart_notes": [
            {
                "measure_id": n.measure_id,
                "site": _slug(n),
                "on": iso_or_none(n.on),
                "text": n.text,
                "at": iso_or_none(n.created_at),
            }
            for n in notes
        ],
        "phase_changes": [
            {"measure_id": p.measure_id, "site": _slug(p), "from": iso_or_none(p.period_start), "reason": p.reason}
            for p in phases
        ],
        "baseline_exclusions": [
            {"measure_id": x.measure_id, "site": _slug(x), "period": iso_or_none(x.period_start), "reason": x.reason}
            for x in exclusions
        ],
        "data_submissions": [_submission(point, period) for point, period in submissions],
        # a site's breakdown of a period by a stratifier (age band, ...), one row a stratum
        "stratum_submissions": [
            _submission(point, period, stratifier=point.stratifier, stratum=point.stratum) for point, period in strata
        ],
    }


@signals.account_erasing.connect
def erase_measures(user: User, *, mode: str, former: User, **_: Any) -> None:
    """keep: their PDSA cycles and chart notes show "Former member"; remove: they are deleted. Either way the values
    they submitted stay, by "Former member": they are their site's data, shared under the site's consent and part
    of every chart and export of the network; and so do the phases they started and the points they left out of a
    baseline, which set the chart's limits, and the definitions and change log entries they wrote (the measure's
    record, as vettings are a community's)."""
    kept = (
        DataPoint.submitted_by_id,
        StratumDataPoint.submitted_by_id,
        PhaseChange.created_by_id,
        BaselineExclusion.created_by_id,
        Measure.created_by_id,
        MeasureChange.changed_by_id,
    )
    written = (PdsaCycle.created_by_id, ChartNote.created_by_id)
    reassign_rows((*kept, *written) if mode == "keep" else kept, user.id, former.id)
    if mode != "keep":
        for column in written:
            stmt = delete(column.class_).where(column == user.id)
            db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.expire_all()
