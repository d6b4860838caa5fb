"""The notifications page's form, submitted as a browser sends it (tests/forms.py)."""

from lhn.accounts import services as accounts
from lhn.notifications import services as notifications
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit


def test_mark_all_read_through_the_page(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd")
        teen = factories.member(ibd, factories.user("patient", username="teen")).user
        factories.answer(factories.question(ibd, teen), doc)
    login(client, "teen")
    with app.app_context():
        assert notifications.unread_count(accounts.get_user("teen")) == 1
    done = submit(client, "/notifications", "Mark all read")
    assert done.status_code == 302
    with app.app_context():
        assert notifications.unread_count(accounts.get_user("teen")) == 0
