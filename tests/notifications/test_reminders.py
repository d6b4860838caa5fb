"""Reminders of requests waiting for a decision (join requests, verification requests), the one list of reminder
kinds, and the sweep run by `lhn send-reminders` and the server's periodic job."""

from datetime import timedelta

from sqlalchemy import select

from lhn import periodic, reminders
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.extensions import db
from lhn.notifications.models import Notification
from tests import factories
from tests.conftest import committed

HOURS = 48  # REMINDER_REQUEST_HOURS by default


def reminded(person, kind):
    return [n for n in db.session.scalars(select(Notification).where(Notification.user_id == person.id))
            if n.kind == kind]  # fmt: skip


def test_every_reminder_kind_is_listed_once_and_named_reminder_():
    assert all(kind.startswith("reminder_") for kind in reminders.KINDS)
    assert {"reminder_measure_due", "reminder_vetting_review_soon", "reminder_vetting_review_overdue",
            "reminder_join_request", "reminder_verification_request", "reminder_learning_session",
            "reminder_session_place", "reminder_questionnaire_due"} == set(reminders.KINDS)  # fmt: skip


def test_a_join_request_waiting_reminds_each_moderator_and_owner_once(ctx):
    owner = factories.user("clinician", username="owner", verified=True)
    community = factories.community(owner, restricted=True, name="CF Care", slug="cf-care")
    moderator = factories.member(community, role="moderator").user
    member = factories.member(community).user
    applicant = factories.user()
    request = communities.request_to_join(applicant, community, accept_guidelines=True, message="My son has CF")
    now = request.created_at + timedelta(hours=HOURS - 1)
    assert communities.send_join_request_reminders(now) == 0  # not waited long enough
    later = request.created_at + timedelta(hours=HOURS + 1)
    assert communities.send_join_request_reminders(later) == 2
    assert communities.send_join_request_reminders(later + timedelta(days=3)) == 0  # once per request and person
    (notice,) = reminded(moderator, "reminder_join_request")
    assert notice.text == "Reminder: a request to join CF Care has waited more than 48 hours for a decision."
    assert "CF" not in notice.text.replace("CF Care", "")  # nothing the applicant wrote
    assert notice.url == "/c/cf-care/requests"
    assert len(reminded(owner, "reminder_join_request")) == 1
    assert reminded(member, "reminder_join_request") == reminded(applicant, "reminder_join_request") == []
    newcomer = factories.member(community, role="moderator").user  # appointed later: reminded once too
    assert communities.send_join_request_reminders(later + timedelta(days=4)) == 1
    assert len(reminded(newcomer, "reminder_join_request")) == 1
    communities.decide_join_request(request.id, by=owner, approve=True)
    factories.member(community, role="moderator")
    assert communities.send_join_request_reminders(later + timedelta(days=5)) == 0  # decided: nothing waits


def test_a_verification_request_waiting_reminds_site_staff_once(ctx):
    admin = factories.user("other", admin=True)
    verifier = factories.user("clinician", verified=True)
    accounts.set_verifier(verifier.username, by=admin, appoint=True)
    patient = factories.user("patient")
    applicant = factories.user("clinician")
    request = accounts.submit_verification(applicant, licence_number="123", licence_issuer="GMC")
    later = request.created_at + timedelta(hours=HOURS + 1)
    assert accounts.send_verification_reminders(request.created_at + timedelta(hours=1)) == 0
    assert accounts.send_verification_reminders(later) == 2
    assert accounts.send_verification_reminders(later) == 0
    (notice,) = reminded(verifier, "reminder_verification_request")
    assert notice.text == "Reminder: a verification request has waited more than 48 hours for a decision by site staff."
    assert notice.url == "/verification"
    assert len(reminded(admin, "reminder_verification_request")) == 1
    assert reminded(patient, "reminder_verification_request") == []
    assert reminded(applicant, "reminder_verification_request") == []


def test_the_request_reminders_run_a_constant_number_of_queries(app, count_queries):
    """No N+1: the sweeps' own queries (the notices aside) don't grow with the requests waiting."""

    def seed(n):
        with committed(app):
            admin = factories.user("other", admin=True)
            for _ in range(n):
                community = factories.community(admin, restricted=True)
                factories.member(community, role="moderator")
                communities.request_to_join(factories.user(), community, accept_guidelines=True)
                accounts.submit_verification(factories.user("clinician"), licence_number="1", licence_issuer="GMC")

    def sweep():
        with app.app_context(), count_queries() as statements:
            now = utcnow() + timedelta(hours=HOURS + 1)
            sent = communities.send_join_request_reminders(now) + accounts.send_verification_reminders(now)
            db.session.commit()
        return sent, [s for s in statements if "notification" not in s]

    seed(1)
    sent_one, one = sweep()
    seed(3)
    sent_more, more = sweep()
    assert sent_one > 0
    assert sent_more > sent_one
    assert len(more) == len(one)


def test_the_cli_and_the_periodic_job_send_due_reminders_once(app):
    with committed(app):
        owner = factories.user("clinician", username="owner", verified=True)
        community = factories.community(owner, restricted=True, slug="cf-care")
        request = communities.request_to_join(factories.user(), community, accept_guidelines=True)
        request.created_at = utcnow() - timedelta(hours=HOURS + 1)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["lhn", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "join-requests: 1 reminded" in result.output
    assert "measure-submissions: 0 reminded" in result.output
    periodic.run_all(app)  # the server's hourly round: nothing new
    with app.app_context():
        assert len(reminded(accounts.get_user("owner"), "reminder_join_request")) == 1


def test_the_servers_hourly_round_runs_in_a_child_process_on_the_same_database(app):
    """lhn/periodic.py's thread runs `lhn periodic` in a child process (at a lower priority, off the server's GIL)."""
    with committed(app):
        owner = factories.user("clinician", username="owner", verified=True)
        community = factories.community(owner, restricted=True, slug="cf-care")
        request = communities.request_to_join(factories.user(), community, accept_guidelines=True)
        request.created_at = utcnow() - timedelta(hours=HOURS + 1)
    assert periodic.run_in_child(app, timeout=120)
    assert periodic.run_in_child(app, timeout=120)  # a second round: nothing new
    with app.app_context():
        assert len(reminded(accounts.get_user("owner"), "reminder_join_request")) == 1
