"""Addresses and what they recover (accounts.services.addresses and links): sign-up that never says whether an
address is taken, confirmation, password reset, change of address; their links are signed, expiring, single-use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lhn.accounts import passwords, permissions
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.accounts.services import links
from lhn.database import transaction
from lhn.errors import NotFound, ValidationFailed
from lhn.extensions import db
from tests import factories
from tests.accounts.mailbox import mails, token_in

NEW = "a brand new passphrase"


def sign_up(email: str = "river@example.org", username: str = "river") -> User | None:
    with transaction():
        return accounts.sign_up(email=email, username=username, display_name="river_walker",
                                password="a long walk by the river", role="patient")  # fmt: skip


def test_sign_up_with_a_new_address_makes_an_unconfirmed_account_and_sends_a_confirmation_link(ctx):
    user = sign_up()
    assert user is not None
    assert user.email_confirmed_at is None
    assert not permissions.can_receive_email(user)
    [message] = mails(to="river@example.org")
    assert message.kind == "confirm_email"
    assert "/email/confirm/" in message.text_body
    assert "Why you got this" in message.text_body


def test_sign_up_with_a_taken_address_makes_nothing_and_tells_the_owner(ctx):
    owner = factories.user(username="alice")
    assert sign_up(email="ALICE@example.org", username="newcomer") is None
    assert accounts.find_user("newcomer") is None
    [message] = mails(to="alice@example.org")
    assert message.kind == "registration_attempt"
    assert "/password/forgot" in message.text_body
    assert owner.display_name in message.text_body
    assert passwords.verify_password(owner.password_hash, factories.PASSWORD)  # nothing changed


def test_sign_up_still_reports_a_taken_username_and_bad_fields_for_a_taken_address(ctx):
    factories.user(username="alice")
    with pytest.raises(ValidationFailed) as caught:
        sign_up(email="alice@example.org", username="alice")
    assert caught.value.errors == {"username": "That username is taken."}
    assert mails() == []


def test_a_confirmation_link_confirms_once_and_logs_in_only_a_new_account(ctx):
    sign_up()
    token = token_in(mails(kind="confirm_email")[0], "/email/confirm/")
    with transaction():
        user, first_login = accounts.confirm_email(token)
    assert user.email_confirmed_at is not None
    assert first_login
    assert user.last_login_at is not None
    assert permissions.can_receive_email(user)
    with pytest.raises(NotFound, match="expired or was already used"):
        accounts.confirm_email(token)  # single-use
    with transaction():
        assert not accounts.send_confirmation(user)  # nothing to confirm any more


def test_a_confirmation_for_someone_who_has_logged_in_confirms_without_logging_in(ctx):
    user = factories.user(confirmed=False)
    accounts.authenticate(user.username, factories.PASSWORD)
    with transaction():
        assert accounts.send_confirmation(user)
    with transaction():
        confirmed, first_login = accounts.confirm_email(token_in(mails(kind="confirm_email")[-1], "/email/confirm/"))
    assert confirmed.email_confirmed_at is not None
    assert not first_login


def test_links_are_signed_expire_and_are_for_one_purpose(ctx, monkeypatch):
    user = factories.user()
    token = links.make_link_token(user, links.RESET)
    assert links.find_link(token, links.RESET) == (user, {})
    assert links.find_link(token, links.CONFIRM) is None  # a reset link confirms nothing
    assert links.find_link(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), links.RESET) is None
    assert links.find_link("not-a-token", links.RESET) is None
    monkeypatch.setitem(links.MAX_AGE, links.RESET, timedelta(seconds=-1))
    assert links.find_link(token, links.RESET) is None


def test_a_reset_request_for_an_unknown_address_sends_nothing(ctx):
    with transaction():
        accounts.request_password_reset("nobody@example.org")
        accounts.request_password_reset("not an address")
    assert mails() == []


def test_a_password_reset_ends_every_session_revokes_tokens_and_its_link_dies(ctx):
    user = factories.user(username="alice", confirmed=False)
    _row, api_token = accounts.create_token(user, name="script")
    with transaction():
        accounts.request_password_reset(" Alice@Example.org ")
        accounts.request_password_reset("alice@example.org")
    first, second = (token_in(m, "/password/reset/") for m in mails(kind="password_reset"))
    version = user.session_version
    with pytest.raises(ValidationFailed) as caught:
        accounts.reset_password(first, new_password="password123")
    assert "too common" in caught.value.errors["new_password"]
    with transaction():
        accounts.reset_password(first, new_password=NEW)
    assert passwords.verify_password(user.password_hash, NEW)
    assert user.session_version == version + 1
    assert accounts.find_token(api_token) is None
    assert user.email_confirmed_at is not None  # the link reached the address
    assert [m.kind for m in mails(to="alice@example.org")][-1] == "password_changed"
    for used in (first, second):  # both were bound to the old password
        with pytest.raises(NotFound):
            accounts.reset_password(used, new_password="another new passphrase")


def test_reset_and_confirmation_mail_per_account_is_capped_silently(app, ctx):
    app.config["ACCOUNT_MAIL_LIMIT"] = "2 per hour"
    user = factories.user(username="alice", confirmed=False)
    with transaction():
        for _ in range(3):
            accounts.request_password_reset("alice@example.org")
        assert not accounts.send_confirmation(user)
    assert len(mails(to="alice@example.org")) == 2


def test_a_change_of_address_happens_only_through_the_link_sent_to_the_new_one(ctx):
    user = factories.user(username="alice")
    with pytest.raises(ValidationFailed) as caught:
        accounts.request_email_change(user, new_email="alice@new.example.org", current_password="wrong")
    assert set(caught.value.errors) == {"current_password"}
    with transaction():
        accounts.request_email_change(user, new_email="Alice@New.example.org", current_password=factories.PASSWORD)
    assert user.email == "alice@example.org"  # nothing yet
    [link] = mails(to="alice@new.example.org")
    assert link.kind == "email_change"
    [told] = mails(to="alice@example.org")
    assert told.kind == "email_change_requested"
    assert "a***@new.example.org" in told.text_body
    token = token_in(link, "/email/change/")
    with transaction():
        accounts.change_email(token)
    assert user.email == "alice@new.example.org"
    assert user.email_confirmed_at is not None
    assert [m.kind for m in mails(to="alice@example.org")] == ["email_change_requested", "email_changed"]
    with pytest.raises(NotFound):
        accounts.change_email(token)  # single-use


def test_a_new_password_cancels_a_pending_change_of_address(ctx):
    user = factories.user(username="alice")
    with transaction():
        accounts.request_email_change(user, new_email="taker@example.net", current_password=factories.PASSWORD)
        accounts.change_password(user, current_password=factories.PASSWORD, new_password=NEW)
    with pytest.raises(NotFound):
        accounts.change_email(token_in(mails(to="taker@example.net")[0], "/email/change/"))


def test_a_change_to_an_address_in_use_sends_that_address_a_notice_not_a_link(ctx):
    user = factories.user(username="alice")
    factories.user(username="bob")
    with transaction():
        accounts.request_email_change(user, new_email="bob@example.org", current_password=factories.PASSWORD)
    [notice] = mails(to="bob@example.org")
    assert notice.kind == "email_change_taken"
    assert "/email/change/" not in notice.text_body
    assert user.email == "alice@example.org"


def test_account_mail_holds_no_health_details(ctx):
    """Account emails name the person's display name at most: never a bio, a community or a post."""
    user = factories.user(username="alice")
    with transaction():
        accounts.update_profile(user, display_name=user.display_name, bio="I live with Crohn's disease",
                                role="patient", institution=None)  # fmt: skip
        accounts.request_password_reset("alice@example.org")
        accounts.request_email_change(user, new_email="alice@new.example.org", current_password=factories.PASSWORD)
    sign_up(email="alice@example.org", username="someone")
    bodies = [m.text_body for m in mails()]
    assert len(bodies) == 4
    assert not any("Crohn" in body for body in bodies)
    db.session.rollback()
