"""Site data: submit a period's value, import many all-or-nothing (CSV and FHIR files read elsewhere), history.

An import is checked whole before it writes: in reading(), without the write lock, the file is parsed, every row
validated, the sites' consent checked and the signals the new data will make fire computed in memory. The write
transaction then only re-reads what the writes depend on, supersedes and inserts rows in bulk and sends the
signals, so the largest accepted file holds SQLite's write lock well under a second (bench/imports.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import joinedload

from lhn.accounts.models import INSTITUTION_SLUG_MAX, Institution, User
from lhn.database import reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.inputs import text_problem
from lhn.measures.models import DataPoint, Measure, MeasureType
from lhn.measures.services import alerts, charts, periods
from lhn.measures.services.core import access, record_restricted_view, team_sites
from lhn.measures.services.sites import consenting_sites
from lhn.pagination import Page, paginate
from lhn.plurals import noun, plural

# The caps of one import, CSV or FHIR: pages, the API's OpenAPI description and docs/measures.md quote IMPORT_CAPS.
# Parsing and checking cost time linear in the file, outside the write lock; the rows cap bounds the write itself.
# The request cap (MAX_CONTENT_LENGTH, 2 MiB) leaves room for the form around a file at the byte cap.
MAX_IMPORT_ROWS = 5000  # rows of a CSV file, site reports of a FHIR Bundle
MAX_IMPORT_BYTES = 2_000_000  # of the file ("2 MB")
IMPORT_CAPS = f"at most {MAX_IMPORT_ROWS:,} rows and {MAX_IMPORT_BYTES // 1_000_000} MB per file"
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
    stratifier: str = ""  # with `stratum`: one stratum of the site's breakdown (services/strata_files.py)
    stratum: str = ""


@dataclass
class RowError:
    line: int | None
    field: str
    message: str
    where: str = "Line"

    def __str__(self) -> str:
        if self.line is None:
            return self.message  # about the whole file or the submission
        where = f"{self.where} {self.line}"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RowsInvalid(ValidationFailed):
    """Some rows are bad: nothing was stored. `row_errors` lists every problem, with its line."""

    def __init__(self, row_errors: list[RowError], message: str | None = None) -> None:
        fields: dict[str, str] = {}
        for error in row_errors:
            key = f"{error.where.lower()} {error.line}" if error.line is not None else (error.field or "")
            fields[key] = f"{fields[key]} {error.message}" if key in fields else str(error)
        count = len({e.line for e in row_errors})
        message = message or f"Nothing was imported: {plural(count, 'row')} {noun(count, 'needs', 'need')} fixing."
        super().__init__(fields, message)
        self.row_errors = row_errors


class ImportTooLarge(RowsInvalid, status=413):
    """A file over the caps (IMPORT_CAPS): refused whole, before its rows are checked. 413 over the API."""

    def __init__(self, message: str) -> None:
        super().__init__([RowError(None, "file", message)], message)


def check_upload_size(size: int | None) -> None:
    """Refuse a file (or request body) of `size` bytes over the byte cap, before it is read. Raises ImportTooLarge."""
    if size is not None and size > MAX_IMPORT_BYTES:
        raise ImportTooLarge(
            f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB: import {IMPORT_CAPS} (split it)."
        )


def check_row_count(count: int, what: str = "rows") -> None:
    """Refuse a file of more than MAX_IMPORT_ROWS rows (or `what`). Raises ImportTooLarge."""
    if count > MAX_IMPORT_ROWS:
        raise ImportTooLarge(f"The file has more than {MAX_IMPORT_ROWS:,} {what}: import {IMPORT_CAPS} (split it).")


@dataclass
class Parsed:
    """A row that passed every check: ids and numbers only, so it stays valid after reading()'s snapshot ends."""

    site_id: int
    site_name: str
    start: date
    numerator: float
    denominator: float | None
    line: int | None
    where: str = "Line"


@dataclass
class CheckedImport:
    """An import that passed every check, made in reading() (check_import) and stored by store_import."""

    rows: list[Parsed]
    measure_version: int  # the definition the rows were checked against
    new_signals: alerts.NewSignals


@dataclass
class ImportResult:
    stored: int = 0  # values stored (a period sent again with the same value is not stored again)
    replaced: int = 0  # of them, values that superseded an earlier one
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


def number_of(raw: Any) -> float | None:
    """A number as a person or a file gave it (text or a number), or None when it isn't one."""
    return _number(raw, integer=False)


