"""Site data: submit a period's value, import many (CSV, FHIR) all-or-nothing, history, CSV export."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.database import slow_work, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures import charts, periods
from lhn.measures import services as measures
from lhn.measures.core import record_export, record_restricted_view
from lhn.measures.models import DataPoint, Measure, MeasureType
from lhn.pagination import Page, paginate

MAX_ROWS = 5000
MAX_EXPOSURE = 1e12


@dataclass
class Row:
    """One period's value as a person or a file gave it (strings or numbers); `line` for files."""

    site: str
    period: str
    values: dict[str, Any]
    line: int | None = None
    problem: str = ""  # a problem found while reading the file (e.g. a short line)
    where: str = "Line"  # what `line` counts: lines of a CSV file, entries of a FHIR Bundle


@dataclass
class RowError:
    line: int | None
    field: str
    message: str
    where: str = "Line"

    def __str__(self) -> str:
        where = f"{self.where} {self.line}" if self.line is not None else "Row"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RowsInvalid(ValidationFailed):
    """Some rows are bad: nothing was stored. `row_errors` lists every problem, with its line."""

    def __init__(self, row_errors: list[RowError]) -> None:
        fields: dict[str, str] = {}
        for error in row_errors:
            key = f"{error.where.lower()} {error.line}" if error.line is not None else (error.field or "")
            fields[key] = f"{fields[key]} {error.message}" if key in fields else str(error)
        count = len({e.line for e in row_errors})
        super().__init__(fields, f"Nothing was imported: {count} row{'s' if count != 1 else ''} need fixing.")
        self.row_errors = row_errors


@dataclass
class Parsed:
    site: Institution
    start: date
    numerator: float
    denominator: float | None
    line: int | None
    where: str = "Line"


@dataclass
class ImportResult:
    stored: list[DataPoint] = field(default_factory=list)
    replaced: int = 0
    signals_sent: int = 0


def _number(raw: Any, *, integer: bool) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip().replace(",", "") if isinstance(raw, str) else ""
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if not math.isfinite(value) or (integer and value != int(value)):
        return None
    return value


def _err(row: Row, field_name: str, message: str) -> RowError:
    return RowError(row.line, field_name, message, row.where)


def validate_row(
    measure: Measure, row: Row, *, allowed_sites: set[int], today: date
) -> tuple[Parsed | None, list[RowError]]:
    """Check one row against the measure's type and period and the submitter's sites. No database writes."""
    errors: list[RowError] = [_err(row, "", row.problem)] if row.problem else []
    kind = measure.type
    site = accounts.find_institution(str(row.site or "").strip())
    if site is None:
        errors.append(_err(row, "site", f"No site “{row.site}”: use an institution's short name (slug)."))
    elif site.id not in allowed_sites:
        errors.append(_err(row, "site", f"You can't submit data for {site.name}: only its own team can."))
    start = None
    try:
        start = periods.parse(str(row.period or ""), measure.period.value)
    except periods.PeriodError as exc:
        errors.append(_err(row, "period", str(exc)))
    if start is not None and start > periods.start_of(today, measure.period.value):
        errors.append(_err(row, "period", "That period hasn't started yet: data can't be from the future."))
    names = kind.fields
    integer = {
        "numerator": True,
        "denominator": True,
        "events": True,
        "exposure": True,
        "count": True,
        "value": False,
        "n": True,
    }
    values: dict[str, float] = {}
    for name in names:
        raw = row.values.get(name)
        number = _number(raw, integer=integer[name])
        if number is None:
            what = "a whole number" if integer[name] else "a number"
            errors.append(_err(row, name, f"Give {name} as {what}."))
        elif number < 0 and name != "value":
            errors.append(_err(row, name, f"{name.capitalize()} can't be negative."))
        else:
            values[name] = number
    extra = sorted(k for k, v in row.values.items() if k not in names and v not in (None, ""))
    if extra:
        errors.append(
            _err(row, extra[0], f"A {kind.value} measure takes {' and '.join(names)}, not {', '.join(extra)}.")
        )
    if kind == MeasureType.PROPORTION and len(values) == 2:
        if values["denominator"] == 0:
            errors.append(_err(row, "denominator", "The denominator must be at least 1."))
        elif values["numerator"] > values["denominator"]:
            errors.append(_err(row, "numerator", "The numerator can't be larger than the denominator."))
    if kind == MeasureType.RATE and "exposure" in values and not 0 < values["exposure"] <= MAX_EXPOSURE:
        errors.append(_err(row, "exposure", "The exposure must be more than 0."))
    if kind == MeasureType.CONTINUOUS and values.get("n") == 0:
        errors.append(_err(row, "n", "n (how many people the value is the mean of) must be at least 1."))
    if errors or site is None or start is None:
        return None, errors
    a, b = (values[names[0]], values[names[1]]) if len(names) == 2 else (values[names[0]], None)
    return Parsed(site, start, a, b, row.line, row.where), []


