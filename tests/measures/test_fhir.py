"""FHIR R5: the exports validate with fhir.resources and pass our own checks; imports are all or nothing."""

import copy

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.measure import Measure as FhirMeasure
from fhir.resources.measurereport import MeasureReport
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint
from lhn.measures.services import data, fhir
from tests import factories

BASE = "https://lhn.example.org"


def user(name):
    return accounts.get_user(name)


def proportion():
    measure = factories.measure(communities.get_community("ibd"), user("doc"))
    factories.consent(measure, user("doc"), "north")
    factories.consent(measure, user("dr_south"), "south")
    factories.values(measure, user("doc"), "north", [(60, 100), (62, 100), (8, 40)], start="2024-01")
    factories.values(measure, user("dr_south"), "south", [(40, 50), (41, 52), (44, 60)], start="2024-01")
    return measure


def test_measure_export_is_a_valid_r5_measure(ctx, network):
    measure = proportion()
    resource = fhir.measure_resource(measure, base_url=BASE)
    parsed = FhirMeasure.model_validate(resource)
    assert parsed.url == f"{BASE}/fhir/Measure/lhn-measure-{measure.id}"
    assert parsed.scoring.coding[0].code == "proportion"
    assert parsed.improvementNotation.coding[0].code == "increase"
    assert [p.code.coding[0].code for p in parsed.group[0].population] == ["numerator", "denominator"]
    assert parsed.version == "1"


def test_report_bundle_validates_and_passes_our_checks_with_masked_counts_marked(ctx, network):
    measure = proportion()
    bundle = fhir.report_bundle(measure, viewer=user("teen"), base_url=BASE)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    reports = [e["resource"] for e in bundle["entry"]]
    assert len(reports) == 3 * 2 + 3  # per site and period, and the network aggregate per period
    for report in reports:
        MeasureReport.model_validate(report)
        assert fhir.check_report(report, measure, allow_masked=True) == []
        assert report["type"] == "summary"
        assert report["status"] == "complete"
    north_march = next(r for r in reports if r["id"] == f"lhn-{measure.id}-north-2024-03")
    assert north_march["group"][0]["population"][0]["_count"]["extension"][0]["valueCode"] == "masked"
    assert "count" not in north_march["group"][0]["population"][0]
    south_march = next(r for r in reports if r["id"] == f"lhn-{measure.id}-south-2024-03")
    assert "count" in south_march["group"][0]["population"][0]  # too few sites to cover North's cell ...
    network_march = next(r for r in reports if r["id"] == f"lhn-{measure.id}-network-2024-03")
    assert "_count" in network_march["group"][0]["population"][0]  # ... so the network total is withheld instead
    south_jan = next(r for r in reports if r["id"] == f"lhn-{measure.id}-south-2024-01")
    assert "_count" in south_jan["group"][0]["population"][1]  # 50 − 40 = 10 left out: small too
    north_feb = next(r for r in reports if r["id"] == f"lhn-{measure.id}-north-2024-02")
    assert north_feb["group"][0]["measureScoreQuantity"]["value"] == 0.62
    assert north_feb["reporter"]["identifier"] == {"system": "urn:lhn:site", "value": "north"}
    assert north_feb["period"] == {"start": "2024-02-01", "end": "2024-02-29"}
    network_jan = next(r for r in reports if r["id"] == f"lhn-{measure.id}-network-2024-01")
    assert "_count" in network_jan["group"][0]["population"][0]  # South's small cell has no cover either
    network_feb = next(r for r in reports if r["id"] == f"lhn-{measure.id}-network-2024-02")
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in network_feb["group"][0]["population"]}
    assert counts == {"numerator": 103, "denominator": 152}
    own = fhir.report_bundle(measure, viewer=user("doc"), base_url=BASE)  # north's team sees north whole
    north_own = next(e["resource"] for e in own["entry"] if e["resource"]["id"] == f"lhn-{measure.id}-north-2024-03")
    assert north_own["group"][0]["population"][0]["count"] == 8


