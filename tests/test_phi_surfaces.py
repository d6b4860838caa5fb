"""The PHI guard on every free text a person writes (issue 10): bios, chart notes and phase reasons, PDSA cycles,
flag details and join-request messages ask before they are published, over the API (422 phi_confirmation_required until
confirm_phi: true) and the pages (the form comes back with the text kept and a box to tick); a confirmation is
recorded (kinds, never the text). Posts, answers, comments and chat are covered in tests/posts and tests/chat."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.database import utcnow
from lhn.extensions import db
from lhn.moderation.models import PHIConfirmation
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit

PHONE_BIO = "Call me on 07700 900123"


@pytest.fixture
def people(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.member(ibd, factories.user("patient", username="teen"))
        factories.user("caregiver", username="mum")
    return app


def confirmed_kinds(app, target_type: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(PHIConfirmation).where(PHIConfirmation.target_type == target_type))
        return [(row.kinds, db.session.get(User, row.user_id).username) for row in rows]


def bio_of(app, username: str) -> str:
    with app.app_context():
        return accounts.get_user(username).bio


# --- bios -----------------------------------------------------------------------------------------------


def test_a_bio_with_a_phone_number_asks_over_the_api_and_is_kept_back_until_confirmed(client, people):
    token = token_for(client, "teen")
    response = client.patch("/api/v1/me", json={"bio": PHONE_BIO}, headers=bearer(token))
    error = assert_error(response, 422, "phi_confirmation_required")
    assert error["kinds"] == ["phone"]
    assert error["fields"] == {"bio": "This may contain a phone number."}
    assert "confirm_phi: true" in error["message"]
    assert bio_of(people, "teen") == ""
    response = client.patch("/api/v1/me", json={"bio": PHONE_BIO, "confirm_phi": True}, headers=bearer(token))
    assert response.status_code == 200
    assert bio_of(people, "teen") == PHONE_BIO
    assert confirmed_kinds(people, "user") == [("phone", "teen")]
    # An unchanged bio doesn't ask again (other fields change), nor does the number it already had.
    response = client.patch("/api/v1/me", json={"display_name": "Teen T"}, headers=bearer(token))
    assert response.status_code == 200
    response = client.patch("/api/v1/me", json={"bio": PHONE_BIO + " after 6pm"}, headers=bearer(token))
    assert response.status_code == 200


def test_a_bio_with_a_phone_number_asks_on_the_profile_form(client, people):
    login(client, "teen")
    page = submit(client, "/settings/profile", "Save", bio=PHONE_BIO)
    assert page.status_code == 422  # the form again, with the text and the box to tick
    html = page.get_data(as_text=True)
    assert PHONE_BIO in html  # the text is kept
    assert html.count("This may contain a phone number.") == 1  # said once, on the field
    assert "tick the box" in html
    assert "confirm_phi: true" not in html  # the API's wording stays in the API
    assert bio_of(people, "teen") == ""
    saved = submit(client, "/settings/profile", "Save", page=html, confirm_phi=True)
    assert saved.status_code == 302
    assert bio_of(people, "teen") == PHONE_BIO


# --- authors redact their own earlier revisions (posts and answers) -----------------------------------------


PHONE = "07700 900123"


@pytest.fixture
def edited(people):
    """teen published a question and an answer with a phone number (confirmed), then edited it out of both."""
    from lhn.communities import services as communities
    from lhn.posts import services as posts

    with committed(people):
        teen = accounts.get_user("teen")
        ibd = communities.get_community("ibd")
        fields = posts.PostFields(title="Who runs the transition clinic?", sections={"body": f"Text me on {PHONE}."})
        post = posts.create_post(ibd, "question", fields, by=teen, confirm_phi=True)
        fields = posts.PostFields(title="Who runs the transition clinic?", sections={"body": "Ask here, please."})
        posts.edit_post(post, fields, by=teen)
        answer = posts.post_answer(post.id, f"Ours is on {PHONE} too.", by=teen, confirm_phi=True)
        posts.edit_answer(answer.id, "Ours has a nurse line.", by=teen)
        return {"post": post.id, "answer": answer.id}


def history_of(app, kind: str, item_id: int) -> str:
    from lhn.posts import services as posts

    with app.app_context():
        return "\n".join(posts.stored_text(kind, item_id, n) for n in posts.revision_numbers(kind, item_id))


@pytest.mark.parametrize("kind", ["post", "answer"])
def test_the_author_redacts_an_earlier_revision_from_its_history_page(client, people, edited, kind):
    from lhn.moderation.models import AuditEvent, ModerationLogEntry

    url = f"/c/ibd/{kind}s/{edited[kind]}/revisions"
    login(client, "doc")  # another reader sees the history, not the control
    assert "Redact from revision" not in client.get(url).text
    login(client, "teen")
    page = client.get(url).text
    assert "Redact from revision 1" in page
    assert "Redact from revision 2" in page
    assert f'value="{PHONE}" checked' in page  # what the guard finds in revision 1 is ticked
    response = submit(client, url, "Redact from revision 1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url)
    assert PHONE not in history_of(people, kind, edited[kind])
    assert "[removed by the author]" in history_of(people, kind, edited[kind])  # not "by moderation": their own
    assert PHONE not in client.get(url).text
    with people.app_context():
        entry = db.session.scalar(select(ModerationLogEntry).where(ModerationLogEntry.target_type == kind))
        assert (entry.action, entry.details) == ("redacted", f"a phone number from revision 1 of this {kind}")
        audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "content.redacted"))
        assert (audited.object_type, audited.object_id) == (kind, edited[kind])


def test_only_the_author_or_a_moderator_redacts_and_the_form_needs_its_token(client, people, edited):
    url = f"/redact/post/{edited['post']}/revisions/1"
    login(client, "mum")  # not a member: the post's community is public, so they can read but not redact
    response = client.post(url, data={"fragments": PHONE})
    assert response.status_code == 403
    assert PHONE in history_of(people, "post", edited["post"])
    anonymous = people.test_client()
    assert anonymous.post(url, data={"fragments": PHONE}).status_code in (302, 401)  # to the login page
    assert PHONE in history_of(people, "post", edited["post"])


def test_the_redaction_form_is_refused_without_its_csrf_token(make_app, people, edited):
    strict = make_app(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"login": "teen", "password": PASSWORD, "csrf_token": token}).status_code == 302
    response = client.post(f"/redact/post/{edited['post']}/revisions/1", data={"fragments": PHONE})
    assert response.status_code == 403  # lhn.errors answers a CSRF failure with 403
    assert PHONE in history_of(people, "post", edited["post"])
    # With the token the page renders, the same author's request goes through.
    page = client.get(f"/c/ibd/posts/{edited['post']}/revisions").text
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/redact/post/{edited['post']}/revisions/1", data={"fragments": PHONE, "csrf_token": form_token}
    )
    assert response.status_code == 302
    assert PHONE not in history_of(people, "post", edited["post"])


def test_redacting_is_rate_limited_per_person(make_app, people, edited):
    limited = make_app(RATE_LIMITS={"redact": "1 per hour"}, NEW_ACCOUNT_RATE_LIMITS={"redact": "1 per hour"})
    client = limited.test_client()
    login(client, "teen")
    url = f"/redact/post/{edited['post']}/revisions/1"
    assert client.post(url, data={"fragments": PHONE}).status_code == 302
    response = client.post(url, data={"other_fragments": "Text me"})
    # Refused like every rate-limited form (lhn.limits.refuse_forms): this one redirects back and says the wait.
    assert response.status_code == 302
    assert response.headers["Retry-After"]
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "try again in" in shown


# --- chart notes, PDSA cycles, flag details, join requests, calls and experiences (API) ---------------------


@pytest.fixture
def network_measure(app):
    from lhn.communities import services as communities
    from tests.measures.conftest import make_network

    make_network(app)
    with committed(app):
        doc = accounts.get_user("doc")
        measure = factories.measure(communities.get_community("ibd"), doc)
        factories.member(factories.community(doc, slug="closed", restricted=True))
        return measure.id


def asks_then_takes(client, method: str, url: str, body: dict, headers: dict, *, field: str, kind: str) -> dict:
    """The request is refused with the PHI prompt on `field`, then accepted as confirmed; returns the answer."""
    response = client.open(url, method=method, json=body, headers=headers)
    error = assert_error(response, 422, "phi_confirmation_required")
    assert list(error["fields"]) == [field]
    assert kind in error["kinds"]
    response = client.open(url, method=method, json={**body, "confirm_phi": True}, headers=headers)
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)
    return response.get_json()


def test_chart_notes_and_pdsa_text_ask_before_they_are_published(client, app, network_measure):
    doc = bearer(token_for(client, "doc"))
    base = f"/api/v1/measures/{network_measure}"
    note = {"site": "north", "on": "2024-02-01", "text": "Readmitted: Oliver Bennett, DOB 14/03/2009"}
    asks_then_takes(client, "POST", f"{base}/notes", note, doc, field="text", kind="date_of_birth")
    cycle = {"site": "north", "title": "Nurse call-backs", "prediction": "Fewer admissions", "started_on": "2024-01-05",
             "plan": "Families call the nurse on 0113 496 0000."}  # fmt: skip
    made = asks_then_takes(client, "POST", f"{base}/pdsa", cycle, doc, field="plan", kind="phone")
    url = f"{base}/pdsa/{made['id']}"
    asks_then_takes(client, "PATCH", url, {"study": "Mrs Dorothy Ainsworth was the first call."}, doc,
                    field="study", kind="name")  # fmt: skip
    # What the cycle already said (confirmed) doesn't ask again on a later change.
    assert client.patch(url, json={"do_notes": "Ran for 4 weeks."}, headers=doc).status_code == 200
    closing = {"act": "adopt", "ended_on": "2024-02-01", "act_notes": "Worked; see MRN 00482913's notes."}
    asks_then_takes(client, "POST", f"{url}/close", closing, doc, field="act_notes", kind="record_number")
    phase = {"site": "north", "period": "2024-02", "reason": "After Mrs Dorothy Ainsworth's complaint."}
    asks_then_takes(client, "POST", f"{base}/phases", phase, doc, field="reason", kind="name")
    assert [kinds for kinds, _ in confirmed_kinds(app, "chart_note")] == ["date_of_birth"]
    assert confirmed_kinds(app, "phase_change") == [("name", "doc")]
    assert sorted(kinds for kinds, _ in confirmed_kinds(app, "pdsa_cycle")) == ["name", "phone", "record_number"]


def test_flag_details_and_join_request_messages_ask_before_they_are_sent(client, app, network_measure):
    teen = bearer(token_for(client, "teen"))
    with app.app_context():
        doc_id = accounts.get_user("doc").id
    flag = {"target_type": "user", "target_id": doc_id, "reason": "other", "community": "ibd",
            "details": "He posted my address, 42 Willow Brook Lane, in a reply."}  # fmt: skip
    asks_then_takes(client, "POST", "/api/v1/flags", flag, teen, field="details", kind="street_address")
    join = {"accept_guidelines": True, "message": "I'm the mum of Ruby Sinclair, her NHS number is 943 476 5919."}
    asks_then_takes(client, "POST", "/api/v1/communities/closed/join", join, teen, field="message", kind="name")
    assert confirmed_kinds(app, "flag") == [("street_address", "teen")]
    assert confirmed_kinds(app, "join_request") == [("name,record_number", "teen")]


@pytest.mark.parametrize("kind", ["call", "experience"])
def test_calls_and_experiences_ask_too(client, people, kind):
    token = bearer(token_for(client, "teen"))
    body = {"kind": kind, "title": "A title long enough for the rules"}
    if kind == "call":
        body.update(sections={"summary": "A diet study.", "commitment": "Two visits.", "ethics": "REC 24/NE/0101."},
                    roles=["patients"], other_roles="Ring 0113 496 0000",
                    deadline=(utcnow().date() + timedelta(days=60)).isoformat())  # fmt: skip
    else:
        body["sections"] = {"setting": "A small unit", "what_done": "Email me at jo@example.org for the template.",
                            "what_happened": "Waits halved.", "lessons": "Start small."}  # fmt: skip
    response = client.post("/api/v1/communities/ibd/posts", json=body, headers=token)
    assert assert_error(response, 422, "phi_confirmation_required")["kinds"] in (["phone"], ["email"])


# --- the same surfaces through their pages (forms submitted as rendered) ------------------------------------


def asks_on_the_page(client, page, url: str, *, button: str, found: str) -> object:
    """The page came back with the prompt (text kept, said once, 'tick the box'); tick it and send it again."""
    html = page.get_data(as_text=True)
    assert page.status_code in (200, 422), html
    assert unescape(html).count(f"This may contain {found}.") == 1, html
    assert "tick the box" in html
    assert "confirm_phi: true" not in html
    sent = submit(client, url, button, page=html, confirm_phi=True)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return sent


def test_pdsa_pages_chart_notes_flags_and_join_requests_ask_on_the_page(client, app, network_measure):
    login(client, "doc")
    new = f"/measures/{network_measure}/pdsa/new"
    page = submit(client, new, "Start the cycle", site="north", started_on="2024-01-05", title="Nurse call-backs",
                  prediction="Fewer admissions", plan="Families ring 0113 496 0000.")  # fmt: skip
    made = asks_on_the_page(client, page, new, button="Start the cycle", found="a phone number")
    cycle_url = made.headers["Location"]
    page = submit(client, cycle_url, "Save", study="Her DOB is 14/03/2009, so she was first.")
    asks_on_the_page(client, page, cycle_url, button="Save", found="a date of birth")
    page = submit(client, cycle_url, "Close the cycle", act="adopt", ended_on="2024-02-01",
                  act_notes="See jo@example.org's notes.")  # fmt: skip
    asks_on_the_page(client, page, page.request.path, button="Close the cycle", found="an email address")
    chart = f"/measures/{network_measure}"  # the network chart (north has no data yet)
    page = submit(client, chart, "Add note", on="2024-02-01", text="Admitted 3 March 2024: Ruby")
    found = "a date of admission, discharge or death"
    asks_on_the_page(client, page, page.request.path, button="Add note", found=found)
    assert sorted(k for k, _ in confirmed_kinds(app, "pdsa_cycle")) == ["date_of_birth", "email", "phone"]
    assert confirmed_kinds(app, "chart_note") == [("personal_date", "doc")]
    page = submit(client, chart, "Start a new phase", period="2024-03", reason="Ring 0113 496 0000 for the protocol.")
    asks_on_the_page(client, page, page.request.path, button="Start a new phase", found="a phone number")
    assert confirmed_kinds(app, "phase_change") == [("phone", "doc")]

    login(client, "teen")
    with app.app_context():
        doc_id = accounts.get_user("doc").id
    flag_url = f"/flag/user/{doc_id}"
    page = submit(client, flag_url, "Send to the moderators", reason="other", details="He wrote my zip, 60612-1234.")
    asks_on_the_page(client, page, flag_url, button="Send to the moderators", found="a postcode or ZIP code")
    page = submit(client, "/c/closed", "Ask to join", accept_guidelines="y", message="Mum of Isla McKenzie here.")
    asks_on_the_page(client, page, page.request.path, button="Ask to join", found="a person's full name")
    assert confirmed_kinds(app, "flag") == [("postcode", "teen")]
    assert confirmed_kinds(app, "join_request") == [("name", "teen")]


def test_the_author_redacts_an_earlier_revision_over_the_api(client, people, edited):
    teen, mum = bearer(token_for(client, "teen")), bearer(token_for(client, "mum"))
    body = {"target_type": "answer", "target_id": edited["answer"], "revision": 1}
    assert_error(client.post("/api/v1/redactions", json=body, headers=mum), 403, "forbidden")
    response = client.post("/api/v1/redactions", json=body, headers=teen)  # what the guard finds in revision 1
    assert response.status_code == 200
    assert response.get_json() == {"removed": 1}
    assert PHONE not in history_of(people, "answer", edited["answer"])
    assert_error(client.post("/api/v1/redactions", json=body, headers=teen), 422, "validation_failed")  # none left
