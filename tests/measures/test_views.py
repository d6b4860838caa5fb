"""Measure pages work for a real person without JavaScript: dashboard, chart, forms, uploads, owners, PDSA."""

import io
import json
import re

import pytest

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.measures import services as measures
from lhn.measures.models import Improvement
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit
from tests.measures.test_services import IMPROVED, STABLE


def seed(app, *, restricted=False):
    with committed(app):
        community = communities.get_community("ibd")
        doc = accounts.get_user("doc")
        measure = factories.measure(community, doc, baseline_points=12)
        factories.consent(measure, doc, "north")
        factories.values(measure, doc, "north", STABLE + IMPROVED)
        south = accounts.get_user("dr_south")
        factories.consent(measure, south, "south")
        factories.values(measure, south, "south", [(40, 50), (41, 52), (44, 60)])
        measure_id = measure.id
    return measure_id


def test_dashboard_shows_small_multiples_and_the_tab(app, client, network, count_queries):
    measure_id = seed(app)
    page = client.get("/c/ibd/measures")
    assert page.status_code == 200
    assert 'aria-current="page">Measures</a>' in page.text
    assert f'href="/measures/{measure_id}"' in page.text
    assert '<svg class="sparkline"' in page.text
    assert "Signal:" in page.text
    assert "Target" in page.text
    assert 'href="/c/ibd/measures"' in client.get("/c/ibd").text  # the community page's tab
    with count_queries() as queries:
        client.get("/c/ibd/measures")
    first = len(queries)
    with committed(app):
        factories.values(
            measures.find_measure(measure_id), accounts.get_user("doc"), "north", [(70, 100)] * 6, start="2025-01"
        )
    with count_queries() as queries:
        client.get("/c/ibd/measures")
    assert len(queries) == first  # more data doesn't mean more queries


def test_chart_page_names_the_rules_on_hover_and_under_the_chart_with_a_table(app, client, network):
    measure_id = seed(app)
    login(client, "teen")
    page = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    assert '<svg class="spc-chart"' in page
    assert 'role="img"' in page
    assert re.search(
        r'<circle class="point signal"[^>]*><title>[^<]*signal:[^<]*Outside the 3-sigma control limits', page
    )
    assert '<h3 id="signals-heading">Signals</h3>' in page
    assert "Table view of the same data" in page
    assert '<th scope="row">Jan 2023</th>' in page
    assert "Not yet co-owned" in page
    assert (
        "Idea it tests" not in client.get(f"/measures/{measure_id}/pdsa/new").text
    )  # no ideas in this community: no picker
    bad = client.get(f"/measures/{measure_id}?chart=u&rules=nelson")
    assert bad.status_code == 200
    assert "Showing the default chart instead" in bad.text
    assert client.get(f"/measures/{measure_id}?site=nowhere").status_code == 404
    run = client.get(f"/measures/{measure_id}?chart=run&rules=ihi").text
    assert "Shift: 6 or more points in a row" in run


def test_define_edit_and_see_the_change_log(app, client, network):
    login(client, "teen")
    new = "/c/ibd/measures/new"
    bad = submit(client, new, "Define the measure", name="", type="proportion", target="lots")
    assert bad.status_code == 422
    assert "Name the measure" in bad.text
    assert "Enter a number." in bad.text
    made = submit(client, new, "Define the measure", name="Feeling well", type="continuous", unit="score")
    assert made.status_code == 302
    measure_url = made.headers["Location"]
    edit_url = measure_url + "/edit"
    saved = submit(client, edit_url, "Save a new version", rule_set="ihi", target="7", follow_redirects=True)
    assert "version 2" in saved.text
    log = client.get(measure_url + "/changes").text
    assert "rule set: shewhart_anhoj → ihi" in log
    assert "target: — → 7.0" in log
    login(client, "dr_south")
    assert client.get(edit_url).status_code == 403


