"""The account pages' forms, submitted as a browser sends them (tests/forms.py): register, log in and out,
password, verification evidence, tokens, institutions."""

from lhn.accounts import services as accounts
from tests import factories
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit

NEW_PASSWORD = "a quieter horse battery"


def test_register_log_out_and_log_in_again_through_the_pages(app, client):
    typed = {"email": "river@example.org", "username": "river", "display_name": "river_walker", "password": PASSWORD}
    sent = submit(client, "/register", "Create my account", role="caregiver", follow_redirects=True, **typed)
    assert "Check your email" in sent.text
    assert "Log out" not in sent.text  # registration logs no one in (it answers the same for a taken address)
    welcome = submit(client, "/login", "Log in", login="river", password=PASSWORD, follow_redirects=True)
    assert "Welcome back, river_walker." in welcome.text  # before confirming: the banner asks for it
    assert "Please confirm your email address" in welcome.text
    out = submit(client, "/", "Log out", follow_redirects=True)
    assert "You are logged out on every device." in out.text
    refused = submit(client, "/login", "Log in", login="river", password="not it")
    assert refused.status_code in (200, 401)
    assert "Log out" not in refused.text
    back = submit(client, "/login", "Log in", login="river@example.org", password=PASSWORD, remember=True)
    assert back.status_code == 302
    assert any(c.startswith("lhn_remember=") for c in back.headers.getlist("Set-Cookie"))  # the ticked box
    with app.app_context():
        assert accounts.get_user("river").role.value == "caregiver"


def test_change_the_password_through_the_page(app, client):
    with committed(app):
        factories.user("patient", username="teen")
    login(client, "teen")
    wrong = submit(client, "/settings/password", "Change password", current_password="nope", new_password=NEW_PASSWORD)
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text
    done = submit(client, "/settings/password", "Change password", current_password=PASSWORD,
                  new_password=NEW_PASSWORD, follow_redirects=True)  # fmt: skip
    assert "Password changed." in done.text
    login(app.test_client(), "teen", NEW_PASSWORD)


def test_a_clinician_sends_verification_evidence_through_the_page(app, client):
    with committed(app):
        factories.user("clinician", username="doc")
    login(client, "doc")
    sent = submit(client, "/settings/verification", "Submit for review", licence_number="GMC 7654321",
                  licence_issuer="General Medical Council", orcid="0000-0002-1825-0097",
                  statement="Paediatric gastroenterologist.", follow_redirects=True)  # fmt: skip
    assert "A reviewer will check your evidence" in sent.text
    with app.app_context():
        assert accounts.pending_verification(accounts.get_user("doc")) is not None


def test_create_and_revoke_a_token_through_the_page(app, client):
    with committed(app):
        factories.user("researcher", username="res")
    login(client, "res")
    created = submit(client, "/settings/tokens", "Create token", name="My notebook")
    assert created.status_code == 200
    assert "My notebook" in created.text
    revoked = submit(client, "/settings/tokens", "Revoke", follow_redirects=True)
    assert "Token revoked." in revoked.text
    with app.app_context():
        assert all(t.revoked_at for t in accounts.list_tokens(accounts.get_user("res")))


def test_an_admin_adds_an_institution_through_the_page(app, client):
    with committed(app):
        factories.user("other", username="admin", admin=True)
    login(client, "admin")
    added = submit(client, "/institutions", "Add institution", name="Lakeside Children's", slug="lakeside",
                   kind="hospital", city="Chicago", country="USA", follow_redirects=True)  # fmt: skip
    assert "Institution added." in added.text
    assert "Lakeside Children&#39;s" in added.text
