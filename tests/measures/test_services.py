"""Measure services: definitions and versions, co-ownership, who submits for which site, validation, consent,
CSV all-or-nothing, history, signal notifications, and the idea link through signals."""

from datetime import date
from types import SimpleNamespace

import pytest

from lhn import signals
from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import DataPoint, Improvement
from lhn.measures.services import charts, csv_files, data, learning
from lhn.notifications.handlers import SIGNAL_KINDS
from lhn.notifications.models import Notification
from tests import factories
from tests.measures.test_spc import ORANGE_JUICE

STABLE = [
    (60, 100),
    (62, 100),
    (58, 100),
    (61, 100),
    (59, 100),
    (60, 100),
    (63, 100),
    (57, 100),
    (60, 100),
    (61, 100),
    (59, 100),
    (60, 100),
]
IMPROVED = [(78, 100), (80, 100), (79, 100), (81, 100), (80, 100), (82, 100), (79, 100), (80, 100), (81, 100)]


def user(name):
    return accounts.get_user(name)


def ibd():
    return communities.get_community("ibd")


def setup_measure(**fields):
    measure = factories.measure(ibd(), user("doc"), **fields)
    factories.consent(measure, user("doc"), "north")
    return measure


# --- definitions and co-ownership ---------------------------------------------------------------------


def test_a_member_defines_a_measure_and_owns_it_outsiders_cannot(ctx, network):
    measure = factories.measure(ibd(), user("teen"), name="Feeling well", type="continuous", unit="score")
    acc = measures.access(measure, user("teen"))
    assert acc.is_owner
    assert acc.can_edit
    assert measures.list_changes(measure, viewer=user("teen")).items[0].summary == "Defined."
    with pytest.raises(PermissionDenied):
        factories.measure(ibd(), user("intruder"))
    with pytest.raises(ValidationFailed) as bad:
        factories.measure(ibd(), user("teen"), type="ratio", period="daily", target="lots", name="")
    assert set(bad.value.errors) == {"type", "period", "target", "name"}


def test_co_owned_only_while_owners_include_a_patient_or_caregiver_and_a_verified_clinician(ctx, network):
    measure = setup_measure()
    owners = lambda: [o.user for o in measures.list_owners(measure)]  # noqa: E731
    assert not measures.co_owned(owners())  # a clinician alone
    invitation = measures.invite_owner(measure, "teen", by=user("doc"))
    assert measures.invite_owner(measure, "teen", by=user("doc")).id == invitation.id  # one open invitation
    notice = db.session.query(Notification).filter_by(user_id=user("teen").id, kind="measure_owner_invited").one()
    assert notice.url == f"/measures/{measure.id}/owners"
    with pytest.raises(PermissionDenied):
        measures.invite_owner(measure, "mum", by=user("teen"))  # not an owner yet
    measures.answer_invitation(measure, by=user("teen"), accept=True)
    assert measures.co_owned(owners())
    with pytest.raises(Conflict):
        measures.invite_owner(measure, "teen", by=user("doc"))
    with pytest.raises(ValidationFailed):
        measures.invite_owner(measure, "intruder", by=user("doc"))  # not a member
    measures.remove_owner(measure, "teen", by=user("teen"))  # steps down
    assert not measures.co_owned(owners())
    measures.invite_owner(measure, "claimed", by=user("doc"))
    measures.answer_invitation(measure, by=user("claimed"), accept=True)
    measures.invite_owner(measure, "mum", by=user("doc"))
    measures.answer_invitation(measure, by=user("mum"), accept=True)
    measures.remove_owner(measure, "doc", by=user("mum"))
    assert not measures.co_owned(owners())  # a claimed clinician doesn't count
    measures.remove_owner(measure, "mum", by=user("mum"))
    with pytest.raises(ValidationFailed):
        measures.remove_owner(measure, "claimed", by=user("claimed"))  # the last owner stays
    kinds = [c.kind for c in measures.list_changes(measure, viewer=user("mum")).items]
    assert kinds.count("ownership") >= 4


def test_definition_changes_are_versioned_logged_and_data_keeps_its_version(ctx, network):
    measure = setup_measure()
    factories.values(measure, user("doc"), "north", STABLE[:2])
    measures.update_measure(measure, {"target": 85, "unit": "% in remission"}, by=user("doc"))
    assert measure.version == 2
    latest = measures.list_changes(measure, viewer=user("teen")).items[0]
    assert latest.version == 2
    assert "target: 80.0 → 85.0" in latest.summary
    assert latest.definition["target"] == 85
    factories.values(measure, user("doc"), "north", [(70, 100)], start="2023-03")
    versions = {p.period_start.month: p.measure_version for p in db.session.query(DataPoint)}
    assert versions == {1: 1, 2: 1, 3: 2}
    assert measures.update_measure(measure, {"target": 85}, by=user("doc")).version == 2  # no change, no version
    with pytest.raises(ValidationFailed) as locked:
        measures.update_measure(measure, {"type": "rate"}, by=user("doc"))
    assert "can't change once sites have submitted data" in locked.value.errors["type"]
    with pytest.raises(PermissionDenied):
        measures.update_measure(measure, {"target": 1}, by=user("teen"))


