"""Measures computed from patients' answers: the community's owners define one from a questionnaire; per site and
month each consenting member's latest answer counts once; a period is computed once, when it has ended, so no
value moves with one person's answer or withdrawal; a withdrawal leaves the next period computed; small counts are
hidden from everyone, a site's own clinicians included; nobody submits values by hand."""

import html
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint, Measure
from lhn.moderation import mydata
from lhn.pro import services as pro
from lhn.pro.instruments import SHIPPED
from lhn.pro.models import ConsentEvent, Instrument, ProMeasure, Purpose
from lhn.pro.scoring import read_questionnaire
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit
from tests.measures.conftest import make_network
from tests.pro.test_questionnaires import answers_for

PHQ9 = read_questionnaire(SHIPPED["phq-9"])
NOV, DEC, JAN = (datetime(2025, 11, 10, 9, tzinfo=UTC), datetime(2025, 12, 3, 9, tzinfo=UTC),
                 datetime(2026, 1, 30, 23, 59, tzinfo=UTC))  # fmt: skip


@pytest.fixture
def ibd(app):
    make_network(app)
    with committed(app):
        community, doc = communities.get_community("ibd"), accounts.get_user("doc")
        pro.offer_shipped(community, "phq-9", schedule_days=30, by=doc)
        for site in ("north", "south"):  # each site's clinicians consent to share the site's data, as for any measure
            factories.consent(factories.measure(community, doc, name=f"Remission at {site}"),
                              accounts.get_user("doc" if site == "north" else "dr_south"), site)  # fmt: skip


def _patients(app, site: str, count: int, *, consent: bool = True) -> list[int]:
    with committed(app):
        community, ids = communities.get_community("ibd"), []
        for n in range(count):
            person = factories.user("patient", username=f"{site}_{'c' if consent else 'n'}{n}", institution=site)
            factories.member(community, person)
            if consent:
                pro.set_consents(community, person, {Purpose.QI_AGGREGATES: True})
            ids.append(person.id)
        return ids


def _answer(app, user_id: int, total: int, when: datetime) -> None:
    with committed(app):
        instrument = db.session.scalars(select(Instrument)).one()
        pro.save_answers(instrument, answers_for(PHQ9, total), by=db.session.get(User, user_id),
                         complete=True, now=when)  # fmt: skip


def _define(app, statistic="share_at_least", threshold=10) -> int:
    with committed(app):
        instrument = db.session.scalars(select(Instrument)).one()
        request = pro.MeasureRequest(statistic=statistic, threshold=threshold)
        return pro.define_measure(instrument, request, by=accounts.get_user("doc")).measure_id


def _publish(app, today: date) -> int:
    with app.app_context():
        return pro.publish_due(today=today)


def _cells(app, measure_id: int) -> dict[tuple[str, str], tuple[float, float]]:
    with app.app_context():
        rows = db.session.scalars(select(DataPoint).where(DataPoint.measure_id == measure_id,
                                                          DataPoint.superseded_at.is_(None)))  # fmt: skip
        return {(r.institution.slug, r.period_start.isoformat()[:7]): (r.numerator, r.denominator) for r in rows}


def test_owners_define_a_measure_from_a_questionnaire_through_the_form(app, client, ibd):
    with app.app_context():
        instrument_id = db.session.scalars(select(Instrument.id)).one()
    login(client, "doc")
    assert "Measures from it" in client.get("/c/ibd/questionnaires").text
    url = f"/questionnaires/{instrument_id}/measures"
    refused = submit(client, url, "Define the measure", statistic="share_at_least", threshold="ten",
                     name="Depression screen positive")  # fmt: skip
    assert refused.status_code == 422
    assert "Give the score that counts, a number from 0 to 27." in html.unescape(refused.text)
    assert 'value="Depression screen positive"' in refused.text  # what was typed stays
    done = submit(client, url, "Define the measure", page=refused, statistic="share_at_least", threshold="10")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).text
    assert "Depression screen positive" in page
    assert "Counts of 1 to 10 are hidden from everyone." in html.unescape(page)
    with app.app_context():
        [defined] = db.session.scalars(select(ProMeasure)).all()
        assert (defined.statistic.value, defined.threshold, defined.measure.computed_from) == (
            "share_at_least", 10, "questionnaire")
    assert "Depression screen positive" in client.get(url).text
    login(client, "teen")  # a patient is no owner: the page isn't there for them
    assert client.get(url).status_code == 404


