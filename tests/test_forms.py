"""The base form (lhn/forms.py): the input boundary for HTML forms. Text-direction controls are refused on the
field, with what was typed kept; numbers must fit the database. Forms are submitted as rendered."""

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import FloatField, HiddenField, IntegerField, StringField

import lhn
from lhn.accounts import services as accounts
from lhn.chat.models import ChatMessage
from lhn.extensions import db
from lhn.forms import ButtonField, Form, fields_of
from lhn.posts.models import Post
from tests import factories
from tests.bad_input import TOO_BIG
from tests.conftest import committed, login
from tests.forms import submit

OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Take evif" reads "Take five"


def stored(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True)
        ibd = factories.community(doc, slug="ibd")
        factories.member(ibd, factories.user("patient", username="teen"))
        factories.member(ibd, factories.user("caregiver", username="mod"), role="moderator")
        question = factories.question(ibd, doc)
        return {"question": question.id, "question_path": question.path}


def test_every_form_is_a_base_form():
    forms = []
    for module in pkgutil.walk_packages(lhn.__path__, "lhn."):
        if module.name.endswith(".forms"):
            found = importlib.import_module(module.name)
            forms += [c for _, c in inspect.getmembers(found, inspect.isclass)
                      if issubclass(c, FlaskForm) and c is not FlaskForm]  # fmt: skip
    assert len(forms) > 30
    assert [f.__name__ for f in forms if not issubclass(f, Form)] == []


def test_a_question_title_with_a_direction_override_is_refused_and_kept(app, client, world):
    login(client, "teen")
    title = f"Should we take {OVERRIDE}evif\u202c tablets a day during a flare?"
    page = submit(client, "/c/ibd/new/question", "Post question", title=title, body="Asking for my son.")
    assert page.status_code == 422
    assert f'value="{title}"' in page.text
    assert "text-direction controls" in page.text
    assert stored(app, Post) == 1  # only the world's question


def test_a_display_name_with_a_direction_override_is_refused_and_kept(app, client, world):
    login(client, "teen")
    name = f"Sam {OVERRIDE}nimda"
    page = submit(client, "/settings/profile", "Save", display_name=name)
    assert page.status_code == 422
    assert f'value="{name}"' in page.text
    assert "text-direction controls" in page.text
    with app.app_context():
        assert accounts.get_user("teen").display_name != name


def test_a_nul_character_is_refused_on_the_field_before_any_lookup(app, client, world):
    # PostgreSQL refuses a NUL in any query: a NUL in a choice looked up by name answered 500 there.
    login(client, "teen")
    page = submit(client, "/settings/profile", "Save", display_name="Sam", forge={"institution": "Lake\x00side"})
    assert page.status_code == 422
    assert "NUL character" in page.text
    with app.app_context():
        assert accounts.get_user("teen").display_name != "Sam"


def test_a_form_page_shown_again_with_its_errors_answers_422_keeping_what_was_typed(app, client, world):
    # These pages answered 200 when they showed a refusal; every other form page answers 422.
    with committed(app):
        factories.user("other", username="root", admin=True)
    login(client, "teen")
    flag = submit(client, f"/flag/post/{world['question']}", "Send to the moderators", details="Looks like spam")
    assert (flag.status_code, "Choose a reason." in flag.text, "Looks like spam" in flag.text) == (422, True, True)
    token = submit(client, "/settings/tokens", "Create token", name="")
    assert (token.status_code, "This field is required." in token.text) == (422, True)
    login(client, "doc")
    settings = submit(client, "/c/ibd/moderation/settings", "Save", flag_hide_threshold="three")
    assert (settings.status_code, 'value="three"' in settings.text) == (422, True)
    login(client, "root")
    added = submit(client, "/institutions", "Add institution", name="Lakeside Children's", slug="")
    assert (added.status_code, "Lakeside Children" in added.text) == (422, True)
    assert "This field is required." in added.text


def test_a_chat_message_with_a_direction_isolate_is_refused_and_kept(app, client, world):
    login(client, "teen")
    body = "the dose is \u2067001\u2069 mg"
    page = submit(client, "/c/ibd/chat/general", "Send", body=body)
    assert body in page.text
    assert "text-direction controls" in page.text
    assert stored(app, ChatMessage) == 0


def test_a_slow_mode_beyond_what_the_database_holds_is_refused_through_the_page(app, client, world):
    login(client, "mod")
    refused = submit(client, world["question_path"], "Set", seconds=str(TOO_BIG))
    assert refused.status_code == 302
    assert "Slow mode" in client.get(refused.headers["Location"]).text
    with app.app_context():
        from lhn.communities import services as communities

        assert communities.slow_mode_seconds("post", world["question"]) == 0


def test_a_select_of_ids_refuses_a_number_the_database_cannot_hold(app, client, world):
    login(client, "teen")
    typed = {"title": "How we cut infusion waits by half", "setting": "A day unit.", "what_done": "Pre-ordered.",
             "what_happened": "Waits fell.", "lessons": "Start early."}  # fmt: skip
    page = submit(client, "/c/ibd/new/experience", "Post experience", forge={"linked_idea_id": "9" * 25}, **typed)
    assert page.status_code == 422
    assert "Choose one of the options." in page.text
    assert stored(app, Post) == 1


