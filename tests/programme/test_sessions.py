"""Learning sessions and storyboards: owners announce a session in their time zone through the page's form, members
register up to the cap and then wait in line, calendars get an invitation and a feed, the day before brings one
reminder, and each site's team brings a storyboard whose charts are drawn live with the measure's suppression."""

import html
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from lhn.accounts import services as accounts
from lhn.database import utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.programme import services as programme
from lhn.programme.models import LearningSession
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit
from tests.measures.conftest import make_network
from tests.measures.test_audit import seed as seed_small_cell

YEAR = 2031  # fixed, so that the weekdays and New York's clock change below are known (DST from 9 March)
STARTS, ENDS = f"{YEAR}-06-10T14:00", f"{YEAR}-06-10T16:00"  # a Tuesday, local time in New York (EDT)
JOIN = "https://meet.example.org/ibd-spring"


@pytest.fixture
def ibd(app):
    make_network(app)


def announce(client, *, capacity="", online=True, location=JOIN, **typed):
    """doc, the community's owner, announces a session through the page's form; returns the response."""
    login(client, "doc")
    fields = {"title": "Spring learning session", "starts": STARTS, "ends": ENDS, "time_zone": "America/New_York",
              "online": online, "location": location, "capacity": capacity,
              "agenda": "1. Welcome\n2. Storyboards from **every site**"} | typed  # fmt: skip
    return submit(client, "/c/ibd/sessions/new", "Announce", **fields)


def announced(client, **typed) -> int:
    response = announce(client, **typed)
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def move_into_past(app, session_id):
    with committed(app):
        session = db.session.get(LearningSession, session_id)
        session.starts_at, session.ends_at = utcnow() - timedelta(days=2), utcnow() - timedelta(days=2, hours=-2)


def test_an_owner_announces_a_session_shown_in_the_organisers_time_and_the_readers(app, client, ibd):
    session_id = announced(client)
    with app.app_context():
        session = db.session.get(LearningSession, session_id)
        assert session.starts_at == datetime(YEAR, 6, 10, 18, 0, tzinfo=UTC)  # 14:00 EDT
        assert session.time_zone == "America/New_York"
    anonymous = app.test_client()
    page = anonymous.get(f"/sessions/{session_id}").text  # a public community: anyone reads it
    assert "Spring learning session" in page
    assert "14:00–16:00 (America/New_York)" in page
    assert f'datetime="{YEAR}-06-10T18:00:00+00:00"' in page  # local-time.js adds the reader's own from this
    assert "<strong>every site</strong>" in page
    assert JOIN not in page  # the link to join is for people with a place
    listing = anonymous.get("/c/ibd/sessions").text
    assert f'href="/sessions/{session_id}"' in listing
    assert "Coming up" in listing


@pytest.mark.parametrize(("typed", "field", "message"), [
    ({"starts": f"{YEAR}-03-09T02:30", "ends": f"{YEAR}-03-09T04:00"}, "starts",
     "That time doesn't exist there"),  # New York's clocks go from 02:00 to 03:00 that night
    ({"ends": f"{YEAR}-06-10T13:00"}, "ends", "End after the start"),
    ({"starts": "2020-01-01T10:00", "ends": "2020-01-01T11:00"}, "starts", "Choose a time in the future"),
    ({"starts": "next tuesday"}, "starts", "Give a date and time"),
    ({"location": "javascript:alert(1)"}, "location", "starting https://"),
    ({"online": False, "location": ""}, "location", "Say where it takes place"),
    ({"capacity": "0"}, "capacity", "A number of places"),
    ({"capacity": "²"}, "capacity", "A number of places"),  # a digit to str.isdigit(), not to int(): it was a 500
    ({"time_zone": "Mars/Olympus"}, "time_zone", "Not a valid choice"),
])  # fmt: skip
def test_bad_input_re_renders_the_form_with_what_was_typed(app, client, ibd, typed, field, message):
    forged = {"time_zone": typed.pop("time_zone")} if "time_zone" in typed else None
    login(client, "doc")
    fields = {"title": "Kept title", "starts": STARTS, "ends": ENDS, "time_zone": "America/New_York",
              "location": JOIN, "agenda": "Kept agenda"} | typed  # fmt: skip
    response = submit(client, "/c/ibd/sessions/new", "Announce", forge=forged, **fields)
    assert response.status_code == 422
    assert message in html.unescape(response.text)
    assert 'value="Kept title"' in response.text
    assert "Kept agenda</textarea>" in response.text
    assert f'id="{field}"' in response.text
    with app.app_context():
        assert db.session.query(LearningSession).count() == 0


