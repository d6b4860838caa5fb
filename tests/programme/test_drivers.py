"""Key driver diagrams: owners build them through the page's forms and the API, every change is a version, and a
change idea's status follows the PDSA cycles that test its idea at every site."""

import re

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures import services as measures
from lhn.measures.models import PdsaAct
from lhn.programme import services as programme
from lhn.programme.models import DriverDiagram
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit
from tests.measures.conftest import make_network


@pytest.fixture
def ibd_network(app):
    """The measures tests' network, with an outcome measure and an idea to test."""
    make_network(app)
    with committed(app):
        community = communities.get_community("ibd")
        doc = accounts.get_user("doc")
        measure = factories.measure(community, doc, name="Steroid-free remission", target=80.0)
        idea = factories.idea(community, accounts.get_user("teen"), title="Nurse phone line after infusions")
        ids = {"measure": measure.id, "idea": idea.id}
    return ids


def _cycle(app, measure_id, idea_id, site="north", by="doc"):
    with committed(app):
        measure = measures.find_measure(measure_id)
        fields = measures.PdsaFields(site=site, title=f"Phone line at {site}", prediction="Fewer calls to the ward",
                                     started_on="2024-03-01", idea_id=idea_id)  # fmt: skip
        return measures.create_cycle(measure, fields, by=accounts.get_user(by)).id


def _close(app, measure_id, cycle_id, act, by="doc"):
    with committed(app):
        measure = measures.find_measure(measure_id)
        cycle = measures.get_cycle(measure, cycle_id, viewer=accounts.get_user(by))
        measures.close_cycle(cycle, measure, act=act, act_notes="Calls fell by a third.", ended_on="2024-04-01",
                             by=accounts.get_user(by))  # fmt: skip


def _build(client, ids):
    """doc starts a diagram and adds a primary driver, a secondary driver and a change idea, through the pages."""
    login(client, "doc")
    started = submit(client, "/c/ibd/drivers/new", "Start the diagram", title="Remission for every child",
                     aim="Raise steroid-free remission to 80% across our sites by December 2027",
                     measure_id=str(ids["measure"]))  # fmt: skip
    assert started.status_code == 302, started.text
    url = started.headers["Location"]
    submit(client, url, "Add", label="Reliable infusion care")
    primary = programme_nodes(client, url)["Reliable infusion care"]
    submit(client, url, "Add", parent_id=primary, label="Families reach a nurse quickly")
    secondary = programme_nodes(client, url)["Families reach a nurse quickly"]
    added = submit(client, url, "Add", parent_id=secondary, label="Nurse phone line", idea_id=str(ids["idea"]))
    assert added.status_code == 302
    return url


def programme_nodes(client, url):
    """The diagram's nodes, by label, as its nested list shows them: {label: id}."""
    page = client.get(url).text
    item = r'<li id="node-(\d+)"[^>]*>\s*<span class="dd-kind">[^<]*</span>\s*<strong>([^<]*)</strong>'
    found = re.findall(item, page)
    return {label: node_id for node_id, label in found}


def test_change_status_comes_from_the_cycles_acts():
    assert programme.change_status([]) == "untested"
    assert programme.change_status([None]) == "testing"
    assert programme.change_status([PdsaAct.ABANDON, PdsaAct.ADAPT]) == "testing"  # adapting is testing again
    assert programme.change_status([PdsaAct.ABANDON, None]) == "testing"
    assert programme.change_status([PdsaAct.ABANDON, PdsaAct.ABANDON]) == "abandoned"
    assert programme.change_status([PdsaAct.ABANDON, PdsaAct.ADOPT, None]) == "adopted"  # adopted somewhere