def plain_number(value: float) -> str:
    """A stored number as a person or a file writes it, read back exactly by the checks: 30, 1234.5; past 2^53,
    where a float's digits stop being exact, in exponent form (1.7e+308, not 309 digits no form field takes)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _err(row: Row, field_name: str, message: str) -> RowError:
    return RowError(row.line, field_name, message, row.where)


# Counts of people or events are whole numbers; a mean ("value") and a rate's exposure (patient-days, person-years:
# time at risk, often fractional) needn't be.
INTEGER_FIELDS = {"numerator", "denominator", "events", "count", "n"}


def validate_row(
    measure: Measure, row: Row, *, sites: dict[str, Institution], allowed_sites: set[int], today: date
) -> tuple[Parsed | None, list[RowError]]:
    """Check one row against the measure's type and period and the submitter's sites (`sites` by slug: the
    institutions the rows name, loaded once). No database access."""
    errors: list[RowError] = [_err(row, "", row.problem)] if row.problem else []
    kind = measure.type
    site = sites.get(str(row.site or "").strip())
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
    values: dict[str, float] = {}
    for name in names:
        raw = row.values.get(name)
        integer = name in INTEGER_FIELDS
        number = _number(raw, integer=integer)
        if number is None:
            what = "a whole number" if integer else "a number"
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
    return Parsed(site.id, site.name, start, a, b, row.line, row.where), []


def _sites_named(rows: list[Row]) -> dict[str, Institution]:
    """The institutions the rows name, by slug, in one query (a file names few sites, however many rows)."""
    slugs = {str(row.site or "").strip() for row in rows}
    # A longer one names no site, nor one with text no slug holds (PostgreSQL refuses a NUL in any query).
    slugs = {slug for slug in slugs if 0 < len(slug) <= INSTITUTION_SLUG_MAX and text_problem(slug) is None}
    if not slugs:
        return {}
    return {site.slug: site for site in db.session.scalars(select(Institution).where(Institution.slug.in_(slugs)))}


def check_rows(measure: Measure, rows: list[Row], *, allowed_sites: set[int]) -> tuple[list[Parsed], list[RowError]]:
    """Every row's problems (values, periods, sites, duplicates, consent) without storing anything. A few queries,
    however many rows."""
    today = utcnow().date()
    sites = _sites_named(rows)
    parsed: list[Parsed] = []
    errors: list[RowError] = []
    seen: dict[tuple[int, date], int | None] = {}
    for row in rows:
        item, problems = validate_row(measure, row, sites=sites, allowed_sites=allowed_sites, today=today)
        errors += problems
        # A second row for a site and period is reported whatever else is wrong with either row, so that fixing
        # the values doesn't reveal a duplicate the first check kept quiet about.
        site, key = _cell_of(measure, row, sites)
        if site is not None and key is not None:
            if key in seen:
                first = f"{row.where.lower()} {seen[key]}" if seen[key] is not None else "another row"
                errors.append(_err(row, "period", f"{site.name} {str(row.period).strip()} is also on {first}."))
                continue
            seen[key] = row.line
        if item is not None:
            parsed.append(item)
    errors += _consent_errors(measure, parsed, consenting_sites(measure.community_id))
    return parsed, errors


def _cell_of(measure: Measure, row: Row, sites: dict[str, Institution]) -> tuple[Institution | None, Any]:
    """The site and the (site id, period start) cell a row names, when both can be read."""
    site = sites.get(str(row.site or "").strip())
    try:
        start = periods.parse(str(row.period or ""), measure.period.value)
    except periods.PeriodError:
        return site, None
    return site, ((site.id, start) if site is not None else None)


def check_submission(measure: Measure, rows: list[Row], *, by: User) -> tuple[list[Parsed], list[RowError]]:
    """The one list of checks an import makes and its preview shows: the submitter on a site's team, some rows and
    not too many, and every row (check_rows). Reads only. Returns the rows that passed and every problem, sorted by
    line (problems without a line are about the whole submission). Raises ImportTooLarge, PermissionDenied."""
    acc = access(measure, by)
    if not acc.can_submit:
        raise PermissionDenied(
            "Only a site's team submits its data: verified clinicians and researchers of the "
            "site who are members, and site data leads appointed by the measure's owners."
        )
    if not rows:
        return [], [RowError(None, "", "There are no rows to import.")]
    check_row_count(len(rows))
    parsed, errors = check_rows(measure, rows, allowed_sites=acc.submit_site_ids)
    return parsed, sorted(errors, key=lambda e: (e.line or 0, e.field))


def _consent_errors(measure: Measure, parsed: list[Parsed], consenting: set[int]) -> list[RowError]:
    """One error per site without active consent, on its first row."""
    first: dict[int, Parsed] = {}
    for item in parsed:
        first.setdefault(item.site_id, item)
    return [
        RowError(item.line, "site", f"{item.site_name} hasn't recorded its consent to contribute data yet.", item.where)
        for site_id, item in first.items()
        if site_id not in consenting
    ]


def check_import(measure: Measure, rows: list[Row], *, by: User) -> CheckedImport:
    """Everything an import checks and computes before it writes: the submitter's sites, the caps, every row, the
    sites' consent, and the signals the new data will make fire (computed in memory). Reads only: call it in
    reading(), then store_import(). Raises RowsInvalid (every bad row, with its line), ImportTooLarge,
    PermissionDenied.
    """
    parsed, errors = check_submission(measure, rows, by=by)
    if errors:
        raise RowsInvalid(errors)
    cells = {(p.site_id, p.start): charts.Cell(p.numerator, p.denominator, measure.version) for p in parsed}
    return CheckedImport(parsed, measure.version, alerts.new_signals(measure, cells))


def store_import(measure: Measure, checked: CheckedImport, *, by: User, source: str) -> ImportResult:
    """Write a checked import in the write transaction: re-read what the writes depend on (the definition, the
    submitter's sites, consent and the current values, which others may have changed since the check), supersede
    changed values, insert the new ones in bulk and notify of the new signals. Nothing slow, nothing per row.

    Flushes. Raises RowsInvalid (the definition or a site's consent changed meanwhile: nothing stored),
    PermissionDenied.
    """
    site_ids = {p.site_id for p in checked.rows}
    if measure.version != checked.measure_version:
        raise RowsInvalid(
            [RowError(None, "", "The measure's definition changed while your data was checked: please send it again.")]
        )
    if not site_ids <= team_sites(measure, by):
        raise PermissionDenied("You are no longer on the team of every site in this data: nothing was imported.")
    errors = _consent_errors(measure, checked.rows, consenting_sites(measure.community_id))
    if errors:
        raise RowsInvalid(errors)
    cell = (DataPoint.id, DataPoint.institution_id, DataPoint.period_start, DataPoint.numerator, DataPoint.denominator)
    current = {
        (row.institution_id, row.period_start): row
        for row in db.session.execute(
            select(*cell).where(
                DataPoint.measure_id == measure.id,
                DataPoint.superseded_at.is_(None),
                DataPoint.institution_id.in_(site_ids),
            )
        )
    }
    now = utcnow()
    superseded, new = [], []
    for item in checked.rows:
        old = current.get((item.site_id, item.start))
        if old is not None and (old.numerator, old.denominator) == (item.numerator, item.denominator):
            continue  # the same value again: nothing to supersede
        if old is not None:
            superseded.append(old.id)
        new.append(
            {
                "measure_id": measure.id,
                "institution_id": item.site_id,
                "period_start": item.start,
                "numerator": item.numerator,
                "denominator": item.denominator,
                "measure_version": measure.version,
                "source": source,
                "submitted_by_id": by.id,
                "submitted_at": now,
            }
        )
    # Core statements, not ORM objects: several times cheaper per row, and this is the part that holds the lock.
    # Superseded rows leave the unique "current cell" index before the new ones arrive; at most MAX_IMPORT_ROWS
    # ids, well within SQLite's 32,766 parameters.
    table = cast(Table, DataPoint.__table__)  # a mapped class's table (typed as any FROM clause)
    if superseded:
        db.session.execute(update(table).where(table.c.id.in_(superseded)).values(superseded_at=now))
    if new:
        db.session.execute(insert(table), new)  # one executemany
    signals_sent = alerts.notify_new_signals(measure, checked.new_signals, by=by)
    return ImportResult(stored=len(new), replaced=len(superseded), signals_sent=signals_sent)


def import_rows(measure: Measure, rows: list[Row], *, by: User, source: str) -> ImportResult:
    """Store many periods' values, all or nothing: if any row is bad nothing is stored and every bad row is
    reported with its line. A resubmitted period supersedes the earlier value, which stays in the history.

    Sites must have active consent (recorded once by their team). Notifies owners and site teams of SPC
    signals the new data made fire. Checks in reading() (no write lock), then writes: call it in transaction().
    Flushes. Raises RowsInvalid, ImportTooLarge, PermissionDenied.
    """
    with reading():
        checked = check_import(measure, rows, by=by)
    return store_import(measure, checked, by=by, source=source)


def record_value(
    measure: Measure, site: str, period: str, values: dict[str, Any], *, by: User, source: str = "form"
) -> DataPoint:
    """One site's value for one period (the form and the API); returns the current value of that cell.

    Call in transaction(). Raises ValidationFailed with field messages, PermissionDenied."""
    try:
        import_rows(measure, [Row(site=site, period=period, values=values)], by=by, source=source)
    except RowsInvalid as exc:
        raise ValidationFailed({e.field or "": e.message for e in exc.row_errors}) from None
    start = periods.parse(period, measure.period.value)
    return db.session.execute(  # import_rows stored the cell, or kept the same value: it is there
        select(DataPoint)
        .join(Institution, DataPoint.institution_id == Institution.id)
        .where(
            DataPoint.measure_id == measure.id,
            DataPoint.superseded_at.is_(None),
            Institution.slug == site.strip(),
            DataPoint.period_start == start,
        )
    ).scalar_one()


def history(
    measure: Measure, site: Institution, *, viewer: object, cursor: str | None = None, limit: int = 50
) -> Page[DataPoint]:
    """Every value ever submitted for a site, newest period first (a period's resubmissions newest first): the
    site's team (and only they) see it whole. It is restricted data: each view is audited, so callers commit.
    Raises NotFound for anyone else, ValidationFailed (a bad cursor)."""
    acc = access(measure, viewer)
    if site.id not in acc.known_site_ids:
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
