"""Patient-reported outcomes: owners offer PHQ-9, GAD-7 or an imported FHIR R5 Questionnaire; patients and
caregivers answer on the page's form, save and come back, finish; the score follows the instrument's published
rules; the trend and the FHIR Bundle are the person's alone."""

import html
import json
from datetime import timedelta

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.moderation import mydata
from lhn.pro import instruments, scoring
from lhn.pro import services as pro
from lhn.pro.models import Instrument, ProResponse, Purpose
from tests import factories
from tests.api.test_api import assert_error, bearer, token_for
from tests.conftest import PASSWORD, committed, login
from tests.forms import submit
from tests.measures.conftest import make_network


def answers_for(spec: scoring.Spec, total: int) -> dict[str, str]:
    """Answers (weights 0-3) adding up to `total`: the first items as high as they go."""
    answers = {}
    for item in spec.items:
        weight = min(3, total)
        answers[item.link_id] = str(weight)
        total -= weight
    assert total == 0
    return answers


@pytest.mark.parametrize(("code", "total", "band"), [
    ("phq-9", 0, "Minimal"), ("phq-9", 4, "Minimal"), ("phq-9", 5, "Mild"), ("phq-9", 9, "Mild"),
    ("phq-9", 10, "Moderate"), ("phq-9", 14, "Moderate"), ("phq-9", 15, "Moderately severe"),
    ("phq-9", 19, "Moderately severe"), ("phq-9", 20, "Severe"), ("phq-9", 27, "Severe"),
    ("gad-7", 4, "Minimal"), ("gad-7", 5, "Mild"), ("gad-7", 10, "Moderate"), ("gad-7", 14, "Moderate"),
    ("gad-7", 15, "Severe"), ("gad-7", 21, "Severe"),
])  # fmt: skip
def test_scores_follow_the_published_rules(code, total, band):
    """PHQ-9: nine items scored 0-3, summed (0-27); 5, 10, 15 and 20 are the cut-points for mild, moderate,
    moderately severe and severe (Kroenke, Spitzer and Williams 2001). GAD-7: seven items, 0-21; 5, 10 and 15
    for mild, moderate and severe (Spitzer et al. 2006)."""
    spec = scoring.read_questionnaire(instruments.SHIPPED[code])
    assert (len(spec.items), spec.highest) == ({"phq-9": 9, "gad-7": 7}[code], {"phq-9": 27, "gad-7": 21}[code])
    assert scoring.score(spec, answers_for(spec, total)) == scoring.Score(total, band)


def test_fhir_round_trips_validate():
    for resource in instruments.SHIPPED.values():
        Questionnaire.model_validate(resource)
    spec = scoring.read_questionnaire(instruments.SHIPPED["phq-9"])
    answers = answers_for(spec, 11)
    resource = scoring.response_resource(spec, answers, authored="2026-12-06T10:00:00+00:00", response_id=7)
    parsed = QuestionnaireResponse.model_validate(json.loads(json.dumps(resource)))
    assert parsed.status == "completed"
    assert scoring.read_response(spec, resource) == answers
    resource["item"][0]["answer"][0]["valueCoding"]["code"] = "9"  # not an answer PHQ-9 has
    with pytest.raises(ValidationFailed):
        scoring.read_response(spec, resource)


IMPORTED = {
    "resourceType": "Questionnaire", "status": "active", "name": "SleepCheck", "title": "Sleep check",
    "url": "https://example.org/Questionnaire/sleep",
    "item": [{"linkId": "a", "text": "Nights you woke in pain", "type": "coding", "answerOption": [
        {"valueCoding": {"code": "none", "display": "None"},
         "extension": [{"url": instruments.ORDINAL_VALUE, "valueDecimal": 0}]},
        {"valueCoding": {"code": "some", "display": "Some"},
         "extension": [{"url": instruments.ITEM_WEIGHT, "valueDecimal": 2}]}]}],
}  # fmt: skip


@pytest.fixture
def ibd(app):
    make_network(app)


