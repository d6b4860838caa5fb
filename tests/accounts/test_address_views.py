"""Address pages and their API as people use them: forgot password, the reset page, registration that answers the
same for a taken address, the confirmation banner, change of address. Forms are submitted as rendered."""

from __future__ import annotations

import re

from lhn.database import transaction
from lhn.extensions import db
from tests import factories
from tests.accounts.mailbox import link_in, mails, token_in
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit

NEW = "a brand new passphrase"


def _same_page(html: str) -> str:
    return re.sub(r'(value|content)="[^"]*"', "", html)  # typed text and CSRF tokens differ


def _session(app, response) -> dict:
    """The session the response's cookie holds ({} when it sets none: readers who are not logged in)."""
    header = response.headers.get("Set-Cookie")
    if header is None:
        return {}
    cookie = header.split(";")[0].split("=", 1)[1]
    return app.session_interface.get_signing_serializer(app).loads(cookie)


def test_the_login_page_links_to_forgot_password(client):
    assert 'href="/password/forgot"' in client.get("/login").text


def test_forgot_password_answers_the_same_whether_or_not_an_account_uses_the_address(app, client):
    with committed(app):
        factories.user(username="alice")
    known = submit(client, "/password/forgot", "Send me a reset link", email="alice@example.org")
    unknown = submit(client, "/password/forgot", "Send me a reset link", email="nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgot/sent"
    page = client.get("/password/forgot/sent").text
    assert "If an account uses that address, we sent it a link" in page
    with app.app_context():
        assert mails() == []  # nothing while answering: the answer takes as long either way
    known.close()  # the server closes a response once it has sent it; the email is queued then
    unknown.close()
    with app.app_context():
        assert [m.kind for m in mails()] == ["password_reset"]


def test_forgot_password_is_rate_limited_per_client_and_per_address(make_app):
    app = make_app(ACCOUNT_MAIL_RATE_LIMIT="2 per hour")
    client = app.test_client()
    codes = [submit(client, "/password/forgot", "Send me a reset link", email=f"p{i}@example.org").status_code
             for i in range(3)]  # fmt: skip
    assert codes == [302, 302, 429]
    refused = submit(client, "/password/forgot", "Send me a reset link", email="p9@example.org")
    assert "Too many attempts" in refused.text
    assert 'value="p9@example.org"' in refused.text  # the form again, with what was typed
    codes = []
    for i in range(3):  # one address from three clients
        client.environ_base["REMOTE_ADDR"] = f"10.1.0.{i}"
        codes.append(submit(client, "/password/forgot", "Send me a reset link", email="target@example.org").status_code)
    assert codes == [302, 302, 429]


def test_reset_links_use_the_public_origin_not_the_host_header(make_app):
    app = make_app(PUBLIC_ORIGIN="https://lhn.example.org")
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()
    page = client.get("/password/forgot", headers={"Host": "evil.example"})
    submit(client, "/password/forgot", "Send me a reset link", page=page, email="alice@example.org").close()
    with app.app_context():
        [message] = mails()
    assert "https://lhn.example.org/password/reset/" in message.text_body
    assert "evil.example" not in message.text_body


def test_a_reset_sets_the_password_and_logs_out_every_other_session(app, client):
    with committed(app):
        factories.user(username="alice")
    other = app.test_client()
    login(other, "alice")
    assert other.get("/settings/profile").status_code == 200
    submit(client, "/password/forgot", "Send me a reset link", email="alice@example.org").close()
    with app.app_context():
        reset = link_in(mails(kind="password_reset")[0], "/password/reset/")
    weak = submit(client, reset, "Set my new password", new_password="password123")
    assert weak.status_code == 422
    assert "too common" in weak.text
    done = submit(client, reset, "Set my new password", new_password=NEW)
    assert done.headers["Location"] == "/login"
    assert other.get("/settings/profile").status_code == 302  # the other session is over
    assert client.get(reset).status_code == 404  # the link is used up
    assert "expired or was already used" in client.get(reset).text
    assert client.post("/login", data={"login": "alice", "password": PASSWORD}).status_code == 200  # refused
    login(client, "alice", NEW)


def test_registering_a_taken_address_answers_exactly_as_a_new_one_and_tells_the_owner(app, client):
    with committed(app):
        factories.user(username="alice")
    fields = {"username": "newcomer", "display_name": "newcomer", "password": "a long walk by the river",
              "role": "patient"}  # fmt: skip
    taken = app.test_client()
    fresh = app.test_client()
    answers = [
        submit(c, "/register", "Create my account", email=e, **fields | {"username": u})
        for c, e, u in ((taken, "alice@example.org", "newcomer"), (fresh, "river@example.org", "river"))
    ]
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"] == "/register/sent"
    assert sorted(name for name, _ in answers[0].headers) == sorted(name for name, _ in answers[1].headers)
    sessions = [_session(app, a) for a in answers]
    assert set(sessions[0]) == set(sessions[1])
    assert "_user_id" not in sessions[0]  # nobody's id in either cookie
    pages = [c.get("/register/sent").text for c in (taken, fresh)]
    assert _same_page(pages[0]) == _same_page(pages[1])
    assert "Log out" not in pages[1]  # registration logs no one in, either way
    with app.app_context():
        assert [m.kind for m in mails(to="alice@example.org")] == ["registration_attempt"]
        assert [m.kind for m in mails(to="river@example.org")] == ["confirm_email"]


def test_the_confirmation_link_confirms_with_a_button_and_logs_the_new_member_in(app, client):
    submit(client, "/register", "Create my account", email="river@example.org", username="river",
           display_name="river_walker", password="a long walk by the river", role="patient")  # fmt: skip
    with app.app_context():
        confirm = link_in(mails(kind="confirm_email")[0], "/email/confirm/")
    page = client.get(confirm)
    assert "river@example.org" in page.text  # opening the link (a mail scanner does) changes nothing
    welcome = submit(client, confirm, "Confirm my address", follow_redirects=True)
    assert "Welcome, river_walker!" in welcome.text
    assert "Please confirm your email address" not in welcome.text
    assert client.get(confirm).status_code == 404


def test_an_unconfirmed_member_sees_a_banner_that_sends_the_link_again(app, client):
    with committed(app):
        factories.user(username="alice", confirmed=False)
    login(client, "alice")
    page = client.get("/settings/profile")
    assert "Please confirm your email address" in page.text
    again = submit(client, "/settings/profile", "Send the link again", follow_redirects=True)
    assert "We sent a new link to alice@example.org" in again.text
    with app.app_context():
        confirm = link_in(mails(kind="confirm_email")[-1], "/email/confirm/")
    done = submit(client, confirm, "Confirm my address", follow_redirects=True)
    assert "Your email address is confirmed." in done.text
    assert "Please confirm your email address" not in done.text


def test_a_change_of_address_goes_through_the_link_sent_to_the_new_one(app, client):
    with committed(app):
        factories.user(username="alice")
    login(client, "alice")
    wrong = submit(client, "/settings/email", "Send a link to the new address", new_email="alice@new.example.org",
                   current_password="wrong password")  # fmt: skip
    assert wrong.status_code == 422
    assert "not your current password" in wrong.text
    sent = submit(client, "/settings/email", "Send a link to the new address", new_email="alice@new.example.org",
                  current_password=PASSWORD, follow_redirects=True)  # fmt: skip
    assert "We sent a link to alice@new.example.org" in sent.text
    assert "alice@example.org" in client.get("/settings/email").text  # not changed yet
    with app.app_context():
        change = link_in(mails(to="alice@new.example.org")[0], "/email/change/")
    done = submit(client, change, "Use this address", follow_redirects=True)
    assert "uses its new email address" in done.text
    assert "alice@new.example.org" in client.get("/settings/email").text
    with app.app_context():
        assert [m.kind for m in mails(to="alice@example.org")] == ["email_change_requested", "email_changed"]


# --- the API ------------------------------------------------------------------------------------------------


def test_the_api_forgot_and_reset_password(app, client):
    with committed(app):
        factories.user(username="alice")
    answers = [client.post("/api/v1/password/forgot", json={"email": e})
               for e in ("alice@example.org", "nobody@example.org")]  # fmt: skip
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].get_json() == answers[1].get_json()
    for answer in answers:
        answer.close()  # the email is queued once the answer is sent
    with app.app_context():
        token = token_in(mails(kind="password_reset")[0], "/password/reset/")
    bad = client.post("/api/v1/password/reset", json={"token": token, "new_password": "short"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"]["new_password"]
    assert client.post("/api/v1/password/reset", json={"token": token, "new_password": NEW}).status_code == 204
    assert client.post("/api/v1/password/reset", json={"token": token, "new_password": NEW}).status_code == 404
    assert client.post("/api/v1/tokens", json={"login": "alice", "password": NEW, "name": "x"}).status_code == 201


def test_the_api_changes_and_confirms_an_address(app, client):
    with committed(app):
        factories.user(username="alice", confirmed=False)
    login(client, "alice")
    assert client.get("/api/v1/me").get_json()["email_confirmed"] is False
    assert client.post("/api/v1/me/email/confirmation").get_json() == {"sent": True}
    with app.app_context():
        token = token_in(mails(kind="confirm_email")[0], "/email/confirm/")
    assert client.post("/api/v1/email/confirm", json={"token": token}).status_code == 204
    assert client.get("/api/v1/me").get_json()["email_confirmed"] is True
    asked = client.post("/api/v1/me/email", json={"new_email": "alice@new.example.org", "current_password": PASSWORD})
    assert asked.status_code == 202
    with app.app_context():
        token = token_in(mails(kind="email_change")[0], "/email/change/")
    assert client.post("/api/v1/email/change", json={"token": token}).status_code == 204
    assert client.get("/api/v1/me").get_json()["email"] == "alice@new.example.org"
    with app.app_context(), transaction():
        db.session.rollback()
