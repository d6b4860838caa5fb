"""Research studies: a verified researcher posts a study; members who consent to be contacted keep a private
research profile and see the studies they may fit; "contact me" shares only what they tick with the study's lead,
who sees how many may match (not below 11) and the contacts, never a list; every step is recorded and audited; a
closed study matches nobody; withdrawing the consent withdraws the contacts."""

import html

import pytest
from fhir.resources.researchstudy import ResearchStudy
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.pro import services as pro
from lhn.pro.models import ConsentEvent, Purpose
from lhn.research import services as research
from lhn.research.fhir import StudyFields
from lhn.research.models import ResearchProfile, Study, StudyContact, StudyEvent
from lhn.research.services import contacts
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit
from tests.measures.conftest import make_network

TEEN_PROFILE = {"age_band": "12-17", "diagnosis": "Crohn's disease", "country": "United States"}


@pytest.fixture
def ibd(app):
    make_network(app)
    with committed(app):
        community = communities.get_community("ibd")
        factories.member(community, factories.user("researcher", username="prof", verified=True,
                                                   display_name="lead researcher"))  # fmt: skip


def _opt_in(app, username, **profile):
    with committed(app):
        community, person = communities.get_community("ibd"), accounts.get_user(username)
        pro.set_consents(community, person, {Purpose.STUDY_CONTACT: True})
        research.save_profile(community, person, research.ProfileFields(**profile))


def _study(app, **fields):
    with committed(app):
        values = {"title": "Diet and flares", "condition": "Crohn's disease", "ethics_reference": "IRB 1"} | fields
        return research.post_study(communities.get_community("ibd"), StudyFields(**values),
                                   by=accounts.get_user("prof")).id  # fmt: skip


def test_a_researcher_posts_a_patient_who_fits_says_contact_me_and_the_researcher_sees_only_that(app, client, ibd):
    login(client, "prof")
    refused = submit(client, "/c/ibd/studies/new", "Post the study", title="Diet and flares",
                     condition="Crohn's disease", age_min="18", age_max="12")  # fmt: skip
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "The highest age can't be below the lowest." in page
    assert "Required." in page
    assert 'value="Diet and flares"' in page  # what was typed stays
    posted = submit(client, "/c/ibd/studies/new", "Post the study", page=refused, age_min="12", age_max="17",
                    ethics_reference="IRB 2026-0417", countries="United States; Canada", roles=["patient"],
                    sites=["north"], target_number="40", eligibility_text="Keeps a **food diary**.")  # fmt: skip
    assert posted.status_code == 302, posted.text
    study_url = posted.headers["Location"]
    _opt_in(app, "teen", **TEEN_PROFILE)  # fits
    _opt_in(app, "mum", age_band="35-44", country="United States")  # a caregiver, too old: doesn't fit
    login(client, "teen")
    listing = client.get("/c/ibd/studies").text
    assert 'href="/studies/1">Diet and flares</a> · Crohn' in listing
    contact = submit(client, study_url, "Contact me", share=["age_band", "country"], message="Evenings are best")
    assert contact.status_code == 302, contact.text
    login(client, "mum")
    mums = client.get(study_url).text
    assert "Contact me" not in mums
    assert "None at the moment." in client.get("/c/ibd/studies").text
    login(client, "prof")
    lead = html.unescape(client.get(study_url).text)
    assert "People who may match now: <strong>fewer than 11</strong>" in lead
    assert lead.count('<li><strong>') == 1  # one contact: the teen's
    assert "<dt>Age band</dt><dd>12-17</dd>" in lead
    assert "<dt>Country</dt><dd>United States</dd>" in lead
    assert "Evenings are best" in lead
    assert "Crohn" not in lead.split("People who asked to be contacted")[1]  # the diagnosis wasn't ticked
    with app.app_context():
        assert accounts.get_user("mum").display_name not in lead  # nothing about anyone else
    with app.app_context():
        teen = accounts.get_user("teen")
        assert next(e.what for e in pro.my_record(communities.get_community("ibd"), teen)) == (
            "Shared your display name, message, age band and country with the study 'Diet and flares' "
            "(lead researcher)")
        audit = [e.action for e in db.session.scalars(select(StudyEvent).order_by(StudyEvent.id))]
        assert audit == ["Posted the study (recruiting)", "A contact was given",
                         "Viewed how many may match and the contacts"]  # fmt: skip
        assert db.session.get(Study, 1).resource["recruitment"]["targetNumber"] == 40


