"""The learning loop over JSON: PDSA cycles (list, start, update, close), chart notes, phase changes and the
annotations a chart shows, through the same services and permissions as the pages."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed
from tests.measures.test_services import IMPROVED, STABLE


def seed(app):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc, baseline_points=12)
        factories.consent(measure, doc, "north")
        factories.values(measure, doc, "north", STABLE + IMPROVED)
        return measure.id


CYCLE = {"site": "north", "title": "Clinic reminders", "prediction": "More in remission", "started_on": "2024-01-05"}


def test_pdsa_cycles_start_update_and_close(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}/pdsa"
    doc = bearer(token_for(client, "doc"))
    error = assert_error(
        client.post(url, json={"site": "north", "started_on": "2999-01-01"}, headers=doc), 422, "validation_failed"
    )
    assert {"title", "prediction", "started_on"} <= set(error["fields"])
    assert_error(client.post(url, json={**CYCLE, "title": ["x"]}, headers=doc), 422, "validation_failed")
    made = client.post(url, json={**CYCLE, "plan": "Text *everyone*"}, headers=doc)
    assert made.status_code == 201
    cycle = made.get_json()
    assert (cycle["site"]["slug"], cycle["title"], cycle["act"], cycle["closed_at"]) == (
        "north",
        "Clinic reminders",
        None,
        None,
    )
    assert "<em>everyone</em>" in cycle["plan_html"]
    assert_error(client.post(url, json=CYCLE, headers=bearer(token_for(client, "dr_south"))), 403, "forbidden")
    assert [c["id"] for c in client.get(url).get_json()["items"]] == [cycle["id"]]
    assert client.get(f"{url}?site=south").get_json()["items"] == []
    assert_error(client.get(f"{url}?site=nowhere"), 404, "not_found")
    updated = client.patch(f"{url}/{cycle['id']}", json={"study": "Up 20 points"}, headers=doc)
    assert updated.status_code == 200
    assert (updated.get_json()["study"], updated.get_json()["title"]) == ("Up 20 points", "Clinic reminders")
    assert_error(client.patch(f"{url}/{cycle['id']}", json={"site": "south"}, headers=doc), 422, "validation_failed")
    assert_error(
        client.patch(f"{url}/{cycle['id']}", json={"study": "x"}, headers=bearer(token_for(client, "teen"))),
        403,
        "forbidden",
    )
    error = assert_error(
        client.post(f"{url}/{cycle['id']}/close", json={"act": "keep"}, headers=doc), 422, "validation_failed"
    )
    assert set(error["fields"]) == {"act", "act_notes", "ended_on"}
    closed = client.post(
        f"{url}/{cycle['id']}/close",
        json={"act": "adopt", "act_notes": "It worked.", "ended_on": "2024-03-01"},
        headers=doc,
    )
    assert closed.get_json()["act"] == "adopt"
    assert closed.get_json()["closed_at"] is not None
    assert client.get(f"{url}/{cycle['id']}").get_json()["act_notes"] == "It worked."
    assert_error(client.patch(f"{url}/{cycle['id']}", json={"study": "later"}, headers=doc), 422, "validation_failed")
    assert_error(client.get(f"{url}/999"), 404, "not_found")


def test_chart_notes_phase_changes_and_annotations(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    doc, south = bearer(token_for(client, "doc")), bearer(token_for(client, "dr_south"))
    note = client.post(f"{url}/notes", json={"site": "north", "on": "2023-06-10", "text": "EHR outage"}, headers=doc)
    assert note.status_code == 201
    assert (note.get_json()["site"], note.get_json()["on"]) == ("north", "2023-06-10")
    assert_error(client.post(f"{url}/notes", json={"on": "2023-06-10", "text": "x"}, headers=south), 403, "forbidden")
    error = assert_error(
        client.post(f"{url}/notes", json={"site": "north", "on": "June", "text": ""}, headers=doc),
        422,
        "validation_failed",
    )
    assert set(error["fields"]) == {"on", "text"}
    client.post(f"{url}/notes", json={"on": "2023-07-01", "text": "Network meeting"}, headers=doc)
    assert [n["text"] for n in client.get(f"{url}/notes?site=north").get_json()["items"]] == ["EHR outage"]
    assert [n["text"] for n in client.get(f"{url}/notes").get_json()["items"]] == ["Network meeting"]

    phase = client.post(
        f"{url}/phases", json={"site": "north", "period": "2024-01", "reason": "Reminders"}, headers=doc
    )
    assert phase.status_code == 201
    assert phase.get_json()["period"] == "2024-01"
    assert_error(
        client.post(f"{url}/phases", json={"site": "north", "period": "2024-01", "reason": "Again"}, headers=doc),
        422,
        "validation_failed",
    )
    assert_error(
        client.post(f"{url}/phases", json={"site": "north", "period": "2024-02", "reason": "x"}, headers=south),
        403,
        "forbidden",
    )
    assert [p["reason"] for p in client.get(f"{url}/phases?site=north").get_json()["items"]] == ["Reminders"]
    chart = client.get(f"{url}/chart?site=north&chart=p").get_json()
    assert len(chart["phases"]) == 2
    kinds = {(a["kind"], a["text"]) for a in client.get(f"{url}/annotations?site=north").get_json()["items"]}
    assert {("note", "EHR outage"), ("phase", "New phase: Reminders")} <= kinds
    assert_error(client.delete(f"{url}/phases/{phase.get_json()['id']}", headers=south), 403, "forbidden")
    assert client.delete(f"{url}/phases/{phase.get_json()['id']}", headers=doc).status_code == 204
    assert client.get(f"{url}/phases?site=north").get_json()["items"] == []
    assert_error(client.delete(f"{url}/phases/{phase.get_json()['id']}", headers=doc), 404, "not_found")


def test_points_left_out_of_the_baseline_over_the_api(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    doc, south = bearer(token_for(client, "doc")), bearer(token_for(client, "dr_south"))
    body = {"site": "north", "period": "2023-07", "reason": "Registry outage"}
    assert_error(client.post(f"{url}/exclusions", json=body, headers=south), 403, "forbidden")
    assert_error(client.post(f"{url}/exclusions", json={**body, "period": "July"}, headers=doc), 422,
                 "validation_failed")  # fmt: skip
    made = client.post(f"{url}/exclusions", json=body, headers=doc)
    assert made.status_code == 201
    assert {k: made.get_json()[k] for k in ("site", "period", "reason")} == body
    assert_error(client.post(f"{url}/exclusions", json=body, headers=doc), 422, "validation_failed")
    chart = client.get(f"{url}/chart?site=north&chart=p").get_json()
    july = next(p for p in chart["points"] if p["period"] == "2023-07")
    assert (july["excluded"], july["baseline"], july["value"]) == (True, False, 63)
    assert chart["points"][0]["cl"] == pytest.approx(100 * 657 / 1100)
    assert [x["reason"] for x in client.get(f"{url}/exclusions?site=north").get_json()["items"]] == ["Registry outage"]
    assert client.get(f"{url}/exclusions").get_json()["items"] == []  # the network chart's: none
    kinds = {(a["kind"], a["text"]) for a in client.get(f"{url}/annotations?site=north").get_json()["items"]}
    assert ("exclusion", "Left out of the baseline: Registry outage") in kinds
    assert_error(client.delete(f"{url}/exclusions/{made.get_json()['id']}", headers=south), 403, "forbidden")
    assert client.delete(f"{url}/exclusions/{made.get_json()['id']}", headers=doc).status_code == 204
    assert client.get(f"{url}/chart?site=north&chart=p").get_json()["points"][0]["cl"] == pytest.approx(60)
    assert_error(client.delete(f"{url}/exclusions/{made.get_json()['id']}", headers=doc), 404, "not_found")


def test_lists_take_the_same_queries_however_long(app, client, network, count_queries):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    doc = bearer(token_for(client, "doc"))
    teams = [(doc, "north")] + [(bearer(token_for(client, f"dr_{s}")), s) for s in ("south", "east", "west")]

    def add(n):
        for i in range(n):
            for team, site in teams[:n]:  # cycles by different people at different sites
                client.post(f"{url}/pdsa", json={**CYCLE, "site": site, "title": f"Change {i}"}, headers=team)
            client.post(
                f"{url}/notes", json={"site": "north", "on": f"2023-0{i + 1}-02", "text": f"Note {i}"}, headers=doc
            )
            client.post(f"{url}/phases", json={"site": "north", "period": f"2024-0{i + 1}", "reason": "x"}, headers=doc)
            client.patch(url, json={"target": 70 + i}, headers=doc)

    def queries():
        counts = []
        for path in ("pdsa", "notes?site=north", "phases?site=north", "changes", "sites/north/history"):
            with count_queries() as statements:
                assert client.get(f"{url}/{path}", headers=doc).status_code == 200
            counts.append(len(statements))
        return counts

    add(1)
    first = queries()
    add(3)
    assert queries() == first


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

CYCLE_FIELDS = {"site": "text", "title": "text", "prediction": "text", "started_on": "text", "plan": "text?",
                "do_notes": "text?", "study": "text?", "idea_id": "int?"}  # fmt: skip
PATCH_FIELDS = {name: f"{kind.rstrip('?')}?" for name, kind in CYCLE_FIELDS.items() if name != "site"}
WRITES = [
    ("POST", "/pdsa", CYCLE, CYCLE_FIELDS),
    ("PATCH", "/pdsa/{cycle}", {}, PATCH_FIELDS),
    ("POST", "/pdsa/{cycle}/close", {"act": "adopt", "act_notes": "It worked.", "ended_on": "2024-03-01"},
     {"act": "text", "act_notes": "text", "ended_on": "text"}),
    ("POST", "/notes", {"site": "north", "on": "2023-06-10", "text": "EHR outage"},
     {"site": "text?", "on": "text", "text": "text"}),
    ("POST", "/phases", {"site": "north", "period": "2024-01", "reason": "Reminders"},
     {"site": "text?", "period": "text", "reason": "text"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "fields"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, network, method, path, body, fields):
    measure_id, doc = seed(app), bearer(token_for(client, "doc"))
    cycle = client.post(f"/api/v1/measures/{measure_id}/pdsa", json=CYCLE, headers=doc).get_json()
    url = f"/api/v1/measures/{measure_id}" + path.format(cycle=cycle["id"])
    assert_wrong_types_refused(client, method, url, body, fields, doc)
    assert_nothing_coerced(app)


@pytest.mark.parametrize("path", ["pdsa", "notes", "phases", "annotations"])
def test_a_site_query_with_direction_controls_is_refused(app, client, network, path):
    assert_error(client.get(f"/api/v1/measures/{seed(app)}/{path}?site=%E2%80%AEhtron"), 422, "validation_failed")
