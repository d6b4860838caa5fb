"""The PHI guard on every free text a person writes (issue 10): bios, chart notes, PDSA cycles, flag details and
join-request messages ask before they are published, over the API (422 phi_confirmation_required until
confirm_phi: true) and the pages (the form comes back with the text kept and a box to tick); a confirmation is
recorded (kinds, never the text). Posts, answers, comments and chat are covered in tests/posts and tests/chat."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.extensions import db
from lhn.moderation.models import PHIConfirmation
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit, submit_page

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
    assert page.status_code == 200  # the profile page answers its errors with 200, as before
    html = page.get_data(as_text=True)
    assert PHONE_BIO in html  # the text is kept
    assert html.count("This may contain a phone number.") == 1  # said once, on the field
    assert "tick the box" in html
    assert "confirm_phi: true" not in html  # the API's wording stays in the API
    assert bio_of(people, "teen") == ""
    saved = submit_page(client, html, "/settings/profile", "Save", confirm_phi="")
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
    assert response.status_code == 429
    assert response.headers["Retry-After"]