def test_the_count_is_shown_from_eleven_and_never_below(app, client, ibd):
    study_id = _study(app, countries=["Sweden"])
    with committed(app):
        community = communities.get_community("ibd")
        for n in range(11):
            factories.member(community, factories.user("patient", username=f"swede{n}"))
    for n in range(10):
        _opt_in(app, f"swede{n}", country="Sweden")
    _opt_in(app, "teen", country="Norway")
    prof = bearer(token_for(client, "prof"))
    assert client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json["may_match"] is None
    _opt_in(app, "swede10", country="sweden")
    reach = client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json
    assert (reach["may_match"], reach["suppressed"], reach["contacts"]) == ({"from": 11, "to": 14}, False, [])
    login(client, "prof")
    assert "People who may match now: <strong>11–14</strong>" in client.get(f"/studies/{study_id}").text
    with committed(app):  # one of them turns the consent off: the count drops at once, below the threshold
        pro.set_consents(communities.get_community("ibd"), accounts.get_user("swede3"), {Purpose.STUDY_CONTACT: False})
    assert client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json["may_match"] is None
    assert_error(client.get(f"/api/v1/studies/{study_id}/reach", headers=bearer(token_for(client, "doc"))),
                 403, "forbidden")  # the community's owner: the audit, not the contacts  # fmt: skip


def test_a_profile_needs_the_consent_and_is_the_persons_alone(app, client, ibd):
    login(client, "teen")
    page = client.get("/c/ibd/research-profile").text
    assert "Turn that on in" in page
    assert "/c/ibd/my-consent" in page
    assert "turn on <em>Let researchers ask me about studies</em>" in client.get("/c/ibd/studies").text
    submit(client, "/c/ibd/my-consent", "Save my choices", study_contact=True)
    bad = submit(client, "/c/ibd/research-profile", "Save my profile", diagnosis_year="1800", country="Chile")
    assert bad.status_code == 422
    assert 'value="Chile"' in bad.text
    assert '<option selected value="north">' in bad.text  # their own institution, until they choose
    saved = submit(client, "/c/ibd/research-profile", "Save my profile", age_band="12-17", site="north",
                   country="United States")  # fmt: skip
    assert saved.status_code == 302
    assert '<option selected value="12-17">' in client.get("/c/ibd/research-profile").text
    with app.app_context():
        assert db.session.scalars(select(ResearchProfile)).one().site == "north"
    api = bearer(token_for(client, "mum"))
    assert client.get("/api/v1/communities/ibd/my-research-profile", headers=api).json == {
        "profile": None, "consents_to_contact": False}  # the mum sees her own (none), never the teen's
    assert_error(client.put("/api/v1/communities/ibd/my-research-profile", headers=api, json={"country": "Chile"}),
                 403, "forbidden")  # fmt: skip
    teen = bearer(token_for(client, "teen"))  # what a study may be shown passes the PHI guard first
    mrn = {"diagnosis": "Crohn's, MRN 44910023"}
    asked = client.put("/api/v1/communities/ibd/my-research-profile", headers=teen, json=mrn)
    assert "diagnosis" in assert_error(asked, 422, "phi_confirmation_required")["fields"]
    url = "/api/v1/communities/ibd/my-research-profile"
    confirmed = client.put(url, headers=teen, json=mrn | {"confirm_phi": True})
    assert confirmed.json["profile"]["diagnosis"] == mrn["diagnosis"]


