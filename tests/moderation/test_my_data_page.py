"""The My data page says what the download holds: one line for each section the export really has, no
placeholder promising what features might add."""

from lhn.accounts import services as accounts
from lhn.moderation import mydata
from tests import factories
from tests.conftest import committed, login

ENVELOPE = {"format", "generated_at", "account_id"}


def test_the_page_lists_every_section_the_export_holds(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        factories.question(ibd, doc)
    with app.app_context():
        sections = set(mydata.export_my_data(accounts.get_user("doc"))) - ENVELOPE
    assert sections <= set(mydata.EXPORT_SECTIONS), sections - set(mydata.EXPORT_SECTIONS)
    assert set(mydata.EXPORT_SECTIONS) <= sections, set(mydata.EXPORT_SECTIONS) - sections  # no stale entries
    login(client, "doc")
    page = client.get("/settings/my-data").text
    assert "as features add them" not in page
    for label in mydata.EXPORT_SECTIONS.values():
        assert f"<li>{label}</li>" in page, label
