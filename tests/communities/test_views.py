"""Community pages: directory, the community page, joining, members with badges, requests, verification."""

import re

from tests import factories
from tests.conftest import committed, login


def setup_ibd(app):
    with committed(app):
        factories.institution(slug="north", name="North Hospital")
        owner = factories.user("clinician", username="doc", verified=True, institution="north")
        ibd = factories.community(owner, slug="ibd", name="Pediatric IBD")
        cf = factories.community(owner, slug="cf-care", name="CF Collaborative", restricted=True)
        factories.member(ibd, factories.user("patient", username="teen", institution="north"))
        factories.member(cf, factories.user("caregiver", username="cfmum"))
        factories.user("patient", username="intruder")
        return ibd.id, cf.id


def test_directory_lists_and_searches_by_name_or_condition(app, client):
    setup_ibd(app)
    page = client.get("/").text
    assert "Pediatric IBD" in page
    assert "CF Collaborative" in page
    found = client.get("/?q=crohn").text
    assert "Pediatric IBD" in found
    assert "No communities match" in client.get("/?q=zzz").text


def test_a_visitor_joins_accepting_the_guidelines(app, client):
    setup_ibd(app)
    login(client, "intruder")
    refused = client.post("/c/ibd/join", data={}, follow_redirects=True)
    assert "Please read and accept the community guidelines." in refused.text
    joined = client.post("/c/ibd/join", data={"accept_guidelines": "y"}, follow_redirects=True)
    assert "Welcome to Pediatric IBD!" in joined.text
    assert "You are a <strong>member</strong>" in joined.text
    left = client.post("/c/ibd/leave", follow_redirects=True)
    assert "You left Pediatric IBD." in left.text


def test_restricted_community_shows_a_non_member_only_its_name_and_description(app, client):
    setup_ibd(app)
    anonymous = client.get("/c/cf-care")
    assert anonymous.status_code == 200
    assert "CF Collaborative" in anonymous.text
    assert "Be kind." not in anonymous.text  # guidelines are members-only
    login(client, "intruder")
    page = client.get("/c/cf-care").text
    assert "restricted" in page
    assert "Be kind." not in page
    assert "cfmum" not in page
    assert "Ask to join" in page
    members = client.get("/c/cf-care/members")
    assert members.status_code == 403
    assert "cfmum" not in members.text
    assert client.get("/c/cf-care/requests").status_code == 403


def test_join_request_flow_through_the_pages(app):
    setup_ibd(app)
    requester, owner = app.test_client(), app.test_client()
    login(requester, "intruder")
    sent = requester.post("/c/cf-care/join", data={"accept_guidelines": "y", "message": "Parent of a CF kid"},
                          follow_redirects=True)  # fmt: skip
    assert "A moderator will review it" in sent.text
    assert "waiting for a moderator" in requester.get("/c/cf-care").text
    login(owner, "doc")
    queue = owner.get("/c/cf-care/requests").text
    assert "Parent of a CF kid" in queue
    request_id = re.search(r"/c/cf-care/requests/(\d+)", queue).group(1)
    owner.post(f"/c/cf-care/requests/{request_id}", data={"decision": "approve", "note": ""})
    assert "You are a <strong>member</strong>" in requester.get("/c/cf-care").text
    again = owner.post(f"/c/cf-care/requests/{request_id}", data={"decision": "deny"}, follow_redirects=True)
    assert "This request was already handled." in again.text
    assert "You are a <strong>member</strong>" in requester.get("/c/cf-care").text


