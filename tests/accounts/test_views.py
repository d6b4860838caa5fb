"""Account pages as a browser uses them: forms, sessions, rate limits, CSRF, redirects."""

import re

import pytest

from tests import factories
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit

REGISTRATION = {
    "email": "river@example.org",
    "username": "river",
    "display_name": "river_walker",
    "password": PASSWORD,
    "role": "patient",
    "institution": "",
}


def test_register_asks_to_check_email_and_the_account_can_log_in(client) -> None:
    response = client.post("/register", data=REGISTRATION, follow_redirects=True)
    assert response.status_code == 200
    assert "Check your email" in response.text
    assert client.get("/u/river").status_code == 200
    assert 'class="nav-me"' not in client.get("/").text  # the confirmation link logs in (test_address_views.py)
    login(client, "river")
    assert 'class="nav-me">river_walker<' in client.get("/").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "nope", "must have an @-sign"),
        ("username", "x", "Field must be between 3 and 30 characters long."),
        ("username", "bad name", "Use 3–30 letters"),
        ("display_name", "", "This field is required."),
        ("password", "1234567", "Use at least 8 characters."),
        ("password", "password123", "too common"),
        ("role", "wizard", "Not a valid choice"),
    ],
)
def test_register_rerenders_with_field_messages_and_keeps_input(client, field, value, message) -> None:
    response = client.post("/register", data={**REGISTRATION, field: value})
    assert response.status_code == 200
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="river@example.org"' in response.text or field == "email"


def test_register_asks_to_confirm_a_real_looking_name(client) -> None:
    response = client.post("/register", data={**REGISTRATION, "display_name": "Jane Smith"})
    assert "looks like a full real name" in response.text
    assert 'name="confirm_real_name"' in response.text
    response = client.post("/register", data={**REGISTRATION, "display_name": "Jane Smith", "confirm_real_name": "y"})
    assert response.status_code == 302