def test_only_owners_announce_edit_and_cancel(app, client, ibd):
    session_id = announced(client)
    login(client, "dr_south")  # a member and a site clinician, not an owner
    assert client.get("/c/ibd/sessions/new").status_code == 403
    assert client.get(f"/sessions/{session_id}/edit").status_code == 403
    page = client.get(f"/sessions/{session_id}").text
    assert "Cancel this session" not in page
    assert "Who registered" not in page
    assert app.test_client().get("/c/ibd/sessions/new").status_code == 302  # to the login page
    login(client, "doc")
    edited = submit(client, f"/sessions/{session_id}/edit", "Save", title="Spring learning session (moved)",
                    starts=f"{YEAR}-06-11T14:00", ends=f"{YEAR}-06-11T16:00")  # fmt: skip
    assert edited.status_code == 302
    assert submit(client, f"/sessions/{session_id}", "Cancel this session").status_code == 302
    page = client.get(f"/sessions/{session_id}").text
    assert "Spring learning session (moved)" in page
    assert "Cancelled" in page
    assert "Register" not in page


def test_a_cap_fills_then_a_waiting_list_moves_up_first_come_first_served(app, client, ibd):
    session_id = announced(client, capacity="2")
    for name in ("dr_south", "dr_east"):
        login(client, name)
        assert submit(client, f"/sessions/{session_id}", "Register").status_code == 302
    login(client, "dr_west")
    page = client.get(f"/sessions/{session_id}").text
    assert "2 of 2 taken" in page
    assert "Join the waiting list" in page
    submit(client, f"/sessions/{session_id}", "Join the waiting list")
    login(client, "teen")
    submit(client, f"/sessions/{session_id}", "Join the waiting list")
    page = client.get(f"/sessions/{session_id}").text
    assert "You are number 2 on the waiting list." in page
    assert JOIN not in page
    login(client, "dr_east")
    submit(client, f"/sessions/{session_id}", "Give up my place")
    login(client, "dr_west")
    page = client.get(f"/sessions/{session_id}").text
    assert "You have a place." in page
    assert JOIN in page
    with app.app_context():
        assert any("A place opened for you" in t for t in factories.notification_texts(accounts.get_user("dr_west")))
        assert not any("A place opened" in t for t in factories.notification_texts(accounts.get_user("teen")))
    login(client, "doc")  # the owner sees who came in which order
    page = client.get(f"/sessions/{session_id}").text
    assert page.index("dr_south") < page.index("dr_west") < page.index("teen")
    assert "(waiting)" in page


def test_registration_needs_membership_and_an_open_session(app, client, ibd):
    session_id = announced(client)
    login(client, "intruder")  # verified, but not a member
    response = submit(client, f"/sessions/{session_id}", "Register", follow_redirects=True)
    assert "Join the community to register" in response.text
    move_into_past(app, session_id)
    login(client, "dr_south")
    page = client.get(f"/sessions/{session_id}").text
    assert "registration is closed" in page
    assert ">Register</button>" not in page
    with app.app_context(), pytest.raises(ValidationFailed):
        programme.register(db.session.get(LearningSession, session_id), by=accounts.get_user("dr_south"))