def test_a_closed_study_matches_nobody_takes_no_contacts_and_keeps_those_it_has(app, client, ibd):
    study_id = _study(app, age_min=10, age_max=19)
    _opt_in(app, "teen", **TEEN_PROFILE)
    teen = bearer(token_for(client, "teen"))
    assert [s["id"] for s in client.get("/api/v1/communities/ibd/my-study-matches", headers=teen).json["items"]] == [
        study_id]
    assert client.post(f"/api/v1/studies/{study_id}/contact", headers=teen, json={"share": ["age_band"]}
                       ).status_code == 201  # fmt: skip
    login(client, "doc")  # the community's owner closes it
    closed = submit(client, f"/studies/{study_id}", "Close the study")
    assert closed.status_code == 302
    assert client.get("/api/v1/communities/ibd/my-study-matches", headers=teen).json["items"] == []
    assert_error(client.post(f"/api/v1/studies/{study_id}/contact", headers=teen, json={}), 403, "forbidden")
    prof = bearer(token_for(client, "prof"))
    reach = client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json
    [shared] = [c["shared"] for c in reach["contacts"]]
    assert shared == {"display_name": shared["display_name"], "message": "", "age_band": "12-17"}
    assert_error(client.put(f"/api/v1/studies/{study_id}/status", headers=bearer(token_for(client, "doc")),
                            json={"status": "recruiting"}), 403, "forbidden")  # only the lead reopens  # fmt: skip
    reopened = client.put(f"/api/v1/studies/{study_id}/status", headers=prof, json={"status": "recruiting"})
    assert reopened.json["fhir"]["progressStatus"][0]["state"]["coding"][0]["code"] == "recruiting"
    login(client, "doc")
    audit = html.unescape(client.get(f"/studies/{study_id}").text)
    assert "Changed the status from recruiting to closed" in audit
    with app.app_context():
        assert accounts.get_user("teen").display_name not in audit  # the audit names no one who may match


def test_withdrawing_a_contact_or_the_consent_hides_it_from_the_researcher_at_once(app, client, ibd):
    study_id, other_id = _study(app), _study(app, title="Sleep and pain")
    _opt_in(app, "teen", **TEEN_PROFILE)
    login(client, "teen")
    submit(client, f"/studies/{study_id}", "Contact me", message="Hi")
    withdrawn = submit(client, f"/studies/{study_id}", "Withdraw my contact")
    assert withdrawn.status_code == 302
    prof = bearer(token_for(client, "prof"))
    assert client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json["contacts"] == []
    submit(client, f"/studies/{study_id}", "Contact me", message="Changed my mind")
    submit(client, f"/studies/{other_id}", "Contact me")
    turned_off = submit(client, "/c/ibd/my-consent", "Save my choices", study_contact=False, qi_aggregates=True)
    assert turned_off.status_code == 302, turned_off.text
    assert client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).json["contacts"] == []
    assert client.get(f"/api/v1/studies/{other_id}/reach", headers=prof).json["contacts"] == []
    assert "Contact me" not in client.get(f"/studies/{study_id}").text  # the profile no longer matches
    with app.app_context():
        record = [e.what for e in db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))]
        assert record[-3:] == [
            "withdrawn",
            "Withdrew your contact from the study 'Diet and flares' (lead researcher) when you turned off being asked "
            "about studies", "Withdrew your contact from the study 'Sleep and pain' (lead researcher) when you turned "
            "off being asked about studies"]  # fmt: skip
        assert record.count("Withdrew your contact from the study 'Diet and flares' (lead researcher)") == 1


def test_the_api_posts_imports_and_refuses_with_the_error_format(app, client, ibd):
    prof, teen = bearer(token_for(client, "prof")), bearer(token_for(client, "teen"))
    assert_error(client.post("/api/v1/communities/ibd/studies", headers=teen, json={"title": "x"}), 403, "forbidden")
    claimed = bearer(token_for(client, "lead_person"))  # a researcher whose badge isn't verified
    assert_error(client.post("/api/v1/communities/ibd/studies", headers=claimed, json={}), 403, "forbidden")
    bad = client.post("/api/v1/communities/ibd/studies", headers=prof, json={"title": "T", "sites": ["nowhere"]})
    assert set(assert_error(bad, 422, "validation_failed")["fields"]) == {"condition", "ethics_reference", "sites"}
    made = client.post("/api/v1/communities/ibd/studies", headers=prof, json={
        "title": "Diet", "condition": "IBD", "ethics_reference": "IRB 9", "roles": ["patient"], "age_min": 12})
    assert made.status_code == 201, made.text
    imported = client.post("/api/v1/communities/ibd/studies", headers=prof, json={"research_study": made.json["fhir"]})
    assert imported.status_code == 201, imported.text
    assert {k: imported.json[k] for k in ("title", "criteria")} == {k: made.json[k] for k in ("title", "criteria")}
    not_fhir = client.post("/api/v1/communities/ibd/studies", headers=prof, json={"research_study": {"status": 1}})
    assert "research_study" in assert_error(not_fhir, 422, "validation_failed")["fields"]
    phi = client.post("/api/v1/communities/ibd/studies", headers=prof, json={
        "title": "T", "condition": "C", "ethics_reference": "E", "eligibility_text": "Call me on 07700 900123"})
    assert_error(phi, 422, "phi_confirmation_required")
    assert [s["title"] for s in client.get("/api/v1/communities/ibd/studies").json["items"]] == ["Diet", "Diet"]
    assert_error(client.delete(f"/api/v1/studies/{made.json['id']}/contact", headers=teen), 422, "validation_failed")
    with committed(app), pytest.raises(PermissionDenied):
        research.contact_study(db.session.get(Study, made.json["id"]), accounts.get_user("teen"), share=[])


