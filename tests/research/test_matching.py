"""Matching is a pure function of a person's facts and a study's criteria, one criterion at a time; a study's
fields survive a FHIR R5 ResearchStudy round trip, validated with fhir.resources."""

import json

import pytest
from fhir.resources.researchstudy import ResearchStudy

from lhn.errors import ValidationFailed
from lhn.research import fhir
from lhn.research.fhir import StudyFields
from lhn.research.matching import Facts, may_fit, unmet

TEEN = Facts(age_band="12-17", diagnosis="Crohn's disease", country="United States", site="north", role="patient",
             scores={7: 4.0})  # fmt: skip


@pytest.mark.parametrize(("criteria", "fits"), [
    ({}, True),  # no criterion: everyone with a profile may fit
    ({"age_min": 12, "age_max": 17}, True),
    ({"age_min": 16, "age_max": 25}, True),  # the band overlaps the range: they may fit
    ({"age_min": 18}, False),
    ({"age_max": 11}, False),
    ({"age_max": 12}, True),
    ({"diagnoses": ["crohn's DISEASE ", "Ulcerative colitis"]}, True),  # any of; case and spaces don't matter
    ({"diagnoses": ["Ulcerative colitis"]}, False),
    ({"countries": ["United States"]}, True),
    ({"countries": ["Sweden"]}, False),
    ({"sites": ["north", "south"]}, True),
    ({"sites": ["south"]}, False),
    ({"roles": ["patient"]}, True),
    ({"roles": ["caregiver"]}, False),
    ({"instrument_id": 7, "score_min": 0, "score_max": 6}, True),
    ({"instrument_id": 7, "score_min": 4.5}, False),
    ({"instrument_id": 7, "score_max": 4}, True),  # bounds are inclusive
    ({"instrument_id": 8}, False),  # a questionnaire they answered no score of (or didn't allow)
    ({"diagnoses": [], "countries": [], "age_min": None, "instrument_id": None}, True),  # empty criteria ask nothing
])  # fmt: skip
def test_each_criterion_alone(criteria, fits):
    assert may_fit(TEEN, criteria) is fits


@pytest.mark.parametrize(("left_out", "criteria", "failed"), [
    ("age_band", {"age_min": 0}, "age"),
    ("diagnosis", {"diagnoses": ["Crohn's disease"]}, "diagnoses"),
    ("country", {"countries": ["United States"]}, "countries"),
    ("site", {"sites": ["north"]}, "sites"),
    ("role", {"roles": ["patient"]}, "roles"),
    ("scores", {"instrument_id": 7}, "pro_score"),
])  # fmt: skip
def test_a_fact_left_out_meets_no_criterion_that_asks_about_it(left_out, criteria, failed):
    facts = Facts(**{**TEEN.__dict__, left_out: {} if left_out == "scores" else ""})
    assert unmet(facts, criteria) == [failed]
    assert may_fit(facts, {}) is True  # but studies that don't ask about it still fit


def test_every_unmet_criterion_is_named():
    assert unmet(TEEN, {"age_min": 30, "countries": ["Sweden"], "roles": ["caregiver"]}) == ["age", "countries",
                                                                                             "roles"]


FULL = StudyFields(title="Diet and flares", condition="Crohn's disease", sites=["north", "south"],
                   status="recruiting", target_number=40, ethics_reference="IRB 2026-0417", age_min=12, age_max=17,
                   diagnoses=["Crohn's disease", "IBD unclassified"], countries=["United States"],
                   eligible_sites=["north"], roles=["patient", "caregiver"], instrument_code="ibd-check-in",
                   score_min=0, score_max=6.5, eligibility_text="Able to keep a **food diary**.")  # fmt: skip


def test_a_study_round_trips_through_a_fhir_r5_research_study():
    resource = fhir.to_resource(FULL, study_id=3, site_names={"north": "North Hospital"})
    parsed = ResearchStudy.model_validate(json.loads(json.dumps(resource)))
    assert (parsed.id, parsed.title, parsed.recruitment.targetNumber) == ("study-3", "Diet and flares", 40)
    assert parsed.site[0].display == "North Hospital"
    assert parsed.contained[0].get_resource_type() == "Group"
    assert fhir.from_resource(json.loads(json.dumps(resource))) == FULL
    minimal = StudyFields(title="T", condition="C", ethics_reference="E")
    assert fhir.from_resource(fhir.to_resource(minimal, study_id=None, site_names={})) == minimal


@pytest.mark.parametrize("broken", [
    [], {"resourceType": "Questionnaire"},
    {"resourceType": "ResearchStudy", "status": "nonsense-status", "title": 7},
    {"resourceType": "ResearchStudy", "status": "active", "recruitment": {"eligibility": {"reference": "#g"}},
     "contained": [{"resourceType": "Group", "id": "g", "type": "person", "membership": "definitional",
                    "characteristic": [{"code": {"text": "shoe size"}, "valueBoolean": True, "exclude": False}]}]},
    {"resourceType": "ResearchStudy", "status": "active", "recruitment": {"eligibility": {"reference": "#g"}},
     "contained": [{"resourceType": "Group", "id": "g", "type": "person", "membership": "definitional",
                    "characteristic": [{"code": {"coding": [fhir.AGE]}, "valueRange": {"low": {"value": 3}},
                                        "exclude": True}]}]},
])  # fmt: skip
def test_what_is_not_a_readable_research_study_is_refused_with_a_reason(broken):
    with pytest.raises(ValidationFailed) as refused:
        fhir.from_resource(broken)
    assert refused.value.errors["research_study"]