def test_an_owner_builds_a_diagram_and_its_change_turns_testing_then_adopted(app, client, ibd_network):
    url = _build(client, ibd_network)
    page = client.get(url).text
    assert "Raise steroid-free remission to 80% across our sites by December 2027" in page
    assert "Tracked by" in page
    assert "Steroid-free remission</a>, target 80" in page
    assert '<svg class="driver-diagram"' in page
    assert 'role="img"' in page
    assert re.search(r'<g class="dd-node dd-change dd-untested"><title>Nurse phone line</title>', page)
    assert re.search(r'<desc id="driver-diagram-desc">[^<]*1 primary drivers, 1 secondary drivers, 1 change ideas: '
                     r"1 untested\.</desc>", page)  # fmt: skip
    # The nested list says the same for screen readers and phones, with the idea it links.
    assert re.search(r'Change idea:</span>\s*<strong>Nurse phone line</strong>\s*<span class="dd-badge dd-untested">'
                     r"Untested</span>", page)  # fmt: skip
    assert "Nurse phone line after infusions</a>" in page

    cycle_id = _cycle(app, ibd_network["measure"], ibd_network["idea"])  # a site starts testing the idea
    testing = client.get(url).text
    assert '<span class="dd-badge dd-testing">Testing</span>' in testing
    assert re.search(r'<g class="dd-node dd-change dd-testing">', testing)
    assert "tested at 1 site in 1 PDSA cycle" in testing
    assert f'href="/measures/{ibd_network["measure"]}/pdsa/{cycle_id}"' in testing

    _close(app, ibd_network["measure"], cycle_id, "adopt")
    adopted = client.get(url).text
    assert '<span class="dd-badge dd-adopted">Adopted</span>' in adopted
    assert re.search(r'<text class="dd-status"[^>]*>Adopted</text>', adopted)

    history = client.get(url + "/history").text
    summaries = re.findall(r"Version (\d+)</a>:\s*(.*?) <span", history)
    assert summaries == [
        ("4", "Added the change idea “Nurse phone line” under “Families reach a nurse quickly”."),
        ("3", "Added the secondary driver “Families reach a nurse quickly” under “Reliable infusion care”."),
        ("2", "Added the primary driver “Reliable infusion care”."),
        ("1", "Started the diagram."),
    ]
    second = client.get(url + "/versions/2").text
    assert "Reliable infusion care" in second
    assert "Nurse phone line" not in second


def test_an_edit_on_a_diagram_changed_meanwhile_is_refused_with_the_text_kept(app, client, ibd_network):
    url = _build(client, ibd_network)
    other_tab = app.test_client()  # the same owner in a second tab (or a co-owner: the same rule)
    login(other_tab, "doc")
    seen = client.get(url).text  # the first owner's page, at version 4
    submit(other_tab, url, "Add", label="Shared decisions with families")  # version 5 meanwhile
    refused = submit(client, url, "Add", page=seen, label="Steroid-sparing plans")
    assert refused.status_code == 422
    assert "it is now version 5" in refused.text
    assert re.search(r'<input[^>]*name="label"[^>]*value="Steroid-sparing plans"', refused.text)
    again = submit(client, url, "Add", page=refused.text, label="Steroid-sparing plans")  # it now carries 5
    assert again.status_code == 302


def test_members_read_and_only_owners_edit(app, client, ibd_network):
    url = _build(client, ibd_network)
    reader = app.test_client()
    login(reader, "teen")
    page = reader.get(url).text
    assert "Nurse phone line" in page
    assert "Add to the diagram" not in page
    assert "Edit the aim" not in page
    assert reader.get("/c/ibd/drivers/new").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 200  # a public community's diagrams are public, like its measures
    assert 'aria-current="page">Driver diagrams</a>' in anonymous.get("/c/ibd/drivers").text
    assert anonymous.post(url + "/nodes").status_code in (302, 400)  # log in first; no CSRF token either way


def test_a_restricted_communitys_diagram_is_hidden_from_outsiders(app, client):
    with committed(app):
        owner = factories.user("clinician", username="own", verified=True)
        community = factories.community(owner, slug="closed", restricted=True)
        diagram = programme.create_diagram(community, title="Closed aim", aim="Fewer flares", measure_id=None,
                                           by=owner)  # fmt: skip
        diagram_id = diagram.id
        factories.user("clinician", username="outsider", verified=True)
    login(client, "outsider")
    assert client.get(f"/drivers/{diagram_id}").status_code == 404
    assert client.get(f"/drivers/{diagram_id}/history").status_code == 404
    assert client.get(f"/api/v1/drivers/{diagram_id}").status_code == 404
    assert client.get("/c/closed/drivers").status_code == 403
    login(client, "own")
    assert client.get(f"/drivers/{diagram_id}").status_code == 200


def test_removing_a_driver_removes_its_branch_and_the_history_keeps_it(app, client, ibd_network):
    url = _build(client, ibd_network)
    primary = programme_nodes(client, url)["Reliable infusion care"]
    edit = f"{url}/nodes/{primary}/edit"
    renamed = submit(client, edit, "Save", label="Reliable, timely infusion care")
    assert renamed.status_code == 302
    removed = submit(client, edit, "Remove “Reliable, timely infusion care”", follow_redirects=True)
    assert "Removed." in removed.text
    assert "<strong>Nurse phone line</strong>" not in removed.text
    assert "No drivers yet." in removed.text
    history = client.get(url + "/history").text
    assert "Removed the primary driver “Reliable, timely infusion care” and the 2 below it." in history
    assert "Renamed the primary driver “Reliable infusion care” to “Reliable, timely infusion care”." in history
    assert "Nurse phone line" in client.get(url + "/versions/5").text


