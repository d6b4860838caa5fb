"""Sanctions: warnings, mutes (with expiry on a clock we control), suspensions (login, tokens, sessions,
the user_suspended signal), lifting, and slow mode."""

from datetime import timedelta

import pytest

from lhn import signals
from lhn.accounts import services as accounts
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.moderation.models import SanctionKind
from lhn.moderation.services import sanctions
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import PASSWORD, committed, login


def u(name):
    return accounts.get_user(name)


def ibd():
    return communities.get_community("ibd")


def test_a_warning_is_a_private_notice(ctx, cast):
    warning = sanctions.warn(u("author"), by=u("mod"), community=ibd(), reason="Please cite a source.")
    assert warning.kind == SanctionKind.WARNING
    assert warning.ends_at is None
    assert sanctions.list_my_sanctions(u("author")) == [warning]
    assert sanctions.active_sanctions(u("author")) == []  # a warning restricts nothing
    with pytest.raises(PermissionDenied):
        sanctions.warn(u("author"), by=u("othermod"), community=ibd(), reason="x")
    with pytest.raises(PermissionDenied):
        sanctions.warn(u("mod"), by=u("mod"), community=ibd(), reason="x")  # nobody sanctions themself


def test_a_mute_stops_posting_until_it_runs_out_on_a_clock_we_control(ctx, cast):
    start = utcnow()
    sanctions.mute(u("author"), ibd(), by=u("mod"), reason="Flooding", days=1, now=start)
    membership = communities.find_membership(u("author"), ibd())
    assert community_permissions.can_read(u("author"), ibd(), membership)
    assert not community_permissions.can_post(u("author"), ibd(), membership, now=start + timedelta(hours=23))
    assert community_permissions.can_post(u("author"), ibd(), membership, now=start + timedelta(days=1, seconds=1))
    assert [s.kind for s in sanctions.active_sanctions(u("author"), now=start + timedelta(hours=1))] == [
        SanctionKind.MUTE
    ]
    assert sanctions.active_sanctions(u("author"), now=start + timedelta(days=2)) == []


def test_leaving_and_rejoining_does_not_lift_a_mute(ctx, cast):
    sanctions.mute(u("author"), ibd(), by=u("mod"), reason="Flooding", days=3)
    communities.leave_community(u("author"), ibd())
    membership = communities.join_community(u("author"), ibd(), accept_guidelines=True)
    assert community_permissions.is_muted(membership)


def test_who_may_mute_and_lift(ctx, cast):
    with pytest.raises(PermissionDenied):
        sanctions.mute(u("author"), ibd(), by=u("othermod"), reason="x", days=1)
    with pytest.raises(PermissionDenied):
        sanctions.mute(u("mod"), ibd(), by=u("vet"), reason="x", days=1)
    with pytest.raises(PermissionDenied):  # moderators don't mute each other; owners and admins do
        sanctions.mute(u("doc"), ibd(), by=u("mod"), reason="x", days=1)
    with pytest.raises(ValidationFailed):
        sanctions.mute(u("author"), ibd(), by=u("mod"), reason="x", days=2)
    with pytest.raises(ValidationFailed):
        sanctions.mute(u("intruder"), ibd(), by=u("boss"), reason="x", days=1)  # not a member
    mute = sanctions.mute(u("author"), ibd(), by=u("mod"), reason="Flooding", days=7)
    with pytest.raises(NotFound):
        sanctions.lift(mute.id, by=u("othermod"))
    sanctions.lift(mute.id, by=u("doc"))
    assert community_permissions.can_post(u("author"), ibd(), communities.find_membership(u("author"), ibd()))
    assert u("author").sanctioned_until is None
    with pytest.raises(ValidationFailed):
        sanctions.lift(mute.id, by=u("doc"))


def test_only_site_admins_suspend(ctx, cast):
    with pytest.raises(PermissionDenied):
        sanctions.suspend(u("author"), by=u("doc"), reason="x", days=1)
    with pytest.raises(ValidationFailed):
        sanctions.suspend(u("author"), by=u("boss"), reason="x", days=2)