def test_owner_invites_a_patient_who_accepts_through_the_pages(app, client, network):
    measure_id = seed(app)
    owner, patient = app.test_client(), app.test_client()
    login(owner, "doc")
    login(patient, "teen")
    owners = f"/measures/{measure_id}/owners"
    submit(owner, owners, "Invite a co-owner", username="teen")
    assert "You're invited to co-own" in patient.get(owners).text
    accepted = submit(patient, owners, "Accept", follow_redirects=True)
    assert "You now co-own this measure." in accepted.text
    assert "badge-coowned" in accepted.text
    assert "You're invited to co-own" not in accepted.text
    error = submit(owner, owners, "Invite a co-owner", username="intruder", follow_redirects=True)
    assert "Invite a member of this community" in error.text


def test_an_invited_caregiver_declines_through_the_page(app, client, network):
    measure_id = seed(app)
    owner, carer = app.test_client(), app.test_client()
    login(owner, "doc")
    login(carer, "mum")
    owners = f"/measures/{measure_id}/owners"
    submit(owner, owners, "Invite a co-owner", username="mum")
    declined = submit(carer, owners, "Decline", follow_redirects=True)
    assert "Invitation declined." in declined.text
    assert "You're invited to co-own" not in declined.text
    assert "Not yet co-owned" in declined.text


def test_an_owner_withdraws_an_open_invitation_on_the_owners_page(app, client, network):
    measure_id = seed(app)
    owners = f"/measures/{measure_id}/owners"
    owner, invitee = app.test_client(), app.test_client()
    login(owner, "doc")
    login(invitee, "mum")
    submit(owner, owners, "Invite a co-owner", username="mum")
    page = owner.get(owners).text
    assert "Open invitations" in page
    action = re.search(r'action="(/measures/\d+/owners/invitations/\d+/withdraw)"', page).group(1)
    assert "Open invitations" not in invitee.get(owners).text  # owners only
    assert invitee.post(action).status_code == 403  # an invitee declines instead
    assert "You're invited to co-own" in invitee.get(owners).text  # not theirs to withdraw
    done = submit(owner, owners, "Withdraw", follow_redirects=True)
    assert "Invitation to" in done.text
    assert "withdrawn" in done.text
    assert "Open invitations" not in done.text
    assert "You're invited to co-own" not in invitee.get(owners).text
    again = owner.post(action, follow_redirects=True)
    assert "This invitation was already withdrawn." in again.text


def test_owners_appoint_and_remove_a_site_lead_and_a_co_owner_steps_down_through_the_page(app, client, network):
    measure_id = seed(app)
    owners = f"/measures/{measure_id}/owners"
    owner, patient = app.test_client(), app.test_client()
    login(owner, "doc")
    login(patient, "teen")
    page = owner.get(owners).text
    ids = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), ids  # each label names one field: the invite's and the lead's "Username"
    appointed = submit(owner, owners, "Appoint a site data lead", username="lead_person", site="east",
                       follow_redirects=True)  # fmt: skip
    assert "data lead for East Hospital" in appointed.text
    removed = submit(owner, owners, "Remove", action_has="/leads/", follow_redirects=True)
    assert "data lead for East Hospital" not in removed.text
    submit(owner, owners, "Invite a co-owner", username="teen")
    submit(patient, owners, "Accept")
    stepped = submit(patient, owners, "Step down", follow_redirects=True)
    assert stepped.status_code == 200
    with app.app_context():
        assert [o.user.username for o in measures.list_owners(measures.find_measure(measure_id))] == ["doc"]


def test_submit_a_value_with_consent_and_see_errors_on_the_form(app, client, network):
    measure_id = seed(app)
    login(client, "dr_east")
    url = f"/measures/{measure_id}/data/new"
    form = client.get(url).text
    assert "East Hospital agrees to contribute aggregate data" in form
    unticked = submit(client, url, "Record consent", follow_redirects=True)
    assert "Tick the box to record the site&#39;s consent." in unticked.text
    recorded = submit(client, url, "Record consent", agree=True, follow_redirects=True)
    assert "Consent recorded for East Hospital." in recorded.text
    assert "Withdraw consent" in recorded.text
    bad = submit(client, url, "Save", site="east", period="2024-13", first="9", second="5")
    assert bad.status_code == 422
    assert "Write the month like 2024-01." in bad.text
    assert "The numerator can&#39;t be larger than the denominator." in bad.text
    ok = submit(client, url, "Save", site="east", period="2024-01", first="9", second="50", follow_redirects=True)
    assert "Saved 2024-01 for East Hospital." in ok.text
    withdrawn = submit(client, url, "Withdraw consent", follow_redirects=True)
    assert "Consent withdrawn: East Hospital&#39;s data is no longer shared with the network." in withdrawn.text
    assert "Record consent" in withdrawn.text
    login(client, "teen")
    assert "Only a site's team submits its data" in client.get(f"/measures/{measure_id}/data/new").text