def test_the_api_builds_reads_and_refuses(app, client, ibd_network):
    doc = bearer(token_for(client, "doc"))
    made = client.post("/api/v1/communities/ibd/drivers", headers=doc, json={
        "title": "Remission", "aim": "80% by 2027", "measure_id": ibd_network["measure"]})  # fmt: skip
    assert made.status_code == 201, made.text
    base = f"/api/v1/drivers/{made.json['id']}"
    primary = client.post(f"{base}/nodes", headers=doc, json={"label": "Reliable care", "version": 1}).json
    secondary = client.post(f"{base}/nodes", headers=doc, json={"label": "Quick answers", "parent_id": primary["id"]})
    change = client.post(f"{base}/nodes", headers=doc, json={
        "label": "Phone line", "parent_id": secondary.json["id"], "idea_id": ibd_network["idea"]})  # fmt: skip
    assert change.status_code == 201
    assert change.json["kind"] == "change"
    _cycle(app, ibd_network["measure"], ibd_network["idea"], site="south", by="dr_south")
    tree = client.get(base).json  # anyone may read a public community's diagram
    leaf = tree["drivers"][0]["children"][0]["children"][0]
    assert leaf["status"] == "testing"
    assert leaf["idea"]["id"] == ibd_network["idea"]
    assert [c["site"] for c in leaf["cycles"]] == ["South Hospital"]
    assert tree["status_counts"] == {"untested": 0, "testing": 1, "adopted": 0, "abandoned": 0}
    assert tree["version"] == 4

    assert_error(client.patch(base, headers=doc, json={"aim": "90%", "version": 2}), 422, "validation_failed")
    assert client.patch(base, headers=doc, json={"aim": "90% by 2027", "version": 4}).json["version"] == 5
    assert_error(client.post(f"{base}/nodes", headers=doc, json={"label": 7}), 422, "validation_failed")
    under_change = client.post(f"{base}/nodes", headers=doc, json={"label": "x", "parent_id": change.json["id"]})
    assert "parent_id" in assert_error(under_change, 422, "validation_failed")["fields"]
    foreign = client.post(f"{base}/nodes", headers=doc, json={"label": "Diet", "parent_id": primary["id"],
                                                              "idea_id": ibd_network["idea"]})  # fmt: skip
    assert "idea_id" in assert_error(foreign, 422, "validation_failed")["fields"]  # only a change links an idea
    phi_label = client.post(f"{base}/nodes", headers=doc, json={"label": "Call Mrs Dorothy Ainsworth on 0113 496 0000"})
    assert assert_error(phi_label, 422, "phi_confirmation_required")
    assert_error(client.post(f"{base}/nodes", headers=doc, json={"label": "x", "parent_id": 99999}), 404, "not_found")

    teen = bearer(token_for(client, "teen"))
    assert_error(client.post(f"{base}/nodes", headers=teen, json={"label": "Mine"}), 403, "forbidden")
    assert_error(client.delete(f"{base}/nodes/{primary['id']}", headers=teen), 403, "forbidden")
    assert client.delete(f"{base}/nodes/{primary['id']}?version=5", headers=doc).status_code == 204
    versions = client.get(f"{base}/versions").json["items"]
    assert [v["number"] for v in versions] == [6, 5, 4, 3, 2, 1]
    assert versions[0]["summary"] == "Removed the primary driver “Reliable care” and the 2 below it."
    assert versions[1]["diagram"]["aim"] == "90% by 2027"
    assert "/drivers/{diagram_id}/nodes" in client.get("/api/v1/openapi.json").json["paths"]


def test_the_diagram_page_runs_the_same_queries_however_big_it_grows(app, client, ibd_network, count_queries):
    url = _build(client, ibd_network)
    _cycle(app, ibd_network["measure"], ibd_network["idea"])
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    first = len(queries)
    with committed(app):
        diagram = app.extensions["sqlalchemy"].session.get(DriverDiagram, int(url.rsplit("/", 1)[1]))
        doc, community = accounts.get_user("doc"), communities.get_community("ibd")
        for n in range(3):
            primary = programme.add_node(diagram, parent_id=None, label=f"Driver {n}", version=None, by=doc)
            secondary = programme.add_node(diagram, parent_id=primary.id, label=f"Secondary {n}", version=None,
                                           by=doc)  # fmt: skip
            idea = factories.idea(community, doc, title=f"Idea number {n} for the infusion ward")
            programme.add_node(diagram, parent_id=secondary.id, label=f"Change {n}", idea_id=idea.id, version=None,
                               by=doc)  # fmt: skip
    for _ in range(2):
        _cycle(app, ibd_network["measure"], ibd_network["idea"], site="south", by="dr_south")
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == first


def test_my_data_exports_the_changes_a_person_made(app, client, ibd_network):
    _build(client, ibd_network)
    with app.app_context():
        from lhn.programme.mydata import export_programme

        changes = export_programme(accounts.get_user("doc"))["driver_diagram_changes"]
    assert [c["version"] for c in changes] == [1, 2, 3, 4]
    assert changes[-1]["diagram"]["nodes"][0]["label"] == "Reliable infusion care"
