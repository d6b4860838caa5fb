"""Abuse limits any feature uses: new accounts, the link cap, per-user limits (and on Redis when configured)."""

import os
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from lhn.database import utcnow
from lhn.limits import count_links, is_new_account, link_limit_problem
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import committed, login
from tests.forms import submit

REDIS_URL = os.environ.get("LHN_TEST_REDIS_URL", "")


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("No links, just 5 mg/kg and doi:10.1093/ecco-jcc/jjz180", 0),
        ("See https://a.example and www.b.example", 2),
        ("[guideline](https://ecco.example/g) and [ours](/c/ibd)", 2),
        ('<a href="https://x.example">x</a>', 1),
        ("[one](https://a.example/path) is a single link", 1),
    ],
)
def test_links_are_counted_in_markdown(text, links):
    assert count_links(text) == links


def test_new_accounts_may_post_at_most_two_links():
    three = "https://a.example https://b.example https://c.example"
    assert link_limit_problem(three, new_account=False) is None
    assert link_limit_problem("https://a.example and https://b.example", new_account=True) is None
    assert "at most 2 links" in link_limit_problem(three, new_account=True)


def test_an_account_is_new_for_its_first_days_and_admins_never():
    now = utcnow()
    fresh = SimpleNamespace(created_at=now - timedelta(days=2), is_admin=False)
    old = SimpleNamespace(created_at=now - timedelta(days=4), is_admin=False)
    admin = SimpleNamespace(created_at=now, is_admin=True)
    assert is_new_account(fresh, now=now, days=3)
    assert not is_new_account(old, now=now, days=3)
    assert not is_new_account(admin, now=now)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs LHN_TEST_REDIS_URL (a Redis shared by processes)")
def test_per_user_limits_are_kept_in_redis_when_configured(make_app):
    import redis

    prefix = f"lhn-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix, NEW_ACCOUNT_RATE_LIMITS={"flag": "1 per hour"}
    )
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        with committed(app):
            factories.user(username="flagger")
            targets = [factories.user().id, factories.user().id]
        client = app.test_client()
        token = token_for(client, "flagger")
        body = lambda target: {"target_type": "user", "target_id": target, "reason": "spam"}  # noqa: E731
        assert client.post("/api/v1/flags", json=body(targets[0]), headers=bearer(token)).status_code == 201
        # A second process (another app on the same Redis) sees the same counter.
        other = make_app(
            RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix, NEW_ACCOUNT_RATE_LIMITS={"flag": "1 per hour"}
        ).test_client()
        assert other.post("/api/v1/flags", json=body(targets[1]), headers=bearer(token)).status_code == 429
        assert any(prefix.encode() in key for key in connection.scan_iter("*"))
    finally:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
        connection.close()


def test_the_per_request_check_for_app_wide_limits_runs_only_when_there_are_some(make_app):
    """Every LHN limit sits on its view, whose decorator checks it, so Flask-Limiter's hook that looks for app-wide
    limits on every request is left out (it found none; bench/README.md). A default limit in config brings it back."""
    from lhn.extensions import limiter

    app = make_app()
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    assert not limiter.limit_manager.default_limits
    assert not limiter.limit_manager.application_limits
    assert all(not limiter.limit_manager.blueprint_limits(app, name) for name in app.blueprints)
    try:
        client = make_app(RATELIMIT_DEFAULT="2 per minute").test_client()
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        limiter.limit_manager.set_default_limits([])  # the extension is one object: later apps must not inherit it


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_endpoint_that_writes_has_a_per_person_rate_limit(app):
    """Its own ("post", "answer", "staff", login's, ...) or else the backstop every other write gets ("write"), as
    Flask-Limiter itself records them, so a route added tomorrow can't be left without one."""
    import flask_limiter

    def limited(view):  # Flask-Limiter's own wrapper is somewhere down the chain of decorators
        while view is not None:
            if view.__code__.co_filename.startswith(os.path.dirname(flask_limiter.__file__)):
                return True
            view = getattr(view, "__wrapped__", None)
        return False

    writes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & WRITE_METHODS}
    unlimited = sorted(endpoint for endpoint in writes if not limited(app.view_functions[endpoint]))
    assert len(writes) > 200
    # Chat's sends and edits: the service counts the "chat" limit, shared with socket events (tests/chat).
    assert unlimited == ["api.edit_message", "api.post_message", "chat.channel"]


def _writes_limited_to_two(make_app):
    two = {"write": "2 per minute"}
    return make_app(RATE_LIMITS=two, NEW_ACCOUNT_RATE_LIMITS=two)


