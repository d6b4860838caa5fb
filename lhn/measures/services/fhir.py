"""FHIR R5 in and out (fhir.resources 8.x, whose default release is R5 5.0.0): a measure as `Measure`, its data
as a `Bundle` of `MeasureReport` (type summary, one per site and period, plus the network aggregate).

fhir.resources checks structure only (required elements, datatypes, unknown elements). check_report() adds what
it doesn't: status and type codes, population codes from the measure-population system, counts ≥ 0, the
numerator within the denominator less its exclusions, and a score consistent with the counts (HL7 proportion
scoring: (numerator − numerator-exclusion) / (denominator − denominator-exclusion − denominator-exception)).
Masked counts are omitted and carry data-absent-reason = masked; they can be exported, never imported.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.measure import Measure as FhirMeasure
from pydantic import ValidationError

from lhn import inputs
from lhn.accounts.models import User
from lhn.database import reading, slow_work, utcnow
from lhn.errors import ValidationFailed
from lhn.measures.models import Improvement, Measure, MeasureType
from lhn.measures.services import charts, data, periods, strata_files
from lhn.measures.services.core import access, record_export
from lhn.measures.services.strata import StrataView, StratumPoint, strata_view

FHIR_RELEASE = "5.0.0"  # R5, for every LHN FHIR endpoint
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-scoring"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
SITE_SYSTEM = "urn:lhn:site"  # reporter.identifier: the institution's slug
NETWORK_SYSTEM = "urn:lhn:network"  # reporter.identifier of the network aggregate
NETWORK_REPORTER = "network"
POPULATION_CODES = frozenset(
    {
        "initial-population",
        "numerator",
        "numerator-exclusion",
        "denominator",
        "denominator-exclusion",
        "denominator-exception",
        "measure-population",
        "measure-population-exclusion",
        "measure-observation",
    }
)
STATUS_CODES = frozenset({"complete", "pending", "error"})
TYPE_CODES = frozenset({"individual", "subject-list", "summary", "data-exchange"})  # R5
SCORING = {
    MeasureType.PROPORTION: "proportion",
    MeasureType.RATE: "ratio",
    MeasureType.COUNT: "cohort",
    MeasureType.CONTINUOUS: "continuous-variable",
}
# Which populations carry a measure type's two numbers (the second is None for counts).
POPULATIONS = {
    MeasureType.PROPORTION: ("numerator", "denominator"),
    MeasureType.RATE: ("numerator", "denominator"),
    MeasureType.COUNT: ("initial-population", None),
    MeasureType.CONTINUOUS: (None, "measure-population"),  # the value is the score (a mean), n its population
}
MASKED = {"extension": [{"url": DATA_ABSENT, "valueCode": "masked"}]}
# A population count is a FHIR integer (32 bits): a larger one (a rate's exposure in patient-days, a network total)
# is omitted with data-absent-reason "unsupported", and the score still carries the value.
INTEGER_MAX = 2**31 - 1
TOO_LARGE = {"extension": [{"url": DATA_ABSENT, "valueCode": "unsupported"}]}
# A rate's exposure (patient-days, person-years) may be fractional, which a FHIR integer can't hold: the count is
# omitted and this extension on it carries the decimal (out and in). Only exposure populations may use it.
DECIMAL_COUNT = "urn:lhn:decimal-count"
DECIMAL_CODES = {
    MeasureType.RATE: frozenset({"denominator", "denominator-exclusion", "denominator-exception"}),
}


def _code(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def canonical(measure: Measure, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/fhir/Measure/lhn-measure-{measure.id}"


# --- export -----------------------------------------------------------------------------------------


def measure_resource(measure: Measure, *, base_url: str) -> dict[str, Any]:
    """The measure's definition as an R5 Measure, validated by fhir.resources before it is returned."""
    populations = [code for code in POPULATIONS[measure.type] if code]
    if measure.type == MeasureType.CONTINUOUS:
        populations.append("measure-observation")
    resource = {
        "resourceType": "Measure",
        "id": f"lhn-measure-{measure.id}",
        "url": canonical(measure, base_url),
        "version": str(measure.version),
        "name": re.sub(r"[^A-Za-z0-9]", "", measure.name.title())[:60] or f"Measure{measure.id}",
        "title": measure.name,
        "status": "active",
        "date": measure.updated_at.isoformat(),
        "publisher": measure.community.name,
        "description": measure.description or measure.name,
        "scoring": _code(SCORING_SYSTEM, SCORING[measure.type]),
        "improvementNotation": _code(
            IMPROVEMENT_SYSTEM, "increase" if measure.improvement == Improvement.UP else "decrease"
        ),
        "group": [
            {
                "population": [
                    {"code": _code(POPULATION_SYSTEM, code), "description": _population_text(measure, code)}
                    for code in populations
                ],
            }
        ],
    }
    if measure.data_source:
        resource["usage"] = f"Data source: {measure.data_source}"
    return FhirMeasure.model_validate(resource).model_dump(mode="json", exclude_none=True)