def check_rows(measure: Measure, rows: list[Row], *, allowed_sites: set[int]) -> tuple[list[Parsed], list[RowError]]:
    """Every row's problems (values, periods, sites, duplicates, consent) without storing anything."""
    today = utcnow().date()
    parsed: list[Parsed] = []
    errors: list[RowError] = []
    seen: dict[tuple[int, date], int | None] = {}
    for row in rows:
        item, problems = validate_row(measure, row, allowed_sites=allowed_sites, today=today)
        errors += problems
        if item is None:
            continue
        key = (item.site.id, item.start)
        if key in seen:
            first = f"{row.where.lower()} {seen[key]}" if seen[key] is not None else "another row"
            errors.append(_err(row, "period", f"{item.site.name} {row.period} is also on {first}."))
            continue
        seen[key] = row.line
        parsed.append(item)
    for site_id in {p.site.id for p in parsed}:
        if measures.active_consent(measure.community_id, site_id) is None:
            site = next(p.site for p in parsed if p.site.id == site_id)
            line = next(p.line for p in parsed if p.site.id == site_id)
            where = next(p.where for p in parsed if p.site.id == site_id)
            errors.append(
                RowError(line, "site", f"{site.name} hasn't recorded its consent to contribute data yet.", where)
            )
    return parsed, errors


def import_rows(measure: Measure, rows: list[Row], *, by: User, source: str) -> ImportResult:
    """Store many periods' values, all or nothing: if any row is bad nothing is stored and every bad row is
    reported with its line. A resubmitted period supersedes the earlier value, which stays in the history.

    Sites must have active consent (recorded once by their team). Notifies owners and site teams of SPC
    signals the new data made fire. Flushes. Raises RowsInvalid, PermissionDenied.
    """
    acc = measures.access(measure, by)
    if not acc.team_site_ids:
        raise PermissionDenied(
            "Only a site's team submits its data: verified clinicians and researchers of the "
            "site who are members, and site data leads appointed by the measure's owners."
        )
    if not rows:
        raise RowsInvalid([RowError(None, "", "There are no rows to import.")])
    if len(rows) > MAX_ROWS:
        raise RowsInvalid([RowError(None, "", f"Import at most {MAX_ROWS} rows at a time.")])
    parsed, errors = check_rows(measure, rows, allowed_sites=acc.team_site_ids)
    if errors:
        raise RowsInvalid(sorted(errors, key=lambda e: (e.line or 0, e.field)))
    before = charts.snapshot(measure, {p.site.id for p in parsed})
    result = ImportResult()
    now = utcnow()
    current = {
        (d.institution_id, d.period_start): d
        for d in db.session.scalars(
            select(DataPoint).where(
                DataPoint.measure_id == measure.id,
                DataPoint.superseded_at.is_(None),
                DataPoint.institution_id.in_({p.site.id for p in parsed}),
            )
        )
    }
    for item in parsed:
        old = current.get((item.site.id, item.start))
        if old is not None:
            if old.numerator == item.numerator and old.denominator == item.denominator:
                continue  # the same value again: nothing to supersede
            old.superseded_at = now
            result.replaced += 1
    db.session.flush()  # superseded rows leave the unique "current cell" index before the new ones arrive
    for item in parsed:
        old = current.get((item.site.id, item.start))
        if old is not None and old.superseded_at is None:
            continue
        point = DataPoint(
            measure_id=measure.id,
            institution_id=item.site.id,
            period_start=item.start,
            numerator=item.numerator,
            denominator=item.denominator,
            measure_version=measure.version,
            source=source,
            submitted_by_id=by.id,
            submitted_at=now,
        )
        db.session.add(point)
        result.stored.append(point)
    db.session.flush()
    result.signals_sent = charts.notify_new_signals(measure, before, by=by)
    return result


def record_value(
    measure: Measure, site: str, period: str, values: dict[str, Any], *, by: User, source: str = "form"
) -> DataPoint:
    """One site's value for one period (the form and the API); returns the current value of that cell.

    Raises ValidationFailed with field messages, PermissionDenied."""
    try:
        result = import_rows(measure, [Row(site=site, period=period, values=values)], by=by, source=source)
    except RowsInvalid as exc:
        raise ValidationFailed({e.field or "": e.message for e in exc.row_errors}) from None
    if result.stored:
        return result.stored[0]
    institution = accounts.find_institution(site.strip())
    start = periods.parse(period, measure.period.value)
    return db.session.scalar(
        select(DataPoint).where(
            DataPoint.measure_id == measure.id,
            DataPoint.superseded_at.is_(None),
            DataPoint.institution_id == institution.id,
            DataPoint.period_start == start,
        )  # type: ignore[union-attr]
    )  # type: ignore[return-value]


