"""Entering many periods at once: a site's last periods as the rows of a grid, prefilled with its current values,
stored all or nothing through the import (data.import_rows), so the same checks, consent rules, signals and write
lock rules apply as to a CSV file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from lhn.accounts.models import Institution, User
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied
from lhn.extensions import db
from lhn.measures.models import Measure
from lhn.measures.services import charts, periods
from lhn.measures.services.core import access
from lhn.measures.services.data import ImportResult, Row, RowError, RowsInvalid, import_rows, plain_number

ENTRY_PERIODS = 12  # the grid's rows: the current period and the ones before it
NOT_A_TEAM = ("Only a site's team enters its data: verified clinicians and researchers of the site who are members, "
              "and site data leads appointed by the measure's owners.")  # fmt: skip


@dataclass
class EntryRow:
    period: str  # as the checks read it: 2024-01, 2024-W05, 2024-Q1
    label: str  # as people read it: Jan 2024
    values: list[str]  # the current value's fields as text ("" where nothing was sent), one per type field


@dataclass
class EntryGrid:
    measure: Measure
    site: Institution
    sites: list[Institution]  # the sites whose team the reader is on, by name: they may pick any
    rows: list[EntryRow]  # oldest first
    # The rows show the site's data that is withheld from everyone else (masked cells, or no consent to share):
    # the caller audits the view (core.record_restricted_view), as the chart page does.
    restricted: bool

    def label(self, period: str) -> str:
        """A row's label for a period as sent back by the form (the text itself if it isn't one of the rows)."""
        return next((row.label for row in self.rows if row.period == period), period)


def entry_grid(measure: Measure, *, by: object, site_slug: str | None = None, today: date | None = None) -> EntryGrid:
    """The last ENTRY_PERIODS periods of one of the reader's sites (`site_slug`, else the first by name), each with
    its current value. For a site's team only. Reads only.

    Raises NotFound (the measure not readable; a site that isn't theirs, as for its history), PermissionDenied (not on
    any site's team)."""
    acc = access(measure, by)
    if not acc.can_submit:
        raise PermissionDenied(NOT_A_TEAM)
    sites = sorted(db.session.scalars(select(Institution).where(Institution.id.in_(acc.submit_site_ids))),
                   key=lambda s: s.name)  # fmt: skip
    site = next((s for s in sites if s.slug == site_slug), None) if site_slug else sites[0]
    if site is None:
        raise NotFound("Only the site's own team enters and sees its data here.")
    kind = measure.period.value
    data = charts.load_data(measure)
    cells = data.cells.get(site.id, {})
    width = len(measure.type.fields)
    rows = []
    for start in periods.recent(today or utcnow().date(), kind, ENTRY_PERIODS):
        cell = cells.get(start)
        values = [""] * width
        if cell is not None:
            values = [plain_number(v) if v is not None else "" for v in (cell.numerator, cell.denominator)][:width]
        rows.append(EntryRow(periods.label(start, kind), periods.short_label(start, kind), values))
    withheld = site.id not in data.consenting or data.suppression(acc.known_site_ids).withholds(site.id)
    return EntryGrid(measure, site, sites, rows, restricted=bool(cells) and withheld)


def enter_rows(measure: Measure, site_slug: str, entries: list[tuple[str, list[str]]], *, by: User) -> ImportResult:
    """Store a site's grid, all or nothing: `entries` are (period, the type's fields as typed) in the grid's order.
    Rows whose fields are all empty are skipped (emptying a row removes nothing); the others are checked as the rows
    of an import, numbered by their place in the grid ("Row 3"), and a row that repeats the current value stores
    nothing. Notifies of the signals the new data makes fire. Checks without the write lock, then writes: call it in
    transaction(). Flushes. Raises RowsInvalid, PermissionDenied."""
    names = measure.type.fields
    rows = [
        Row(site=site_slug, period=period, values=dict(zip(names, values, strict=False)), line=number, where="Row")
        for number, (period, values) in enumerate(entries, start=1)
        if any(value.strip() for value in values)
    ]
    if not rows and access(measure, by).can_submit:  # (someone on no team hears that instead, from the import)
        raise RowsInvalid([RowError(None, "", "Every row is empty: enter the values of at least one period.")])
    return import_rows(measure, rows, by=by, source="form")
