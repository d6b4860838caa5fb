"""Forms for patient-reported outcomes: offering an instrument (shipped or imported) and answering one. The
answer form is built per instrument, one radio group per question."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from lhn.forms import ButtonField, Form, PHIConfirmMixin, choices
from lhn.pro.models import Purpose, Statistic
from lhn.pro.scoring import TEXT_MAX, Spec

SCHEDULE_CHOICES = choices([("", "No schedule"), ("7", "Every week"), ("14", "Every two weeks"),
                            ("30", "Every month"), ("90", "Every three months")])  # fmt: skip


class OfferForm(Form):
    code = SelectField("Questionnaire", choices=[])
    schedule_days = SelectField("Ask people to answer", choices=SCHEDULE_CHOICES, default="30",
                                description="A reminder comes when the time has passed since their last answer.")


class ImportForm(Form):
    questionnaire = TextAreaField(
        "FHIR R5 Questionnaire (JSON)", validators=[Optional(), Length(max=200_000)],
        description="Single-choice items whose answers carry the itemWeight extension; severity bands optional.",
    )  # fmt: skip
    schedule_days = SelectField("Ask people to answer", choices=SCHEDULE_CHOICES, default="30")


class _AnswerBase(PHIConfirmMixin, Form):
    action = ButtonField(values=("save", "finish"))


def answer_form(spec: Spec, data: dict[str, str] | None = None, **kwargs: Any) -> Form:
    """A form with a radio group per item (`item-<linkId>`), filled with `data` when the page shows a draft."""
    fields = {
        f"item-{item.link_id}": TextAreaField(item.text, validators=[Optional(), Length(max=TEXT_MAX)])
        if item.free_text else
        RadioField(item.text, choices=choices([(o.code, o.display) for o in item.options]),
                   validate_choice=False)  # the service checks the codes, naming the item
        for item in spec.items
    }  # fmt: skip
    form_class = type("AnswerForm", (_AnswerBase,), fields)
    defaults = {f"item-{k}": v for k, v in (data or {}).items()}
    return form_class(data=defaults, **kwargs)


def answers_of(form: Form, spec: Spec) -> dict[str, str]:
    return {item.link_id: form[f"item-{item.link_id}"].data or "" for item in spec.items}




class ConsentForm(Form):
    qi_aggregates = BooleanField(Purpose.QI_AGGREGATES.label)
    research = BooleanField(Purpose.RESEARCH.label)
    study_contact = BooleanField(Purpose.STUDY_CONTACT.label)


class MeasureForm(Form):
    statistic = SelectField("What the measure counts", choices=choices([(s.value, s.label) for s in Statistic]))
    threshold = StringField("Score that counts (for a share)", validators=[Optional(), Length(max=20)],
                            description="People whose total is at least this score, e.g. 10 for PHQ-9.")
    period = SelectField("Per site and", choices=choices([("month", "Month"), ("quarter", "Quarter"),
                                                          ("week", "Week")]))  # fmt: skip
    improvement = SelectField("Better is", choices=choices([("down", "Lower"), ("up", "Higher")]))
    name = StringField("Name (optional)", validators=[Optional(), Length(max=160)])

