"""Submission reminders: sites taking part in a measure that haven't sent the last period's data are reminded once
per site and period (to their data leads, else their team), owners see who has sent it and remind the late sites."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lhn import reminders
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.notifications.models import Notification
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import committed, login
from tests.factories import notification_texts as texts
from tests.forms import submit

MARCH_10 = datetime(2023, 3, 10, 9, tzinfo=UTC)  # February 2023 is due (it ended over 5 days ago)


def user(name):
    return accounts.get_user(name)


def make_measure(name="Clinical remission", *, lead_for_east=True):
    """A monthly measure from 2023: north sent January and February, south January only, east (a data lead
    appointed) nothing yet, west never took part. All but west consented."""
    community = communities.get_community("ibd")
    measure = factories.measure(community, user("doc"), name=name)
    measure.created_at = datetime(2023, 1, 1, tzinfo=UTC)
    for site, person in (("north", "doc"), ("south", "dr_south"), ("east", "dr_east")):
        factories.consent(measure, user(person), site)
    factories.values(measure, user("doc"), "north", [(30, 50), (31, 50)])
    factories.values(measure, user("dr_south"), "south", [(40, 50)])
    if lead_for_east:
        measures.appoint_site_lead(measure, "lead_person", "east", by=user("doc"))
    return measure


def reminded(person):
    return [t for t in texts(person) if t.startswith("Reminder:")]


def test_late_sites_are_reminded_once_per_site_and_period(ctx, network):
    measure = make_measure()
    assert measures.send_submission_reminders(MARCH_10) == 2  # south and east
    assert reminded(user("dr_south")) == [
        "Reminder: South Hospital has not sent its Feb 2023 data for the measure “Clinical remission” in "
        "Pediatric IBD yet."
    ]
    assert reminded(user("lead_person")) == [
        "Reminder: East Hospital has not sent its Feb 2023 data for the measure “Clinical remission” in "
        "Pediatric IBD yet."
    ]
    assert reminded(user("dr_east")) == []  # east has a data lead: the lead submits
    assert reminded(user("doc")) == reminded(user("dr_west")) == reminded(user("claimed")) == []
    assert "30" not in reminded(user("dr_south"))[0]  # no values, ever
    notice = db.session.scalars(select(Notification).where(Notification.user_id == user("dr_south").id)).one()
    assert (notice.kind, notice.url) == ("reminder_measure_due", f"/measures/{measure.id}/data/new")

    assert measures.send_submission_reminders(MARCH_10) == 0  # a rerun reminds nobody twice
    assert reminders.send_all(MARCH_10)["measure-submissions"] == 0
    assert len(reminded(user("dr_south"))) == 1
    assert db.session.scalar(select(func.count()).select_from(reminders.ReminderSent)) == 2

    factories.values(measure, user("dr_south"), "south", [(42, 50)], start="2023-02")
    assert measures.send_submission_reminders(datetime(2023, 4, 10, tzinfo=UTC)) == 3  # March: everyone is late
    assert len(reminded(user("doc"))) == 1


def test_no_reminder_before_the_grace_days_end_nor_for_periods_before_the_measure(ctx, network):
    measure = make_measure()
    assert measures.send_submission_reminders(datetime(2023, 3, 3, tzinfo=UTC)) == 1  # February isn't due yet
    assert "its Jan 2023 data" in reminded(user("lead_person"))[0]  # east hasn't sent January
    measure.created_at = datetime(2023, 3, 1, tzinfo=UTC)
    assert measures.send_submission_reminders(MARCH_10) == 0


def test_a_site_without_active_consent_is_not_reminded(ctx, network):
    measure = make_measure()
    measures.withdraw_consent(measure, accounts.find_institution("south"), by=user("dr_south"))
    assert measures.send_submission_reminders(MARCH_10) == 1  # east only
    assert reminded(user("dr_south")) == []


def test_two_sweeps_claim_each_reminder_once(ctx):
    assert reminders.claim("reminder_measure_due", ["a", "b"]) == {"a", "b"}
    assert reminders.claim("reminder_measure_due", ["b", "c"]) == {"c"}
    assert reminders.claim("reminder_join_request", ["a"]) == {"a"}  # keys are per kind
    with pytest.raises(ValueError, match="unknown reminder kind"):
        reminders.claim("weekly_nag", ["a"])


def test_the_sweep_runs_a_constant_number_of_queries(app, network, count_queries):
    """No N+1: the queries the sweep runs besides the notices themselves don't grow with measures or sites."""
    with committed(app):
        make_measure("First")
    with app.app_context(), count_queries() as one:
        assert measures.send_submission_reminders(MARCH_10) == 2
        db.session.rollback()
    with committed(app):
        for name in ("Second", "Third", "Fourth"):
            make_measure(name)
    with app.app_context(), count_queries() as four:
        assert measures.send_submission_reminders(MARCH_10) == 8
        db.session.rollback()

    def own(statements):
        return [s for s in statements if "notification" not in s]

    assert len(own(four)) == len(own(one)) <= 12


