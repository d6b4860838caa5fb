"""The measures API: the endpoints the issue lists, the error JSON for bad input, and OpenAPI coverage."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures import services as measures
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed
from tests.measures.test_services import IMPROVED, STABLE


def test_define_read_patch_and_list(app, client, network):
    token = token_for(client, "doc")
    body = {
        "name": "Admissions",
        "type": "count",
        "period": "quarter",
        "improvement": "down",
        "unit": "admissions",
        "target": 3,
    }
    made = client.post("/api/v1/communities/ibd/measures", json=body, headers=bearer(token))
    assert made.status_code == 201
    measure = made.get_json()
    assert measure["type"] == "count"
    assert measure["version"] == 1
    assert measure["fields"] == ["count"]
    assert measure["owners"][0]["username"] == "doc"
    assert measure["co_owned"] is False
    listed = client.get("/api/v1/communities/ibd/measures").get_json()
    assert [m["name"] for m in listed["items"]] == ["Admissions"]
    assert listed["next_cursor"] is None
    patched = client.patch(f"/api/v1/measures/{measure['id']}", json={"target": 2}, headers=bearer(token))
    assert patched.get_json()["version"] == 2
    assert_error(
        client.patch(f"/api/v1/measures/{measure['id']}", json={"id": 9}, headers=bearer(token)),
        422,
        "validation_failed",
    )
    error = assert_error(
        client.post("/api/v1/communities/ibd/measures", json={"type": "x"}, headers=bearer(token)),
        422,
        "validation_failed",
    )
    assert {"name", "type", "period", "improvement"} <= set(error["fields"])
    intruder = token_for(client, "intruder")
    assert_error(client.post("/api/v1/communities/ibd/measures", json=body, headers=bearer(intruder)), 403, "forbidden")
    assert_error(client.get("/api/v1/measures/999"), 404, "not_found")
    assert_error(client.post("/api/v1/communities/ibd/measures", data="x", headers=bearer(token)), 400, "bad_request")


def test_submit_data_chart_and_signals(app, client, network):
    with committed(app):
        measure = factories.measure(communities.get_community("ibd"), accounts.get_user("doc"), baseline_points=12)
        factories.consent(measure, accounts.get_user("doc"), "north")
        factories.values(measure, accounts.get_user("doc"), "north", STABLE + IMPROVED[:-1])
        measure_id = measure.id
    token = token_for(client, "doc")
    stored = client.post(
        f"/api/v1/measures/{measure_id}/data",
        json={"site": "north", "period": "2024-09", "numerator": 81, "denominator": 100},
        headers=bearer(token),
    )
    assert stored.status_code == 201
    assert stored.get_json() == {
        "site": "north",
        "period": "2024-09",
        "measure_version": 1,
        "numerator": 81,
        "denominator": 100,
    }
    error = assert_error(
        client.post(
            f"/api/v1/measures/{measure_id}/data",
            json={"site": "north", "period": "2024-9", "numerator": 101, "denominator": 100},
            headers=bearer(token),
        ),
        422,
        "validation_failed",
    )
    assert set(error["fields"]) == {"period", "numerator"}
    assert_error(
        client.post(
            f"/api/v1/measures/{measure_id}/data", json={"site": "north"}, headers=bearer(token_for(client, "teen"))
        ),
        403,
        "forbidden",
    )
    chart = client.get(f"/api/v1/measures/{measure_id}/chart?site=north&chart=p").get_json()
    assert chart["chart"] == "p"
    assert chart["rules"] == "shewhart_anhoj"
    assert chart["multiplier"] == 100
    first = chart["points"][0]
    assert first["period"] == "2023-01"
    assert first["value"] == 60
    assert first["cl"] is not None
    assert first["ucl"] > 60
    assert {"period": "2024-01", "rule": "sigma"} in [{k: s[k] for k in ("period", "rule")} for s in chart["signals"]]
    network_chart = client.get(f"/api/v1/measures/{measure_id}/chart").get_json()
    assert network_chart["site"] is None
    assert network_chart["chart"] == "pp"
    run = client.get(f"/api/v1/measures/{measure_id}/chart?site=north&chart=run&rules=ihi").get_json()
    assert "ihi_shift" in {s["rule"] for s in run["signals"]}
    error = assert_error(
        client.get(f"/api/v1/measures/{measure_id}/chart?chart=c&rules=nelson"), 422, "validation_failed"
    )
    assert set(error["fields"]) == {"chart", "rules"}
    assert_error(client.get(f"/api/v1/measures/{measure_id}/chart?site=nowhere"), 404, "not_found")


def test_csv_and_fhir_over_the_api(app, client, network):
    many = {"import": "60 per minute"}  # previews and imports share one allowance (5 a minute): this test sends more
    app.config.update(RATE_LIMITS=many, NEW_ACCOUNT_RATE_LIMITS=many)
    with committed(app):
        measure = factories.measure(communities.get_community("ibd"), accounts.get_user("doc"))
        factories.consent(measure, accounts.get_user("doc"), "north")
        measure_id = measure.id
    token = token_for(client, "doc")
    bad = client.post(
        f"/api/v1/measures/{measure_id}/data.csv",
        headers={**bearer(token), "Content-Type": "text/csv"},
        data="site,period,numerator,denominator\nnorth,2024-01,5,4\nnorth,2024-02,x,4\n",
    )
    error = assert_error(bad, 422, "validation_failed")
    assert set(error["fields"]) == {"line 2", "line 3"}
    good = client.post(
        f"/api/v1/measures/{measure_id}/data.csv",
        headers={**bearer(token), "Content-Type": "text/csv"},
        data="site,period,numerator,denominator\nnorth,2024-01,50,80\n",
    )
    assert good.status_code == 201
    assert good.get_json() == {"stored": 1, "replaced": 0}
    assert "north,2024-01,50,80,1,no" in client.get(f"/api/v1/measures/{measure_id}/data.csv").text
    bundle = client.get(f"/api/v1/measures/{measure_id}/fhir", headers=bearer(token)).get_json()
    assert bundle["resourceType"] == "Bundle"
    assert len(bundle["entry"]) == 2
    definition = client.get(f"/api/v1/measures/{measure_id}/fhir?resource=Measure").get_json()
    assert definition["resourceType"] == "Measure"
    assert definition["url"].endswith(f"/Measure/lhn-measure-{measure_id}")
    report = bundle["entry"][0]["resource"]
    report["period"] = {"start": "2024-02-01", "end": "2024-02-29"}
    report["group"][0]["population"][0]["count"] = 52
    report["group"][0]["measureScoreQuantity"]["value"] = 52 / 80
    imported = client.post(
        f"/api/v1/measures/{measure_id}/fhir", json={**bundle, "entry": [{"resource": report}]}, headers=bearer(token)
    )
    assert imported.status_code == 201
    assert imported.get_json()["stored"] == 1
    report["group"][0]["measureScoreQuantity"]["value"] = 0.9
    error = assert_error(
        client.post(
            f"/api/v1/measures/{measure_id}/fhir",
            json={**bundle, "entry": [{"resource": report}]},
            headers=bearer(token),
        ),
        422,
        "validation_failed",
    )
    assert "doesn't match the counts" in error["fields"]["entry 1"]
    # Not a JSON object: refused by the input boundary like any other body (400), before the FHIR checks (422).
    fhir_url = f"/api/v1/measures/{measure_id}/fhir"
    assert_error(client.post(fhir_url, data="[]", headers=bearer(token)), 400, "bad_request")
    nested = '{"resourceType": "Bundle", "entry": ' + "[" * 20 + "]" * 20 + "}"
    assert_error(client.post(fhir_url, data=nested, headers=bearer(token)), 400, "bad_request")


def test_the_submitter_is_notified_too_when_their_own_data_makes_a_rule_fire(app, client, network):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc, baseline_points=12)
        measures.appoint_site_lead(measure, "lead_person", "north", by=doc)
        factories.consent(measure, doc, "north")
        factories.values(measure, doc, "north", STABLE)
        measure_id = measure.id
    lead = bearer(token_for(client, "lead_person"))
    stored = client.post(
        f"/api/v1/measures/{measure_id}/data",
        json={"site": "north", "period": "2024-01", "numerator": 78, "denominator": 100},  # above the upper limit
        headers=lead,
    )
    assert stored.status_code == 201
    notices = client.get("/api/v1/notifications", headers=lead).get_json()["items"]
    assert [n["kind"] for n in notices] == ["measure_improved"]  # the site's chart; the network chart is the owners'
    assert "improved at North Hospital" in notices[0]["text"]  # higher is better, and the point is above
    assert notices[0]["actor"] is None
    owner = client.get("/api/v1/notifications", headers=bearer(token_for(client, "doc"))).get_json()["items"]
    assert {n["actor"] for n in owner if n["kind"] == "measure_improved"} == {"lead_person"}
    low = {"site": "north", "period": "2024-02", "numerator": 20, "denominator": 100}  # below the lower limit
    assert client.post(f"/api/v1/measures/{measure_id}/data", json=low, headers=lead).status_code == 201
    latest = client.get("/api/v1/notifications", headers=lead).get_json()["items"][0]
    assert latest["kind"] == "measure_worsened"
    assert "got worse at North Hospital" in latest["text"] or "worsened at North Hospital" in latest["text"]


def test_a_description_is_rendered_before_the_write_lock_is_taken(app, client, network):
    # Rendering under the lock would raise SlowWorkUnderLock (warnings are errors in tests): a 500.
    doc = bearer(token_for(client, "doc"))
    body = {"name": "Remission", "type": "proportion", "period": "month", "improvement": "up"}
    made = client.post(
        "/api/v1/communities/ibd/measures", json={**body, "description": "In **remission**"}, headers=doc
    )
    assert made.status_code == 201
    assert "<strong>remission</strong>" in made.get_json()["description_html"]
    url = f"/api/v1/measures/{made.get_json()['id']}"
    patched = client.patch(url, json={"description": "Steroid-free *remission*"}, headers=doc).get_json()
    assert "<em>remission</em>" in patched["description_html"]
    assert patched["version"] == 2
    target_only = client.patch(url, json={"target": 75}, headers=doc).get_json()
    assert target_only["description_html"] == patched["description_html"]


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

MEASURE = {"name": "Remission", "type": "proportion", "period": "month", "improvement": "up"}
DEFINITION_FIELDS = {"name": "text", "type": "text", "period": "text", "improvement": "text", "unit": "text?",
                     "description": "text?", "data_source": "text?", "rule_set": "text?", "target": "number?",
                     "multiplier": "number?", "baseline_points": "int?"}  # fmt: skip
WRITES = [
    ("POST", "/communities/ibd/measures", MEASURE, DEFINITION_FIELDS),
    ("PATCH", "/measures/{measure}", {}, {name: f"{kind.rstrip('?')}?" for name, kind in DEFINITION_FIELDS.items()}),
    ("POST", "/measures/{measure}/data", {"site": "north", "period": "2024-09", "numerator": 81, "denominator": 100},
     {"site": "text", "period": "text", "numerator": "number", "denominator": "number", "count": "number"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, network, method, path, body, fields):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.consent(measure, doc, "north")
        url = "/api/v1" + path.format(measure=measure.id)
    assert_wrong_types_refused(client, method, url, body, fields, bearer(token_for(client, "doc")))
    assert_nothing_coerced(app)


@pytest.mark.parametrize("query", ["resource=Patient", "site=%E2%80%AE", f"cursor={encode_cursor([TOO_BIG])}"])
def test_read_query_strings_that_dont_fit_are_refused(app, client, network, query):
    with committed(app):
        measure_id = factories.measure(communities.get_community("ibd"), accounts.get_user("doc")).id
    path = {"resource": "fhir", "site": "chart", "cursor": "changes"}[query.split("=")[0]]
    assert_error(client.get(f"/api/v1/measures/{measure_id}/{path}?{query}"), 422, "validation_failed")
    if query.startswith("cursor"):
        assert_error(client.get(f"/api/v1/communities/ibd/measures?{query}"), 422, "validation_failed")
