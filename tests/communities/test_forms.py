"""The community pages' forms, submitted as a browser sends them (tests/forms.py): create and edit, search,
join and leave, ask to join and decide, make and unmake moderators, verification decisions."""

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.communities.models import JoinRequest
from lhn.extensions import db
from tests import factories
from tests.conftest import committed, login
from tests.forms import page_forms, submit


def test_create_then_edit_a_community_through_the_pages(app, client):
    with committed(app):
        factories.user("clinician", username="doc", verified=True)
    login(client, "doc")
    created = submit(client, "/communities/new", "Create community", name="Type 1 Diabetes Network", slug="t1d",
                     condition_name="Type 1 diabetes", description="For families and teams.",
                     guidelines="Be kind.", visibility="restricted", follow_redirects=True)  # fmt: skip
    assert "Community created. You are its owner." in created.text
    edited = submit(client, "/c/t1d/edit", "Save", name="T1D Network", visibility="public", follow_redirects=True)
    assert "Community updated." in edited.text
    with app.app_context():
        community = communities.get_community("t1d")
        assert (community.name, community.visibility.value, community.guidelines) == ("T1D Network", "public",
                                                                                      "Be kind.")  # fmt: skip


def test_search_the_communities_through_the_page(app, client):
    with committed(app):
        factories.community(slug="ibd", name="Pediatric IBD", condition="Crohn's disease")
        factories.community(slug="t1d", name="Type 1 Diabetes", condition="Type 1 diabetes")
    found = submit(client, "/", "Search", q="diabetes")
    assert found.status_code == 200
    assert "Type 1 Diabetes" in found.text
    assert "Pediatric IBD" not in found.text


def test_join_then_leave_a_public_community_through_the_page(app, client):
    with committed(app):
        factories.community(slug="ibd", name="Pediatric IBD")
        factories.user("patient", username="teen")
    login(client, "teen")
    unticked = submit(client, "/c/ibd", "Join community", follow_redirects=True)
    assert "Leave community" not in unticked.text  # the guidelines box must be ticked
    joined = submit(client, "/c/ibd", "Join community", accept_guidelines=True, follow_redirects=True)
    assert "Welcome to Pediatric IBD!" in joined.text
    left = submit(client, "/c/ibd", "Leave community", follow_redirects=True)
    assert "You left Pediatric IBD." in left.text


def test_ask_to_join_a_restricted_community_and_a_moderator_decides_through_the_pages(app, client):
    with committed(app):
        owner = factories.user("clinician", username="doc", verified=True)
        factories.community(owner, slug="ibd", name="Pediatric IBD", restricted=True)
        factories.user("caregiver", username="mum")
        factories.user("patient", username="teen")
    asker = app.test_client()
    for name in ("mum", "teen"):
        login(asker, name)
        sent = submit(asker, "/c/ibd", "Ask to join", accept_guidelines=True, message="My son has Crohn's.",
                      follow_redirects=True)  # fmt: skip
        assert "Request sent." in sent.text
    login(client, "doc")
    with app.app_context():
        first, second = communities.list_join_requests(communities.get_community("ibd"), by=accounts.get_user("doc"))
        ids = {r.user.username: r.id for r in (first, second)}
    approved = submit(client, "/c/ibd/requests", "Approve", action_has=f"/requests/{ids['mum']}", note="Welcome!",
                      follow_redirects=True)  # fmt: skip
    assert "approved" in approved.text
    denied = submit(client, "/c/ibd/requests", "Deny", follow_redirects=True)
    assert "denied" in denied.text
    with app.app_context():
        community = communities.get_community("ibd")
        assert communities.find_membership(accounts.get_user("mum"), community) is not None
        assert communities.find_membership(accounts.get_user("teen"), community) is None


def test_make_then_unmake_a_moderator_through_the_members_page(app, client):
    with committed(app):
        owner = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(owner, slug="ibd")
        factories.member(ibd, factories.user("caregiver", username="mum"))
        factories.member(ibd, factories.user("patient", username="teen"))
    login(client, "doc")
    made = submit(client, "/c/ibd/members", "Make moderator", action_has="/members/mum/role", follow_redirects=True)
    assert "is now a moderator." in made.text
    unmade = submit(client, "/c/ibd/members", "Remove as moderator", follow_redirects=True)
    assert "is now a member." in unmade.text


def test_staff_decide_verification_requests_through_the_queue(app, client):
    with committed(app):
        factories.user("other", username="admin", admin=True)
        for name in ("doc", "doc2"):
            applicant = factories.user("clinician", username=name)
            accounts.submit_verification(applicant, licence_number="GMC 1234567", licence_issuer="GMC")
    login(client, "admin")
    queue = client.get("/verification").text
    first = queue.index("/verification/")
    first_id = queue[first:].split('"')[0].rsplit("/", 1)[1]
    approved = submit(client, "/verification", "Approve", action_has=f"/verification/{first_id}", follow_redirects=True)
    assert approved.status_code == 200
    rejected = submit(client, "/verification", "Reject", note="The licence number doesn't match the register.",
                      follow_redirects=True)  # fmt: skip
    assert rejected.status_code == 200
    with app.app_context():
        assert sorted(accounts.get_user(n).is_verified for n in ("doc", "doc2")) == [False, True]


RLO = "\u202e"  # a text-direction control, as text pasted from elsewhere can carry


def test_a_join_request_whose_message_has_a_direction_control_says_so_and_asks_nothing(app, client):
    with committed(app):
        factories.community(slug="ibd", name="Pediatric IBD", restricted=True)
        factories.user("caregiver", username="mum")
    login(client, "mum")
    message = f"My son {RLO}has Crohn's."
    refused = submit(client, "/c/ibd", "Ask to join", accept_guidelines=True, message=message)
    assert refused.status_code == 422
    assert "invisible text-direction controls" in refused.text
    kept = [c.value for form in page_forms(refused.text) for c in form.controls if c.name == "message"]
    assert kept == [message]  # what was typed
    assert "Request sent." not in refused.text
    with app.app_context():
        assert db.session.query(JoinRequest).count() == 0


def test_a_decision_whose_note_has_a_direction_control_says_so_and_decides_nothing(app, client):
    with committed(app):
        owner = factories.user("clinician", username="doc", verified=True)
        factories.community(owner, slug="ibd", name="Pediatric IBD", restricted=True)
        factories.user("caregiver", username="mum")
    login(client, "mum")
    submit(client, "/c/ibd", "Ask to join", accept_guidelines=True, message="My son has Crohn's.")
    login(client, "doc")
    refused = submit(client, "/c/ibd/requests", "Approve", note=f"Welcome {RLO}!", follow_redirects=True)
    assert refused.status_code == 200
    assert "invisible text-direction controls" in refused.text
    with app.app_context():
        assert communities.find_membership(accounts.get_user("mum"), communities.get_community("ibd")) is None
