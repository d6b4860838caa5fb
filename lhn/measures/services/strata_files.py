"""Breakdowns by stratum in files (CSV rows with `stratifier` and `stratum`, FHIR group.stratifier): grouped per
site, period and stratifier, checked whole (the preview shows what the import would refuse), and stored after the
file's totals through record_strata, all or nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from lhn.accounts.models import Institution, User
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures.models import DataPoint, Measure
from lhn.measures.services import periods
from lhn.measures.services.core import access
from lhn.measures.services.data import Row, RowError, RowsInvalid, number_of
from lhn.measures.services.strata import record_strata, sum_problem
from lhn.measures.services.stratifiers import find_stratifier, stratum_codes

Group = tuple[str, str, str]  # (site slug, period as written, stratifier code)
STRATIFIER_SYSTEM = "urn:lhn:stratifier"  # FHIR group.stratifier.code: the stratifier's code (age_band)
STRATUM_SYSTEM = "urn:lhn:stratum"  # stratum.valueCodeableConcept: system "urn:lhn:stratum:<stratifier>", the stratum


def split_rows(rows: list[Row]) -> tuple[list[Row], dict[Group, list[Row]]]:
    """The file's totals (rows without a stratifier) and its breakdowns, grouped, in file order."""
    totals: list[Row] = []
    groups: dict[Group, list[Row]] = {}
    for row in rows:
        if row.stratifier or row.stratum:
            key = (str(row.site or "").strip(), str(row.period or "").strip(), row.stratifier.strip())
            groups.setdefault(key, []).append(row)
        else:
            totals.append(row)
    return totals, groups


def _err(row: Row, field: str, message: str) -> RowError:
    return RowError(row.line, field, message, row.where)


def strata_problems(measure: Measure, totals: list[Row], groups: dict[Group, list[Row]], *,
                    by: User) -> list[RowError]:  # fmt: skip
    """Every problem of the file's breakdowns that can be told without storing: a site the submitter doesn't send
    for, the stratifier and strata, numbers, a stratum twice, and the sums against the site's total for the period
    (the file's, or else the one stored: read only for the submitter's own sites, since a mismatch names it).
    Reads only. Sites, periods and permissions are checked again when the breakdown is stored (record_strata).
    Raises PermissionDenied (on no site's team)."""
    errors: list[RowError] = []
    kind = measure.type
    acc = access(measure, by)
    if groups and not acc.can_submit:
        raise PermissionDenied("Only a site's team submits its data, breakdowns by stratum included.")
    own = set(db.session.scalars(select(Institution.slug).where(Institution.id.in_(acc.submit_site_ids))))
    in_file = {(str(r.site or "").strip(), _start(measure, r.period)): r for r in totals}
    for (site, period, code), rows in groups.items():
        if site not in own:
            errors += [_err(r, "site", f"You don't submit data for “{site[:60]}”.") for r in rows]
            continue
        stratifier = find_stratifier(measure.stratifiers, code)
        if stratifier is None:
            errors += [_err(r, "stratifier", f"The measure has no stratifier “{code[:40]}”.") for r in rows]
            continue
        known, seen, parsed = stratum_codes(stratifier), set(), []
        for row in rows:
            if row.stratum not in known:
                errors.append(_err(row, "stratum", f"No stratum “{row.stratum[:40]}”: use {', '.join(known)}."))
            elif row.stratum in seen:
                errors.append(_err(row, "stratum", f"{row.stratum} of {site} {period} is on another row too."))
            seen.add(row.stratum)
            given = [number_of(row.values.get(name)) for name in kind.fields]
            numbers = [n for n in given if n is not None and n >= 0]
            if len(numbers) != len(given):
                errors.append(_err(row, kind.fields[0], f"Give {' and '.join(kind.fields)} as numbers, 0 or more."))
                continue
            parsed.append((numbers[0], numbers[1] if len(numbers) > 1 else None))
        start = _start(measure, period)
        total = _total_of(measure, in_file.get((site, start)), site, start)
        if start is None or total is None:
            errors.append(_err(rows[0], "", f"No total for {site} {period}: the strata add up to the site's total."))
        elif len(parsed) == len(rows) and (mismatch := sum_problem(kind, parsed, total)):
            errors.append(_err(rows[0], "", mismatch))
    return errors