# --- who may submit for which site --------------------------------------------------------------------


def test_who_may_submit_for_which_site(ctx, network):
    measure = setup_measure()
    factories.consent(measure, user("dr_south"), "south")
    one = {"numerator": 5, "denominator": 20}
    data.record_value(measure, "north", "2024-01", one, by=user("doc"))  # verified clinician of north, member
    data.record_value(measure, "south", "2024-01", one, by=user("dr_south"))
    with pytest.raises(ValidationFailed) as other_site:
        data.record_value(measure, "south", "2024-02", one, by=user("doc"))
    assert "only its own team" in other_site.value.errors["site"]
    for outsider in ("teen", "claimed", "intruder", "lead_person"):  # patient, claimed, not a member, no lead yet
        with pytest.raises(PermissionDenied):
            data.record_value(measure, "north", "2024-02", one, by=user(outsider))
    measures.appoint_site_lead(measure, "lead_person", "south", by=user("doc"))
    data.record_value(measure, "south", "2024-02", one, by=user("lead_person"))
    assert measures.access(measure, user("lead_person")).team_site_ids == {accounts.find_institution("south").id}
    with pytest.raises(PermissionDenied):
        measures.appoint_site_lead(measure, "teen", "north", by=user("dr_south"))  # not an owner
    team = [u.username for u in measures.site_team(measure, accounts.find_institution("south"))]
    assert team == ["dr_south", "lead_person"]


def test_validation_of_values_and_periods(ctx, network):
    measure = setup_measure()
    cases = [
        ({"numerator": -1, "denominator": 10}, "2024-01", "numerator"),
        ({"numerator": 11, "denominator": 10}, "2024-01", "numerator"),
        ({"numerator": 1.5, "denominator": 10}, "2024-01", "numerator"),
        ({"numerator": 1, "denominator": 0}, "2024-01", "denominator"),
        ({"numerator": 1}, "2024-01", "denominator"),
        ({"numerator": 1, "denominator": 10}, "2024-13", "period"),
        ({"numerator": 1, "denominator": 10}, "2024-W05", "period"),  # a monthly measure
        ({"numerator": 1, "denominator": 10}, "2999-01", "period"),  # the future
        ({"count": 1}, "2024-01", "count"),
    ]
    for values, period, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            data.record_value(measure, "north", period, values, by=user("doc"))
        assert field in exc.value.errors, (values, period)
    weekly = factories.measure(ibd(), user("doc"), name="Weekly", period="week", type="rate")
    data.record_value(weekly, "north", "2024-W05", {"events": 3, "exposure": 1200}, by=user("doc"))
    stored = db.session.query(DataPoint).filter_by(measure_id=weekly.id).one()
    assert stored.period_start == date(2024, 1, 29)


def test_resubmitting_keeps_history_and_only_the_team_sees_it(ctx, network):
    measure = setup_measure()
    data.record_value(measure, "north", "2024-01", {"numerator": 5, "denominator": 20}, by=user("doc"))
    data.record_value(measure, "north", "2024-01", {"numerator": 5, "denominator": 20}, by=user("doc"))  # same: no-op
    data.record_value(measure, "north", "2024-01", {"numerator": 6, "denominator": 20}, by=user("doc"))
    rows = data.history(measure, accounts.find_institution("north"), viewer=user("doc")).items
    assert [(r.numerator, r.superseded_at is None) for r in rows] == [(6, True), (5, False)]
    assert charts.load_data(measure).cells[rows[0].institution_id][date(2024, 1, 1)].numerator == 6
    with pytest.raises(NotFound):
        data.history(measure, accounts.find_institution("north"), viewer=user("teen"))


