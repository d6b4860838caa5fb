"""CSV files of a measure's data: read one (parse, preview, import through the data checks) and export one."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from lhn import offload
from lhn.accounts.models import User
from lhn.database import reading, slow_work
from lhn.inputs import text_problem
from lhn.measures.models import Measure
from lhn.measures.services import charts, periods
from lhn.measures.services.core import access, record_export
from lhn.measures.services.data import (
    ImportResult,
    ImportTooLarge,
    Row,
    RowError,
    RowsInvalid,
    check_import,
    check_row_count,
    check_submission,
    check_upload_size,
    plain_number,
    store_import,
)
from lhn.measures.services.strata import strata_view
from lhn.measures.services.strata_files import import_strata, split_rows, strata_problems


def csv_columns(measure: Measure) -> list[str]:
    return ["site", "period", *measure.type.fields]


def _size(text: str) -> int:
    """The bytes of a file's text, a line break counting one: browsers send the text a preview hands over (the
    upload form's hidden field) with CRLF line breaks, and the file must pass the cap the same way twice."""
    return len(text.encode("utf-8", "surrogatepass")) - text.count("\r\n")


# A file longer than this is read in the worker process (lhn.offload): reading the largest accepted file (2 MB,
# 5,000 rows) takes ~0.15 s of Python, which in the serving process every other request would wait through.
OFFLOAD_CHARS = 50_000
OFFLOAD_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class _Unreadable:
    """read_rows' refusal as a value: RowsInvalid doesn't survive pickling back from the worker process."""

    row_errors: list[RowError]
    too_large: str = ""  # ImportTooLarge's message


def parse_csv(measure: Measure, text: str) -> list[Row]:
    """Rows of a CSV file with a header: site, period, then the type's fields. Raises ImportTooLarge for a file over
    the caps (reading stops at the first row over), RowsInvalid for a file that can't be read as such (bad header);
    row problems are left to check_rows, which reports them all."""
    slow_work("parsing a CSV file")
    check_upload_size(_size(text))
    fields = tuple(measure.type.fields)
    if len(text) > OFFLOAD_CHARS and offload.enabled():
        outcome = offload.call(read_rows, text, fields, timeout=OFFLOAD_WAIT_SECONDS)
    else:
        outcome = read_rows(text, fields)
    if isinstance(outcome, _Unreadable):
        raise ImportTooLarge(outcome.too_large) if outcome.too_large else RowsInvalid(outcome.row_errors)
    return outcome


def read_rows(text: str, fields: tuple[str, ...]) -> list[Row] | _Unreadable:
    """parse_csv's reading, for a measure type's `fields`: pure, so it can run in the worker process."""
    try:
        return _read_rows(text, fields)
    except ImportTooLarge as exc:
        return _Unreadable([], exc.row_errors[0].message)
    except RowsInvalid as exc:
        return _Unreadable(exc.row_errors)


def _read_rows(text: str, fields: tuple[str, ...]) -> list[Row]:
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RowsInvalid([RowError(None, "", "The file is empty.")]) from None
    except csv.Error as exc:
        raise RowsInvalid([RowError(1, "", f"The file is not valid CSV ({exc}).")]) from None
    needed = ["site", "period", *fields]
    missing = [c for c in needed if c not in header]
    optional = ("measure_version", "masked", "stratifier", "stratum")  # a row with a stratifier is one stratum's
    unknown = [c for c in header if c and c not in needed and c not in optional]
    problems = []
    if missing:
        problems.append(
            RowError(1, "", f"The header needs the columns {', '.join(needed)}; missing: {', '.join(missing)}.")
        )
    if unknown:
        problems.append(RowError(1, "", f"Unknown columns: {', '.join(unknown)}. Use {', '.join(needed)}."))
    if problems:
        raise RowsInvalid(problems)
    rows: list[Row] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            check_row_count(len(rows) + 1)
            data = dict(zip(header, [c.strip() for c in record], strict=False))
            unstorable = next((found for cell in record if (found := text_problem(cell))), "")
            problem = unstorable or (
                "" if len(record) == len(header) else f"It has {len(record)} columns; the header has {len(header)}."
            )
            rows.append(
                Row(
                    site=data.get("site", ""),
                    period=data.get("period", ""),
                    line=line,
                    problem=problem,
                    values={k: data.get(k) for k in fields},
                    stratifier=data.get("stratifier") or "",
                    stratum=data.get("stratum") or "",
                )
            )
    except csv.Error as exc:
        raise RowsInvalid([RowError(reader.line_num, "", f"The file is not valid CSV ({exc}).")]) from None
    return rows


