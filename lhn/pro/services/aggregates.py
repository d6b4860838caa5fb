"""Measures computed from patients' answers: a community's owners define a co-owned measure from an instrument
("share of people with PHQ-9 ≥ 10 per site per month", "mean score"), and LHN keeps its values: per site (the
person's institution) and period, each member's latest finished answer in the period counts once, and only
for people whose consent covers quality-improvement aggregates (asked at every computation, so a withdrawal
shows in the next value). The values are ordinary measure data (source "pro"), so the measure's charts, files and
FHIR reports apply the same small-cell and complementary suppression as every other cross-site output; a
computed measure has no site teams, so nobody, a site's own clinicians included, sees a small cell.

Values follow the answers cell by cell: a finished answer recomputes its own cell, a consent change the
person's cells, and a periodic sweep every cell (people who left, moved site, or whose site changed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from lhn.accounts.models import User
from lhn.communities.models import Membership
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint, Measure, MeasureType, Period
from lhn.measures.services import periods
from lhn.pro.models import Instrument, ProMeasure, ProResponse, Purpose, PurposeConsent, ResponseStatus, Statistic
from lhn.pro.services.instruments import may_offer, spec_of

COMPUTED_FROM = "questionnaire"
SOURCE = "pro"  # DataPoint.source of a computed value
Cell = tuple[int, date]  # (site id, period start)


@dataclass
class MeasureRequest:
    """What an owner asks for when defining a measure from an instrument (the form and the API)."""

    statistic: str = ""
    threshold: Any = None
    period: str = "month"
    improvement: str = "down"
    name: str = ""


def _checked(instrument: Instrument, request: MeasureRequest) -> tuple[Statistic, float | None, str]:
    errors: dict[str, str] = {}
    try:
        statistic = Statistic(request.statistic)
    except ValueError:
        raise ValidationFailed({"statistic": "Choose a share of people at or above a score, or the mean."}) from None
    spec = spec_of(instrument)
    low, high = spec.lowest, spec.highest
    threshold: float | None = None
    if statistic == Statistic.SHARE_AT_LEAST:
        try:
            threshold = float(str(request.threshold).strip())
        except ValueError:
            errors["threshold"] = f"Give the score that counts, a number from {low:g} to {high:g}."
        else:
            if not low <= threshold <= high:
                errors["threshold"] = f"Give the score that counts, a number from {low:g} to {high:g}."
    if errors:
        raise ValidationFailed(errors)
    name = (request.name or "").strip() or _default_name(instrument, statistic, threshold)
    return statistic, threshold, name


def _short(instrument: Instrument) -> str:
    """"PHQ-9" of "PHQ-9: depression in the last two weeks"."""
    return instrument.title.split(":")[0].strip() or instrument.title


def _default_name(instrument: Instrument, statistic: Statistic, threshold: float | None) -> str:
    if statistic == Statistic.SHARE_AT_LEAST:
        return f"Share of people with {_short(instrument)} score ≥ {threshold:g}"[:160]
    return f"Mean {_short(instrument)} score"[:160]


def define_measure(instrument: Instrument, request: MeasureRequest, *, by: User) -> ProMeasure:
    """The community's owners define a co-owned measure computed from the instrument; its values are computed at
    once from the answers so far. Flushes. Raises PermissionDenied (not an owner), ValidationFailed."""
    if not may_offer(by, instrument.community):
        raise PermissionDenied("The community's owners define measures from its questionnaires.")
    statistic, threshold, name = _checked(instrument, request)
    share = statistic == Statistic.SHARE_AT_LEAST
    about = (f"the share of people whose total is at least {threshold:g}" if share
             else "the mean total score")  # fmt: skip
    fields = measures.MeasureFields(
        name=name, type=(MeasureType.PROPORTION if share else MeasureType.CONTINUOUS).value,
        period=request.period, improvement=request.improvement, unit="" if share else "points",
        description=f"Computed by LHN from answers to {instrument.title}: {about}, per site and {request.period}.",
        data_source=(f"Answers to {instrument.title} by patients and caregivers who chose to count their answers "
                     "in quality-improvement measures. Each person counts once per period (their latest answer), "
                     "at the site on their profile. Counts of 1 to 10 are hidden from everyone."),
    )  # fmt: skip
    measure = measures.create_measure(instrument.community, fields, by=by)
    measure.computed_from = COMPUTED_FROM
    pro_measure = ProMeasure(measure=measure, instrument=instrument, statistic=statistic, threshold=threshold)
    db.session.add(pro_measure)
    db.session.flush()
    refresh(pro_measure)
    return pro_measure


def measures_of(instrument: Instrument) -> list[ProMeasure]:
    return list(db.session.scalars(select(ProMeasure).where(ProMeasure.instrument_id == instrument.id)
                                   .order_by(ProMeasure.id)))  # fmt: skip


def measures_defined(instrument: Instrument, *, viewer: object) -> list[ProMeasure]:
    """The measures computed from the instrument, for its community's owners (the page where they define more).
    Raises NotFound for anyone else."""
    if not may_offer(viewer, instrument.community):
        raise NotFound("No such page.")
    return measures_of(instrument)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def compute(pro_measure: ProMeasure, *, only: Iterable[Cell] | None = None) -> dict[Cell, tuple[float, float]]:
    """The measure's values per (site, period): (numerator, denominator) as measure data holds them. `only`
    limits the work to some cells (their sites and the span of their periods). One query."""
    measure, community_id = pro_measure.measure, pro_measure.instrument.community_id
    kind = measure.period.value
    stmt = (
        select(ProResponse.user_id, User.institution_id, ProResponse.completed_at, ProResponse.id, ProResponse.total)
        .join(User, User.id == ProResponse.user_id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.community_id == community_id))
        .join(PurposeConsent, (PurposeConsent.user_id == User.id) & (PurposeConsent.community_id == community_id)
              & (PurposeConsent.purpose == Purpose.QI_AGGREGATES) & PurposeConsent.granted.is_(True))
        .where(ProResponse.instrument_id == pro_measure.instrument_id,
               ProResponse.status == ResponseStatus.COMPLETED, User.institution_id.is_not(None))
    )  # fmt: skip
    wanted = set(only) if only is not None else None
    if wanted is not None:
        if not wanted:
            return {}
        first, last = min(s for _, s in wanted), max(s for _, s in wanted)
        stmt = stmt.where(User.institution_id.in_({site for site, _ in wanted}),
                          ProResponse.completed_at >= _moment(first),
                          ProResponse.completed_at < _moment(periods.following(last, kind)))  # fmt: skip
    latest: dict[tuple[int, Cell], tuple[datetime, int, float]] = {}
    for user_id, site_id, completed_at, response_id, total in db.session.execute(stmt):
        if site_id is None or completed_at is None:  # the query's conditions: for the type checker
            continue
        cell = (site_id, periods.start_of(completed_at.date(), kind))
        key = (user_id, cell)
        if key not in latest or (completed_at, response_id) > latest[key][:2]:
            latest[key] = (completed_at, response_id, total or 0.0)
    totals: dict[Cell, list[float]] = {}
    for (_, cell), (_, _, total) in latest.items():
        if wanted is None or cell in wanted:
            totals.setdefault(cell, []).append(total)
    if pro_measure.statistic == Statistic.SHARE_AT_LEAST:
        threshold = pro_measure.threshold or 0.0
        return {cell: (float(sum(t >= threshold for t in ts)), float(len(ts))) for cell, ts in totals.items()}
    return {cell: (round(sum(ts) / len(ts), 2), float(len(ts))) for cell, ts in totals.items()}


def refresh(pro_measure: ProMeasure, *, only: Iterable[Cell] | None = None) -> int:
    """Bring the measure's stored values in line with the answers (all cells, or `only` these): a changed cell
    supersedes its value (kept as history), a cell nobody counts in any more is superseded by nothing. Returns
    how many cells changed. Flushes."""
    cells = set(only) if only is not None else None
    wanted = compute(pro_measure, only=cells)
    measure = pro_measure.measure
    stmt = select(DataPoint.id, DataPoint.institution_id, DataPoint.period_start, DataPoint.numerator,
                  DataPoint.denominator).where(DataPoint.measure_id == measure.id,
                                               DataPoint.superseded_at.is_(None))  # fmt: skip
    if cells is not None:
        stmt = stmt.where(DataPoint.institution_id.in_({site for site, _ in cells}))
    current = {(r.institution_id, r.period_start): r for r in db.session.execute(stmt)
               if cells is None or (r.institution_id, r.period_start) in cells}  # fmt: skip
    now, superseded, new, changed = utcnow(), [], [], 0
    for cell in current.keys() | wanted.keys():
        old, value = current.get(cell), wanted.get(cell)
        if old is not None and value == (old.numerator, old.denominator):
            continue
        changed += 1
        if old is not None:
            superseded.append(old.id)
        if value is not None:
            new.append({"measure_id": measure.id, "institution_id": cell[0], "period_start": cell[1],
                        "numerator": value[0], "denominator": value[1], "measure_version": measure.version,
                        "source": SOURCE, "submitted_by_id": None, "submitted_at": now})  # fmt: skip
    table = cast(Table, DataPoint.__table__)
    if superseded:  # before the inserts: the current cell is unique
        db.session.execute(update(table).where(table.c.id.in_(superseded)).values(superseded_at=now))
    if new:
        db.session.execute(insert(table), new)
    return changed


def counted(response: ProResponse) -> list[Measure]:
    """A finished answer's cell, recomputed in every measure of its instrument. Returns the measures it now
    counts in (none unless its author consents to quality-improvement aggregates and has a site). Flushes."""
    user = db.session.get(User, response.user_id)
    if user is None or user.institution_id is None or response.completed_at is None:
        return []
    found = []
    for pro_measure in measures_of(response.instrument):
        cell = (user.institution_id, periods.start_of(response.completed_at.date(), pro_measure.measure.period.value))
        refresh(pro_measure, only=[cell])
        if _consents(user.id, response.instrument.community_id):
            found.append(pro_measure.measure)
    return found


def _consents(user_id: int, community_id: int) -> bool:
    return db.session.scalar(select(PurposeConsent.granted).where(
        PurposeConsent.user_id == user_id, PurposeConsent.community_id == community_id,
        PurposeConsent.purpose == Purpose.QI_AGGREGATES)) is True  # fmt: skip


def cells_of(user: User, community_id: int | None = None) -> list[tuple[ProMeasure, set[Cell]]]:
    """Each computed measure (in one community, or all) with the cells the person's finished answers fall in."""
    if user.institution_id is None:
        return []
    stmt = select(ProMeasure).join(Instrument).order_by(ProMeasure.id)
    if community_id is not None:
        stmt = stmt.where(Instrument.community_id == community_id)
    found = []
    for pro_measure in db.session.scalars(stmt).all():
        kind = pro_measure.measure.period.value
        days = db.session.scalars(select(ProResponse.completed_at).where(
            ProResponse.instrument_id == pro_measure.instrument_id, ProResponse.user_id == user.id,
            ProResponse.status == ResponseStatus.COMPLETED)).all()  # fmt: skip
        cells = {(user.institution_id, periods.start_of(day.date(), kind)) for day in days if day is not None}
        if cells:
            found.append((pro_measure, cells))
    return found


def person_changed(community_id: int, user: User) -> list[Measure]:
    """The person's consent changed in the community: every cell their finished answers fall in is recomputed,
    in every measure computed there. Returns the measures they have answers in. Flushes."""
    touched = []
    for pro_measure, cells in cells_of(user, community_id):
        refresh(pro_measure, only=cells)
        touched.append(pro_measure.measure)
    return touched


def refresh_all(now: datetime | None = None) -> int:
    """The periodic sweep: every computed measure recomputed whole (people who left the community or moved to
    another site since their answers). Returns the cells changed."""
    return sum(refresh(pm) for pm in db.session.scalars(select(ProMeasure).order_by(ProMeasure.id)).all())


def period_choices() -> list[tuple[str, str]]:
    return [(p.value, p.value.capitalize()) for p in Period]
