"""What a deleted member wrote and chose to keep shows "Former member" alone: no role badge claims a role for the
shared account, and no link leads to its profile."""

import re

from lhn.accounts import services as accounts
from lhn.moderation import mydata
from tests import factories
from tests.conftest import PASSWORD, committed, login


def test_a_former_members_post_shows_no_role_badge(app, client):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd", name="Pediatric IBD")
        leaver = factories.member(ibd, factories.user("caregiver", username="leaver")).user
        question = factories.question(ibd, leaver, title="How do you manage school trips during a flare?")
        factories.answer(question, doc)
        path = question.path
    with committed(app):
        mydata.delete_account(accounts.get_user("leaver"), password=PASSWORD, mode="keep")
    login(client, "doc")
    page = client.get(path).text
    assert "Former member" in page
    badge = re.search(r'<span class="person">\s*<span class="person-name">Former member</span>\s*</span>', page)
    assert badge
    assert "badge-other" not in page  # nobody on the page has the role Other
    assert 'href="/u/former_member"' not in page