def test_each_consenting_members_latest_answer_counts_once_per_site_and_month(app, ibd):
    north = _patients(app, "north", 12)
    south = _patients(app, "south", 11)
    outsider = _patients(app, "north", 2, consent=False)
    measure_id = _define(app)
    for i, person in enumerate(north):
        _answer(app, person, 12 if i < 4 else 3, NOV)  # 4 of 12 at 10 or more
    _answer(app, north[4], 15, datetime(2025, 11, 20, tzinfo=UTC))  # a later answer in the month replaces theirs
    for i, person in enumerate(south):
        _answer(app, person, 20 if i < 11 else 0, DEC)
    for person in outsider:  # answers of people who did not consent count nowhere
        _answer(app, person, 27, NOV)
    assert _publish(app, date(2025, 12, 31)) == 1  # November has ended; December hasn't: nothing of it shows
    assert _cells(app, measure_id) == {("north", "2025-11"): (5.0, 12.0)}
    assert _publish(app, date(2026, 1, 1)) == 1
    assert _publish(app, date(2026, 1, 2)) == 0  # each period once
    assert _cells(app, measure_id) == {("north", "2025-11"): (5.0, 12.0), ("south", "2025-12"): (11.0, 11.0)}
    mean_id = _define(app, statistic="mean", threshold=None)  # a new measure computes every ended period at once
    assert _cells(app, mean_id) == {("north", "2025-11"): (round((3 * 12 + 15 + 7 * 3 + 12) / 12, 2), 12.0),
                                    ("south", "2025-12"): (20.0, 11.0)}  # fmt: skip
    with app.app_context():  # the person's own record says where their answer went
        record = [e.what for e in db.session.scalars(select(ConsentEvent).where(
            ConsentEvent.user_id == south[0]))]  # fmt: skip
        assert any('will count in the measure "Share of people with PHQ-9' in what for what in record)
        assert not db.session.scalars(select(ConsentEvent).where(ConsentEvent.user_id == outsider[0])).all()


def test_a_withdrawal_leaves_the_next_period_computed_and_the_persons_record_says_so(app, client, ibd):
    north = _patients(app, "north", 12)
    measure_id = _define(app)
    for person in north:
        _answer(app, person, 11, NOV)
    _publish(app, date(2025, 12, 1))
    assert _cells(app, measure_id) == {("north", "2025-11"): (12.0, 12.0)}
    login(client, "north_c0")
    # as a browser sends it: the token and nothing else (a form with every box unticked and no token is empty,
    # which Flask-WTF reads as not sent at all)
    app.config["WTF_CSRF_ENABLED"] = True
    submit(client, "/c/ibd/my-consent", "Save my choices", qi_aggregates=False)
    assert _cells(app, measure_id) == {("north", "2025-11"): (12.0, 12.0)}  # nothing moves: that would tell theirs
    record = html.unescape(client.get("/c/ibd/my-consent").text)
    assert 'Your answers no longer count in the measure "Share of people with PHQ-9' in record
    for person in north:
        _answer(app, person, 11, DEC)
    _publish(app, date(2026, 1, 1))
    assert _cells(app, measure_id)[("north", "2025-12")] == (11.0, 11.0)  # the next period leaves them out
    submit(client, "/c/ibd/my-consent", "Save my choices", qi_aggregates=True)
    for person in north:
        _answer(app, person, 2, JAN)  # the last minute of January (UTC) is in January
    _publish(app, date(2026, 2, 1))
    assert _cells(app, measure_id) == {("north", "2025-11"): (12.0, 12.0), ("north", "2025-12"): (11.0, 11.0),
                                       ("north", "2026-01"): (0.0, 12.0)}  # fmt: skip
    with app.app_context():  # each period was computed once: nothing superseded
        assert db.session.scalar(select(db.func.count()).select_from(DataPoint).where(
            DataPoint.measure_id == measure_id)) == 3  # fmt: skip