def test_login_logout_and_the_same_answer_for_unknown_user_and_wrong_password(app, client) -> None:
    with committed(app):
        factories.user(username="alice")
    unknown = client.post("/login", data={"login": "nobody", "password": PASSWORD})
    wrong = client.post("/login", data={"login": "alice", "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 200
    strip = lambda html: re.sub(r'(value|content)="[^"]*"', "", html)  # noqa: E731 - typed login and CSRF token differ
    assert strip(unknown.text) == strip(wrong.text)
    assert "Invalid username/email or password." in wrong.text
    login(client, "alice")
    assert client.get("/settings/profile").status_code == 200
    client.post("/logout")
    assert client.get("/settings/profile").status_code == 302


def test_login_rate_limit_per_address(make_app) -> None:
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"login": f"user{i}", "password": "x"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    limited = client.post("/login", data={"login": "someone", "password": "x"})
    assert "Too many attempts" in limited.text
    assert "Retry-After" in limited.headers


def test_login_rate_limit_per_login_name_across_addresses(make_app) -> None:
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    codes = [
        app.test_client()
        .post("/login", data={"login": "alice", "password": "x"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        .status_code
        for i in range(5)
    ]
    assert codes[-1] == 429


@pytest.mark.parametrize("eleventh", ["form", "api"])
def test_one_login_budget_across_the_form_and_the_api(make_app, eleventh) -> None:
    """The documented 10 a minute holds whichever way one logs in: the page and POST /api/v1/tokens
    draw on one budget per client address and one per login name."""
    from lhn.config import DefaultConfig

    app = make_app(LOGIN_RATE_LIMIT=DefaultConfig.LOGIN_RATE_LIMIT)
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()

    def attempt(way: str, login: str, address: str = "10.0.0.1"):
        where = {"environ_base": {"REMOTE_ADDR": address}}
        if way == "form":
            return client.post("/login", data={"login": login, "password": "wrong"}, **where)
        return client.post("/api/v1/tokens", json={"login": login, "password": "wrong", "name": "x"}, **where)

    codes = [attempt("form" if i % 2 else "api", "alice").status_code for i in range(10)]
    assert codes == [401, 200] * 5
    refused = attempt(eleventh, "alice")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)  # the same words whether alice exists or not
    assert attempt(eleventh, "ghost").status_code == 429  # the address's budget is spent
    assert attempt(eleventh, "alice", address="10.0.0.2").status_code == 429  # and so is alice's
    assert attempt(eleventh, "bob", address="10.0.0.3").status_code in (200, 401)  # others are unaffected


def test_forms_refuse_posts_without_a_csrf_token(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()
    response = client.post("/login", data={"login": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "expired" in response.text
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/settings/profile").status_code == 200  # still logged in: the forged logout did nothing


def test_a_copied_session_cookie_stops_working_after_logout(app) -> None:
    with committed(app):
        factories.user(username="alice")
    browser, thief = app.test_client(), app.test_client()
    login(browser, "alice")
    cookie = browser.get_cookie("lhn_session")
    thief.set_cookie("lhn_session", cookie.value)
    assert thief.get("/settings/profile").status_code == 200
    browser.post("/logout")
    assert thief.get("/settings/profile").status_code == 302


def test_password_change_logs_out_other_sessions_and_remember_cookies(app) -> None:
    with committed(app):
        factories.user(username="alice")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "alice")
    login(phone, "alice", remember=True)
    remember = phone.get_cookie("lhn_remember")
    assert remember is not None
    response = laptop.post(
        "/settings/password", data={"current_password": PASSWORD, "new_password": "another long passphrase"}
    )
    assert response.status_code == 302
    assert laptop.get("/settings/profile").status_code == 200  # the device that changed it stays in
    assert phone.get("/settings/profile").status_code == 302
    revived = app.test_client()
    revived.set_cookie("lhn_remember", remember.value)
    assert revived.get("/settings/profile").status_code == 302


def test_session_cookie_changes_at_login_and_has_safe_flags(app) -> None:
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("lhn_session")
    response = login(client, "alice", remember=True)
    after = client.get_cookie("lhn_session")
    assert before is None or before.value != after.value
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("lhn_session", "lhn_remember"):
        header = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\r\nLocation: https://evil.example",
        "http:/evil.example",
        "/\tevil",
    ],
)
def test_login_refuses_to_redirect_off_site(app, target) -> None:
    with committed(app):
        factories.user(username="alice")
    response = app.test_client().post(
        "/login", query_string={"next": target}, data={"login": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(app) -> None:
    with committed(app):
        factories.user(username="alice")
    response = app.test_client().post(
        "/login?next=/c/x/members?role=patient", data={"login": "alice", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/c/x/members?role=patient"


def test_profile_shows_badges_and_hides_email_from_others(app) -> None:
    with committed(app):
        factories.institution(slug="northgate", name="Northgate Hospital")
        factories.user("clinician", username="doc", verified=True, institution="northgate")
        factories.user("clinician", username="claimer")
        factories.user(username="reader")
    client = app.test_client()
    login(client, "reader")
    doc = client.get("/u/doc").text
    assert "✓ Verified" in doc
    assert "Northgate Hospital" in doc
    assert "doc@example.org" not in doc
    claimed = client.get("/u/claimer").text
    assert "Claimed" in claimed
    assert "✓ Verified" not in claimed
    assert client.get("/u/nobody").status_code == 404


def test_profile_edit_rerenders_errors(app) -> None:
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()
    login(client, "alice")
    response = submit(client, "/settings/profile", "Save", display_name="", bio="x")
    assert response.status_code == 422
    assert "This field is required." in response.text
    response = submit(client, "/settings/profile", "Save", display_name="alice a", bio="**me**",
                      forge={"institution": "nowhere"})  # fmt: skip
    assert response.status_code == 422
    assert "Choose an institution from the list" in response.text


def test_verification_form_submits_evidence_and_shows_pending(app) -> None:
    with committed(app):
        factories.user("clinician", username="doc")
    client = app.test_client()
    login(client, "doc")
    bad = client.post("/settings/verification", data={"orcid": "0000-0002-1825-0098"})
    assert "not a valid ORCID iD" in bad.text
    good = client.post("/settings/verification", data={"orcid": "0000-0002-1825-0097"}, follow_redirects=True)
    assert "waiting for a reviewer" in good.text


def test_tokens_page_shows_a_new_token_once_and_revokes(app) -> None:
    with committed(app):
        factories.user(username="alice")
    client = app.test_client()
    login(client, "alice")
    page = client.post("/settings/tokens", data={"name": "uploader"}).text
    token = re.search(r'id="new-token">(lhn_[^<]+)<', page).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/settings/tokens").text
    token_id = re.search(r"/settings/tokens/(\d+)/revoke", page).group(1)
    client.post(f"/settings/tokens/{token_id}/revoke")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_admins_add_institutions(app) -> None:
    with committed(app):
        factories.user(username="alice")
        factories.user("other", username="root_admin", admin=True)
    client = app.test_client()
    login(client, "alice")
    assert client.post("/institutions", data={"name": "X", "slug": "x-x", "kind": "clinic"}).status_code == 403
    admin = app.test_client()
    login(admin, "root_admin")
    response = admin.post(
        "/institutions",
        data={"name": "Lakeside", "slug": "lakeside", "kind": "clinic", "city": "Uppsala", "country": "Sweden"},
        follow_redirects=True,
    )
    assert "Lakeside" in response.text
    again = admin.post("/institutions", data={"name": "Lakeside", "slug": "lakeside", "kind": "clinic"})
    assert "That slug is taken." in again.text