def test_owners_offer_shipped_and_imported_questionnaires_through_the_forms(app, client, ibd):
    login(client, "doc")
    offered = submit(client, "/c/ibd/questionnaires/offer", "Offer it", code="phq-9", schedule_days="30")
    assert offered.status_code == 302
    broken = dict(IMPORTED, item=[{**IMPORTED["item"][0], "answerOption": [{"valueCoding": {"code": "x"}}]}])
    refused = submit(client, "/c/ibd/questionnaires/import", "Import", questionnaire=json.dumps(broken))
    assert refused.status_code == 422
    assert "every answer needs a code and a weight" in html.unescape(refused.text)
    assert "SleepCheck" in html.unescape(refused.text)  # what was pasted stays
    assert submit(client, "/c/ibd/questionnaires/import", "Import", questionnaire=json.dumps(IMPORTED),
                  schedule_days="").status_code == 302  # fmt: skip
    with app.app_context():
        offered = {i.code: (i.title, i.schedule_days) for i in db.session.scalars(select(Instrument))}
        assert offered == {"phq-9": ("PHQ-9: depression in the last two weeks", 30),
                           "sleepcheck": ("Sleep check", None)}
        sleep = pro.spec_of(db.session.scalars(select(Instrument).where(Instrument.code == "sleepcheck")).one())
        assert [o.weight for o in sleep.items[0].options] == [0, 2]  # ordinalValue and itemWeight both read
    login(client, "teen")  # a patient: not an owner
    assert client.get("/c/ibd/questionnaires/offer").status_code == 403


def _offered(app, code="phq-9"):
    with committed(app):
        community, doc = communities.get_community("ibd"), accounts.get_user("doc")
        return pro.offer_shipped(community, code, schedule_days=30, by=doc).id


def test_a_patient_saves_comes_back_finishes_and_sees_their_own_trend(app, client, ibd):
    instrument_id = _offered(app)
    url = f"/questionnaires/{instrument_id}"
    login(client, "teen")
    assert "Answer it" in client.get("/c/ibd/questionnaires").text
    saved = submit(client, url, "Save and finish later", **{"item-1": "2", "item-2": "1"})
    assert saved.status_code == 302
    page = client.get(url).text
    assert "Your saved answers are filled in" in page
    assert '<input checked id="item-1-2" name="item-1" type="radio" value="2">' in page
    assert '<input checked id="item-2-1" name="item-2" type="radio" value="1">' in page
    unfinished = submit(client, url, "Finish")  # the rest not answered yet: nothing lost, each one named
    assert unfinished.status_code == 422
    assert html.unescape(unfinished.text).count("Answer this question to finish") == 7
    done = submit(client, url, "Finish", **{f"item-{n}": "1" for n in range(3, 10)})  # 2 + 1 + 7 = 10
    assert done.status_code == 302
    trend = client.get(done.headers["Location"], follow_redirects=True).text
    assert "Only you can see this page." in trend
    assert "<td>10</td><td>Moderate</td>" in trend
    assert 'class="pro-trend"' in trend
    login(client, "doc")  # the owner who offered it sees no one's answers, only their own (none)
    assert "<td>10</td>" not in client.get(f"{url}/mine").text
    assert client.get("/settings/my-questionnaires.json").json["entry"] == []
    login(client, "teen")
    bundle = client.get("/settings/my-questionnaires.json")
    assert bundle.headers["Content-Disposition"].startswith("attachment")
    Bundle.model_validate(bundle.json)
    [entry] = bundle.json["entry"]
    assert len(entry["resource"]["item"]) == 9


def test_only_the_communitys_patients_and_caregivers_answer(app, client, ibd):
    instrument_id = _offered(app)
    login(client, "dr_south")  # a clinician member
    page = client.get(f"/questionnaires/{instrument_id}").text
    assert "Patients and caregivers who are members" in page
    with committed(app), pytest.raises(Exception, match="Patients and caregivers"):
        pro.save_answers(db.session.get(Instrument, instrument_id), {}, by=accounts.get_user("dr_south"),
                         complete=False)  # fmt: skip


def test_a_thought_of_self_harm_gets_the_safety_message_whatever_the_total(app, client, ibd):
    instrument_id = _offered(app)
    login(client, "mum")  # a caregiver
    answers = {f"item-{n}": "0" for n in range(1, 9)} | {"item-9": "1"}
    done = submit(client, f"/questionnaires/{instrument_id}", "Finish", follow_redirects=True, **answers)
    assert "Please talk to your care team today" in done.text
    assert "Your latest total: <strong>1</strong> (Minimal)" in done.text
    with client.session_transaction() as cookie:  # nothing about the answers rides in the session cookie
        assert "Minimal" not in str(dict(cookie))


def test_my_data_exports_the_answers_and_deletion_removes_them(app, client, ibd):
    instrument_id = _offered(app, "gad-7")
    login(client, "teen")
    submit(client, f"/questionnaires/{instrument_id}", "Finish", **{f"item-{n}": "2" for n in range(1, 8)})
    with app.app_context():
        [exported] = mydata.export_my_data(accounts.get_user("teen"))["questionnaire_responses"]
        assert (exported["total"], exported["band"], exported["fhir"]["status"]) == (14, "Moderate", "completed")
    with committed(app):
        mydata.delete_account(accounts.get_user("teen"), password=PASSWORD, mode="keep")
    with app.app_context():
        assert db.session.scalars(select(ProResponse)).all() == []