def test_member_list_shows_badges_and_role_filters_with_a_constant_query_count(app, client, count_queries):
    ibd_id, _ = setup_ibd(app)
    login(client, "intruder")
    page = client.get("/c/ibd/members").text
    assert "Clinician" in page
    assert "✓ Verified" in page
    assert "North Hospital" in page
    assert "Owner" in page
    patients = re.search(r'<ul class="member-list">.*?</ul>', client.get("/c/ibd/members?role=patient").text, re.S)
    assert 'href="/u/teen"' in patients.group(0)
    assert 'href="/u/doc"' not in patients.group(0)
    with count_queries() as few:
        client.get("/c/ibd/members")
    with committed(app):
        from lhn.communities.models import Community
        from lhn.extensions import db

        ibd = db.session.get(Community, ibd_id)
        for _ in range(15):
            factories.member(ibd, factories.user("clinician", verified=True, institution="north"))
    with count_queries() as many:
        client.get("/c/ibd/members")
    assert len(many) == len(few) <= 6


def test_owner_appoints_a_moderator_from_the_member_list(app):
    setup_ibd(app)
    owner = app.test_client()
    login(owner, "doc")
    assert "Make moderator" in owner.get("/c/ibd/members").text
    owner.post("/c/ibd/members/teen/role", data={"role": "moderator"})
    assert "Remove as moderator" in owner.get("/c/ibd/members").text
    teen = app.test_client()
    login(teen, "teen")
    assert "Make moderator" not in teen.get("/c/ibd/members").text
    teen.post("/c/ibd/members/doc/role", data={"role": "member"}, follow_redirects=True)
    assert "Owner" in owner.get("/c/ibd/members").text


def test_verification_review_page(app):
    setup_ibd(app)
    with committed(app):
        from lhn.accounts import services as accounts
        from lhn.communities import services as communities

        applicant = factories.user("clinician", username="newdoc")
        factories.member(communities.get_community("ibd"), applicant)
        accounts.submit_verification(applicant, licence_number="12345", licence_issuer="GMC")
        factories.user("other", username="staff", admin=True)
    reviewer = app.test_client()
    login(reviewer, "staff")  # site staff decide; the community's owner only sees that it waits
    queue = reviewer.get("/verification").text
    assert "12345" in queue
    assert "GMC" in queue
    request_id = re.search(r"/verification/(\d+)", queue).group(1)
    empty_note = reviewer.post(f"/verification/{request_id}", data={"decision": "reject", "note": ""},
                               follow_redirects=True)  # fmt: skip
    assert "Say why" in empty_note.text
    reviewer.post(f"/verification/{request_id}", data={"decision": "approve", "note": "On the register"})
    profile = reviewer.get("/u/newdoc").text
    assert "✓ Verified" in profile
    owner = app.test_client()
    login(owner, "doc")
    assert "On the register" not in owner.get("/u/newdoc").text  # the note: for the person and site staff only
    applicant_client = app.test_client()
    login(applicant_client, "newdoc")
    assert "On the register" in applicant_client.get("/u/newdoc").text
    outsider = app.test_client()
    login(outsider, "intruder")
    assert "12345" not in outsider.get("/verification").text


def test_create_and_edit_community_pages(app):
    setup_ibd(app)
    doc, teen = app.test_client(), app.test_client()
    login(doc, "doc")
    login(teen, "teen")
    assert teen.get("/communities/new").status_code == 403
    bad = doc.post("/communities/new", data={"name": "", "condition_name": "", "guidelines": "",
                                             "visibility": "public"})  # fmt: skip
    assert bad.status_code == 422
    assert "This field is required." in bad.text
    created = doc.post("/communities/new", data={"name": "Type 1 Diabetes", "condition_name": "Type 1 diabetes",
                                                 "condition_system": "icd-10", "condition_code": "E10.9",
                                                 "guidelines": "Be kind", "visibility": "public"},
                       follow_redirects=True)  # fmt: skip
    assert "Community created. You are its owner." in created.text
    assert "ICD-10" in created.text
    assert teen.get("/c/type-1-diabetes/edit").status_code == 403
    edited = doc.post("/c/type-1-diabetes/edit", data={"name": "T1D Together", "condition_name": "Type 1 diabetes",
                                                       "guidelines": "New rules", "visibility": "restricted"},
                      follow_redirects=True)  # fmt: skip
    assert "T1D Together" in edited.text
    assert "Restricted" in edited.text