def _population_text(measure: Measure, code: str) -> str:
    names = dict(zip((c for c in POPULATIONS[measure.type]), measure.type.fields, strict=False))
    if measure.type == MeasureType.CONTINUOUS:
        names = {"measure-population": "n", "measure-observation": "value"}
    return f"{names.get(code, code)} ({measure.unit})" if measure.unit else names.get(code, code)


def _report(
    measure: Measure, *, base_url: str, start: date, cell: charts.Cell | None, masked: bool, reporter: dict[str, Any]
) -> dict[str, Any]:
    kind = measure.period.value
    group = _counted(measure, cell, masked)
    slug = reporter["identifier"]["value"]
    return {
        "resourceType": "MeasureReport",
        "id": f"lhn-{measure.id}-{slug}-{periods.label(start, kind)}",
        "status": "complete",
        "type": "summary",
        "measure": f"{canonical(measure, base_url)}|{cell.version if cell else measure.version}",
        "date": utcnow().isoformat(),
        "reporter": reporter,
        "period": {"start": start.isoformat(), "end": periods.end_of(start, kind).isoformat()},
        "improvementNotation": _code(
            IMPROVEMENT_SYSTEM, "increase" if measure.improvement == Improvement.UP else "decrease"
        ),
        "group": [group],
    }


def _counted(measure: Measure, cell: charts.Cell | None, masked: bool) -> dict[str, Any]:
    """A report's group, or one stratum of it: the population counts and the score (masked: data-absent)."""
    population = []
    for code, value in zip(POPULATIONS[measure.type], (cell.numerator if cell else None, cell.denominator if cell
                                                      else None), strict=True):  # fmt: skip
        if code is None:
            continue
        entry: dict[str, Any] = {"code": _code(POPULATION_SYSTEM, code)}
        if masked:
            entry["_count"] = MASKED
        elif value is not None and value > INTEGER_MAX:
            entry["_count"] = TOO_LARGE
        elif value is not None and not float(value).is_integer():
            entry["_count"] = {"extension": [{"url": DECIMAL_COUNT, "valueDecimal": value}]}
        else:
            entry["count"] = int(value)  # type: ignore[arg-type]
        population.append(entry)
    group: dict[str, Any] = {"population": population}
    if masked or cell is None:
        group["measureScoreQuantity"] = MASKED
    else:
        group["measureScoreQuantity"] = {"value": round(_score(measure, cell), 10), "unit": measure.unit or "1"}
    return group


def _stratifiers(measure: Measure, views: list[StrataView], reporter: str, period: str) -> list[dict[str, Any]]:
    """group.stratifier of one report: for a site, its breakdown by each stratifier (when it sent one); for the
    network (reporter "network"), each stratum's totals. Masked or hidden strata carry data-absent-reason masked."""
    out = []
    for view in views:
        if period not in view.periods:
            continue  # no site broke this period down
        if reporter == NETWORK_REPORTER:
            points = [(s, s.points[view.periods.index(period)]) for s in view.series]
            strata = [(s.code, s.label, _counted(measure, _network_cell(measure, p), p.hidden)) for s, p in points]
        else:
            labels = {s["code"]: s["label"] for s in view.stratifier["strata"]}
            strata = [
                (c.stratum, labels[c.stratum], _counted(measure, charts.Cell(c.numerator or 0.0, c.denominator,
                                                                             c.version), c.masked))
                for c in view.cells
                if c.site.slug == reporter and c.period == period and c.recorded
            ]  # fmt: skip
        if strata:
            out.append(strata_files.stratifier_json(view.stratifier, strata))
    return out


def _network_cell(measure: Measure, point: StratumPoint) -> charts.Cell:
    """A stratum's network totals as a cell (continuous: the mean and n; a stratum with nobody in it: zeros)."""
    if measure.type == MeasureType.CONTINUOUS:
        return charts.Cell(point.value or 0.0, point.denominator, measure.version)
    return charts.Cell(point.numerator or 0.0, point.denominator, measure.version)