def _report(measure, site="north", period=("2024-05-01", "2024-05-31"), num=70, den=100, score=0.7):
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": f"{BASE}/fhir/Measure/lhn-measure-{measure.id}|1",
        "reporter": {"identifier": {"system": "urn:lhn:site", "value": site}},
        "period": {"start": period[0], "end": period[1]},
        "group": [
            {
                "population": [
                    {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": "numerator"}]}, "count": num},
                    {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": "denominator"}]}, "count": den},
                ],
                "measureScoreQuantity": {"value": score},
            }
        ],
    }


def test_import_round_trip_and_exclusions_follow_hl7_proportion_scoring(ctx, network):
    measure = proportion()
    report = _report(measure)
    report["group"][0]["population"] += [
        {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": "denominator-exclusion"}]}, "count": 6},
        {"code": {"coding": [{"system": fhir.POPULATION_SYSTEM, "code": "numerator-exclusion"}]}, "count": 2},
    ]
    report["group"][0]["measureScoreQuantity"]["value"] = 68 / 94
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": report}]}
    assert fhir.import_bundle(measure, bundle, by=user("doc")).stored == 1
    stored = db.session.scalar(select(DataPoint).where(DataPoint.superseded_at.is_(None), DataPoint.source == "fhir"))
    assert (stored.numerator, stored.denominator) == (68, 94)
    own = fhir.report_bundle(measure, viewer=user("doc"), base_url=BASE)  # our own export imports again
    north_only = {
        **own,
        "entry": [
            e
            for e in own["entry"]
            if e["resource"]["reporter"]["identifier"]["value"] == "north"
            or e["resource"]["reporter"]["identifier"]["system"] == fhir.NETWORK_SYSTEM
        ],
    }
    assert fhir.import_bundle(measure, north_only, by=user("doc")).stored == 0  # the same values: nothing new


def test_import_with_bad_entries_stores_nothing_and_reports_every_problem(ctx, network):
    measure = proportion()
    before = db.session.query(DataPoint).count()
    good = _report(measure)
    bad_status = {**_report(measure, period=("2024-06-01", "2024-06-30")), "status": "final"}
    bad_type = {**_report(measure, period=("2024-07-01", "2024-07-31")), "type": "bogus"}
    too_many = _report(measure, period=("2024-08-01", "2024-08-31"), num=120, den=100, score=1.2)
    bad_score = _report(measure, period=("2024-09-01", "2024-09-30"), score=0.9)
    bad_code = copy.deepcopy(_report(measure, period=("2024-10-01", "2024-10-31")))
    bad_code["group"][0]["population"][0]["code"]["coding"][0]["code"] = "numerater"
    masked = copy.deepcopy(_report(measure, period=("2024-11-01", "2024-11-30")))
    del masked["group"][0]["population"][0]["count"]
    masked["group"][0]["population"][0]["_count"] = fhir.MASKED
    other_site = _report(measure, site="south", period=("2024-12-01", "2024-12-31"))
    half_month = _report(measure, period=("2024-05-01", "2024-05-15"))
    a_year = _report(measure, period=("2024", "2024"))  # a valid FHIR dateTime, but no whole month
    entries = [good, bad_status, bad_type, too_many, bad_score, bad_code, masked, other_site, half_month, a_year]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}
    with pytest.raises(data.RowsInvalid) as exc:
        fhir.import_bundle(measure, bundle, by=user("doc"))
    by_entry = {}
    for error in exc.value.row_errors:
        by_entry.setdefault(error.line, []).append(error.message)
    assert sorted(by_entry) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert any("status" in m for m in by_entry[2])
    assert any("type" in m for m in by_entry[3])
    assert any("can't exceed" in m for m in by_entry[4])
    assert any("doesn't match" in m for m in by_entry[5])
    assert any("population needs a code" in m for m in by_entry[6])
    assert any("Masked" in m for m in by_entry[7])
    assert any("own team" in m for m in by_entry[8])
    assert any("one whole month" in m for m in by_entry[9])
    assert any("full dates (YYYY-MM-DD)" in m for m in by_entry[10])
    assert str(exc.value.row_errors[0]).startswith("Entry ")
    assert db.session.query(DataPoint).count() == before


def test_structural_errors_come_from_fhir_resources_and_store_nothing(ctx, network):
    measure = proportion()
    report = _report(measure)
    report["group"][0]["population"][0]["count"] = "many"
    report["period"]["start"] = "2024-13-01"
    with pytest.raises(data.RowsInvalid) as exc:
        fhir.import_bundle(
            measure, {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": report}]}, by=user("doc")
        )
    assert all("fhir.resources" in e.message for e in exc.value.row_errors)
    assert {e.line for e in exc.value.row_errors} == {1}
    with pytest.raises(data.RowsInvalid):
        fhir.import_bundle(measure, {"resourceType": "Patient"}, by=user("doc"))
    assert measures.access(measure, user("teen")).team_site_ids == set()