@pytest.mark.parametrize("mode", ["keep", "remove"])
def test_my_data_exports_the_profile_and_contacts_and_deletion_removes_them(app, client, ibd, mode):
    study_id = _study(app)
    _opt_in(app, "teen", **TEEN_PROFILE)
    login(client, "teen")
    submit(client, f"/studies/{study_id}", "Contact me", share=["country"])
    with app.app_context():
        exported = mydata.export_my_data(accounts.get_user("teen"))
        assert exported["research_profiles"][0]["country"] == "United States"
        shared = exported["study_contacts"][0]["shared"]
        assert shared == {"display_name": accounts.get_user("teen").display_name, "message": "",
                          "country": "United States"}  # fmt: skip
        assert mydata.export_my_data(accounts.get_user("prof"))["studies_posted"][0]["title"] == "Diet and flares"
    with committed(app):
        mydata.delete_account(accounts.get_user("teen"), password=PASSWORD, mode=mode)
    with app.app_context():
        assert db.session.scalars(select(ResearchProfile)).all() == []
        assert db.session.scalars(select(StudyContact)).all() == []
    with committed(app):  # the lead goes: the study stays, closed, under no one
        mydata.delete_account(accounts.get_user("prof"), password=PASSWORD, mode=mode)
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert (study.created_by_id, study.status.value) == (None, "closed-to-accrual")
        assert study.resource["progressStatus"][0]["state"]["coding"][0]["code"] == "closed-to-accrual"
        assert db.session.scalars(select(StudyEvent.action).order_by(StudyEvent.id.desc())).first() == (
            "Closed: its lead's account was deleted")


def test_the_studies_page_runs_the_same_queries_however_many_studies_and_leads(app, client, ibd, count_queries):
    _opt_in(app, "teen", **TEEN_PROFILE)

    def post_by_new_leads(count):
        with committed(app):
            community = communities.get_community("ibd")
            for _ in range(count):
                lead = factories.user("researcher", verified=True)
                factories.member(community, lead)
                research.post_study(community, StudyFields(title="T", condition="C", ethics_reference="E"), by=lead)

    login(client, "teen")
    post_by_new_leads(2)
    with count_queries() as queries:
        assert client.get("/c/ibd/studies").status_code == 200
    post_by_new_leads(3)
    with count_queries() as more:
        page = client.get("/c/ibd/studies").text
    assert page.count('class="card research-card"') == 5
    assert len(more) == len(queries)


def test_a_contact_message_that_looks_like_it_identifies_someone_is_asked_about_first(app, client, ibd):
    study_id = _study(app)
    _opt_in(app, "teen", **TEEN_PROFILE)
    login(client, "teen")
    typed = {"message": "Call my mum on 07700 900123", "share": ["country"]}
    warned = submit(client, f"/studies/{study_id}", "Contact me", **typed)
    assert warned.status_code == 422
    assert "Call my mum on 07700 900123</textarea>" in warned.text  # nothing lost
    with app.app_context():
        assert db.session.scalars(select(StudyContact)).all() == []
    done = submit(client, f"/studies/{study_id}", "Contact me", page=warned, confirm_phi=True, **typed)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(StudyContact)).one().shared["message"] == typed["message"]