def test_consent_is_required_recorded_and_withdrawable(ctx, network):
    measure = factories.measure(ibd(), user("doc"))
    with pytest.raises(ValidationFailed) as exc:
        data.record_value(measure, "north", "2024-01", {"numerator": 50, "denominator": 80}, by=user("doc"))
    assert "consent" in exc.value.errors["site"]
    with pytest.raises(PermissionDenied):
        measures.give_consent(measure, accounts.find_institution("north"), by=user("teen"), agreed=True)
    with pytest.raises(ValidationFailed) as unticked:
        measures.give_consent(measure, accounts.find_institution("north"), by=user("doc"), agreed=False)
    assert "agree" in unticked.value.errors
    consent = factories.consent(measure, user("doc"), "north")
    assert "North Hospital agrees to contribute aggregate data" in consent.statement
    data.record_value(measure, "north", "2024-01", {"numerator": 50, "denominator": 80}, by=user("doc"))
    factories.consent(measure, user("dr_south"), "south")
    data.record_value(measure, "south", "2024-01", {"numerator": 40, "denominator": 70}, by=user("dr_south"))
    assert charts.load_data(measure).network()[date(2024, 1, 1)].numerator == 90
    measures.withdraw_consent(measure, accounts.find_institution("south"), by=user("dr_south"))
    assert charts.load_data(measure).network()[date(2024, 1, 1)].numerator == 50
    with pytest.raises(NotFound):  # outsiders no longer see the site
        charts.chart_view(measure, measures.access(measure, user("teen")), site=accounts.find_institution("south"))
    own = charts.chart_view(
        measure, measures.access(measure, user("dr_south")), site=accounts.find_institution("south")
    )
    assert own.points[0].numerator == 40  # the team still sees its own


# --- CSV: all or nothing --------------------------------------------------------------------------------


