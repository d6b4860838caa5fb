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
from tests.conftest import committed

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