@pytest.mark.parametrize("site", ["nowhere", "ea\x00st"])
def test_a_consent_for_a_site_the_form_did_not_offer_is_refused_and_recorded_nowhere(app, client, network, site):
    # A NUL reached the lookup by name before the form was checked: PostgreSQL refuses one in any query (a 500).
    measure_id = seed(app)
    login(client, "dr_east")
    url = f"/measures/{measure_id}/data/new"
    refused = submit(client, url, "Record consent", agree=True, forge={"site": site})
    assert refused.status_code == 400
    assert "Record consent" in client.get(url).text  # still no consent


def test_the_submitter_hears_of_a_signal_their_own_data_made_fire(app, client, network):
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc, baseline_points=12)
        factories.consent(measure, doc, "north")
        factories.values(measure, doc, "north", STABLE)
        measure_id = measure.id
    login(client, "doc")
    client.post(
        f"/measures/{measure_id}/data/new", data={"site": "north", "period": "2024-01", "first": "78", "second": "100"}
    )
    inbox = client.get("/notifications").text
    assert "improved at North Hospital" in inbox
    assert "at North Hospital" in inbox
    text = "site,period,numerator,denominator\nnorth,2024-02,80,100\nnorth,2024-03,79,100\n"
    done = client.post(
        f"/measures/{measure_id}/data/upload", data={"csv_text": text, "confirm": "1"}, follow_redirects=True
    )
    assert "Imported 2 values" in done.text
    assert "The new data made a rule fire: you, the owners and the site&#39;s team were notified." in done.text


