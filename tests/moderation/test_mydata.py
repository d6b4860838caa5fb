"""My data: the export holds everything the member wrote and their profile; deleting the account in
either mode leaves no personal data, logs them out everywhere and keeps the audit rows (ids only)."""

from typing import Any

import pytest
from sqlalchemy import func, or_, select

from lhn import signals
from lhn.accounts import services as accounts
from lhn.accounts.models import ApiToken, User, VerificationRequest
from lhn.communities import services as communities
from lhn.communities.models import JoinRequest, Membership
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.moderation.models import Flag, ModerationLogEntry, PHIConfirmation, Sanction
from lhn.moderation.services import sanctions
from lhn.notifications.models import Notification
from tests import factories
from tests.api.test_api import bearer, token_for
from tests.conftest import PASSWORD, committed, login


def u(name):
    return accounts.get_user(name)


def busy_member(cast):
    """The author: a bio, a verification request, a token, a join request, flags, a sanction, a notice."""
    author = u("author")
    accounts.update_profile(
        author,
        display_name="Brave Kid",
        bio="Diagnosed at 9.",
        role="researcher",
        institution=None,
        confirm_real_name=True,
    )
    accounts.submit_verification(author, orcid="0000-0002-1825-0097")
    accounts.create_token(author, name="my script")
    cf_care = factories.community(u("doc"), slug="cf-care", restricted=True)
    communities.request_to_join(author, cf_care, accept_guidelines=True, message="Please let me in")
    factories.flag(author, u("rdr1"), "spam", details="selling tea")
    sanctions.warn(author, by=u("mod"), community=communities.get_community("ibd"), reason="Be kind")
    signals.phi_confirmed.send(
        author, kinds=["phone"], target_type="fake", target_id=cast.answer_id, community_id=cast.community_id
    )
    return author


def test_the_export_holds_the_profile_and_everything_they_did(ctx, cast):
    author = busy_member(cast)
    data = mydata.export_my_data(author)
    assert data["format"] == "lhn-export-1"
    assert data["account_id"] == author.id
    assert data["profile"]["email"] == "author@example.org"
    assert data["profile"]["bio"] == "Diagnosed at 9."
    assert data["verification_requests"][0]["orcid"] == "0000-0002-1825-0097"
    assert data["api_tokens"][0]["name"] == "my script"
    assert "token_hash" not in data["api_tokens"][0]
    assert {m["community"] for m in data["memberships"]} == {"ibd"}
    assert data["join_requests"][0]["message"] == "Please let me in"
    assert data["flags"] == [
        {
            "target_type": "user",
            "target_id": u("rdr1").id,
            "reason": "spam",
            "details": "selling tea",
            "created_at": data["flags"][0]["created_at"],
            "outcome": "pending",
        }
    ]
    assert data["sanctions"][0]["reason"] == "Be kind"
    assert data["phi_confirmations"][0]["kinds"] == ["phone"]
    assert any("warning" in n["text"] for n in data["notifications"])


def test_features_add_their_sections_and_may_not_clash(ctx, cast):
    def posts_exporter(user: User, **_: Any) -> dict[str, Any]:  # a made-up feature (posts has its own now)
        return {"garden_notes": [{"title": "My first question"}]}

    def clashing(user: User, **_: Any) -> dict[str, Any]:
        return {"profile": {}}

    signals.export_requested.connect(posts_exporter)
    try:
        assert mydata.export_my_data(u("author"))["garden_notes"] == [{"title": "My first question"}]
        signals.export_requested.connect(clashing)
        with pytest.raises(RuntimeError, match="profile"):
            mydata.export_my_data(u("author"))
    finally:
        signals.export_requested.disconnect(posts_exporter)
        signals.export_requested.disconnect(clashing)