def test_the_invitation_and_the_feed_are_calendars_with_the_link_only_for_a_place(app, client, ibd):
    session_id = announced(client)
    response = app.test_client().get(f"/sessions/{session_id}.ics")
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="learning-session-{session_id}.ics"'
    event = icalendar.Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(YEAR, 6, 10, 18, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(YEAR, 6, 10, 20, 0, tzinfo=UTC)
    assert str(event["summary"]) == "Spring learning session"
    assert str(event["location"]) == "Online"
    assert "Storyboards from every site" in str(event["description"])
    login(client, "dr_south")
    submit(client, f"/sessions/{session_id}", "Register")
    mine = icalendar.Calendar.from_ical(client.get(f"/sessions/{session_id}.ics").data).walk("VEVENT")[0]
    assert str(mine["location"]) == JOIN
    login(client, "doc")
    submit(client, f"/sessions/{session_id}", "Cancel this session")
    feed = icalendar.Calendar.from_ical(client.get("/c/ibd/sessions.ics").data)
    assert [str(e["status"]) for e in feed.walk("VEVENT")] == ["CANCELLED"]
    assert all(str(e["location"]) == "Online" for e in feed.walk("VEVENT"))  # a feed is shared: never the link


def test_a_restricted_communitys_sessions_are_its_members_alone(app, client):
    with committed(app):
        owner = factories.user("clinician", username="owner", verified=True)
        community = factories.community(owner, slug="closed", restricted=True)
        factories.user("patient", username="outsider")
        fields = programme.SessionFields(title="Members only", starts=STARTS, ends=ENDS, time_zone="Europe/London",
                                         location=JOIN)  # fmt: skip
        session_id = programme.create_session(community, fields, by=owner).id
    for who in (None, "outsider"):
        if who:
            login(client, who)
        for url in (f"/sessions/{session_id}", f"/sessions/{session_id}.ics"):  # no hint that it exists
            assert client.get(url).status_code == 404, (who, url)
        for url in ("/c/closed/sessions", "/c/closed/sessions.ics"):  # the community is known, its content not
            assert client.get(url).status_code == 403, (who, url)


def test_registered_people_get_one_reminder_the_day_before(app, client, ibd):
    session_id = announced(client)
    login(client, "dr_south")
    submit(client, f"/sessions/{session_id}", "Register")
    with committed(app):
        starts = db.session.get(LearningSession, session_id).starts_at
        assert programme.send_session_reminders(starts - timedelta(days=2)) == 0  # not yet
        assert programme.send_session_reminders(starts - timedelta(hours=20)) == 1
        assert programme.send_session_reminders(starts - timedelta(hours=2)) == 0  # once
        texts = factories.notification_texts(accounts.get_user("dr_south"))
        assert [t for t in texts if t.startswith("Reminder")] == [
            f"Reminder: the learning session “Spring learning session” starts Tue 10 Jun {YEAR}, "
            "14:00–16:00 (America/New_York)."
        ]


def _storyboard(client, session_id, site, measure_id, **typed):
    fields = {"aim": f"Remission for every child at {site}", "measure_ids": [str(measure_id)],
              "changes": "Pre-visit **huddle**", "learned": "Text reminders matter"} | typed  # fmt: skip
    return submit(client, f"/sessions/{session_id}/storyboard?site={site}", "Save the storyboard", site=site,
                  **fields)  # fmt: skip


def test_each_site_team_brings_a_storyboard_with_live_charts_suppressed_as_on_the_measure(app, client, ibd):
    measure_id, _community_id = seed_small_cell(app)  # North's 8 of 40 is withheld outside North's team
    session_id = announced(client)
    saved = _storyboard(client, session_id, "north", measure_id)  # doc: North's verified clinician
    assert saved.status_code == 302, saved.text
    north_url = saved.headers["Location"]
    login(client, "dr_south")
    assert _storyboard(client, session_id, "south", measure_id).status_code == 302
    forged = _storyboard(client, session_id, "south", measure_id, forge={"site": "north"})  # not South's to write
    assert forged.status_code == 422
    assert "Not a valid choice" in forged.text
    with app.app_context():  # and the service says no by itself
        session, south = db.session.get(LearningSession, session_id), accounts.get_user("dr_south")
        with pytest.raises(PermissionDenied):
            programme.save_storyboard(session, programme.StoryboardFields(site="north", aim="Taken over"), by=south)
    page = client.get(f"/sessions/{session_id}").text
    assert "North Hospital" in page
    assert "South Hospital" in page
    login(client, "teen")  # a patient: no site team, so no storyboard form, and North's small cell stays masked
    assert "Storyboards are written by a site's team" in client.get(f"/sessions/{session_id}/storyboard").text
    board = client.get(north_url).text
    assert "<strong>huddle</strong>" in board
    assert 'class="spc-chart"' in board
    assert "8 / 40" not in board
    assert "masked (small numbers)" in board
    login(client, "doc")  # North's team sees its own chart whole
    assert "8 / 40" in client.get(north_url).text


def test_after_the_session_only_the_notes_change(app, client, ibd):
    measure_id, _ = seed_small_cell(app)
    session_id = announced(client)
    north_url = _storyboard(client, session_id, "north", measure_id).headers["Location"]
    move_into_past(app, session_id)
    after = _storyboard(client, session_id, "north", measure_id, aim="Rewritten aim",
                        notes="South asked about **texts**")  # fmt: skip
    assert after.status_code == 302
    board = client.get(north_url).text
    assert "Remission for every child at north" in board
    assert "Rewritten aim" not in board
    assert "<strong>texts</strong>" in board
    login(client, "dr_south")  # no storyboard of its own before the end: too late now
    late = _storyboard(client, session_id, "south", measure_id)
    assert late.status_code == 422
    assert "storyboards were due before it ended" in late.text


def test_my_data_holds_the_sessions_places_and_storyboards_a_person_wrote(app, client, ibd):
    measure_id, _ = seed_small_cell(app)
    session_id = announced(client)
    _storyboard(client, session_id, "north", measure_id)
    login(client, "dr_south")
    submit(client, f"/sessions/{session_id}", "Register")
    with app.app_context():
        doc, south = accounts.get_user("doc"), accounts.get_user("dr_south")
        docs = mydata.export_my_data(doc)
        assert [s["title"] for s in docs["learning_sessions_announced"]] == ["Spring learning session"]
        assert [s["aim"] for s in docs["storyboards"]] == ["Remission for every child at north"]
        assert [r["status"] for r in mydata.export_my_data(south)["learning_session_registrations"]] == ["registered"]


def test_the_api_announces_registers_and_brings_storyboards_as_the_pages_do(app, client, ibd):
    measure_id, _ = seed_small_cell(app)
    doc, south, east = (bearer(token_for(client, name)) for name in ("doc", "dr_south", "dr_east"))
    typed = {"title": "API session", "starts": STARTS, "ends": ENDS, "time_zone": "America/New_York",
             "location": JOIN, "capacity": 1, "agenda": "**Storyboards**"}  # fmt: skip
    assert_error(client.post("/api/v1/communities/ibd/sessions", headers=south, json=typed), 403, "forbidden")
    for wrong, field in [({"starts": "next tuesday"}, "starts"), ({"time_zone": "a" * 300}, "time_zone"),
                         ({"time_zone": "/etc/passwd"}, "time_zone"), ({"ends": "9999-12-31T23:00"}, "ends")]:
        bad = client.post("/api/v1/communities/ibd/sessions", headers=doc, json=typed | wrong)
        assert field in assert_error(bad, 422, "validation_failed")["fields"], wrong
    made = client.post("/api/v1/communities/ibd/sessions", headers=doc, json=typed)
    assert made.status_code == 201, made.text
    session = made.json
    assert (session["starts_at"], session["time_zone"]) == (f"{YEAR}-06-10T18:00:00+00:00", "America/New_York")
    assert session["location"] == JOIN  # the owner sees the link
    url = f"/api/v1/sessions/{session['id']}"
    assert client.get(url).json["location"] is None  # an anonymous reader does not
    assert client.put(url + "/registration", headers=south).json == {
        "registered": 1, "waiting": 0, "mine": "registered", "my_position": None, "status": "registered"}
    assert client.put(url + "/registration", headers=east).json["status"] == "waitlisted"  # the cap is 1
    assert client.get(url, headers=south).json["location"] == JOIN
    assert client.get(url, headers=east).json["places"]["my_position"] == 1
    assert_error(client.get(url + "/registrations", headers=south), 403, "forbidden")
    assert [r["status"] for r in client.get(url + "/registrations", headers=doc).json["items"]] == [
        "registered", "waitlisted"]
    assert client.delete(url + "/registration", headers=south).status_code == 204
    assert client.get(url, headers=east).json["places"]["mine"] == "registered"  # moved up
    moved = client.patch(url, headers=doc, json={"title": "API session (bigger room)", "capacity": None})
    assert (moved.json["title"], moved.json["capacity"], moved.json["starts_at"]) == (
        "API session (bigger room)", None, session["starts_at"])  # absent fields kept
    board = {"aim": "Remission for all", "measure_ids": [measure_id], "changes": "Pre-visit **huddle**"}
    assert_error(client.put(url + "/storyboards/north", headers=south, json=board), 403, "forbidden")
    saved = client.put(url + "/storyboards/south", headers=south, json=board)
    assert saved.status_code == 200, saved.text
    assert saved.json["changes_html"] == "<p>Pre-visit <strong>huddle</strong></p>"
    assert saved.json["charts"] == [{"measure_id": measure_id,
                                     "chart": f"/api/v1/measures/{measure_id}/chart?site=south"}]  # fmt: skip
    assert [b["site"] for b in client.get(url + "/storyboards").json["items"]] == ["south"]
    assert client.get(url + "/storyboards/south").json["aim"] == "Remission for all"
    assert_error(client.get(url + "/storyboards/north"), 404, "not_found")
    assert client.post(url + "/cancel", headers=doc).json["cancelled"] is True
    assert_error(client.put(url + "/registration", headers=south), 422, "validation_failed")
    listing = client.get("/api/v1/communities/ibd/sessions").json
    assert [(s["title"], s["cancelled"]) for s in listing["upcoming"]] == [("API session (bigger room)", True)]
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/communities/{slug}/sessions", "/sessions/{session_id}/storyboards/{site}"} <= set(paths)
