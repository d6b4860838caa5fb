"""Measures computed from patients' answers: a community's owners define a co-owned measure from an instrument
("share of people with PHQ-9 ≥ 10 per site per month", "mean score"), and LHN computes its values: per site (the
person's institution) and period, each member's latest finished answer in the period counts once, and only
for people whose consent covers quality-improvement aggregates. The values are ordinary measure data (source
"pro"), so the measure's charts, files and FHIR reports apply the same small-cell and complementary suppression as
every other cross-site output; a computed measure has no site teams, so nobody, a site's own clinicians included,
sees a small cell.

A period is computed once, when it has ended (publish_closed; the periodic job publish_due), never again: a value
that moved with each answer or each withdrawal would tell, by its difference, one person's score. Consent,
membership and site are read at that moment, so a withdrawal leaves every period computed after it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.communities.models import Membership
from lhn.database import transaction, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint, Measure, MeasureType
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
                     "at the site on their profile. A period is computed once, when it has ended. Counts of 1 to 10 "
                     "are hidden from everyone."),
    )  # fmt: skip
    measure = measures.create_measure(instrument.community, fields, by=by)
    measure.computed_from = COMPUTED_FROM
    pro_measure = ProMeasure(measure=measure, instrument=instrument, statistic=statistic, threshold=threshold)
    db.session.add(pro_measure)
    db.session.flush()
    publish_closed(pro_measure)
    return pro_measure


def measures_of(instrument: Instrument) -> list[ProMeasure]:
    return list(db.session.scalars(select(ProMeasure).where(ProMeasure.instrument_id == instrument.id)
                                   .options(joinedload(ProMeasure.measure)).order_by(ProMeasure.id)))  # fmt: skip


def measures_defined(instrument: Instrument, *, viewer: object) -> list[ProMeasure]:
    """The measures computed from the instrument, for its community's owners (the page where they define more).
    Raises NotFound for anyone else."""
    if not may_offer(viewer, instrument.community):
        raise NotFound("No such page.")
    return measures_of(instrument)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def compute(pro_measure: ProMeasure, starts: Iterable[date]) -> dict[Cell, tuple[float, float]]:
    """The measure's values per (site, period) for the periods beginning on `starts`: (numerator, denominator) as
    measure data holds them, from the answers of people who are members and consent now. One query."""
    wanted = set(starts)
    if not wanted:
        return {}
    measure, community_id = pro_measure.measure, pro_measure.instrument.community_id
    kind = measure.period.value
    stmt = (
        select(ProResponse.user_id, User.institution_id, ProResponse.completed_at, ProResponse.id, ProResponse.total)
        .join(User, User.id == ProResponse.user_id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.community_id == community_id))
        .join(PurposeConsent, (PurposeConsent.user_id == User.id) & (PurposeConsent.community_id == community_id)
              & (PurposeConsent.purpose == Purpose.QI_AGGREGATES) & PurposeConsent.granted.is_(True))
        .where(ProResponse.instrument_id == pro_measure.instrument_id,
               ProResponse.status == ResponseStatus.COMPLETED, User.institution_id.is_not(None),
               ProResponse.completed_at >= _moment(min(wanted)),
               ProResponse.completed_at < _moment(periods.following(max(wanted), kind)))
    )  # fmt: skip
    latest: dict[tuple[int, Cell], tuple[datetime, int, float]] = {}
    for user_id, site_id, completed_at, response_id, total in db.session.execute(stmt):
        if site_id is None or completed_at is None:  # the query's conditions: for the type checker
            continue
        cell = (site_id, periods.start_of(completed_at.date(), kind))
        key = (user_id, cell)
        if cell[1] in wanted and (key not in latest or (completed_at, response_id) > latest[key][:2]):
            latest[key] = (completed_at, response_id, total or 0.0)
    totals: dict[Cell, list[float]] = {}
    for (_, cell), (_, _, total) in latest.items():
        totals.setdefault(cell, []).append(total)
    if pro_measure.statistic == Statistic.SHARE_AT_LEAST:
        threshold = pro_measure.threshold or 0.0
        return {cell: (float(sum(t >= threshold for t in ts)), float(len(ts))) for cell, ts in totals.items()}
    return {cell: (round(sum(ts) / len(ts), 2), float(len(ts))) for cell, ts in totals.items()}


def closed_periods(pro_measure: ProMeasure, today: date) -> list[date]:
    """The periods that have ended by `today` and are not computed yet: from the first answer to the instrument (or
    after the last period computed) up to the last period that ended."""
    kind = pro_measure.measure.period.value
    last = periods.start_of(periods.start_of(today, kind) - timedelta(days=1), kind)
    if pro_measure.computed_through is not None:
        first = periods.following(pro_measure.computed_through, kind)
    else:
        earliest = db.session.scalar(select(func.min(ProResponse.completed_at)).where(
            ProResponse.instrument_id == pro_measure.instrument_id, ProResponse.status == ResponseStatus.COMPLETED))
        if earliest is None:
            return []
        first = periods.start_of(earliest.date(), kind)
    return periods.span(first, last, kind) if first <= last else []


def publish_closed(pro_measure: ProMeasure, *, today: date | None = None) -> int:
    """Compute the periods that ended since the last computation, once: a period's values are fixed when it closes
    (an open period would change with each answer, and the change would tell one person's score; a closed one
    recomputed after someone withdraws would tell theirs). Consent, membership and site are read as they are at
    that moment, so a withdrawal leaves every period computed after it. Returns how many values were stored.
    Flushes."""
    starts = closed_periods(pro_measure, today or utcnow().date())
    if not starts:
        return 0
    values = compute(pro_measure, starts)
    measure, now = pro_measure.measure, utcnow()
    if values:
        db.session.execute(insert(cast(Table, DataPoint.__table__)), [
            {"measure_id": measure.id, "institution_id": site_id, "period_start": start, "numerator": numerator,
             "denominator": denominator, "measure_version": measure.version, "source": SOURCE,
             "submitted_by_id": None, "submitted_at": now}
            for (site_id, start), (numerator, denominator) in sorted(values.items())])  # fmt: skip
    pro_measure.computed_through = starts[-1]
    db.session.flush()
    return len(values)


def publish_due(today: date | None = None) -> int:
    """The periodic job: every computed measure's newly closed periods, each measure in its own write
    transaction. Returns how many values were stored."""
    stored = 0
    for measure_id in db.session.scalars(select(ProMeasure.id).order_by(ProMeasure.id)).all():
        with transaction():
            pro_measure = db.session.get(ProMeasure, measure_id, with_for_update=True)  # one process computes it
            stored += publish_closed(pro_measure, today=today) if pro_measure is not None else 0
    return stored


def measures_in(community_id: int, instrument: Instrument | None = None) -> list[Measure]:
    """The measures computed from the community's instruments (or from one of them)."""
    stmt = select(Measure).join(ProMeasure, ProMeasure.measure_id == Measure.id).join(Instrument).where(
        Instrument.community_id == community_id).order_by(Measure.id)  # fmt: skip
    if instrument is not None:
        stmt = stmt.where(Instrument.id == instrument.id)
    return list(db.session.scalars(stmt))


def counts_in(user_id: int, community_id: int) -> bool:
    """Whether the person's answers count in the community's computed measures (their consent, and a site)."""
    user = db.session.get(User, user_id)
    return user is not None and user.institution_id is not None and db.session.scalar(select(
        PurposeConsent.granted).where(PurposeConsent.user_id == user_id, PurposeConsent.community_id == community_id,
                                      PurposeConsent.purpose == Purpose.QI_AGGREGATES)) is True  # fmt: skip
