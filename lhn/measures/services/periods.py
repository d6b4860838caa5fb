"""Reporting periods: ISO weeks (2024-W05), months (2024-01) and quarters (2024-Q1). Pure: no Flask."""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEK, MONTH, QUARTER = "week", "month", "quarter"
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")
EXAMPLES = {WEEK: "2024-W05", MONTH: "2024-01", QUARTER: "2024-Q1"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PeriodError(ValueError):
    """The text is not a period of the expected kind; the message says what to write."""


def parse(text: str, kind: str) -> date:
    """The first day of the period written as `text` (2024-01, 2024-W05 or 2024-Q1, as `kind` requires)."""
    value = (text or "").strip().upper()
    try:
        if kind == MONTH and (m := _MONTH_RE.match(value)):
            return date(int(m[1]), int(m[2]), 1)
        if kind == QUARTER and (m := _QUARTER_RE.match(value)):
            return date(int(m[1]), 3 * (int(m[2]) - 1) + 1, 1)
        if kind == WEEK and (m := _WEEK_RE.match(value)):
            return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        pass
    raise PeriodError(f"Write the {kind} like {EXAMPLES[kind]}.")


def start_of(day: date, kind: str) -> date:
    """The first day of the period that contains `day`."""
    if kind == MONTH:
        return day.replace(day=1)
    if kind == QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day - timedelta(days=day.weekday())


def is_aligned(day: date, kind: str) -> bool:
    return start_of(day, kind) == day


def _year_and_part(start: date, kind: str) -> tuple[int, str]:
    """The year a period is in (a week's ISO year) and which part of it the period is: "01", "Q1" or "W05"."""
    if kind == MONTH:
        return start.year, f"{start.month:02d}"
    if kind == QUARTER:
        return start.year, f"Q{(start.month - 1) // 3 + 1}"
    year, week, _ = start.isocalendar()
    return year, f"W{week:02d}"


def label(start: date, kind: str) -> str:
    """The canonical text of a period (what parse() reads): "2024-01", "2024-Q1", "2024-W05"."""
    year, part = _year_and_part(start, kind)
    return f"{year:04d}-{part}"


def short_label(start: date, kind: str) -> str:
    """A label for axis ticks and tables: "Jan 2024", "Q1 2024", "W05 2024"."""
    year, part = _year_and_part(start, kind)
    return f"{_MONTHS[start.month - 1] if kind == MONTH else part} {year}"


def following(start: date, kind: str) -> date:
    if kind == MONTH:
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if kind == QUARTER:
        month = start.month + 3
        return date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return start + timedelta(days=7)


def end_of(start: date, kind: str) -> date:
    """The last day of the period."""
    return following(start, kind) - timedelta(days=1)


def recent(day: date, kind: str, count: int) -> list[date]:
    """The starts of the `count` periods up to the one that contains `day` (that one last), oldest first."""
    starts = [start_of(day, kind)]
    while len(starts) < count:
        starts.insert(0, start_of(starts[0] - timedelta(days=1), kind))
    return starts


def span(first: date, last: date, kind: str) -> list[date]:
    """Every period start from `first` to `last`, inclusive."""
    out = []
    current = first
    while current <= last:
        out.append(current)
        current = following(current, kind)
    return out
