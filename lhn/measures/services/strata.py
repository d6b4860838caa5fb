"""Equity strata of a measure's data: a site's breakdown of a period's total by a stratifier (record, check that
it adds up), and what a reader sees of it: each stratum's network value per period, the gap between the best
and the worst stratum, and each site's stratum cells, suppressed by privacy_strata.

A site whose current breakdown for a period doesn't add up to its current total (the total was sent again
since), or that sent none, counts as everyone in UNKNOWN ("Not recorded"): the table stays whole, so the
stratum totals add up to the network total and the suppression's guarantees hold.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select

from lhn.accounts.models import Institution, User
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures.models import DataPoint, Measure, MeasureType, StratumDataPoint
from lhn.measures.services import periods, privacy
from lhn.measures.services.charts import Cell, load_data
from lhn.measures.services.core import access, record_restricted_view
from lhn.measures.services.data import INTEGER_FIELDS, Row, number_of, validate_row
from lhn.measures.services.privacy_strata import suppress_strata
from lhn.measures.services.sites import consenting_sites
from lhn.measures.services.stratifiers import UNKNOWN, find_stratifier, stratum_codes

# Fractional fields (a rate's exposure) add up within this relative tolerance.
TOLERANCE = 1e-6


def get_stratifier(measure: Measure, code: str) -> dict[str, Any]:
    """The measure's stratifier of that code. Raises NotFound."""
    found = find_stratifier(measure.stratifiers, code)
    if found is None:
        raise NotFound("The measure has no such stratifier.")
    return found


def record_strata(
    measure: Measure,
    site: str,
    period: str,
    stratifier: str,
    values: dict[str, dict[str, Any]],
    *,
    by: User,
    source: str = "form",
) -> list[StratumDataPoint]:
    """A site's breakdown of one period by one stratifier (the form, the API, files): `values` maps a stratum code to
    its values by the measure's field names; a stratum left out has nobody in it. The breakdown must add up to the
    site's current total for the period (submit the total first). It replaces the site's earlier breakdown for that
    stratifier and period, which stays as history. Only the site's team, with consent recorded.

    Flushes. Raises ValidationFailed (fields: stratifier, the strata as "<code>.<field>", "" for the sum),
    PermissionDenied.
    """
    acc = access(measure, by)
    if not acc.can_submit:
        raise PermissionDenied("Only a site's team submits its data.")
    definition = find_stratifier(measure.stratifiers, stratifier)
    if definition is None:
        raise ValidationFailed({"stratifier": "The measure has no such stratifier."})
    codes = stratum_codes(definition)
    unknown = sorted(set(values) - set(codes))
    if unknown:
        raise ValidationFailed({"stratum": f"No stratum “{unknown[0][:40]}”: use {', '.join(codes)}."})
    site_row = db.session.scalar(select(Institution).where(Institution.slug == str(site).strip()))
    today = utcnow().date()
    allowed = acc.submit_site_ids
    sites = {site_row.slug: site_row} if site_row is not None else {}
    errors: dict[str, str] = {}
    parsed: dict[str, tuple[float, float | None]] = {}
    for code in codes:
        given = values.get(code)
        if not given or all(v in (None, "") for v in given.values()) or _nobody(measure.type, given):
            continue  # nobody in this stratum (files write such a stratum as zeros)
        item, problems = validate_row(
            measure, Row(site=site, period=period, values=given), sites=sites, allowed_sites=allowed, today=today
        )
        for problem in problems:
            key = problem.field if problem.field in ("site", "period") else f"{code}.{problem.field}"
            errors.setdefault(key, problem.message)
        if item is not None:
            parsed[code] = (item.numerator, item.denominator)
    if site_row is None and "site" not in errors:
        errors["site"] = f"No site “{str(site)[:40]}”."
    elif site_row is not None and site_row.id not in allowed:  # checked here too when every stratum is empty
        errors["site"] = f"You can't submit data for {site_row.name}: only its own team can."
    try:
        start = periods.parse(str(period or ""), measure.period.value)
    except periods.PeriodError as exc:
        errors.setdefault("period", str(exc))
    if errors:
        raise ValidationFailed(errors)
    assert site_row is not None  # noqa: S101 - errors above otherwise
    if site_row.id not in consenting_sites(measure.community_id):
        raise ValidationFailed({"site": f"{site_row.name} hasn't recorded its consent to contribute data yet."})
    total = db.session.scalar(
        select(DataPoint).where(
            DataPoint.measure_id == measure.id,
            DataPoint.institution_id == site_row.id,
            DataPoint.period_start == start,
            DataPoint.superseded_at.is_(None),
        )
    )
    if total is None:
        raise ValidationFailed(
            {"": f"Submit {site_row.name}'s total for {period.strip()} first: the strata add up to it."}
        )
    mismatch = sum_problem(measure.type, list(parsed.values()), (total.numerator, total.denominator))
    if mismatch:
        raise ValidationFailed({"": mismatch})
    return _store(measure, site_row.id, start, stratifier, parsed, by=by, source=source)


