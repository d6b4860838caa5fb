"""A rate's exposure (patient-days, person-years) may be fractional wherever data enters: the form, CSV (preview and
import), FHIR and the JSON API; its u chart uses it as it is. Events, counts and a proportion's counts stay whole."""

import io
import math
from datetime import date

import pytest
from fhir.resources.bundle import Bundle
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint
from lhn.measures.services import charts, data, fhir
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit

EXPOSURES = [1204.5, 1187.25, 1310.75, 1250.5, 1198.0, 1222.25]
EVENTS = [3, 5, 2, 4, 6, 3]


def user(name):
    return accounts.get_user(name)


def rate_measure(**fields):
    measure = factories.measure(
        communities.get_community("ibd"), user("doc"), name="CLABSI", type="rate", unit="per 1,000 line-days",
        improvement="down", target=1, multiplier=1000, **fields,
    )  # fmt: skip
    factories.consent(measure, user("doc"), "north")
    return measure


def current(measure_id):
    return db.session.scalars(
        select(DataPoint).where(DataPoint.measure_id == measure_id, DataPoint.superseded_at.is_(None))
    ).all()


def test_a_rate_takes_fractional_exposure_and_other_counts_stay_whole(ctx, network):
    rate = rate_measure()
    data.import_rows(rate, [data.Row("north", "2024-01", {"events": 3, "exposure": "1,204.5"})], by=user("doc"),
                     source="test")  # fmt: skip
    assert [p.denominator for p in current(rate.id)] == [1204.5]
    with pytest.raises(data.RowsInvalid) as events:
        data.import_rows(rate, [data.Row("north", "2024-02", {"events": 2.5, "exposure": 10.5})], by=user("doc"),
                         source="test")  # fmt: skip
    assert events.value.row_errors[0].field == "events"
    assert "whole number" in events.value.row_errors[0].message
    proportion = factories.measure(communities.get_community("ibd"), user("doc"))
    factories.consent(proportion, user("doc"), "north")
    with pytest.raises(data.RowsInvalid) as whole:
        data.import_rows(proportion, [data.Row("north", "2024-01", {"numerator": 3, "denominator": 80.5})],
                         by=user("doc"), source="test")  # fmt: skip
    assert whole.value.row_errors[0].field == "denominator"
    count = factories.measure(communities.get_community("ibd"), user("doc"), name="Admissions", type="count")
    factories.consent(count, user("doc"), "north")
    with pytest.raises(data.RowsInvalid) as counted:
        data.import_rows(count, [data.Row("north", "2024-01", {"count": 3.5})], by=user("doc"), source="test")
    assert counted.value.row_errors[0].field == "count"


def test_the_data_form_saves_a_fractional_exposure(app, client, network):
    with committed(app):
        measure_id = rate_measure().id
    login(client, "doc")
    page = submit(client, f"/measures/{measure_id}/data/new", "Save", period="2024-03", first="4", second="1310.75")
    assert page.status_code == 302, page.text
    with app.app_context():
        assert [(p.numerator, p.denominator) for p in current(measure_id)] == [(4, 1310.75)]


def test_csv_preview_and_import_take_a_fractional_exposure(app, client, network):
    with committed(app):
        measure_id = rate_measure().id
    login(client, "doc")
    text = "site,period,events,exposure\nnorth,2024-01,3,1204.5\nnorth,2024-02,5,1187.25\n"
    preview = client.post(
        f"/measures/{measure_id}/data/upload",
        data={"file": (io.BytesIO(text.encode()), "data.csv")},
        content_type="multipart/form-data",
    )
    assert "Nothing was imported" not in preview.text
    assert "Import 2 rows" in preview.text
    done = client.post(f"/measures/{measure_id}/data/upload", data={"csv_text": text, "confirm": "1"},
                       follow_redirects=True)  # fmt: skip
    assert "Imported 2 values" in done.text
    export = client.get(f"/measures/{measure_id}/data.csv").text
    assert "north,2024-02,5,1187.25,1,no" in export


def test_the_api_takes_a_fractional_exposure(app, client, network):
    with committed(app):
        measure_id = rate_measure().id
    stored = client.post(
        f"/api/v1/measures/{measure_id}/data",
        json={"site": "north", "period": "2024-01", "events": 3, "exposure": 1204.5},
        headers=bearer(token_for(client, "doc")),
    )
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["exposure"] == 1204.5


def test_fhir_carries_a_fractional_exposure_out_and_back_in(ctx, network):
    measure = rate_measure()
    factories.values(measure, user("doc"), "north", list(zip(EVENTS, EXPOSURES, strict=True)), start="2024-01")
    bundle = fhir.report_bundle(measure, viewer=user("doc"), base_url="https://lhn.example.org")
    Bundle.model_validate(bundle)
    site_reports = [e["resource"] for e in bundle["entry"] if "-north-" in e["resource"]["id"]]
    for report in site_reports:
        assert fhir.check_report(report, measure, allow_masked=True) == []
    january = next(r for r in site_reports if r["id"].endswith("2024-01"))
    exposure = january["group"][0]["population"][1]
    assert "count" not in exposure  # a FHIR count is an integer: the decimal travels in an extension
    assert exposure["_count"]["extension"][0]["valueDecimal"] == 1204.5
    for point in current(measure.id):
        point.superseded_at = point.submitted_at  # start again from an empty chart
    db.session.flush()
    result = fhir.import_bundle(measure, {**bundle, "entry": [{"resource": r} for r in site_reports]}, by=user("doc"))
    assert result.stored == len(EXPOSURES)
    assert sorted(p.denominator for p in current(measure.id)) == sorted(EXPOSURES)


def test_the_u_chart_uses_fractional_exposure(ctx, network):
    measure = rate_measure()
    factories.values(measure, user("doc"), "north", list(zip(EVENTS, EXPOSURES, strict=True)), start="2024-01")
    view = charts.chart_view(
        measure, measures.access(measure, user("doc")), site=accounts.find_institution("north"), kind="u"
    )
    u_bar = sum(EVENTS) / sum(EXPOSURES)
    for point, events, exposure in zip(view.points, EVENTS, EXPOSURES, strict=True):
        assert point.start >= date(2024, 1, 1)
        assert point.denominator == exposure
        assert math.isclose(point.value, events / exposure * 1000)
        assert math.isclose(point.cl, u_bar * 1000)
        assert math.isclose(point.ucl, (u_bar + 3 * math.sqrt(u_bar / exposure)) * 1000)
        assert point.lcl == 0  # ū − 3σ is below zero here: clipped