def test_csv_with_bad_rows_stores_nothing_and_reports_every_bad_line(ctx, network):
    measure = setup_measure()
    text = (
        "site,period,numerator,denominator\n"
        "north,2024-01,50,80\n"
        "north,2024-02,90,80\n"  # line 3: numerator > denominator
        "nowhere,2024-03,5,9\n"  # line 4: unknown site
        "south,2024-03,5,9\n"  # line 5: not the submitter's site
        "north,2024-1x,5,9\n"  # line 6: bad period
        "north,2024-01,51,80\n"  # line 7: duplicate of line 2
        "north,2024-04,-2,\n"  # line 8: negative and missing
        "north,2024-05,1,2,3\n"  # line 9: too many columns
    )
    with pytest.raises(data.RowsInvalid) as exc:
        data.import_rows(measure, csv_files.parse_csv(measure, text), by=user("doc"), source="csv")
    lines = sorted({e.line for e in exc.value.row_errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    assert "line 8" in exc.value.errors
    assert "denominator" in exc.value.errors["line 8"]
    assert db.session.query(DataPoint).count() == 0
    good = "site,period,numerator,denominator\r\nnorth,2024-01,50,80\r\n\r\nnorth,2024-02,52,81\r\n"
    result = data.import_rows(measure, csv_files.parse_csv(measure, good), by=user("doc"), source="csv")
    assert result.stored == 2
    with pytest.raises(data.RowsInvalid) as header:
        csv_files.parse_csv(measure, "site,month,value\nnorth,2024-01,3\n")
    assert "missing: period, numerator, denominator" in str(header.value.row_errors[0])


def test_csv_export_round_trips_for_the_sites_team(ctx, network):
    measure = setup_measure()
    factories.values(measure, user("doc"), "north", STABLE[:3])
    exported = csv_files.export_csv(measure, viewer=user("doc"))
    assert exported.splitlines()[:2] == [
        "site,period,numerator,denominator,measure_version,masked",
        "north,2023-01,60,100,1,no",
    ]
    result = data.import_rows(measure, csv_files.parse_csv(measure, exported), by=user("doc"), source="csv")
    assert result.stored == 0
    assert result.replaced == 0


# --- signals notify ---------------------------------------------------------------------------------


def test_new_data_that_makes_a_rule_fire_notifies_owners_and_the_sites_team(ctx, network):
    measure = setup_measure()
    measures.invite_owner(measure, "teen", by=user("doc"))
    measures.answer_invitation(measure, by=user("teen"), accept=True)
    measures.appoint_site_lead(measure, "lead_person", "north", by=user("doc"))
    result = factories.values(measure, user("doc"), "north", STABLE)
    assert result.signals_sent == 0
    assert db.session.query(Notification).filter(Notification.kind.in_(SIGNAL_KINDS.values())).count() == 0
    result = factories.values(measure, user("doc"), "north", IMPROVED, start="2024-01")
    assert result.signals_sent == 2  # the site's chart and the network chart
    notices = db.session.query(Notification).filter_by(kind="measure_improved").all()  # higher is better here
    recipients = sorted({n.user_id for n in notices})
    assert recipients == sorted([user("teen").id, user("lead_person").id, user("doc").id])  # submitter too
    assert {n.actor_id for n in notices if n.user_id == user("doc").id} == {None}  # the data's finding, not theirs
    assert {n.actor_id for n in notices if n.user_id == user("teen").id} == {user("doc").id}
    site_notice = next(n for n in notices if "North Hospital" in n.text)
    assert "Outside the 3-sigma control limits" in site_notice.text or "long run" in site_notice.text
    assert site_notice.url == f"/measures/{measure.id}?site=north"
    assert not db.session.query(Notification).filter_by(user_id=user("dr_south").id, kind="measure_improved").count()
    again = factories.values(measure, user("doc"), "north", IMPROVED[-1:], start="2024-09")
    assert again.signals_sent == 0  # nothing new fired


# --- PDSA cycles and ideas, through signals only ---------------------------------------------------------


@pytest.fixture
def fake_posts():
    """Stands in for the posts feature: answers ideas_requested and records pdsa_cycle_closed."""
    ideas = {
        41: {"id": 41, "title": "Text-message reminders", "status": "adopted", "url": "/posts/41", "adopted_at": None}
    }
    closed = []

    def answer(community_id, ids=None, **_):
        return {i: v for i, v in ideas.items() if ids is None or i in ids}

    def record(cycle, **kwargs):
        closed.append(kwargs)

    signals.ideas_requested.connect(answer)
    signals.pdsa_cycle_closed.connect(record)
    yield ideas, closed
    signals.ideas_requested.disconnect(answer)
    signals.pdsa_cycle_closed.disconnect(record)


def test_a_cycle_tests_an_idea_and_its_summary_is_posted_when_it_closes(ctx, network, fake_posts):
    ideas, closed = fake_posts
    measure = setup_measure()
    fields = learning.PdsaFields(
        site="north",
        title="Reminders before clinic",
        prediction="More come in remission",
        started_on="2024-02-01",
        idea_id="41",
    )
    cycle = learning.create_cycle(measure, fields, by=user("doc"))
    assert cycle.idea_id == 41
    with pytest.raises(ValidationFailed) as unknown:
        learning.create_cycle(
            measure,
            learning.PdsaFields(site="north", title="x", prediction="y", started_on="2024-02-01", idea_id="99"),
            by=user("doc"),
        )
    assert unknown.value.errors == {"idea_id": "No such idea in this community."}
    with pytest.raises(PermissionDenied):
        learning.create_cycle(
            measure,
            learning.PdsaFields(site="north", title="x", prediction="y", started_on="2024-02-01"),
            by=user("dr_south"),
        )
    with pytest.raises(ValidationFailed) as missing:
        learning.close_cycle(cycle, measure, act="keep", act_notes="", ended_on="", by=user("doc"))
    assert set(missing.value.errors) == {"act", "act_notes", "ended_on"}
    learning.close_cycle(
        cycle, measure, act="adopt", act_notes="Remission up at North.", ended_on="2024-04-30", by=user("doc")
    )
    assert closed
    assert closed[0]["idea_id"] == 41
    assert closed[0]["by"].username == "doc"
    assert "PDSA cycle at North Hospital: adopt." in closed[0]["summary"]
    ideas[41]["adopted_at"] = date(2024, 5, 2)
    kinds = [(a.kind, a.text) for a in learning.chart_annotations(measure, site_id=None)]
    assert ("idea", "Idea adopted: Text-message reminders") in kinds
    assert any(k == "pdsa" and "adopted" in t for k, t in kinds)


def test_without_the_posts_feature_ideas_are_simply_unavailable(ctx, network):
    measure = setup_measure()
    with signals.ideas_requested.muted():  # as if the posts feature were not installed
        assert learning.ideas(measure.community_id) is None
        with pytest.raises(ValidationFailed) as exc:
            learning.create_cycle(
                measure,
                learning.PdsaFields(site="north", title="x", prediction="y", started_on="2024-02-01", idea_id="41"),
                by=user("doc"),
            )
        assert "can't be linked" in exc.value.errors["idea_id"]
        cycle = learning.create_cycle(
            measure,
            learning.PdsaFields(site="north", title="x", prediction="y", started_on="2024-02-01"),
            by=user("doc"),
        )
        learning.close_cycle(
            cycle, measure, act="abandon", act_notes="No effect.", ended_on="2024-03-01", by=user("doc")
        )
        assert cycle.act.value == "abandon"


def test_phase_changes_are_deliberate_logged_and_start_new_limits(ctx, network):
    measure = setup_measure()
    factories.values(measure, user("doc"), "north", STABLE + IMPROVED)
    north = accounts.find_institution("north")
    acc = measures.access(measure, user("doc"))
    before = charts.chart_view(measure, acc, site=north, kind="p")
    assert len(before.phases) == 1
    assert before.signals
    with pytest.raises(PermissionDenied):
        learning.add_phase(measure, site="north", period="2024-01", reason="Adopted reminders", by=user("dr_south"))
    learning.add_phase(measure, site="north", period="2024-01", reason="Adopted reminders", by=user("doc"))
    after = charts.chart_view(measure, acc, site=north, kind="p")
    assert len(after.phases) == 2
    assert after.points[0].cl == pytest.approx(60.0)
    assert after.points[-1].cl == pytest.approx(80.0)
    assert not [s for s in after.signals if s.rule == "sigma"]
    assert (
        "New phase on North Hospital from 2024-01"
        in measures.list_changes(measure, viewer=user("teen")).items[0].summary
    )
    with pytest.raises(ValidationFailed):
        learning.add_phase(measure, site="north", period="2024-01", reason="Again", by=user("doc"))


def test_points_left_out_of_the_baseline_give_montgomerys_revised_limits_and_are_logged(ctx, network):
    # Montgomery, Example 7.1: 30 samples of 50 cans; samples 15 (new material) and 23 (new operator) explained.
    measure = setup_measure()
    factories.values(measure, user("doc"), "north", [(d, 50) for d in ORANGE_JUICE])  # 2023-01 .. 2025-06
    north = accounts.find_institution("north")
    acc = measures.access(measure, user("doc"))
    assert charts.chart_view(measure, acc, site=north, kind="p").points[0].cl == pytest.approx(23.1333, abs=1e-4)
    with pytest.raises(PermissionDenied):  # another site's clinician: not on north's team, not an owner
        learning.exclude_from_baseline(measure, site="north", period="2024-03", reason="New material",
                                       by=user("dr_south"))  # fmt: skip
    with pytest.raises(ValidationFailed) as no_reason:
        learning.exclude_from_baseline(measure, site="north", period="2024-03", reason=" ", by=user("doc"))
    assert "special" in no_reason.value.errors["reason"]
    learning.exclude_from_baseline(measure, site="north", period="2024-03", reason="New material", by=user("doc"))
    second = learning.exclude_from_baseline(measure, site="north", period="2024-11", reason="New operator",
                                            by=user("doc"))  # fmt: skip
    with pytest.raises(ValidationFailed):
        learning.exclude_from_baseline(measure, site="north", period="2024-11", reason="Again", by=user("doc"))
    revised = charts.chart_view(measure, acc, site=north, kind="p")
    assert revised.points[0].cl == pytest.approx(21.50, abs=1e-9)  # p̄ 0.2150 = 301/1400
    assert revised.points[0].ucl == pytest.approx(38.92972, abs=1e-5)
    assert [p.period for p in revised.points if p.excluded] == ["2024-03", "2024-11"]
    assert {s.period for s in revised.signals if s.rule == "sigma"} == {"2024-03", "2024-09", "2024-11"}
    network_chart = charts.chart_view(measure, acc, kind="p")  # the network's chart has its own marks
    assert not [p for p in network_chart.points if p.excluded]
    notes = [a.text for a in learning.chart_annotations(measure, site_id=north.id) if a.kind == "exclusion"]
    assert notes == ["Left out of the baseline: New material", "Left out of the baseline: New operator"]
    learning.include_in_baseline(measure, second.id, by=user("doc"))
    back = charts.chart_view(measure, acc, site=north, kind="p")
    assert back.points[0].cl == pytest.approx(100 * (347 - 22) / 1450)
    log = [c.summary for c in measures.list_changes(measure, viewer=user("teen")).items]
    assert log[:3] == ["2024-11 on North Hospital back in the baseline.",
                       "2024-11 on North Hospital left out of the baseline: New operator",
                       "2024-03 on North Hospital left out of the baseline: New material"]  # fmt: skip
    with pytest.raises(NotFound):
        learning.include_in_baseline(measure, second.id, by=user("doc"))


@pytest.mark.parametrize(
    ("improvement", "directions", "outcome"),
    [
        ("up", {"up"}, "improved"),
        ("up", {"down", ""}, "worsened"),
        ("down", {"down"}, "improved"),  # fewer infections is better
        ("down", {"up"}, "worsened"),
        ("up", {"up", "down"}, ""),  # signals that disagree: neither
        ("up", {""}, ""),  # too few crossings says nothing about a side
    ],
)
def test_what_a_new_signal_means_depends_on_which_way_is_better(improvement, directions, outcome):
    measure = SimpleNamespace(improvement=Improvement(improvement))
    assert charts.outcome_of(measure, directions) == outcome