def test_csv_upload_previews_and_a_bad_file_changes_nothing(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    text = "site,period,numerator,denominator\nnorth,2025-01,50,80\nnorth,2025-02,90,80\nsouth,2025-03,5,9\n"
    page = client.post(
        f"/measures/{measure_id}/data/upload",
        data={"file": (io.BytesIO(text.encode()), "data.csv")},
        content_type="multipart/form-data",
    )
    assert "Nothing was imported. 2 problems" in page.text
    assert "Line 3, numerator" in page.text
    assert "Line 4, site" in page.text
    assert "Import 3 rows" not in page.text
    good = "site,period,numerator,denominator\nnorth,2025-01,50,80\nnorth,2025-02,52,80\n"
    preview = client.post(
        f"/measures/{measure_id}/data/upload",
        data={"file": (io.BytesIO(good.encode()), "data.csv")},
        content_type="multipart/form-data",
    )
    assert "Import 2 rows" in preview.text
    hidden = re.search(r'name="csv_text" type="hidden" value="([^"]*)"', preview.text).group(1)
    done = client.post(
        f"/measures/{measure_id}/data/upload",
        data={"csv_text": hidden.replace("&#10;", "\n"), "confirm": "1"},
        follow_redirects=True,
    )
    assert "Imported 2 values" in done.text
    export = client.get(f"/measures/{measure_id}/data.csv")
    assert export.mimetype == "text/csv"
    assert "north,2025-02,52,80,1,no" in export.text
    history = client.get(f"/measures/{measure_id}/sites/north/history")
    assert history.status_code == 200
    assert "via csv" in history.text


def test_fhir_pages(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    bundle = client.get(f"/measures/{measure_id}/fhir/reports.json")
    assert bundle.mimetype == "application/fhir+json"
    assert '"resourceType": "Bundle"' in bundle.text
    assert client.get(f"/measures/{measure_id}/fhir/measure.json").get_json()["resourceType"] == "Measure"
    bad = client.post(
        f"/measures/{measure_id}/fhir/import",
        data={"file": (io.BytesIO(b"{nope"), "x.json")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "Choose a JSON file" in bad.text
    report = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "individual",
        "period": {"start": "2025-01-01", "end": "2025-01-31"},
    }
    wrong = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": report}]}).encode()
    page = client.post(
        f"/measures/{measure_id}/fhir/import",
        data={"file": (io.BytesIO(wrong), "x.json")},
        content_type="multipart/form-data",
    )
    assert "Entry 1" in page.text
    assert "Only summary reports" in page.text


def test_a_pdsa_cycle_with_every_required_field_empty_says_so_for_each_at_once(app, client, network):
    # A browser check found the date's error alone, then the prediction's only after a second submit.
    measure_id = seed(app)
    login(client, "doc")
    page = submit(client, f"/measures/{measure_id}/pdsa/new", "Start the cycle", site="north", plan="Kept text")
    assert page.status_code == 422
    for message in ("Name the change you are testing", "Give a date (YYYY-MM-DD).", "Write down what you predict"):
        assert message in page.text
    assert "Kept text" in page.text


def test_pdsa_cycle_notes_and_phases_through_the_pages(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    started = submit(client, f"/measures/{measure_id}/pdsa/new", "Start the cycle", site="north",
                     title="Clinic reminders", started_on="2024-01-05", prediction="More patients in remission",
                     plan="Text", follow_redirects=True)  # fmt: skip
    assert "PDSA cycle started" in started.text
    cycle_url = re.search(r'action="(/measures/\d+/pdsa/\d+)/close"', started.text).group(1)
    saved = submit(client, cycle_url, "Save", do_notes="Sent 40 texts a week.", follow_redirects=True)
    assert "Sent 40 texts a week." in saved.text
    submit(client, cycle_url, "Close the cycle", act="adopt", act_notes="It worked.", ended_on="2024-03-01")
    assert "Adopt" in client.get(cycle_url).text
    chart = f"/measures/{measure_id}?site=north&chart=p"
    submit(client, chart, "Add note", on="2023-06-10", text="EHR outage")
    submit(client, chart, "Start a new phase", period="2024-01", reason="Reminders")
    page = submit(client, f"/measures/{measure_id}", "Show", site="north", chart="p").text
    assert "PDSA: Clinic reminders (adopted)" in page
    assert "EHR outage" in page
    assert "Phase 2" in page
    refused = submit(client, chart, "Start a new phase", period="soon", follow_redirects=True)
    assert "Phase not started" in refused.text
    removed = submit(client, chart, "Remove", action_has="/phases/", follow_redirects=True)
    assert "Phase 2" not in removed.text


def test_a_chart_note_for_a_site_that_cannot_exist_is_no_such_site(app, client, network):
    # The refusal showed the chart of the site the form named, looked up by a slug with a NUL: a 500 on PostgreSQL.
    measure_id = seed(app)
    login(client, "doc")
    refused = submit(client, f"/measures/{measure_id}?site=north&chart=p", "Add note", on="2023-06-10",
                     text="EHR outage", forge={"site": "nor\x00th"})  # fmt: skip
    assert refused.status_code == 404
    assert "No such site." in refused.text


def test_signals_say_in_plain_words_whether_the_measure_improved_or_worsened(app, client, network):
    measure_id = seed(app)  # north: a year around 60 %, then nine months around 80 %; higher is better
    login(client, "teen")
    page = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    items = re.findall(r'<li class="signal-(\w+)">(.*?)</li>', page, re.S)
    assert [(outcome, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()) for outcome, text in items] == [
        ("improved", "Improved: a long run of values on one side of the usual level : Jan 2024 – Sep 2024 (9 points) "
                     "Technical term Unusually long run on one side of the centre line (Anhøj)"),
        ("improved", "Improved: a value far outside the usual range : Jan 2024 – Sep 2024 (9 points) "
                     "Technical term Outside the 3-sigma control limits"),
    ]  # fmt: skip
    with committed(app):
        measures.find_measure(measure_id).improvement = Improvement.DOWN  # fewer would have been better
    worse = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    assert re.findall(r'<li class="signal-(\w+)">', worse) == ["worsened", "worsened"]
    assert '<span class="outcome">Worsened:</span>' in worse


def test_the_upload_page_lists_the_site_slugs_its_reader_can_send(app, client, network):
    measure_id = seed(app)
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}/data/upload").text
    assert re.findall(r"<li><code>([a-z-]+)</code>", page) == ["north"]
    outsider = app.test_client()
    login(outsider, "teen")  # a member on no site's team
    assert "You aren't on a site's team for this measure" in outsider.get(f"/measures/{measure_id}/data/upload").text


def test_every_chart_names_its_y_axis_and_draws_each_phases_baseline_window(app, client, network):
    measure_id = seed(app)  # baseline_points=12: north's first twelve months make the limits
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    assert re.search(r'<text class="axis-title"[^>]*transform="rotate\(-90[^"]*"[^>]*>% of patients</text>', page)
    windows = re.findall(r'<rect class="baseline-window"[^>]*><title>([^<]*)</title>', page)
    assert windows == ["Baseline of phase 1: Jan 2023 – Dec 2023 (12 points make its centre line and limits)"]
    with committed(app):
        measure = measures.find_measure(measure_id)
        measures.add_phase(measure, site="north", period="2024-01", reason="Reminders", by=accounts.get_user("doc"))
    phased = client.get(f"/measures/{measure_id}?site=north&chart=p").text
    assert re.findall(r'<rect class="baseline-window"[^>]*><title>([^<]*)</title>', phased) == [
        "Baseline of phase 1: Jan 2023 – Dec 2023 (12 points make its centre line and limits)",
        "Baseline of phase 2: Jan 2024 – Sep 2024 (9 points make its centre line and limits)",
    ]


def test_a_point_is_left_out_of_the_baseline_and_put_back_through_the_chart_page(app, client, network):
    measure_id = seed(app)
    chart = f"/measures/{measure_id}?site=north&chart=p"
    other_site = app.test_client()
    login(other_site, "dr_south")  # another site's team: no form on north's chart
    assert "Leave out of the baseline" not in other_site.get(chart).text
    login(client, "doc")
    before = client.get(chart).text
    assert "centre 60%," in before
    assert 'class="point excluded' not in before
    refused = submit(client, chart, "Leave out of the baseline", period="2023-07", reason="")
    assert refused.status_code == 422  # the chart again, with the form as typed and why beside the field
    assert "Point not left out" in refused.text
    assert re.search(r'<input[^>]*id="exclusion-period"[^>]*value="2023-07"', refused.text)
    assert re.search(r'id="exclusion-reason-error">[^<]+<', refused.text)
    mistyped = submit(client, chart, "Leave out of the baseline", period="July", reason="Registry outage")
    assert mistyped.status_code == 422
    assert re.search(r'<input[^>]*id="exclusion-reason"[^>]*value="Registry outage"', mistyped.text)
    assert re.search(r'id="exclusion-period-error">[^<]+<', mistyped.text)
    assert 'value="Registry outage"' not in mistyped.text.split('id="exclusion-heading"')[0]  # not in the phase form
    done = submit(client, chart, "Leave out of the baseline", period="2023-07",
                  reason="Registry outage: July was half-counted", follow_redirects=True)  # fmt: skip
    assert "Point left out of the baseline" in done.text
    assert "Registry outage: July was half-counted" in done.text
    assert "centre 59.73%," in done.text  # (720 − 63) / 1100 of the first twelve months
    assert done.text.count('class="point excluded') == 1
    assert "left out of the baseline" in client.get(f"/measures/{measure_id}/changes").text
    back = submit(client, chart, "Put back", action_has="/exclusions/", follow_redirects=True)
    assert "Point back in the baseline" in back.text
    assert "centre 60%," in back.text
    assert 'class="point excluded' not in back.text


def test_restricted_community_measures_are_hidden_from_outsiders(app, client, network):
    with committed(app):
        owner = accounts.get_user("doc")
        cf = factories.community(owner, slug="cf-care", restricted=True)
        measure_id = factories.measure(cf, owner).id
    login(client, "intruder")
    assert client.get("/c/cf-care/measures").status_code == 403
    assert client.get(f"/measures/{measure_id}").status_code == 404
    assert client.get(f"/api/v1/measures/{measure_id}").status_code == 404