def test_whole_numbers_and_decimals_must_fit_the_database(app):
    class Numbers(Form):
        whole = IntegerField()
        decimal = FloatField()

    with app.test_request_context(method="POST", data={"whole": str(TOO_BIG), "decimal": "inf"}):
        form = Numbers()
        assert not form.validate()
        assert form.whole.data == TOO_BIG  # kept, to show again
        assert form.whole.errors == [f"Enter a whole number up to {TOO_BIG - 1:,}."]
        assert form.decimal.errors == ["Enter a number."]
    with app.test_request_context(method="POST", data={"whole": str(TOO_BIG - 1), "decimal": "1e308"}):
        assert Numbers().validate()


@dataclass
class Wanted:  # a service's fields, as MeasureFields or CommunityFields
    name: str
    unit: str = ""
    rule_set: str = "standard"
    target: Any = None


def test_a_services_fields_come_from_the_form_fields_of_the_same_names_empty_ones_taking_their_defaults(app):
    class Entered(Form):
        name = StringField()
        unit = StringField()
        rule_set = StringField()
        target = StringField()
        other = StringField()  # a field the service doesn't take

    with app.test_request_context(method="POST", data={"name": "Remission", "rule_set": "", "target": "0"}):
        assert fields_of(Entered(), Wanted) == Wanted(name="Remission", unit="", rule_set="standard", target="0")
    with app.test_request_context(method="POST", data={}):
        assert fields_of(Entered(), Wanted) == Wanted(name="")  # a field without a default: empty text


class Answer(Form):
    site = HiddenField()
    decision = ButtonField(values=("accept", "decline"))


def test_the_clicked_button_fills_a_button_field_which_hidden_tag_leaves_out(app):
    with app.test_request_context(method="POST", data={"site": "north", "decision": "accept"}):
        form = Answer()
        assert form.validate()
        assert form.decision.data == "accept"
        assert 'name="site"' in form.hidden_tag()
        assert "decision" not in form.hidden_tag()  # the buttons carry it; a hidden copy would be sent first
    with app.test_request_context(method="POST", data={"site": "north", "decision": "maybe"}):
        assert not Answer().validate()


def test_a_field_sent_twice_is_refused_rather_than_read_from_its_first_copy(app):
    # What a browser sent for a page that rendered hidden_tag() (an empty `decision`) before its own button.
    sent = MultiDict([("site", "north"), ("decision", ""), ("decision", "accept")])
    with app.test_request_context(method="POST", data=sent):
        form = Answer()
        assert not form.validate()
        assert "The page sent this twice: reload it and try again." in form.decision.errors


def test_the_helper_sends_what_a_browser_sends_and_refuses_a_form_that_renders_a_name_twice():
    from tests.forms import _rendered_twice, form_data, page_forms

    # The co-ownership Accept as it was: hidden_tag() emitted an empty `decision` before the template's own.
    old = ('<form method="post" action="/measures/1/owners/answer"><input id="decision" name="decision" '
           'type="hidden" value=""><input type="hidden" name="decision" value="accept">'
           '<button type="submit">Accept</button></form>')  # fmt: skip
    [form] = page_forms(old)
    assert form_data(form, form.buttons[0], {}) == [("decision", ""), ("decision", "accept")]  # both, in order
    assert _rendered_twice(form) == ["decision"]
    new = ('<form method="post"><input type="checkbox" name="roles" value="patient" checked>'
           '<input type="checkbox" name="roles" value="caregiver"><input type="radio" name="act" value="adopt">'
           '<input type="radio" name="act" value="adapt" checked><select name="site"><option value="n">N</option>'
           '<option value="s" selected>S</option></select><textarea name="note">\nHi</textarea>'
           '<button type="submit" name="decision" value="accept">Accept</button>'
           '<button type="submit" name="decision" value="decline">Decline</button></form>')  # fmt: skip
    [form] = page_forms(new)
    decline = form.buttons[1]
    assert form_data(form, decline, {}) == [("roles", "patient"), ("act", "adapt"), ("site", "s"), ("note", "Hi"),
                                           ("decision", "decline")]  # fmt: skip
    assert form_data(form, decline, {"roles": ["caregiver"], "act": "adopt"})[:2] == [("roles", "caregiver"),
                                                                                      ("act", "adopt")]  # fmt: skip
    assert _rendered_twice(form) == []


@pytest.mark.parametrize("path", ["/c/ibd/studies/new", "/c/ibd/questionnaires/offer", "/measures/1/data/upload"])
def test_a_form_route_sends_a_visitor_to_log_in(client, path):
    assert client.get(path).headers["Location"].startswith("/login?next=")


def test_a_form_route_draws_its_form_without_spending_the_sending_limit(make_app):
    app = make_app(RATE_LIMITS={"pro": "1 per hour"}, NEW_ACCOUNT_RATE_LIMITS={"pro": "1 per hour"})
    with committed(app):
        ibd = factories.community(factories.user("clinician", username="doc", verified=True), slug="ibd")
        factories.member(ibd, factories.user("patient", username="teen"))
    client = app.test_client()
    login(client, "teen")
    assert [client.get("/c/ibd/my-consent").status_code for _ in range(3)] == [200, 200, 200]
    assert submit(client, "/c/ibd/my-consent", "Save my choices", study_contact=True).status_code == 302
    assert submit(client, "/c/ibd/my-consent", "Save my choices").status_code == 429