def test_suspension_ends_sessions_and_sends_user_suspended(ctx, cast):
    received = []

    def receiver(user, **kwargs):
        received.append((user.username, kwargs["reason"]))

    signals.user_suspended.connect(receiver)
    invalidated = []

    def on_invalidated(user, **kwargs):
        invalidated.append(user)

    signals.sessions_invalidated.connect(on_invalidated)
    try:
        version = u("author").session_version
        sanctions.suspend(u("author"), by=u("boss"), reason="Spam campaign", days=7)
    finally:
        signals.user_suspended.disconnect(receiver)
        signals.sessions_invalidated.disconnect(on_invalidated)
    assert received == [("author", "Spam campaign")]
    assert [user.username for user in invalidated] == ["author"]
    assert u("author").session_version == version + 1
    assert accounts.load_user_for_session(f"{u('author').id}:{version + 1}") is None  # even a fresh cookie


def test_a_suspended_member_cannot_log_in_and_is_told_why_and_until_when(app, cast):
    client = app.test_client()
    login(client, "author")
    token = token_for(app.test_client(), "author")
    with committed(app):
        sanctions.suspend(u("author"), by=u("boss"), reason="Spam campaign", days=7)
    assert client.get("/settings/profile").status_code == 302  # the open session ended
    refused = app.test_client().post("/login", data={"login": "author", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Your account is suspended until" in refused.text
    assert "Reason: Spam campaign" in refused.text
    wrong = app.test_client().post("/login", data={"login": "author", "password": "not it"})
    assert "suspended" not in wrong.text  # only someone with the password learns it
    api = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "account_suspended"
    new_token = app.test_client().post("/api/v1/tokens", json={"login": "author", "password": PASSWORD, "name": "x"})
    assert new_token.status_code == 403


def test_a_lapsed_suspension_lets_the_member_back_in(app, cast):
    with committed(app):
        sanctions.suspend(u("author"), by=u("boss"), reason="Cool off", days=1, now=utcnow() - timedelta(days=2))
    login(app.test_client(), "author")  # asserts the redirect of a successful login


def test_a_lifted_suspension_lets_the_member_back_in(app, cast):
    with committed(app):
        suspension = sanctions.suspend(u("author"), by=u("boss"), reason="Mistake", days=0)
        assert suspension.ends_at.year == 9999
        suspension_id = suspension.id
    client = app.test_client()
    assert "until a site admin lifts it" in client.post("/login", data={"login": "author", "password": PASSWORD}).text
    with committed(app):
        sanctions.lift(suspension_id, by=u("boss"))
    login(client, "author")


# --- slow mode (communities, enforced by posts and chat in phase 2) -----------------------------------


def test_slow_mode_is_set_by_moderators_and_checked_per_member(ctx, cast):
    with pytest.raises(PermissionDenied):
        communities.set_slow_mode(ibd(), "post", 7, 60, by=u("author"))
    with pytest.raises(ValidationFailed):
        communities.set_slow_mode(ibd(), "post", 7, -1, by=u("mod"))
    communities.set_slow_mode(ibd(), "post", 7, 60, by=u("mod"))
    assert communities.slow_mode_seconds("post", 7) == 60
    now = utcnow()
    with pytest.raises(ValidationFailed) as caught:
        communities.check_slow_mode(
            ibd(), "post", 7, user=u("author"), last_write_at=now - timedelta(seconds=20), now=now
        )
    assert "wait 40 seconds" in caught.value.errors[""]
    communities.check_slow_mode(ibd(), "post", 7, user=u("author"), last_write_at=now - timedelta(seconds=61), now=now)
    communities.check_slow_mode(ibd(), "post", 7, user=u("mod"), last_write_at=now, now=now)  # moderators exempt
    communities.check_slow_mode(ibd(), "post", 8, user=u("author"), last_write_at=now, now=now)  # another thread
    communities.set_slow_mode(ibd(), "post", 7, 0, by=u("mod"))
    assert communities.slow_mode_seconds("post", 7) == 0


def test_factories_flag_helper_is_wired(ctx, cast):
    assert factories.flag(u("rdr1"), u("author"), "spam").reason.value == "spam"
