"""The chat pages' forms, submitted as a browser sends them without JavaScript (tests/forms.py): a new channel,
slow mode, and deleting, hiding and unhiding messages."""

from lhn.chat import services as chat
from lhn.chat.models import Channel, ChatMessage
from lhn.extensions import db
from tests import factories
from tests.conftest import committed, login
from tests.forms import forms_on, submit


def test_a_moderator_adds_a_channel_for_some_roles_through_the_page(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        factories.community(doc, slug="ibd")
    login(client, "doc")
    added = submit(client, "/c/ibd/channels/new", "Add channel", name="parents", topic="For parents and carers",
                   roles=["patient", "caregiver"], follow_redirects=True)  # fmt: skip
    assert added.status_code == 200
    with app.app_context():
        channel = db.session.query(Channel).filter_by(name="parents").one()
        assert sorted(channel.allowed_roles.split(",")) == ["caregiver", "patient"]


def test_slow_mode_delete_hide_and_unhide_through_the_channel_page(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd")
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        factories.member(ibd, factories.user("patient", username="teen"))
    url = "/c/ibd/chat/general"
    login(client, "teen")
    for body in ("First message", "Second message"):
        submit(client, url, "Send", body=body)
    assert submit(client, url, "Delete", which=0).status_code == 302
    login(client, "mod")
    [slow] = [f for f in forms_on(client, url) if f.action.endswith("/slow-mode")]
    every = next(value for value, _ in next(c for c in slow.controls if c.name == "seconds").options if value != "0")
    assert submit(client, url, "Set", seconds=every).status_code == 302
    assert submit(client, url, "Hide message", reason="Shared a phone number.").status_code == 302
    with app.app_context():
        assert db.session.query(ChatMessage).filter(ChatMessage.hidden_at.is_not(None)).count() == 1
    assert submit(client, url, "Unhide").status_code == 302
    with app.app_context():
        messages = db.session.query(ChatMessage).order_by(ChatMessage.id).all()
        assert [m.deleted_at is not None for m in messages] == [True, False]
        assert [m.hidden_at for m in messages] == [None, None]
        assert chat.slow_mode_seconds(db.session.query(Channel).filter_by(name="general").one()) == int(every)