def test_a_scheduled_questionnaire_reminds_once_when_its_time_has_come_and_names_no_instrument(app, client, ibd):
    instrument_id = _offered(app)  # every 30 days
    login(client, "teen")
    submit(client, f"/questionnaires/{instrument_id}", "Finish", **{f"item-{n}": "0" for n in range(1, 10)})
    with committed(app):
        answered = db.session.scalars(select(ProResponse)).one().completed_at
        assert pro.send_due_reminders(answered + timedelta(days=29)) == 0
        assert pro.send_due_reminders(answered + timedelta(days=30)) == 1
        assert pro.send_due_reminders(answered + timedelta(days=31)) == 0  # once per answer
        texts = factories.notification_texts(accounts.get_user("teen"))
        assert "A questionnaire you answer regularly is due: answer it when you can." in texts
        assert not any("PHQ" in t or "depression" in t for t in texts)


def test_the_api_offers_answers_and_keeps_each_persons_answers_to_themselves(app, client, ibd):
    doc, teen = bearer(token_for(client, "doc")), bearer(token_for(client, "teen"))
    bad = client.post("/api/v1/communities/ibd/questionnaires", headers=doc, json={"questionnaire": {"resourceType":
                      "Questionnaire", "status": "nonsense"}})  # fmt: skip
    assert "questionnaire" in assert_error(bad, 422, "validation_failed")["fields"]
    assert_error(client.post("/api/v1/communities/ibd/questionnaires", headers=teen, json={"code": "gad-7"}),
                 403, "forbidden")  # fmt: skip
    made = client.post("/api/v1/communities/ibd/questionnaires", headers=doc,
                       json={"questionnaire": IMPORTED, "schedule_days": 14})  # fmt: skip
    assert made.status_code == 201, made.text
    url = f"/api/v1/questionnaires/{made.json['id']}"
    assert client.get(url).json["questionnaire"]["title"] == "Sleep check"
    draft = client.post(url + "/responses", headers=teen, json={"answers": {}})
    assert draft.json["status"] == "draft"
    missing = client.post(url + "/responses", headers=teen, json={"complete": True})
    assert "item-a" in assert_error(missing, 422, "validation_failed")["fields"]
    done = client.post(url + "/responses", headers=teen, json={"answers": {"a": "some"}, "complete": True})
    assert (done.json["status"], done.json["total"], done.json["fhir"]["resourceType"]) == (
        "completed", 2, "QuestionnaireResponse")
    assert [r["total"] for r in client.get(url + "/responses", headers=teen).json["items"]] == [2]
    assert client.get(url + "/responses", headers=doc).json == {"items": [], "draft": None}  # the owner sees none
    bundle = client.get("/api/v1/me/questionnaire-responses", headers=teen).json
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 1
    listing = client.get("/api/v1/communities/ibd/questionnaires", headers=teen).json["items"]
    assert [(i["code"], i["my_last_total"]) for i in listing] == [("sleepcheck", 2)]


def test_consent_per_purpose_is_off_until_chosen_changes_any_time_and_is_recorded_for_the_person(app, client, ibd):
    login(client, "teen")
    page = client.get("/c/ibd/my-consent").text
    assert "Nothing yet." in page
    assert "checked" not in page  # off until turned on
    submit(client, "/c/ibd/my-consent", "Save my choices", qi_aggregates=True, study_contact=True)
    with app.app_context():
        community_id = communities.get_community("ibd").id
        assert pro.consenting(community_id, Purpose.QI_AGGREGATES) == {accounts.get_user("teen").id}
        assert pro.consenting(community_id, Purpose.RESEARCH) == set()
    submit(client, "/c/ibd/my-consent", "Save my choices", qi_aggregates=False, study_contact=True)
    with app.app_context():
        assert pro.consenting(community_id, Purpose.QI_AGGREGATES) == set()  # the next aggregate leaves them out
    record = html.unescape(client.get("/c/ibd/my-consent").text)
    assert record.count(": <strong>granted</strong>") == 2
    assert record.count(": <strong>withdrawn</strong>") == 1
    assert record.index("withdrawn") < record.index("granted")  # newest first
    login(client, "intruder")  # not a member: nothing to choose there
    refused = submit(client, "/c/ibd/my-consent", "Save my choices", research=True)
    assert refused.status_code == 403
    with app.app_context():
        exported = mydata.export_my_data(accounts.get_user("teen"))
        assert {(c["purpose"], c["granted"]) for c in exported["consents"]} == {
            ("qi_aggregates", False), ("study_contact", True)}
        assert [e["what"] for e in exported["consent_record"]] == ["granted", "granted", "withdrawn"]


