"""The moderation pages' forms, submitted as a browser sends them (tests/forms.py): flagging, the queue's
decisions, redaction, lifting a mute, the community's settings, the audit filter and deleting one's account."""

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.moderation.models import Sanction
from lhn.moderation.services import sanctions
from tests import factories
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit


def u(name):
    return accounts.get_user(name)


def client_for(app, username):
    client = app.test_client()
    login(client, username)
    return client


def test_flag_a_member_then_a_moderator_dismisses_it_from_the_queue(app, cast):
    with app.app_context():
        author_id = u("author").id
    reader = client_for(app, "rdr1")
    sent = submit(reader, f"/flag/user/{author_id}", "Send to the moderators", reason="harassment",
                  details="Rude replies", community="ibd", follow_redirects=True)  # fmt: skip
    assert "Moderators will review it" in sent.text
    mod = client_for(app, "mod")
    assert "Rude replies" in mod.get("/c/ibd/review").text
    done = submit(mod, "/c/ibd/review", "Dismiss (nothing wrong)", follow_redirects=True)
    assert "Done: dismissed." in done.text


def test_redact_a_phone_number_from_the_item_page(app, cast, fake_content):
    with committed(app):
        item_id = factories.flag(u("rdr1"), cast.answer_id, "phi", target_type="fake").item.id
    mod = client_for(app, "mod")
    done = submit(mod, f"/review/{item_id}", "Remove it", fragments=["513-555-0134"], follow_redirects=True)
    assert "Done: redacted." in done.text
    assert "513-555-0134" not in fake_content.rows[cast.answer_id].text


def test_lift_a_mute_from_the_queue_page(app, cast):
    with committed(app):
        sanctions.mute(u("author"), communities.get_community("ibd"), by=u("mod"), reason="Flooding", days=3)
    mod = client_for(app, "mod")
    lifted = submit(mod, "/c/ibd/review", "Lift the mute", follow_redirects=True)
    assert lifted.status_code == 200
    assert "Members muted now" not in lifted.text
    with app.app_context():
        from lhn.extensions import db

        assert all(s.lifted_at for s in db.session.query(Sanction).all())


def test_the_owner_sets_the_flag_threshold_through_the_page(app, cast):
    owner = client_for(app, "doc")
    saved = submit(owner, "/c/ibd/moderation/settings", "Save", flag_hide_threshold="4.5", follow_redirects=True)
    assert "Moderation settings saved." in saved.text
    with app.app_context():
        assert communities.get_community("ibd").flag_hide_threshold == 4.5


def test_an_admin_filters_the_audit_trail_through_the_page(app, cast):
    with committed(app):
        sanctions.warn(u("author"), by=u("mod"), reason="x", community=communities.get_community("ibd"))
    admin = client_for(app, "boss")
    found = submit(admin, "/admin/audit", "Filter", actor="mod")
    assert found.status_code == 200
    assert "sanction.warn" in found.text
    none = submit(admin, "/admin/audit", "Filter", action="nothing")
    assert "No events match." in none.text


def test_delete_my_account_through_the_page(app, cast):
    reader = client_for(app, "rdr3")
    unticked = submit(reader, "/settings/my-data", "Delete my account", password=PASSWORD)
    assert "Tick the box to confirm." in unticked.text
    gone = submit(reader, "/settings/my-data", "Delete my account", password=PASSWORD, confirm=True)
    assert gone.status_code == 302
    with app.app_context():
        assert accounts.find_user("rdr3") is None