def test_small_counts_are_hidden_from_everyone_the_sites_own_clinicians_included(app, client, ibd):
    north, south = _patients(app, "north", 14), _patients(app, "south", 12)
    east = _patients(app, "east", 3)
    measure_id = _define(app)
    for person in north:
        _answer(app, person, 0, NOV)
    for person in south:
        _answer(app, person, 0, NOV)
    for person in east:
        _answer(app, person, 0, NOV)
    _publish(app, date(2025, 12, 1))
    with committed(app):  # east consents too, so only suppression keeps its 3 people out of sight
        factories.consent(factories.measure(communities.get_community("ibd"), name="East remission"),
                          factories.site_clinician(communities.get_community("ibd"), "east", username="dr_east2"),
                          "east")  # fmt: skip
    with app.app_context():
        measure = db.session.get(Measure, measure_id)
        for reader in ("dr_east2", "doc", "dr_south"):
            acc = measures.access(measure, accounts.get_user(reader))
            assert (acc.can_submit, acc.known_site_ids) == (False, set())
            exported = measures.export_csv(measure, viewer=accounts.get_user(reader))
            east_row = next(line for line in exported.splitlines() if line.startswith("east,"))
            assert ",3," not in east_row
            assert ",3\r" not in east_row + "\r"
            assert east_row.split(",")[2:4] == ["", ""]  # the site's own clinician sees it masked too
        db.session.rollback()
    token = bearer(token_for(client, "dr_east2"))  # nobody enters values by hand
    sent = client.post(f"/api/v1/measures/{measure_id}/data", headers=token,
                       json={"site": "east", "period": "2025-11", "numerator": 1, "denominator": 3})  # fmt: skip
    assert sent.status_code in (403, 422)
    assert _cells(app, measure_id)[("east", "2025-11")] == (0.0, 3.0)


def test_the_api_defines_and_lists_measures_for_owners_only(app, client, ibd):
    with app.app_context():
        instrument_id = db.session.scalars(select(Instrument.id)).one()
    url = f"/api/v1/questionnaires/{instrument_id}/measures"
    doc, teen = bearer(token_for(client, "doc")), bearer(token_for(client, "teen"))
    bad = client.post(url, headers=doc, json={"statistic": "share_at_least", "threshold": 99})
    assert "threshold" in assert_error(bad, 422, "validation_failed")["fields"]
    assert_error(client.post(url, headers=teen, json={"statistic": "mean"}), 403, "forbidden")
    made = client.post(url, headers=doc, json={"statistic": "mean", "period": "quarter", "improvement": "down"})
    assert made.status_code == 201, made.text
    assert (made.json["name"], made.json["period"], made.json["threshold"]) == ("Mean PHQ-9 score", "quarter", None)
    assert [m["measure_id"] for m in client.get(url, headers=doc).json["items"]] == [made.json["measure_id"]]
    assert_error(client.get(url, headers=teen), 404, "not_found")


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_no_period_computed_after_an_account_is_deleted_counts_the_person(app, ibd, mode):
    north = _patients(app, "north", 12)
    measure_id = _define(app)
    for person in north:
        _answer(app, person, 11, NOV)
    with committed(app):
        mydata.delete_account(db.session.get(User, north[0]), password=PASSWORD, mode=mode)
    _publish(app, date(2025, 12, 1))
    assert _cells(app, measure_id) == {("north", "2025-11"): (11.0, 11.0)}


def test_nobody_is_late_or_reminded_for_a_measure_lhn_computes(app, ibd):
    north = _patients(app, "north", 12)
    measure_id = _define(app)
    for person in north:
        _answer(app, person, 3, NOV)
    _publish(app, date(2025, 12, 1))
    with committed(app):
        measure = db.session.get(Measure, measure_id)
        assert measures.submission_grid(measure, by=accounts.get_user("doc"), today=date(2026, 3, 1)).rows == []
        with pytest.raises(PermissionDenied):  # north's team sends nothing to it
            measures.submission_grid(measure, by=accounts.get_user("dr_south"), today=date(2026, 3, 1))
        assert measures.send_submission_reminders(datetime(2026, 3, 1, tzinfo=UTC)) == 0


def test_the_owners_page_of_an_instruments_measures_reads_them_in_a_fixed_number_of_queries(app, client, ibd,
                                                                                        count_queries):
    with app.app_context():
        instrument_id = db.session.scalars(select(Instrument.id)).one()
    url = f"/questionnaires/{instrument_id}/measures"
    login(client, "doc")

    def queries() -> int:
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    _define(app)
    one = queries()
    _define(app, statistic="mean", threshold=None)
    _define(app, threshold=15)
    assert queries() == one