def personal_rows(user_id: int, email: str) -> dict[str, int]:
    count = lambda stmt: db.session.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
    return {
        "user": count(select(User.id).where(or_(User.id == user_id, User.email == email))),
        "tokens": count(select(ApiToken.id).where(ApiToken.user_id == user_id)),
        "verification": count(select(VerificationRequest.id).where(VerificationRequest.user_id == user_id)),
        "memberships": count(select(Membership.id).where(Membership.user_id == user_id)),
        "join_requests": count(select(JoinRequest.id).where(JoinRequest.user_id == user_id)),
        "notifications": count(select(Notification.id).where(Notification.user_id == user_id)),
        "flags": count(select(Flag.id).where(Flag.flagger_id == user_id)),
        "sanctions": count(select(Sanction.id).where(Sanction.user_id == user_id)),
        "phi": count(select(PHIConfirmation.id).where(PHIConfirmation.user_id == user_id)),
    }


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_deleting_the_account_in_either_mode(ctx, cast, fake_content, mode):
    author = busy_member(cast)
    author_id, email = author.id, author.email
    ibd = communities.get_community("ibd")
    members_before = ibd.member_count
    seen = {}

    def content_eraser(user: User, *, mode: str, former: User, **_: Any) -> None:
        """What posts will do in phase 2: reassign to "former member", or remove."""
        seen["mode"] = mode
        for row in fake_content.rows.values():
            if row.author_id == user.id:
                row.author_id = former.id if mode == "keep" else -1
        if mode == "remove":
            fake_content.rows = {k: v for k, v in fake_content.rows.items() if v.author_id != -1}

    signals.account_erasing.connect(content_eraser)
    try:
        mydata.delete_account(author, password=PASSWORD, mode=mode)
    finally:
        signals.account_erasing.disconnect(content_eraser)
    db.session.expire_all()
    assert seen["mode"] == mode
    assert set(personal_rows(author_id, email).values()) == {0}
    assert communities.get_community("ibd").member_count == members_before - 1
    former = u("former_member")
    assert (former.display_name, former.email) == ("Former member", "former-member@lhn.invalid")
    if mode == "keep":
        assert fake_content.rows[cast.answer_id].author_id == former.id
        assert fake_content.load(cast.answer_id).author.display_name == "Former member"
    else:
        assert cast.answer_id not in fake_content.rows
    assert accounts.authenticate("former_member", "") is None  # the placeholder never logs in


def test_deletion_needs_the_password_a_mode_and_a_new_owner_for_sole_owners(ctx, cast):
    with pytest.raises(ValidationFailed) as caught:
        mydata.delete_account(u("author"), password="wrong", mode="shred")
    assert set(caught.value.errors) == {"password", "mode"}
    with pytest.raises(ValidationFailed) as caught:
        mydata.delete_account(u("doc"), password=PASSWORD, mode="keep")
    assert "only owner of Pediatric IBD" in caught.value.errors[""]


def test_moderation_log_lines_of_a_deleted_moderator_stay_as_former_member(ctx, cast):
    sanctions.warn(u("author"), by=u("mod"), community=communities.get_community("ibd"), reason="x")
    mydata.delete_account(u("mod"), password=PASSWORD, mode="keep")
    entry = db.session.scalar(select(ModerationLogEntry))
    assert entry.actor_id is None
    assert entry.action == "warned"


def test_deleting_through_the_pages_logs_out_every_session_and_token(app, cast):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "author")
    login(laptop, "author")
    token = token_for(app.test_client(), "author")
    export = laptop.get("/settings/my-data/export.json")
    assert export.headers["Content-Disposition"].startswith('attachment; filename="lhn-author-')
    assert export.get_json()["profile"]["username"] == "author"
    refused = laptop.post("/settings/my-data/delete", data={"password": "nope", "mode": "keep", "confirm": "y"})
    assert refused.status_code == 422
    assert "That is not your password." in refused.text
    deleted = laptop.post(
        "/settings/my-data/delete", data={"password": PASSWORD, "mode": "remove", "confirm": "y"}, follow_redirects=True
    )
    assert "Your account was deleted." in deleted.text
    assert phone.get("/settings/profile").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    with committed(app):
        assert accounts.find_user("author") is None


def test_delete_me_over_the_api(app, cast):
    client = app.test_client()
    token = token_for(client, "rdr1")
    refused = client.delete("/api/v1/me", json={"password": "nope", "mode": "keep"}, headers=bearer(token))
    assert refused.status_code == 422
    assert (
        client.delete("/api/v1/me", json={"password": PASSWORD, "mode": "keep"}, headers=bearer(token)).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