def test_the_api_reads_and_changes_a_persons_own_consent(app, client, ibd):
    teen = bearer(token_for(client, "teen"))
    assert client.get("/api/v1/communities/ibd/my-consent", headers=teen).json["consents"] == {
        "qi_aggregates": False, "research": False, "study_contact": False}
    changed = client.put("/api/v1/communities/ibd/my-consent", headers=teen, json={"research": True})
    assert changed.json["consents"]["research"] is True
    assert [e["what"] for e in changed.json["record"]] == ["granted"]
    assert_error(client.put("/api/v1/communities/ibd/my-consent", headers=teen, json={"research": "yes"}),
                 422, "validation_failed")  # fmt: skip
    assert_error(client.get("/api/v1/communities/ibd/my-consent"), 401, "unauthenticated")


def test_a_null_extension_list_is_read_as_none():
    assert scoring.parse_questionnaire(json.dumps(dict(IMPORTED, extension=None)))[1].bands == ()


@pytest.mark.parametrize("broken", [
    dict(IMPORTED, item=[{**IMPORTED["item"][0], "answerOption": [{"valueCoding": {"code": "x"}, "extension": None}]}]),
    {"resourceType": "Questionnaire", "status": "active", "title": "Deep",
     "item": [json.loads('{"linkId": "a", "type": "group", "item": [' * 200 + "{}" + "]}" * 200)]},
])  # fmt: skip
def test_odd_questionnaires_are_refused_with_a_reason_not_a_crash(broken):
    with pytest.raises(ValidationFailed) as refused:
        scoring.parse_questionnaire(json.dumps(broken))
    assert refused.value.errors["questionnaire"]


def test_a_decimal_total_between_whole_number_bands_falls_in_the_lower_one():
    spec = scoring.read_questionnaire(dict(IMPORTED, extension=instruments.SHIPPED["gad-7"]["extension"]))
    assert [scoring.band_of(spec, total) for total in (4, 4.5, 5, 14.9, 15, 21, 21.5)] == [
        "Minimal", "Minimal", "Mild", "Moderate", "Severe", "Severe", ""]


WITH_SUBSCALES = {
    "resourceType": "Questionnaire", "status": "active", "name": "GutAndMood", "title": "Gut and mood",
    "item": [
        *[{"linkId": link_id, "text": text, "type": "coding", "required": True,
           "extension": [{"url": instruments.SUBSCALE_URL, "valueString": subscale}],
           "answerOption": [{"valueCoding": {"code": str(w), "display": f"{w}"},
                             "extension": [{"url": instruments.ITEM_WEIGHT, "valueDecimal": w}]} for w in (0, 1, 2)]}
          for link_id, text, subscale in (("p", "Pain", "Gut"), ("s", "Stools", "Gut"), ("m", "Mood", "Mood"))],
        {"linkId": "note", "text": "Anything else you want to say?", "type": "text"},
    ],
}  # fmt: skip


def test_subscales_add_up_and_free_text_answers_pass_the_phi_guard(app, client, ibd):
    with committed(app):
        community, doc = communities.get_community("ibd"), accounts.get_user("doc")
        instrument_id = pro.import_questionnaire(community, json.dumps(WITH_SUBSCALES), schedule_days=None,
                                                 by=doc).id  # fmt: skip
    url = f"/questionnaires/{instrument_id}"
    login(client, "teen")
    typed = {"item-p": "2", "item-s": "1", "item-m": "0", "item-note": "My MRN is 44910023, ask Dr Lee"}
    warned = submit(client, url, "Finish", **typed)
    assert warned.status_code == 422  # the free text looks like it identifies someone: asked first
    assert "My MRN is 44910023, ask Dr Lee</textarea>" in warned.text  # nothing lost
    with app.app_context():
        assert db.session.scalars(select(ProResponse)).all() == []
    done = submit(client, url, "Finish", page=warned, confirm_phi=True, **typed)
    assert done.status_code == 302, done.text
    with app.app_context():
        response = db.session.scalars(select(ProResponse)).one()
        assert (response.total, response.subscores) == (3, {"Gut": 3, "Mood": 0})
        note = [i for i in response.resource["item"] if i["linkId"] == "note"]
        assert note == [{"linkId": "note", "text": "Anything else you want to say?",
                         "answer": [{"valueString": "My MRN is 44910023, ask Dr Lee"}]}]  # fmt: skip
        QuestionnaireResponse.model_validate(response.resource)
    trend = client.get(f"{url}/mine").text
    assert "<th scope=\"col\">Gut</th>" in trend
    assert "<td>3</td><td>0</td>" in trend