def test_the_api_answers_a_write_over_the_backstop_with_the_error_json(make_app):
    app = _writes_limited_to_two(make_app)
    with committed(app):
        factories.user(username="busy", display_name="Busy")
    client = app.test_client()
    token = token_for(client, "busy")  # asking for a token has a limit of its own
    answers = [client.patch("/api/v1/me", json={"display_name": f"Busy {i}"}, headers=bearer(token)) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json["error"]["code"] == "rate_limited"
    assert "Too many attempts" in answers[2].json["error"]["message"]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert client.get("/api/v1/me", headers=bearer(token)).json["display_name"] == "Busy 1"  # the third wrote nothing


def test_a_one_button_action_over_the_backstop_says_so_and_does_nothing(make_app):
    app = _writes_limited_to_two(make_app)
    with committed(app):
        factories.community(slug="ibd", name="Pediatric IBD")
        factories.user("patient", username="teen")
    client = app.test_client()
    login(client, "teen")  # logging in has a limit of its own
    for _ in range(2):  # each endpoint counts on its own, as every limit does
        assert submit(client, "/c/ibd", "Join community", accept_guidelines=True).status_code == 302
        assert submit(client, "/c/ibd", "Leave community").status_code == 302
    refused = submit(client, "/c/ibd", "Join community", accept_guidelines=True)
    assert refused.status_code == 429  # the community page again, the wait said on the join form
    assert "Too many attempts in a short time: please try again in" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    community_page = client.get("/c/ibd").text
    assert "Join community" in community_page  # still not a member
    assert "Leave community" not in community_page


def test_a_text_form_over_the_backstop_is_shown_again_with_what_was_typed(make_app):
    app = _writes_limited_to_two(make_app)
    with committed(app):
        community = factories.community(slug="ibd", name="Pediatric IBD")
        author = factories.user("patient", username="teen")
        factories.member(community, author)
        post_id = factories.question(community, author, title="How do you manage school trips in a flare?").id
    client = app.test_client()
    login(client, "teen")
    edit = f"/c/ibd/posts/{post_id}/edit"
    for title in ("School trips during a flare: what helps?", "School trips in a flare: what helped you?"):
        saved = submit(client, edit, "Save changes", title=title)
        assert saved.status_code == 302
    refused = submit(client, edit, "Save changes", title="Overnight school trips in a flare")
    assert refused.status_code == 429
    assert "Too many attempts in a short time" in refused.text
    assert 'value="Overnight school trips in a flare"' in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert "School trips in a flare: what helped you?" in client.get(saved.headers["Location"]).text


def test_one_backstop_for_everybody_can_be_configured(make_app):
    app = make_app(WRITE_RATE_LIMIT="1 per minute", RATE_LIMITS={"write": "5 per minute"})
    with committed(app):
        factories.user(username="busy")
    client = app.test_client()
    token = token_for(client, "busy")
    codes = [client.patch("/api/v1/me", json={"bio": f"take {i}"}, headers=bearer(token)).status_code for i in range(2)]
    assert codes == [200, 429]


def test_an_app_with_rate_limits_switched_off_starts_and_limits_nothing(make_app):
    """RATELIMIT_ENABLED off (Flask-Limiter then adds no hook of its own for init_app to take out)."""
    app = make_app(RATELIMIT_ENABLED=False, WRITE_RATE_LIMIT="1 per minute")
    with committed(app):
        factories.user(username="busy")
    client = app.test_client()
    token = token_for(client, "busy")
    codes = [client.patch("/api/v1/me", json={"bio": f"take {i}"}, headers=bearer(token)).status_code for i in range(3)]
    assert codes == [200, 200, 200]


def test_a_kind_of_write_has_one_budget_on_the_pages_and_the_api(make_app):
    """"flag", "post", "import"...: one allowance per person for that kind of write, wherever it is sent from (as
    chat's and the password reset's are), not one per endpoint."""
    app = make_app(RATE_LIMITS={"flag": "2 per hour"}, NEW_ACCOUNT_DAYS=0)
    with committed(app):
        factories.user(username="reader")
        targets = [factories.user(username=f"someone{i}").id for i in range(3)]
    client = app.test_client()
    login(client, "reader")
    token = token_for(client, "reader")
    for target in targets[:2]:
        assert submit(client, f"/flag/user/{target}", "Send to the moderators", reason="spam").status_code == 302
    refused = client.post("/api/v1/flags", json={"target_type": "user", "target_id": targets[2], "reason": "spam"},
                          headers=bearer(token))  # fmt: skip
    assert refused.status_code == 429
