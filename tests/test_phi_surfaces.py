"""The PHI guard on every free text a person writes (issue 10): bios, chart notes, PDSA cycles, flag details and
join-request messages ask before they are published, over the API (422 phi_confirmation_required until
confirm_phi: true) and the pages (the form comes back with the text kept and a box to tick); a confirmation is
recorded (kinds, never the text). Posts, answers, comments and chat are covered in tests/posts and tests/chat."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.extensions import db
from lhn.moderation.models import PHIConfirmation
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
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