def _score(measure: Measure, cell: charts.Cell) -> float:
    if measure.type in (MeasureType.PROPORTION, MeasureType.RATE):
        return cell.numerator / cell.denominator if cell.denominator else 0.0
    return cell.numerator


def report_bundle(measure: Measure, *, viewer: object, base_url: str) -> dict[str, Any]:
    """A Bundle (collection) of MeasureReports the viewer may see: each site and period (suppressed as in
    every cross-site view) and the network aggregate per period. Validated by fhir.resources.

    The export is audited (core.record_export), so callers commit. Raises NotFound (not readable)."""
    acc = access(measure, viewer)
    record_export(measure, reader=viewer, file_format="fhir")
    measure_data = charts.load_data(measure)
    suppression = measure_data.suppression(acc.known_site_ids)
    entries = []
    for site in charts.visible_sites(measure_data, acc):
        own = site.id in acc.known_site_ids
        reporter = {"identifier": {"system": SITE_SYSTEM, "value": site.slug}, "display": site.name}
        for start, cell in sorted(measure_data.cells[site.id].items()):
            masked = not own and suppression.is_masked(site.id, start)
            entries.append(
                _report(measure, base_url=base_url, start=start, cell=cell, masked=masked, reporter=reporter)
            )
    network = {
        "identifier": {"system": NETWORK_SYSTEM, "value": NETWORK_REPORTER},
        "display": "All sites (network aggregate)",
    }
    for start, cell in measure_data.network().items():
        entries.append(
            _report(
                measure,
                base_url=base_url,
                start=start,
                cell=cell,
                masked=start in suppression.hidden_totals,
                reporter=network,
            )
        )
    views = [strata_view(measure, s["code"], viewer=viewer) for s in measure.stratifiers]
    for entry in entries if views else []:
        label = periods.label(date.fromisoformat(entry["period"]["start"]), measure.period.value)
        stratifiers = _stratifiers(measure, views, entry["reporter"]["identifier"]["value"], label)
        if stratifiers:
            entry["group"][0]["stratifier"] = stratifiers
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": [{"fullUrl": f"{base_url.rstrip('/')}/fhir/MeasureReport/{e['id']}", "resource": e} for e in entries],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


# --- our own checks, beyond the library's ---------------------------------------------------------------