def test_a_study_downloads_as_a_research_study_and_imports_from_the_form(app, client, ibd):
    study_id = _study(app, age_min=12, countries=["Canada"], eligibility_text="Keeps a diary.")
    login(client, "prof")
    download = client.get(f"/studies/{study_id}/research-study.json")
    assert download.mimetype == "application/fhir+json"
    assert download.headers["Content-Disposition"].startswith("attachment")
    ResearchStudy.model_validate(download.json)
    bad = submit(client, "/c/ibd/studies/import", "Import the study", research_study="[" * 50 + "]" * 50)
    assert bad.status_code == 422
    assert "Paste the ResearchStudy as JSON" in html.unescape(bad.text)
    done = submit(client, "/c/ibd/studies/import", "Import the study", page=bad, research_study=download.text)
    assert done.status_code == 302
    with app.app_context():
        original, imported = db.session.get(Study, study_id), db.session.get(Study, study_id + 1)
        assert (imported.title, imported.criteria, imported.eligibility_text) == (
            original.title, original.criteria, original.eligibility_text)
    login(client, "teen")  # a patient: sees the page's reason, and can't import
    assert "Verified researchers and clinicians" in client.get("/c/ibd/studies/import").text
    refused = submit(client, "/c/ibd/studies/import", "Import the study", research_study=download.text, page=bad)
    assert refused.status_code == 403


@pytest.mark.parametrize(("count", "band"), [(0, None), (10, None), (11, (11, 14)), (14, (11, 14)), (15, (15, 19)),
                                             (19, (15, 19)), (20, (20, 24)), (103, (100, 104))])  # fmt: skip
def test_a_count_from_eleven_is_shown_as_a_band_of_five(count, band):
    assert contacts.band_of(count) == band


def test_leaving_the_community_withdraws_the_contacts_and_fits_no_study_there(app, client, ibd):
    study_id = _study(app)
    _opt_in(app, "teen", **TEEN_PROFILE)
    with committed(app):
        research.contact_study(db.session.get(Study, study_id), accounts.get_user("teen"), share=["age_band"])
        communities.leave_community(accounts.get_user("teen"), communities.get_community("ibd"))
    with app.app_context():
        teen = accounts.get_user("teen")
        assert research.my_facts(communities.get_community("ibd"), teen) is None
        assert research.study_reach(db.session.get(Study, study_id), by=accounts.get_user("prof")).contacts == []
        with pytest.raises(PermissionDenied):  # a former member can't say "contact me" either
            research.contact_study(db.session.get(Study, study_id), teen, share=[])
        db.session.rollback()


def test_a_lead_who_left_the_community_no_longer_reads_the_contacts(app, client, ibd):
    study_id = _study(app)
    prof = bearer(token_for(client, "prof"))
    assert client.get(f"/api/v1/studies/{study_id}/reach", headers=prof).status_code == 200
    with committed(app):
        communities.leave_community(accounts.get_user("prof"), communities.get_community("ibd"))
    assert_error(client.get(f"/api/v1/studies/{study_id}/reach", headers=prof), 403, "forbidden")


def test_a_score_range_that_is_not_a_finite_number_is_refused_with_a_message(app, client, ibd):
    with committed(app):
        pro.offer_shipped(communities.get_community("ibd"), "phq-9", schedule_days=None, by=accounts.get_user("doc"))
    login(client, "prof")  # the form reads "nan" as no number
    refused = submit(client, "/c/ibd/studies/new", "Post the study", title="Mood at school", condition="IBD",
                     ethics_reference="IRB 5", instrument_code="phq-9", score_min="nan", score_max="inf")  # fmt: skip
    assert refused.status_code == 422
    with app.app_context():  # and the service refuses one from any other caller, before FHIR validation
        fields = StudyFields(title="Mood", condition="IBD", ethics_reference="IRB 5", instrument_code="phq-9",
                             score_min=float("nan"), score_max=float("inf"))  # fmt: skip
        with pytest.raises(ValidationFailed) as refusal:
            research.post_study(communities.get_community("ibd"), fields, by=accounts.get_user("prof"))
        assert refusal.value.errors == {"score_min": "A score from -1,000,000 to 1,000,000.",
                                        "score_max": "A score from -1,000,000 to 1,000,000."}  # fmt: skip
