"""The measures API beyond the issue's list: co-owner invitations, owners, site data leads, consent, submission
history, the change log and the CSV preview, through the same services and permissions as the pages."""

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures.services import data
from lhn.pagination import encode_cursor
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.bad_input import TOO_BIG, assert_nothing_coerced, assert_wrong_types_refused
from tests.conftest import committed
from tests.measures.test_services import STABLE


def seed(app, *, values=()):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.consent(measure, doc, "north")
        if values:
            factories.values(measure, doc, "north", list(values))
        return measure.id


def test_invite_accept_decline_and_withdraw_co_owners(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    doc, teen, mum = (bearer(token_for(client, name)) for name in ("doc", "teen", "mum"))
    invited = client.post(f"{url}/invitations", json={"username": "@teen"}, headers=doc)
    assert invited.status_code == 201
    invitation = invited.get_json()
    assert (invitation["user"]["username"], invitation["status"], invitation["invited_by"]["username"]) == (
        "teen",
        "pending",
        "doc",
    )
    again = client.post(f"{url}/invitations", json={"username": "teen"}, headers=doc).get_json()
    assert again["id"] == invitation["id"]  # one open invitation per person
    assert [i["id"] for i in client.get(f"{url}/invitations", headers=teen).get_json()["items"]] == [invitation["id"]]
    accepted = client.post(f"{url}/invitation/accept", headers=teen)
    assert accepted.status_code == 200
    assert accepted.get_json()["status"] == "accepted"
    assert client.get(url).get_json()["co_owned"] is True  # a patient and a verified clinician own it
    assert_error(client.post(f"{url}/invitation/accept", headers=teen), 404, "not_found")

    mum_invitation = client.post(f"{url}/invitations", json={"username": "mum"}, headers=doc).get_json()
    assert_error(  # the invitee declines; only owners withdraw
        client.post(f"{url}/invitations/{mum_invitation['id']}/withdraw", headers=mum), 403, "forbidden"
    )
    assert_error(
        client.post(
            f"{url}/invitations/{mum_invitation['id']}/withdraw", headers=bearer(token_for(client, "dr_south"))
        ),
        404,
        "not_found",
    )
    withdrawn = client.post(f"{url}/invitations/{mum_invitation['id']}/withdraw", headers=doc)
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert_error(client.post(f"{url}/invitations/{mum_invitation['id']}/withdraw", headers=doc), 409, "conflict")
    assert_error(client.post(f"{url}/invitation/accept", headers=mum), 404, "not_found")
    statuses = {
        i["user"]["username"]: i["status"] for i in client.get(f"{url}/invitations", headers=doc).get_json()["items"]
    }
    assert statuses == {"teen": "accepted", "mum": "withdrawn"}

    client.post(f"{url}/invitations", json={"username": "claimed"}, headers=doc)
    claimed = bearer(token_for(client, "claimed"))
    assert client.post(f"{url}/invitation/decline", headers=claimed).get_json()["status"] == "declined"

    error = assert_error(client.post(f"{url}/invitations", json={"username": 5}, headers=doc), 422, "validation_failed")
    assert "username" in error["fields"]
    assert_error(client.post(f"{url}/invitations", json={"username": "mum"}, headers=mum), 403, "forbidden")
    assert_error(client.post(f"{url}/invitations", json={"username": "teen"}, headers=doc), 409, "conflict")
    intruder = bearer(token_for(client, "intruder"))
    assert client.get(f"{url}/invitations", headers=intruder).get_json()["items"] == []

    assert client.delete(f"{url}/owners/teen", headers=teen).status_code == 204  # steps down
    assert client.get(url).get_json()["co_owned"] is False
    assert_error(client.delete(f"{url}/owners/doc", headers=doc), 422, "validation_failed")  # the last owner
    assert_error(client.delete(f"{url}/owners/teen", headers=doc), 404, "not_found")


def test_owners_appoint_and_remove_site_data_leads(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    doc = bearer(token_for(client, "doc"))
    made = client.post(f"{url}/leads", json={"username": "lead_person", "site": "south"}, headers=doc)
    assert made.status_code == 201
    lead = made.get_json()
    assert (lead["user"]["username"], lead["site"]["slug"]) == ("lead_person", "south")
    assert [x["id"] for x in client.get(f"{url}/leads").get_json()["items"]] == [lead["id"]]
    error = assert_error(
        client.post(f"{url}/leads", json={"username": "nobody", "site": "nowhere"}, headers=doc),
        422,
        "validation_failed",
    )
    assert set(error["fields"]) == {"username", "site"}
    south = bearer(token_for(client, "dr_south"))
    assert_error(
        client.post(f"{url}/leads", json={"username": "teen", "site": "south"}, headers=south), 403, "forbidden"
    )
    assert_error(client.delete(f"{url}/leads/{lead['id']}", headers=south), 403, "forbidden")
    assert client.delete(f"{url}/leads/{lead['id']}", headers=doc).status_code == 204
    assert_error(client.delete(f"{url}/leads/{lead['id']}", headers=doc), 404, "not_found")
    assert "no longer data lead" in client.get(f"{url}/changes").get_json()["items"][0]["summary"]


def test_a_sites_team_gives_lists_and_withdraws_consent(app, client, network):
    measure_id = seed(app)
    url = f"/api/v1/measures/{measure_id}"
    east = bearer(token_for(client, "dr_east"))
    listed = client.get(f"{url}/consents", headers=east).get_json()["items"]
    assert [(c["site"]["slug"], c["active"]) for c in listed] == [("east", None)]
    assert "East Hospital agrees to contribute aggregate data" in listed[0]["statement"]
    error = assert_error(client.post(f"{url}/consents", json={"site": "east"}, headers=east), 422, "validation_failed")
    assert "agree" in error["fields"]
    given = client.post(f"{url}/consents", json={"site": "east", "agree": True}, headers=east)
    assert given.status_code == 201
    assert given.get_json()["given_by"]["username"] == "dr_east"
    assert client.get(f"{url}/consents", headers=east).get_json()["items"][0]["active"]["id"] == given.get_json()["id"]
    teen = bearer(token_for(client, "teen"))
    assert client.get(f"{url}/consents", headers=teen).get_json()["items"] == []
    assert_error(client.post(f"{url}/consents", json={"site": "east", "agree": True}, headers=teen), 403, "forbidden")
    assert_error(
        client.post(f"{url}/consents", json={"site": "nowhere", "agree": True}, headers=east), 404, "not_found"
    )
    withdrawn = client.post(f"{url}/consents/east/withdraw", headers=east)
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["withdrawn_by"]["username"] == "dr_east"
    assert_error(client.post(f"{url}/consents/east/withdraw", headers=east), 404, "not_found")
    history = client.get(f"{url}/consents", headers=east).get_json()["items"][0]
    assert history["active"] is None
    assert len(history["history"]) == 1


def test_submission_history_for_the_sites_team_and_the_change_log(app, client, network):
    measure_id = seed(app, values=STABLE[:2])
    url = f"/api/v1/measures/{measure_id}"
    doc = bearer(token_for(client, "doc"))
    client.post(
        f"{url}/data", json={"site": "north", "period": "2023-01", "numerator": 61, "denominator": 100}, headers=doc
    )
    rows = client.get(f"{url}/sites/north/history", headers=doc).get_json()
    assert [(r["period"], r["numerator"], r["current"]) for r in rows["items"]] == [
        ("2023-02", 62, True),
        ("2023-01", 61, True),
        ("2023-01", 60, False),
    ]
    assert rows["items"][1]["source"] == "api"
    assert rows["items"][1]["submitted_by"]["username"] == "doc"
    assert rows["next_cursor"] is None
    assert_error(client.get(f"{url}/sites/north/history", headers=bearer(token_for(client, "teen"))), 404, "not_found")
    assert_error(client.get(f"{url}/sites/nowhere/history", headers=doc), 404, "not_found")
    client.patch(url, json={"target": 85}, headers=doc)
    changes = client.get(f"{url}/changes").get_json()
    assert [c["kind"] for c in changes["items"]] == ["definition", "definition"]
    assert changes["items"][0]["version"] == 2
    assert changes["items"][0]["definition"]["target"] == 85
    assert changes["items"][0]["changed_by"]["username"] == "doc"
    assert_error(client.get(f"{url}/changes?cursor=nope"), 422, "validation_failed")


def test_history_and_change_log_pages_by_keyset(app, ctx, network):
    measure = factories.measure(communities.get_community("ibd"), accounts.get_user("doc"))
    factories.consent(measure, accounts.get_user("doc"), "north")
    factories.values(measure, accounts.get_user("doc"), "north", STABLE[:5])
    north, doc = accounts.find_institution("north"), accounts.get_user("doc")
    seen, cursor = [], None
    while True:
        page = data.history(measure, north, viewer=doc, cursor=cursor, limit=2)
        seen += [p.period_start.month for p in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen == [5, 4, 3, 2, 1]


def test_csv_preview_reports_every_row_and_stores_nothing(app, client, network):
    measure_id = seed(app)
    doc = bearer(token_for(client, "doc"))
    text = "site,period,numerator,denominator\nnorth,2024-01,50,80\nnorth,2024-02,90,80\n"
    preview = client.post(
        f"/api/v1/measures/{measure_id}/data.csv/preview", data=text, headers={**doc, "Content-Type": "text/csv"}
    )
    assert preview.status_code == 200
    body = preview.get_json()
    assert body["valid"] is False
    assert [(r["line"], r["site"], r["period"], bool(r["errors"])) for r in body["rows"]] == [
        (2, "north", "2024-01", False),
        (3, "north", "2024-02", True),
    ]
    assert body["rows"][1]["errors"][0]["field"] == "numerator"
    assert client.get(f"/api/v1/measures/{measure_id}/sites/north/history", headers=doc).get_json()["items"] == []
    assert_error(
        client.post(
            f"/api/v1/measures/{measure_id}/data.csv/preview",
            data="a,b\n1,2\n",
            headers={**doc, "Content-Type": "text/csv"},
        ),
        422,
        "validation_failed",
    )


# --- the input boundary: wrong types are refused, never stored as text ------------------------------------

WRITES = [
    ("/invitations", {"username": "teen"}, {"username": "text"}),
    ("/leads", {"username": "lead_person", "site": "south"}, {"username": "text", "site": "text"}),
    ("/consents", {"site": "north", "agree": True}, {"site": "text", "agree": "bool"}),
]


@pytest.mark.parametrize(("path", "body", "fields"), WRITES, ids=[w[0] for w in WRITES])
def test_writes_refuse_wrong_types_and_store_nothing(app, client, network, path, body, fields):
    url = f"/api/v1/measures/{seed(app)}{path}"
    assert_wrong_types_refused(client, "POST", url, body, fields, bearer(token_for(client, "doc")))
    assert_nothing_coerced(app)


def test_history_cursor_that_doesnt_fit_is_refused(app, client, network):
    url = f"/api/v1/measures/{seed(app)}/sites/north/history?cursor={encode_cursor(['x', TOO_BIG])}"
    assert_error(client.get(url, headers=bearer(token_for(client, "doc"))), 422, "validation_failed")
