"""Who may vouch for whom (issue 10 §1): site staff decide verification, revoke it with a reason, licences lapse,
suspensions suspend the badge; vetting needs clinical standing; review-by dates fall due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import VerificationStatus
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation.models import ReviewItem, ReviewKind, ReviewStatus
from lhn.notifications.models import Notification
from lhn.posts import services as posts
from tests import factories
from tests.conftest import committed, login
from tests.forms import submit

# --- verification decisions belong to site staff -------------------------------------------------------------


def test_a_community_moderator_sees_that_a_request_waits_but_never_decides_it(ctx) -> None:
    community = factories.community()
    applicant = factories.member(community, factories.user("clinician")).user
    moderator = factories.member(community, factories.user("caregiver"), role="moderator").user
    request = accounts.submit_verification(applicant, licence_number="123", licence_issuer="GMC")
    queue = communities.list_verification_queue(by=moderator)
    assert queue.requests == [request]
    assert not queue.may_decide
    with pytest.raises(NotFound):
        accounts.decide_verification(request.id, by=moderator, approve=True, note="")
    assert not applicant.is_verified


def test_admins_appoint_verifiers_who_decide_with_the_evidence(ctx) -> None:
    admin, verifier = factories.user("other", admin=True), factories.user("clinician", verified=True)
    applicant = factories.user("researcher")
    request = accounts.submit_verification(applicant, orcid="0000-0002-1825-0097")
    with pytest.raises(NotFound):
        accounts.decide_verification(request.id, by=verifier, approve=True, note="")
    with pytest.raises(PermissionDenied):
        accounts.set_verifier(verifier.username, by=applicant, appoint=True)
    accounts.set_verifier(verifier.username, by=admin, appoint=True)
    queue = communities.list_verification_queue(by=verifier)
    assert queue.requests == [request]
    assert queue.may_decide
    with pytest.raises(PermissionDenied):  # a verifier is not an admin
        accounts.set_verifier(applicant.username, by=verifier, appoint=True)
    accounts.decide_verification(request.id, by=verifier, approve=True, note="ORCID record checked")
    assert request.status == VerificationStatus.APPROVED
    assert applicant.is_verified
    accounts.set_verifier(applicant.username, by=admin, appoint=True)
    own = accounts.submit_verification(factories.user("clinician"), orcid="0000-0002-1825-0097")
    assert accounts.decide_verification(own.id, by=applicant, approve=False, note="Not in the register")


def test_an_approval_can_carry_the_licence_expiry_and_lapses_by_itself(ctx) -> None:
    admin, applicant = factories.user("other", admin=True), factories.user("clinician")
    request = accounts.submit_verification(applicant, licence_number="123", licence_issuer="GMC")
    with pytest.raises(ValidationFailed) as exc:
        accounts.decide_verification(request.id, by=admin, approve=True, note="", expires_on="2001-01-01")
    assert "expires_on" in exc.value.errors
    next_week = utcnow().date() + timedelta(days=7)
    accounts.decide_verification(request.id, by=admin, approve=True, note="", expires_on=next_week.isoformat())
    assert applicant.is_verified
    assert applicant.verified_until == next_week
    applicant.verified_until = utcnow().date() - timedelta(days=1)  # the day after the licence lapsed
    assert not applicant.is_verified
    assert applicant.verification_state == "claimed"
    assert applicant.verification_lapsed
    assert request.state == "approved"


def test_a_suspension_suspends_the_badge(ctx) -> None:
    clinician = factories.user("clinician", verified=True)
    clinician.suspended_until = utcnow() + timedelta(days=3)
    assert not clinician.is_verified
    clinician.suspended_until = utcnow() - timedelta(minutes=1)
    assert clinician.is_verified


def test_staff_revoke_with_a_reason_the_person_is_told_and_the_history_keeps(ctx) -> None:
    admin, clinician = factories.user("other", admin=True), factories.user("clinician", verified=True)
    moderator = factories.user("caregiver")
    with pytest.raises(NotFound):
        accounts.revoke_verification(clinician.username, by=moderator, reason="no")
    with pytest.raises(ValidationFailed):
        accounts.revoke_verification(clinician.username, by=admin, reason="  ")
    row = accounts.revoke_verification(clinician.username, by=admin, reason="The licence was struck off")
    assert not clinician.is_verified
    assert row.state == "revoked"
    assert row.revoked_by == admin
    history = accounts.list_verification_history(clinician, viewer=clinician)
    assert history[0].revocation_reason == "The licence was struck off"
    note = db.session.scalar(select(Notification).where(Notification.user_id == clinician.id))
    assert note is not None
    assert "The licence was struck off" in note.text
    with pytest.raises(Conflict):
        accounts.revoke_verification(clinician.username, by=admin, reason="again")


def test_the_review_page_shows_the_evidence_beside_the_buttons_and_approves_as_submitted(app, client) -> None:
    with committed(app):
        factories.user("other", username="staff", admin=True)
        applicant = factories.user("clinician", username="drnew")
        accounts.submit_verification(applicant, licence_number="GMC-7654321", licence_issuer="General Medical Council",
                                     institutional_email="drnew@northgate-hospital.example",
                                     orcid="0000-0002-1825-0097")  # fmt: skip
    login(client, "staff")
    page = client.get("/verification").get_data(as_text=True)
    for evidence in ("GMC-7654321", "General Medical Council", "drnew@northgate-hospital.example",
                     'href="https://orcid.org/0000-0002-1825-0097"'):  # fmt: skip
        assert evidence in page
    response = submit(client, "/verification", "Approve", expires_on="2099-12-31")
    assert response.status_code == 302
    with app.app_context():
        person = accounts.find_user("drnew")
        assert person.is_verified
        assert person.verified_until.isoformat() == "2099-12-31"


def test_a_moderators_review_page_has_no_evidence_and_no_buttons(app, client) -> None:
    with committed(app):
        community = factories.community()
        applicant = factories.member(community, factories.user("clinician", username="drwait")).user
        factories.member(community, factories.user("caregiver", username="sam"), role="moderator")
        accounts.submit_verification(applicant, licence_number="RN-448812", licence_issuer="NMC")
    login(client, "sam")
    page = client.get("/verification").get_data(as_text=True)
    assert "drwait" in page or "Waiting for site staff" in page
    assert "Waiting for site staff" in page
    assert "RN-448812" not in page
    assert "Approve" not in page


def test_staff_revoke_from_the_profile_page_and_a_missing_reason_keeps_the_page(app, client) -> None:
    with committed(app):
        factories.user("other", username="staff", admin=True)
        factories.user("clinician", username="drgone", verified=True)
    login(client, "staff")
    response = submit(client, "/u/drgone", "Revoke verification", reason="")
    assert response.status_code == 422
    assert "Say why" in response.get_data(as_text=True)
    response = submit(client, "/u/drgone", "Revoke verification", reason="Licence struck off on 1 Dec")
    assert response.status_code == 302
    page = client.get("/u/drgone").get_data(as_text=True)
    assert "Revoked" in page
    assert "Licence struck off on 1 Dec" in page
    assert "✓ Verified" not in page


def test_an_admin_appoints_a_verifier_from_the_profile(app, client) -> None:
    with committed(app):
        factories.user("other", username="staff", admin=True)
        factories.user("clinician", username="drv", verified=True)
    login(client, "staff")
    assert submit(client, "/u/drv", "Appoint as verifier").status_code == 302
    assert "Verifier" in client.get("/u/drv").get_data(as_text=True)
    assert submit(client, "/u/drv", "End verifier appointment").status_code == 302
    with app.app_context():
        assert not accounts.find_user("drv").is_verifier


def test_revoke_over_the_api(app, client) -> None:
    with committed(app):
        factories.user("other", username="staff", admin=True)
        factories.user("caregiver", username="mod")
        factories.user("clinician", username="drapi", verified=True)
    login(client, "mod")
    token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    url = "/api/v1/users/drapi/verification/revoke"
    assert client.post(url, json={"reason": "x"}, headers={"X-CSRFToken": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    client2 = app.test_client()
    login(client2, "staff")
    token = client2.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    assert client2.post(url, json={}, headers={"X-CSRFToken": token}).status_code == 422
    response = client2.post(url, json={"reason": "Struck off"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.json["state"] == "revoked"
    assert client2.get("/api/v1/users/drapi").json["verification"] == "claimed"


# --- vetting needs clinical standing -----------------------------------------------------------------------------


def test_a_caregiver_moderator_curates_but_does_not_vet_unless_the_community_allows_it(ctx) -> None:
    community = factories.community()
    sam = factories.member(community, factories.user("caregiver"), role="moderator").user
    question = factories.question(community)
    answer = factories.answer(question)
    with pytest.raises(PermissionDenied):
        posts.vet_answer(answer.id, by=sam, note="Looks right", evidence="10.1093/ecco-jcc/jjz180")
    vetting = factories.vet(answer)
    assert vetting.standing == "clinician"
    posts.request_rereview(answer.id, by=sam, reason="A newer guideline changed the dose")
    assert vetting.review_due
    posts.unvet_answer(answer.id, by=sam, reason="Outdated")
    community.moderators_may_vet = True
    seal = posts.vet_answer(answer.id, by=sam, note="Checked with our nurse", evidence="10.1093/ecco-jcc/jjz180")
    assert seal.standing == "moderator"


def test_a_verified_researcher_who_is_a_member_vets(ctx) -> None:
    community = factories.community()
    researcher = factories.member(community, factories.user("researcher", verified=True)).user
    answer = factories.answer(factories.question(community))
    assert posts.vet_answer(answer.id, by=researcher, note="Cohort data agree",
                            evidence="10.1093/ecco-jcc/jjz180").standing == "researcher"  # fmt: skip


def test_a_moderator_seal_says_plainly_it_is_not_a_clinicians(app, client) -> None:
    with committed(app):
        community = factories.community(slug="ibd")
        community.moderators_may_vet = True
        sam = factories.member(community, factories.user("caregiver", username="sam"), role="moderator").user
        question = factories.question(community)
        answer = factories.answer(question)
        posts.vet_answer(answer.id, by=sam, note="Checked with our nurse", evidence="10.1093/ecco-jcc/jjz180")
        path = question.path
    page = client.get(path).get_data(as_text=True)
    assert "Vetted by a community moderator, not a clinician" in page


# --- review-by dates fall due ------------------------------------------------------------------------------------


def test_a_due_review_opens_an_item_and_tells_the_vetter_once(ctx) -> None:
    community = factories.community()
    answer = factories.answer(factories.question(community))
    vetter = factories.vetter(community)
    vetting = posts.vet_answer(answer.id, by=vetter, note="Matches ECCO", evidence="10.1093/ecco-jcc/jjz180",
                               review_by=(utcnow().date() + timedelta(days=30)).isoformat())  # fmt: skip
    assert posts.open_due_reviews() == 0
    assert not vetting.review_due
    assert posts.open_due_reviews(utcnow().date() + timedelta(days=31)) == 1
    vetting.review_by = utcnow().date() - timedelta(days=1)
    assert vetting.review_due
    assert posts.open_due_reviews() == 0  # once
    item = db.session.scalar(select(ReviewItem).where(ReviewItem.kind == ReviewKind.ANSWER_VETTING,
                                                      ReviewItem.target_id == answer.id))  # fmt: skip
    assert item is not None
    assert item.status == ReviewStatus.OPEN
    told = db.session.scalars(select(Notification).where(Notification.user_id == vetter.id)).all()
    assert len(told) == 1
    assert "review" in told[0].text
    renewed = posts.vet_answer(answer.id, by=vetter, note="Still right", evidence="10.1093/ecco-jcc/jjz180")
    assert not renewed.review_due


def _past_due(app) -> dict[str, object]:
    """A community with a vetted answer whose review-by date has passed, and an answered question not vetted."""
    with committed(app):
        community = factories.community(slug="ibd")
        vetter = factories.member(community, factories.user("clinician", username="drvet", verified=True)).user
        factories.member(community, factories.user("caregiver", username="sam"), role="moderator")
        question = factories.question(community, title="Can my son take ibuprofen for a sprained ankle?")
        answer = factories.answer(question)
        vetting = posts.vet_answer(answer.id, by=vetter, note="Matches ECCO", evidence="10.1093/ecco-jcc/jjz180",
                                   review_by=(utcnow().date() + timedelta(days=30)).isoformat())  # fmt: skip
        vetting.review_by = utcnow().date() - timedelta(days=2)  # the date came
        waiting = factories.question(community, title="Which vaccines are safe on azathioprine?")
        factories.answer(waiting)
        return {"question": question.path, "answer": answer.id, "vetter": vetter.id}


def test_the_cli_and_the_periodic_job_open_due_reviews_once(app) -> None:
    from lhn import periodic

    world = _past_due(app)
    with app.app_context():  # as test_cli.py runs commands
        result = app.test_cli_runner().invoke(args=["lhn", "review-due"])
    assert result.exit_code == 0, result.output
    assert "1 vetting review(s) fell due" in result.output
    periodic.run_all(app)  # the server's hourly round: nothing new
    with app.app_context():
        told = db.session.scalars(select(Notification).where(Notification.user_id == world["vetter"])).all()
        assert [n.kind for n in told] == ["vetting_review"]


def test_the_answer_and_the_knowledge_base_show_what_is_due_and_what_waits(app, client) -> None:
    world = _past_due(app)
    page = client.get(world["question"]).get_data(as_text=True)
    assert "Review due" in page
    kb = client.get("/c/ibd/vetted").get_data(as_text=True)
    assert "Review due since" in kb
    assert "1 vetting past its review-by date" in kb
    assert "Which vaccines are safe on azathioprine?" in kb  # answered, no vetted answer yet
    assert "drvet" in kb  # who vetted


def test_a_moderator_asks_for_a_re_review_through_the_page(app, client) -> None:
    with committed(app):
        community = factories.community(slug="ibd")
        factories.member(community, factories.user("caregiver", username="sam"), role="moderator")
        answer = factories.answer(factories.question(community))
        vetting = factories.vet(answer)
        answer_id, vetter_id, path = answer.id, vetting.by_id, answer.post.path
    login(client, "sam")
    page = client.get(path).get_data(as_text=True)
    assert "Ask for a re-review" in page
    assert "Vet this answer" not in page
    assert "Re-vet" not in page
    url = f"/c/ibd/answers/{answer_id}/rereview"
    assert submit(client, url, "Ask for a re-review", reason="").status_code == 422
    assert submit(client, url, "Ask for a re-review", reason="NICE NG129 changed the dose").status_code == 302
    assert "Review due" in client.get(path).get_data(as_text=True)
    with app.app_context():
        told = db.session.scalar(select(Notification).where(Notification.user_id == vetter_id))
        assert "NICE NG129 changed the dose" in told.text


def test_open_pages_hear_at_once_that_a_badge_dropped(app, socket_client) -> None:
    with committed(app):
        factories.user("other", username="staff", admin=True)
        factories.user("patient", username="reader")
        factories.user("clinician", username="drlive", verified=True)
    reader = socket_client("reader")
    assert reader.is_connected()
    reader.get_received()
    with app.app_context():
        accounts.revoke_verification("drlive", by=accounts.find_user("staff"), reason="Struck off")
        db.session.commit()
    events = [e["args"][0] for e in reader.get_received() if e["name"] == "badge_changed"]
    assert events == [{"username": "drlive", "verification": "claimed"}]


def test_a_re_review_over_the_api_and_the_seal_says_why_the_vetter_could_vet(app, client) -> None:
    with committed(app):
        community = factories.community(slug="ibd")
        factories.member(community, factories.user("caregiver", username="sam"), role="moderator")
        answer = factories.answer(factories.question(community))
        factories.vet(answer)
        answer_id = answer.id
    login(client, "sam")
    token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    url = f"/api/v1/answers/{answer_id}/rereview"
    assert client.post(url, json={"reason": None}, headers={"X-CSRFToken": token}).status_code == 422
    response = client.post(url, json={"reason": "New ECCO guideline"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.json["review_due"] is True
    assert response.json["standing"] == "clinician"
    assert client.post(url, json={"reason": "again"}, headers={"X-CSRFToken": token}).status_code == 409


def test_an_owner_lets_moderators_vet_from_the_settings_page_and_the_log_says_so(app, client) -> None:
    with committed(app):
        owner = factories.user("clinician", username="drowner", verified=True)
        factories.community(owner, slug="ibd")
    login(client, "drowner")
    response = submit(client, "/c/ibd/moderation/settings", "Save", moderators_may_vet=True)
    assert response.status_code == 302
    with app.app_context():
        assert communities.find_community("ibd").moderators_may_vet
    assert "changed who vets answers in" in client.get("/c/ibd/moderation-log").get_data(as_text=True)


def test_the_review_page_costs_the_same_queries_for_one_request_or_five(app, client, count_queries) -> None:
    """It renders before the audit rows are written; rendering after a commit reloaded every row (N+1)."""
    with committed(app):
        factories.user("other", username="staff", admin=True)
        accounts.submit_verification(factories.user("clinician"), licence_number="1", licence_issuer="GMC")
    login(client, "staff")
    client.get("/verification")  # warm: the session's own loads
    with count_queries() as one:
        assert client.get("/verification").status_code == 200
    with committed(app):
        for _ in range(4):
            accounts.submit_verification(factories.user("clinician"), licence_number="1", licence_issuer="GMC")
    with count_queries() as five:
        page = client.get("/verification").get_data(as_text=True)
    assert page.count("issued by") == 5
    reads = [q for q in five if not q.lstrip().upper().startswith("INSERT")]
    assert len(reads) == len([q for q in one if not q.lstrip().upper().startswith("INSERT")])