# --- CSV -----------------------------------------------------------------------------------------


def csv_columns(measure: Measure) -> list[str]:
    return ["site", "period", *measure.type.fields]


def parse_csv(measure: Measure, text: str) -> list[Row]:
    """Rows of a CSV file with a header: site, period, then the type's fields. Raises RowsInvalid for a file
    that can't be read as such (bad header); row problems are left to import_rows, which reports them all."""
    slow_work("parsing a CSV file")
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RowsInvalid([RowError(None, "", "The file is empty.")]) from None
    except csv.Error as exc:
        raise RowsInvalid([RowError(1, "", f"The file is not valid CSV ({exc}).")]) from None
    needed = csv_columns(measure)
    missing = [c for c in needed if c not in header]
    unknown = [c for c in header if c and c not in needed and c not in ("measure_version", "masked")]
    problems = []
    if missing:
        problems.append(
            RowError(1, "", f"The header needs the columns {', '.join(needed)}; missing: {', '.join(missing)}.")
        )
    if unknown:
        problems.append(RowError(1, "", f"Unknown columns: {', '.join(unknown)}. Use {', '.join(needed)}."))
    if problems:
        raise RowsInvalid(problems)
    rows = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            data = dict(zip(header, [c.strip() for c in record], strict=False))
            problem = (
                "" if len(record) == len(header) else f"It has {len(record)} columns; the header has {len(header)}."
            )
            rows.append(
                Row(
                    site=data.get("site", ""),
                    period=data.get("period", ""),
                    line=line,
                    problem=problem,
                    values={k: data.get(k) for k in measure.type.fields},
                )
            )
    except csv.Error as exc:
        raise RowsInvalid([RowError(reader.line_num, "", f"The file is not valid CSV ({exc}).")]) from None
    return rows


def preview_rows(measure: Measure, rows: list[Row], *, by: User) -> list[tuple[Row, list[RowError]]]:
    """Each row with its problems, without storing anything (the upload preview)."""
    acc = measures.access(measure, by)
    today = utcnow().date()
    return [(row, validate_row(measure, row, allowed_sites=acc.team_site_ids, today=today)[1]) for row in rows]


def export_csv(measure: Measure, *, viewer: object) -> str:
    """Every current value the viewer may see, suppressed as in every cross-site view (masked cells empty).

    The export is audited (core.record_export), so callers commit. Raises NotFound (not readable)."""
    acc = measures.access(measure, viewer)
    record_export(measure, reader=viewer, file_format="csv")
    data = charts.load_data(measure)
    suppression = data.suppression(acc.team_site_ids)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*csv_columns(measure), "measure_version", "masked"])
    for site_id in sorted(data.cells, key=lambda i: data.sites[i].slug):
        if site_id not in data.consenting and site_id not in acc.team_site_ids:
            continue
        for start, cell in sorted(data.cells[site_id].items()):
            label = periods.label(start, measure.period.value)
            own = site_id in acc.team_site_ids
            if not own and suppression.is_masked(site_id, start):
                writer.writerow([data.sites[site_id].slug, label, *([""] * len(measure.type.fields)), "", "yes"])
                continue
            values = [_plain_number(cell.numerator)]
            if cell.denominator is not None:
                values.append(_plain_number(cell.denominator))
            writer.writerow([data.sites[site_id].slug, label, *values, cell.version, "no"])
    return out.getvalue()


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def history(
    measure: Measure, site: Institution, *, viewer: object, cursor: str | None = None, limit: int = 50
) -> Page[DataPoint]:
    """Every value ever submitted for a site, newest period first (a period's resubmissions newest first): the
    site's team (and only they) see it whole. It is restricted data: each view is audited, so callers commit.
    Raises NotFound for anyone else, ValidationFailed (a bad cursor)."""
    acc = measures.access(measure, viewer)
    if site.id not in acc.team_site_ids:
        raise NotFound("Only the site's own team sees its submission history.")
    record_restricted_view(measure, reader=viewer)  # type: ignore[arg-type]  # a team member is a User
    stmt = (
        select(DataPoint)
        .where(DataPoint.measure_id == measure.id, DataPoint.institution_id == site.id)
        .options(joinedload(DataPoint.submitted_by).joinedload(User.institution))
    )
    return paginate(
        stmt,
        order_by=[DataPoint.period_start, DataPoint.id],
        key=lambda p: (p.period_start, p.id),
        cursor=cursor,
        limit=limit,
    )
