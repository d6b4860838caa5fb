"""My data for measures (issue 12): the export holds the PDSA cycles, chart notes, phases, baseline exclusions and data
submissions a person authored; deleting the account keeps their cycles and notes as "Former member" or removes them,
while the values they submitted and the phases and exclusions they made stay as their site's and the chart's record,
by "Former member"."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lhn.accounts import services as accounts
from lhn.accounts.mydata import FORMER_MEMBER
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import BaselineExclusion, ChartNote, DataPoint, PdsaCycle, PhaseChange, StratumDataPoint
from lhn.moderation import mydata
from tests import factories
from tests.conftest import PASSWORD, committed
from tests.measures.test_services import STABLE


def u(name):
    return accounts.get_user(name)


@pytest.fixture
def ids(app, network) -> dict[str, int]:
    """dr_south (the leaver, on South's team) submitted South's values, ran a cycle, noted and phased its chart;
    doc did the same at North."""
    with committed(app):
        community, doc, leaver = communities.get_community("ibd"), u("doc"), u("dr_south")
        measure = factories.measure(community, doc, stratifiers="age_band: young, old")
        for person, site in ((doc, "north"), (leaver, "south")):
            factories.consent(measure, person, site)
            factories.values(measure, person, site, STABLE)
        young_old = {"young": {"numerator": 20, "denominator": 40}, "old": {"numerator": 40, "denominator": 60}}
        measures.record_strata(measure, "south", "2023-01", "age_band", young_old, by=leaver)
        fields = measures.PdsaFields(site="south", title="Quince jam reminders", plan="Jam at every visit",
                                     prediction="More in remission", started_on="2023-06-01")  # fmt: skip
        cycle = measures.create_cycle(measure, fields, by=leaver)
        kept_cycle = measures.create_cycle(measure, measures.PdsaFields(site="north", title="North's own test",
                                                                        prediction="Fewer flares",
                                                                        started_on="2023-06-01"), by=doc)  # fmt: skip
        note = measures.add_note(measure, site="south", on="2023-04-02", text="Marmalade outage", by=leaver)
        kept_note = measures.add_note(measure, site="north", on="2023-04-02", text="North's note", by=doc)
        phase = measures.add_phase(measure, site="south", period="2023-07", reason="New clinic rota", by=leaver)
        exclusion = measures.exclude_from_baseline(measure, site="south", period="2023-03", reason="Audit week",
                                                   by=leaver)  # fmt: skip
        return {"measure": measure.id, "cycle": cycle.id, "kept_cycle": kept_cycle.id, "note": note.id,
                "kept_note": kept_note.id, "phase": phase.id, "exclusion": exclusion.id}  # fmt: skip


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_export_holds_their_cycles_notes_phases_and_submissions(ctx, ids):
    data = mydata.export_my_data(u("dr_south"))
    assert [c["title"] for c in data["pdsa_cycles"]] == ["Quince jam reminders"]
    assert data["pdsa_cycles"][0]["plan"] == "Jam at every visit"
    assert data["pdsa_cycles"][0]["site"] == "south"
    assert [n["text"] for n in data["chart_notes"]] == ["Marmalade outage"]
    assert [p["reason"] for p in data["phase_changes"]] == ["New clinic rota"]
    assert data["baseline_exclusions"] == [
        {"measure_id": ids["measure"], "site": "south", "period": "2023-03-01", "reason": "Audit week"}
    ]
    submissions = data["data_submissions"]
    assert len(submissions) == len(STABLE)
    assert {s["site"] for s in submissions} == {"south"}
    assert submissions[0]["measure_id"] == ids["measure"]
    assert submissions[0]["period"] == "2023-01"
    assert (submissions[0]["numerator"], submissions[0]["denominator"]) == STABLE[0]
    assert [(s["period"], s["stratifier"], s["stratum"], s["numerator"]) for s in data["stratum_submissions"]] == [
        ("2023-01", "age_band", "young", 20),
        ("2023-01", "age_band", "old", 40),
    ]
    others = mydata.export_my_data(u("doc"))
    assert others["stratum_submissions"] == []
    assert [c["title"] for c in others["pdsa_cycles"]] == ["North's own test"]  # only their own
    assert {s["site"] for s in others["data_submissions"]} == {"north"}


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_deleting_the_account_keeps_or_removes_their_cycles_and_notes(ctx, ids, mode):
    leaver_id = u("dr_south").id
    mydata.delete_account(u("dr_south"), password=PASSWORD, mode=mode)
    db.session.expire_all()
    former = accounts.get_user(FORMER_MEMBER)
    authored = [(PdsaCycle, PdsaCycle.created_by_id), (ChartNote, ChartNote.created_by_id),
                (PhaseChange, PhaseChange.created_by_id), (BaselineExclusion, BaselineExclusion.created_by_id),
                (DataPoint, DataPoint.submitted_by_id),
                (StratumDataPoint, StratumDataPoint.submitted_by_id)]  # fmt: skip
    for model, column in authored:
        assert count(model, column == leaver_id) == 0, model
    # South's values and phase are the site's and the chart's record: they stay, by "Former member".
    assert count(DataPoint, DataPoint.submitted_by_id == former.id) == len(STABLE)
    assert count(StratumDataPoint, StratumDataPoint.submitted_by_id == former.id) == 2  # the breakdown stays too
    assert db.session.get(PhaseChange, ids["phase"]).created_by_id == former.id
    assert db.session.get(BaselineExclusion, ids["exclusion"]).created_by_id == former.id
    assert db.session.get(PdsaCycle, ids["kept_cycle"]).created_by_id == u("doc").id  # others' untouched
    assert db.session.get(ChartNote, ids["kept_note"]).created_by_id == u("doc").id
    if mode == "keep":
        assert db.session.get(PdsaCycle, ids["cycle"]).created_by_id == former.id
        assert db.session.get(ChartNote, ids["note"]).created_by_id == former.id
    else:
        assert db.session.get(PdsaCycle, ids["cycle"]) is None
        assert db.session.get(ChartNote, ids["note"]) is None