def test_owners_see_who_has_sent_and_remind_the_late_sites_once_a_day(ctx, network):
    measure = make_measure()
    status = measures.submission_status(measure, by=user("doc"), today=MARCH_10.date())
    assert status.period_label == "Feb 2023"
    assert [s.slug for s in status.submitted] == ["north"]
    assert [s.slug for s in status.late] == ["east", "south"]
    with pytest.raises(PermissionDenied):
        measures.submission_status(measure, by=user("dr_south"))
    with pytest.raises(PermissionDenied):
        measures.remind_late_sites(measure, by=user("dr_south"), now=MARCH_10)
    done = measures.remind_late_sites(measure, by=user("doc"), now=MARCH_10)
    assert [s.slug for s in done] == ["east", "south"]
    assert len(reminded(user("dr_south"))) == 1
    assert measures.remind_late_sites(measure, by=user("doc"), now=MARCH_10) == []  # once a day
    assert measures.remind_late_sites(measure, by=user("doc"), now=datetime(2023, 3, 11, tzinfo=UTC)) != []
    assert measures.send_submission_reminders(MARCH_10) == 2  # the due reminder still goes out once
    assert len(reminded(user("dr_south"))) == 3


def test_the_owners_page_reminds_the_late_sites_through_its_form(app, client, network):
    with committed(app):
        measure_id = make_measure().id
    login(client, "dr_south")
    page = client.get(f"/measures/{measure_id}/owners")
    assert "Remind sites that haven" not in page.text
    assert client.post(f"/measures/{measure_id}/reminders").status_code in (400, 403)
    login(client, "doc")
    page = client.get(f"/measures/{measure_id}/owners")
    assert "Not yet sent" in page.text
    sent = submit(client, f"/measures/{measure_id}/owners", "Remind sites that haven't submitted",
                  follow_redirects=True)  # fmt: skip
    assert "Reminded East Hospital, North Hospital, South Hospital." in sent.text  # nobody sent last month
    again = submit(client, f"/measures/{measure_id}/owners", "Remind sites that haven't submitted",
                   follow_redirects=True)  # fmt: skip
    assert "already reminded today" in again.text
    with app.app_context():
        assert len(reminded(user("dr_south"))) == 1


def test_owners_see_who_has_sent_and_remind_over_json(app, client, network):
    with committed(app):
        measure_id = make_measure().id
    doc, south = bearer(token_for(client, "doc")), bearer(token_for(client, "dr_south"))
    status = client.get(f"/api/v1/measures/{measure_id}/submissions", headers=doc)
    assert status.status_code == 200
    assert [s["slug"] for s in status.get_json()["late"]] == ["east", "north", "south"]  # nobody sent last month
    assert_error(client.get(f"/api/v1/measures/{measure_id}/submissions", headers=south), 403, "forbidden")
    assert_error(client.post(f"/api/v1/measures/{measure_id}/reminders", headers=south), 403, "forbidden")
    sent = client.post(f"/api/v1/measures/{measure_id}/reminders", headers=doc)
    assert sent.status_code == 200
    assert [s["name"] for s in sent.get_json()["reminded"]] == ["East Hospital", "North Hospital", "South Hospital"]
    assert client.post(f"/api/v1/measures/{measure_id}/reminders", headers=doc).get_json() == {"reminded": []}