def _counts(group: dict[str, Any], measure: Measure) -> tuple[dict[str, float], list[str], list[str]]:
    """Population counts by code, masked codes, problems. A rate's exposure may come as a decimal (DECIMAL_COUNT)."""
    decimal_codes = DECIMAL_CODES.get(measure.type, frozenset())
    counts: dict[str, float] = {}
    masked, problems = [], []
    for population in group.get("population") or []:
        codings = (population.get("code") or {}).get("coding") or []
        coding = next((c for c in codings if c.get("system") == POPULATION_SYSTEM), None)
        if coding is None or coding.get("code") not in POPULATION_CODES:
            problems.append("Each population needs a code from " + POPULATION_SYSTEM + ".")
            continue
        code = coding["code"]
        if code in counts or code in masked:
            problems.append(f"The population {code} appears twice.")
        if "count" in population and population["count"] is not None:
            count = population["count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                problems.append(f"The {code} count must be a whole number of 0 or more.")
            else:
                counts[code] = count
        elif _is_masked(population.get("_count")):
            masked.append(code)
        elif (decimal := _decimal(population.get("_count"))) is not None:
            if code not in decimal_codes:
                problems.append(f"The {code} count must be a whole number of 0 or more.")
            elif isinstance(decimal, bool) or not isinstance(decimal, int | float) or not 0 <= decimal < math.inf:
                problems.append(f"The {code} count must be a number of 0 or more.")
            else:
                counts[code] = float(decimal)
    return counts, masked, problems


def _decimal(element: Any) -> Any:
    """The value of a DECIMAL_COUNT extension on a count, or None."""
    if not isinstance(element, dict):
        return None
    return next((e.get("valueDecimal") for e in element.get("extension") or [] if e.get("url") == DECIMAL_COUNT), None)


def _is_masked(element: Any) -> bool:
    return isinstance(element, dict) and any(
        e.get("url") == DATA_ABSENT and e.get("valueCode") == "masked" for e in element.get("extension") or []
    )


def check_report(report: dict[str, Any], measure: Measure, *, allow_masked: bool) -> list[str]:
    """Our checks for one MeasureReport (as JSON) of `measure`. Returns the problems (empty when it is fine)."""
    problems = []
    if report.get("resourceType") != "MeasureReport":
        return [f"Expected a MeasureReport, not {report.get('resourceType')}."]
    if report.get("status") not in STATUS_CODES:
        problems.append(f"status must be one of {', '.join(sorted(STATUS_CODES))}.")
    elif not allow_masked and report.get("status") != "complete":
        problems.append("Only complete reports can be imported.")
    if report.get("type") not in TYPE_CODES:
        problems.append(f"type must be one of {', '.join(sorted(TYPE_CODES))} (FHIR R5).")
    elif report.get("type") != "summary":
        problems.append("Only summary reports (aggregate counts) are accepted: no patient-level data.")
    reference = str(report.get("measure") or "").split("|")[0]
    if not reference.endswith(f"/Measure/lhn-measure-{measure.id}"):
        problems.append(f"measure must be this measure's canonical URL (…/Measure/lhn-measure-{measure.id}).")
    groups = report.get("group") or []
    if len(groups) != 1:
        problems.append("Send exactly one group.")
        return problems
    counts, masked, more = _counts(groups[0], measure)
    problems += more
    first, second = POPULATIONS[measure.type]
    for code in (first, second):
        if code and code not in counts and code not in masked:
            problems.append(f"The {code} count is missing.")
    if masked and not allow_masked:
        problems.append("Masked counts can't be imported: send the real counts from the site's own data.")
    score_element = groups[0].get("measureScoreQuantity")
    score = score_element.get("value") if isinstance(score_element, dict) else None
    if not masked and not problems:
        problems += _score_problems(measure, counts, score)
    return problems


def _score_problems(measure: Measure, counts: dict[str, float], score: Any) -> list[str]:
    problems = []
    if measure.type in (MeasureType.PROPORTION, MeasureType.RATE):
        numerator = counts["numerator"] - counts.get("numerator-exclusion", 0)
        denominator = (
            counts["denominator"] - counts.get("denominator-exclusion", 0) - counts.get("denominator-exception", 0)
        )
        if measure.type == MeasureType.PROPORTION and numerator > denominator:
            problems.append(
                "The numerator (less its exclusions) can't exceed the denominator less its exclusions and exceptions."
            )
        if numerator < 0 or denominator <= 0:
            problems.append("Exclusions can't leave a negative numerator or an empty denominator.")
        elif score is not None and not math.isclose(float(score), numerator / denominator, rel_tol=1e-6, abs_tol=1e-9):
            problems.append(f"The score {score} doesn't match the counts ({numerator:g} / {denominator:g}).")
    elif measure.type == MeasureType.COUNT:
        if score is not None and not math.isclose(float(score), counts["initial-population"], rel_tol=1e-9):
            problems.append("The score of a count measure is the count itself.")
    elif score is None:
        problems.append("A continuous measure's value is its measureScoreQuantity.value.")
    return problems


def _row(report: dict[str, Any], measure: Measure, entry: int) -> data.Row:
    counts, _masked, _problems = _counts(report["group"][0], measure)
    period = report.get("period") or {}
    reporter = (report.get("reporter") or {}).get("identifier") or {}
    site = reporter.get("value", "") if reporter.get("system") == SITE_SYSTEM else ""
    kind = measure.period.value
    try:
        start = date.fromisoformat(str(period.get("start"))[:10])
    except ValueError:  # FHIR allows a year or a month alone; a report covers whole days
        start = None
    problem = ""
    if start is None:
        problem = f"The period must be one whole {kind}, its start and end full dates (YYYY-MM-DD)."
    elif (
        not periods.is_aligned(start, kind)
        or str(period.get("end", ""))[:10] != periods.end_of(start, kind).isoformat()
    ):
        aligned = periods.start_of(start, kind)
        problem = f"The period must be one whole {kind} (start {aligned}, end {periods.end_of(aligned, kind)})."
    if measure.type in (MeasureType.PROPORTION, MeasureType.RATE):
        numerator = counts["numerator"] - counts.get("numerator-exclusion", 0)
        denominator = (
            counts["denominator"] - counts.get("denominator-exclusion", 0) - counts.get("denominator-exception", 0)
        )
        first, second = measure.type.fields
        values = {first: numerator, second: denominator}
    elif measure.type == MeasureType.COUNT:
        values = {"count": counts["initial-population"]}
    else:
        values = {"value": report["group"][0]["measureScoreQuantity"]["value"], "n": counts["measure-population"]}
    return data.Row(
        site=site or "(no site identifier)",
        period=periods.label(periods.start_of(start, kind), kind) if start else "",
        values=values,
        line=entry,
        problem=problem,
        where="Entry",
    )


def read_bundle(raw: bytes) -> Any:
    """The JSON of an uploaded Bundle file (the import page), with the API's checks of a body (inputs.json_object).
    Raises data.ImportTooLarge over the byte cap, data.RowsInvalid for a file that isn't JSON or holds text that
    can't be stored (a NUL, say)."""
    data.check_upload_size(len(raw))
    try:
        payload = json.loads(raw)
        inputs.check_strings(payload, max_depth=inputs.FHIR_MAX_DEPTH)
    except (ValueError, RecursionError):
        raise data.RowsInvalid(
            [data.RowError(None, "", f"Choose a JSON file (a FHIR Bundle): {data.IMPORT_CAPS}.")]
        ) from None
    except ValidationFailed as exc:
        raise data.RowsInvalid([data.RowError(None, where, message) for where, message in exc.errors.items()]) from None
    except inputs.BadInput as exc:
        raise data.RowsInvalid([data.RowError(None, "", exc.message)]) from None
    return payload


def bundle_rows(measure: Measure, payload: Any, *, by: User) -> list[data.Row]:
    """The site reports of a Bundle as rows to import, after fhir.resources' checks and ours. Slow (the library
    validates every element): import_bundle calls it in reading(). Network-aggregate reports (reporter
    urn:lhn:network) and Measure definitions are skipped. Raises data.ImportTooLarge (more entries than the rows
    cap), data.RowsInvalid (every problem, by entry)."""
    if not isinstance(payload, dict) or payload.get("resourceType") != "Bundle":
        raise data.RowsInvalid([data.RowError(None, "", "Send a FHIR R5 Bundle of MeasureReport resources.")])
    entries = payload.get("entry") or []
    if isinstance(entries, list):  # the library reports anything else
        data.check_row_count(len(entries), "entries")
    slow_work("validating a FHIR Bundle")
    try:
        Bundle.model_validate(payload)
    except ValidationError as exc:
        raise data.RowsInvalid(_library_errors(exc)) from None
    errors: list[data.RowError] = []
    rows = []
    for number, entry in enumerate(entries, start=1):
        resource = (entry or {}).get("resource") or {}
        if resource.get("resourceType") == "Measure":
            continue  # a definition travelling with its data; ours is the one that counts
        reporter = (resource.get("reporter") or {}).get("identifier") or {}
        if reporter.get("system") == NETWORK_SYSTEM:
            continue
        problems = check_report(resource, measure, allow_masked=False)
        if problems:
            errors += [data.RowError(number, "", p, "Entry") for p in problems]
            continue
        rows.append(_row(resource, measure, number))
        strata, problems = strata_files.stratum_rows(resource, rows[-1], measure.type.fields, POPULATIONS[measure.type])
        rows += strata
        errors += [data.RowError(number, "stratifier", p, "Entry") for p in problems]
    if errors and rows:  # report the remaining entries' problems too, so one round trip shows them all
        allowed = access(measure, by).submit_site_ids
        errors += data.check_rows(measure, rows, allowed_sites=allowed)[1]
    if errors:
        raise data.RowsInvalid(sorted(errors, key=lambda e: (e.line or 0, e.field)))
    if not rows:
        raise data.RowsInvalid([data.RowError(None, "", "The Bundle has no site MeasureReports to import.")])
    return rows


def import_bundle(measure: Measure, payload: Any, *, by: User) -> data.ImportResult:
    """Import a Bundle of MeasureReports with the same rules as a CSV file: all or nothing, every problem
    reported with its entry number; the aggregate is always recomputed. Checks in reading() (no write lock), then
    writes: call it in transaction(). Flushes. Raises data.ImportTooLarge, data.RowsInvalid, PermissionDenied."""
    with reading():
        totals, groups = strata_files.split_rows(bundle_rows(measure, payload, by=by))  # group.stratifier: breakdowns
        checked = data.check_import(measure, totals, by=by)
        if problems := strata_files.strata_problems(measure, totals, groups, by=by):
            raise data.RowsInvalid(problems)
    result = data.store_import(measure, checked, by=by, source="fhir")
    result.stored += strata_files.import_strata(measure, groups, by=by, source="fhir")
    return result


def _library_errors(exc: ValidationError) -> list[data.RowError]:
    out = []
    for error in exc.errors():
        location = list(error.get("loc") or ())
        entry = (
            location[1] + 1 if len(location) > 1 and location[0] == "entry" and isinstance(location[1], int) else None
        )
        path = ".".join(str(part) for part in location[2:] if not isinstance(part, int) or True)
        out.append(data.RowError(entry, path, f"{error.get('msg', 'invalid')} (fhir.resources)", "Entry"))
    return out