def _start(measure: Measure, period: object) -> date | None:
    try:
        return periods.parse(str(period or ""), measure.period.value)
    except periods.PeriodError:
        return None


def _total_of(measure: Measure, row: Row | None, site: str, start: date | None) -> tuple[float, float | None] | None:
    names = measure.type.fields
    if row is not None:
        numbers = [number_of(row.values.get(name)) for name in names]
        if any(n is None for n in numbers):
            return None
        return numbers[0] or 0.0, numbers[1] if len(numbers) > 1 else None
    if start is None:
        return None
    stored = db.session.execute(
        select(DataPoint.numerator, DataPoint.denominator)
        .join(Institution, Institution.id == DataPoint.institution_id)
        .where(
            DataPoint.measure_id == measure.id,
            Institution.slug == site,
            DataPoint.period_start == start,
            DataPoint.superseded_at.is_(None),
        )
    ).first()
    return (stored.numerator, stored.denominator) if stored is not None else None


def import_strata(measure: Measure, groups: dict[Group, list[Row]], *, by: User, source: str) -> int:
    """Store the file's breakdowns after its totals, in the same transaction: any problem raises RowsInvalid (every
    one, with its line) and the caller's transaction stores nothing. Returns how many strata rows were sent.
    Flushes. Raises RowsInvalid, PermissionDenied."""
    errors: list[RowError] = []
    for (site, period, code), rows in groups.items():
        values = {row.stratum: dict(row.values) for row in rows}
        try:
            record_strata(measure, site, period, code, values, by=by, source=source)
        except ValidationFailed as exc:
            errors += [_err(rows[0], key.rpartition(".")[2], message) for key, message in exc.errors.items()]
    if errors:
        raise RowsInvalid(errors)
    return sum(len(rows) for rows in groups.values())


def stratifier_json(stratifier: dict[str, Any], strata: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """A FHIR R5 MeasureReport.group.stratifier: the stratifier's code, and per stratum (code, label, its group
    content: population counts and score) the stratum's valueCodeableConcept and that content."""
    code = stratifier["code"]
    return {
        "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": code}], "text": stratifier["label"]},
        "stratum": [
            {
                "valueCodeableConcept": {
                    "coding": [{"system": f"{STRATUM_SYSTEM}:{code}", "code": stratum}],
                    "text": label,
                }
            }
            | content
            for stratum, label, content in strata
        ],
    }


def _first_code(concept: Any) -> str:
    """The code of a CodeableConcept's first coding (or its text), as sent."""
    if not isinstance(concept, dict):
        return ""
    codings = concept.get("coding") or []
    code = codings[0].get("code") if codings and isinstance(codings[0], dict) else None
    return str(code if code is not None else concept.get("text") or "").strip()


def stratum_rows(
    report: dict[str, Any], total: Row, fields: tuple[str, ...], populations: tuple[str | None, str | None]
) -> tuple[list[Row], list[str]]:
    """The breakdowns of a FHIR MeasureReport (R5 group.stratifier[].stratum[]: valueCodeableConcept and the
    counts of the populations that carry the measure type's `fields`, a continuous measure's mean as
    measureScoreQuantity) as rows beside its total row, and the problems that stop them being read. Masked counts
    can't be imported."""
    rows: list[Row] = []
    problems: list[str] = []
    for stratifier in (report.get("group") or [{}])[0].get("stratifier") or []:
        code = _first_code(stratifier.get("code"))
        for stratum in stratifier.get("stratum") or []:
            counts = {_first_code(p.get("code")): p.get("count") for p in stratum.get("population") or []}
            score = (stratum.get("measureScoreQuantity") or {}).get("value")
            values = {
                name: score if population is None else counts.get(population)
                for name, population in zip(fields, populations if fields[0] != "value" else (None, populations[1]),
                                            strict=False)
            }  # fmt: skip
            value = _first_code(stratum.get("valueCodeableConcept"))
            if any(v is None for v in values.values()):
                problems.append(f"Stratum {value[:40]} of {code[:40]}: give every count (masked ones can't be sent).")
                continue
            rows.append(Row(site=total.site, period=total.period, values=values, line=total.line, where=total.where,
                            stratifier=code, stratum=value))  # fmt: skip
    return rows, problems