def preview_csv(measure: Measure, text: str, *, by: User) -> list[tuple[Row, list[RowError]]]:
    """Each row of a CSV file with the problems an import would report on it (the upload preview): the import's
    own checks (check_submission), so the preview passes exactly what the import takes. Reads only: call it outside
    transaction(), so it takes no write lock. Raises ImportTooLarge, RowsInvalid (a file that can't be read, or
    with nothing to import), PermissionDenied (as the import would)."""
    rows = parse_csv(measure, text)
    totals, groups = split_rows(rows)
    errors = check_submission(measure, totals, by=by)[1] if totals or not groups else []
    errors += strata_problems(measure, totals, groups, by=by)
    whole_file = [error for error in errors if error.line is None]
    if whole_file:
        raise RowsInvalid(whole_file)
    by_line: dict[int | None, list[RowError]] = {}
    for error in errors:
        by_line.setdefault(error.line, []).append(error)
    return [(row, by_line.get(row.line, [])) for row in rows]


def import_csv(measure: Measure, text: str, *, by: User) -> ImportResult:
    """Import a CSV file as import_rows does, parsed and checked in reading(); then its breakdowns by stratum (rows
    with a stratifier), all or nothing with the totals. Call in transaction().
    Raises ImportTooLarge, RowsInvalid, PermissionDenied."""
    with reading():
        totals, groups = split_rows(parse_csv(measure, text))
        checked = check_import(measure, totals, by=by) if totals or not groups else None
        problems = strata_problems(measure, totals, groups, by=by)
        if problems:
            raise RowsInvalid(problems)
    result = store_import(measure, checked, by=by, source="csv") if checked is not None else ImportResult()
    result.stored += import_strata(measure, groups, by=by, source="csv")
    return result


def export_csv(measure: Measure, *, viewer: object) -> str:
    """Every current value the viewer may see, suppressed as in every cross-site view (masked cells empty).

    The export is audited (core.record_export), so callers commit. Raises NotFound (not readable)."""
    acc = access(measure, viewer)
    record_export(measure, reader=viewer, file_format="csv")
    data = charts.load_data(measure)
    suppression = data.suppression(acc.known_site_ids)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    strata = [strata_view(measure, s["code"], viewer=viewer) for s in measure.stratifiers]
    extra = ["stratifier", "stratum"] if strata else []
    writer.writerow([*csv_columns(measure), "measure_version", "masked", *extra])
    for site in charts.visible_sites(data, acc):
        for start, cell in sorted(data.cells[site.id].items()):
            label = periods.label(start, measure.period.value)
            if site.id not in acc.known_site_ids and suppression.is_masked(site.id, start):
                writer.writerow([site.slug, label, *([""] * len(measure.type.fields)), "", "yes", *([""] * len(extra))])
                continue
            values = [plain_number(cell.numerator)]
            if cell.denominator is not None:
                values.append(plain_number(cell.denominator))
            writer.writerow([site.slug, label, *values, cell.version, "no", *([""] * len(extra))])
    width = len(measure.type.fields)
    for view in strata:  # each site's breakdowns, masked as the strata page masks them
        for item in view.cells:
            if not item.recorded:
                continue  # no breakdown sent: everyone is Not recorded, which the total row says already
            code = view.stratifier["code"]
            if item.masked:
                writer.writerow([item.site.slug, item.period, *([""] * width), "", "yes", code, item.stratum])
            elif item.numerator or item.denominator:  # a stratum with nobody in it isn't stored
                values = [plain_number(item.numerator or 0.0)]
                if width > 1:
                    values.append(plain_number(item.denominator or 0.0))
                writer.writerow([item.site.slug, item.period, *values, item.version, "no", code, item.stratum])
    return out.getvalue()