def _nobody(kind: MeasureType, given: dict[str, Any]) -> bool:
    """Whether a stratum's values say nobody is in it: every count 0 (a continuous measure's n 0)."""
    names = ("n",) if kind == MeasureType.CONTINUOUS else kind.fields
    numbers = [number_of(given.get(name)) for name in names]
    return all(n == 0 for n in numbers)


def sum_problem(kind: MeasureType, strata: list[tuple[float, float | None]], total: tuple[float, float | None]) -> str:
    """Why a breakdown doesn't add up to the site's total, or "" when it does. Counts add up exactly; a rate's
    exposure within TOLERANCE; a continuous measure's n adds up (its means are of different people)."""
    names = kind.fields
    first = sum(a for a, _ in strata)
    second = sum(b or 0 for _, b in strata)
    checks: list[tuple[str, float, float | None]] = []
    if kind == MeasureType.CONTINUOUS:
        checks.append(("n", second, total[1]))
    else:
        checks.append((names[0], first, total[0]))
        if len(names) > 1:
            checks.append((names[1], second, total[1]))
    for name, got, want in checks:
        want = want or 0
        exact = name in INTEGER_FIELDS
        if (got != want) if exact else abs(got - want) > TOLERANCE * max(abs(want), 1):
            return f"The strata's {name} add up to {got:g}, but the site's total {name} is {want:g}: they must match."
    return ""


def _store(
    measure: Measure,
    site_id: int,
    start: date,
    stratifier: str,
    parsed: dict[str, tuple[float, float | None]],
    *,
    by: User,
    source: str,
) -> list[StratumDataPoint]:
    current = {
        row.stratum: row
        for row in db.session.scalars(
            select(StratumDataPoint).where(
                StratumDataPoint.measure_id == measure.id,
                StratumDataPoint.institution_id == site_id,
                StratumDataPoint.period_start == start,
                StratumDataPoint.stratifier == stratifier,
                StratumDataPoint.superseded_at.is_(None),
            )
        )
    }
    now = utcnow()
    for code, row in current.items():
        if parsed.get(code) != (row.numerator, row.denominator):
            row.superseded_at = now
    db.session.flush()  # superseded rows leave the unique "current cell" index first
    stored = []
    for code, (a, b) in parsed.items():
        old = current.get(code)
        if old is not None and old.superseded_at is None:
            stored.append(old)
            continue
        row = StratumDataPoint(
            measure_id=measure.id,
            institution_id=site_id,
            period_start=start,
            stratifier=stratifier,
            stratum=code,
            numerator=a,
            denominator=b,
            measure_version=measure.version,
            source=source,
            submitted_by_id=by.id,
            submitted_at=now,
        )
        db.session.add(row)
        stored.append(row)
    db.session.flush()
    return stored


# --- what a reader sees ---------------------------------------------------------------------------------------


@dataclass
class StratumPoint:
    period: str
    value: float | None  # display units; None when hidden (or nobody is in the stratum)
    numerator: float | None
    denominator: float | None
    hidden: bool


@dataclass
class StratumSeries:
    code: str
    label: str
    points: list[StratumPoint]


@dataclass
class SiteStratumCell:
    site: Institution
    period: str
    stratum: str
    numerator: float | None
    denominator: float | None
    masked: bool
    recorded: bool = True  # False: the site sent no breakdown (or one its total no longer matches)
    version: int = 0  # the definition version the value was recorded against


@dataclass
class StrataView:
    measure: Measure
    stratifier: dict[str, Any]
    periods: list[str]
    series: list[StratumSeries]
    gaps: list[float | None]  # best − worst recorded stratum per period, in display units; None where hidden
    cells: list[SiteStratumCell] = field(default_factory=list)  # the sites' cells the reader may see
    restricted: bool = False  # the cells hold some of the reader's own sites' cells withheld from everyone else

    @property
    def hidden_count(self) -> int:
        return sum(1 for s in self.series for p in s.points if p.hidden)


def _value(kind: MeasureType, a: float, b: float | None, scale: float) -> float | None:
    """A stratum's value in display units from its summed cells (continuous: `a` is Σ value × n); None when nobody
    is in it, or when sums near the largest float overflow (never inf or NaN)."""
    if kind != MeasureType.COUNT and not b:
        return None
    value = (a if kind == MeasureType.COUNT else a / (b or 1)) * scale
    return value if math.isfinite(value) else None


def strata_view(measure: Measure, stratifier: str, *, viewer: object) -> StrataView:
    """Each stratum's network value per period, the gap between strata, and the sites' stratum cells, as the
    reader may see them: suppression per stratum (privacy_strata) on top of the sites' own pattern. Whoever reads
    the measure. Raises NotFound (unreadable measure, no such stratifier)."""
    acc = access(measure, viewer)
    definition = get_stratifier(measure, stratifier)
    codes = stratum_codes(definition)
    data = load_data(measure)
    kind = measure.type
    rows = db.session.scalars(
        select(StratumDataPoint).where(
            StratumDataPoint.measure_id == measure.id,
            StratumDataPoint.stratifier == stratifier,
            StratumDataPoint.superseded_at.is_(None),
        )
    )
    given: dict[tuple[int, date], dict[str, Cell]] = {}
    for row in rows:
        if row.stratum in codes:
            given.setdefault((row.institution_id, row.period_start), {})[row.stratum] = Cell(
                row.numerator, row.denominator, row.measure_version
            )
    table: dict[tuple[int, date], dict[str, Cell]] = {}
    recorded: set[tuple[int, date]] = set()
    for site_id in data.consenting:
        for start, total in data.cells.get(site_id, {}).items():
            breakdown = given.get((site_id, start), {})
            pairs = [(c.numerator, c.denominator) for c in breakdown.values()]
            if not breakdown or sum_problem(kind, pairs, (total.numerator, total.denominator)):
                breakdown = {UNKNOWN: total}  # nobody's stratum recorded (see the module docstring)
            else:
                recorded.add((site_id, start))
            table[(site_id, start)] = {
                code: breakdown.get(code, Cell(0.0, 0.0 if kind != MeasureType.COUNT else None, total.version))
                for code in codes
            }
    one_d = data.suppression(acc.known_site_ids)
    counts: dict[tuple[Hashable, Hashable, Hashable], Sequence[float]] = {
        (site_id, code, start): privacy.counts_of(kind.value, cell.numerator, cell.denominator)
        for (site_id, start), breakdown in table.items()
        for code, cell in breakdown.items()
    }
    pattern = suppress_strata(
        counts,
        masked_sites=one_d.masked,
        hidden_network=one_d.hidden_totals,
        known_sites=acc.known_site_ids,
        coalition=current_app.config["MEASURES_SUPPRESSION_COALITION"],
    )
    # Only periods some site broke down: before any did, every stratum but Not recorded would be empty.
    starts = sorted({start for _, start in recorded})
    labels = [periods.label(start, measure.period.value) for start in starts]
    scale = measure.multiplier if kind in (MeasureType.PROPORTION, MeasureType.RATE) else 1.0
    by_start: dict[date, list[dict[str, Cell]]] = {}
    for (_, start), breakdown in table.items():  # the whole table: a period's strata sum every site
        by_start.setdefault(start, []).append(breakdown)
    series = []
    for stratum in definition["strata"]:
        points = []
        for start, label in zip(starts, labels, strict=True):
            column = [b[stratum["code"]] for b in by_start[start]]
            a = sum(
                c.numerator * (c.denominator or 0) if kind == MeasureType.CONTINUOUS else c.numerator for c in column
            )
            b = sum(c.denominator or 0 for c in column) if kind != MeasureType.COUNT else None
            if pattern.total_hidden(stratum["code"], start):
                points.append(StratumPoint(label, None, None, None, hidden=True))
                continue
            value = _value(kind, a, b, scale)
            shown_a = None if kind == MeasureType.CONTINUOUS or not math.isfinite(a) else a
            shown_b = b if b is not None and math.isfinite(b) else None
            points.append(StratumPoint(label, value, shown_a, shown_b, hidden=False))
        series.append(StratumSeries(stratum["code"], stratum["label"], points))
    by_start_set = set(starts)
    gaps: list[float | None] = []
    for index in range(len(starts)):
        named = [s.points[index].value for s in series if s.code != UNKNOWN]
        known = [v for v in named if v is not None]
        gap = max(known) - min(known) if len(known) == len(named) >= 2 else None
        gaps.append(gap if gap is not None and math.isfinite(gap) else None)
    cells = [
        SiteStratumCell(
            data.sites[site_id],
            periods.label(start, measure.period.value),
            code,
            None if (masked := pattern.is_masked(site_id, code, start)) else cell.numerator,
            None if masked else cell.denominator,
            masked,
            (site_id, start) in recorded,
            cell.version,
        )
        for (site_id, start), breakdown in sorted(
            table.items(), key=lambda item: (data.sites[item[0][0]].slug, item[0][1])
        )
        if start in by_start_set
        for code, cell in breakdown.items()
    ]
    restricted = any(site_id in acc.known_site_ids for site_id, _, start in pattern.masked if start in by_start_set)
    return StrataView(measure, definition, labels, series, gaps, cells, restricted)


def record_strata_view(view: StrataView, *, by: object) -> bool:
    """Audit the sites' cells shown to a site's team when they hold its cells withheld from everyone else (as
    charts.record_view). Call after they were shown, inside transaction(). Returns whether a row was recorded."""
    if not view.restricted:
        return False
    record_restricted_view(view.measure, reader=by)  # type: ignore[arg-type]  # a team member is a User
    return True
