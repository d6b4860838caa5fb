"""Forms for research studies: posting a study (structured eligibility and free text), a person's research
profile, "contact me" with a box per field to share, and closing or reopening a study."""

from __future__ import annotations

from wtforms import FloatField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lhn.forms import ButtonField, Form, PHIConfirmMixin, choices
from lhn.research.fhir import StudyFields
from lhn.research.matching import AGE_BANDS
from lhn.research.models import StudyStatus
from lhn.research.services import SHAREABLE

ROLE_CHOICES = choices([("patient", "Patients"), ("caregiver", "Caregivers")])
SHARE_LABELS = {"age_band": "My age band", "diagnosis": "My diagnosis", "diagnosis_year": "The year I was diagnosed",
                "country": "My country", "site": "Where I am treated",
                "pro_score": "My latest score on the study's questionnaire"}  # fmt: skip


class CheckboxesField(SelectMultipleField):
    """Several choices, each a checkbox (render inside a fieldset: `_macros` `field` gives one label)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _list(text: str | None) -> list[str]:
    """"Crohn's disease; ulcerative colitis" -> the values (semicolons or new lines between them)."""
    return [v.strip() for v in (text or "").replace("\n", ";").split(";") if v.strip()]


class StudyForm(PHIConfirmMixin, Form):
    title = StringField("Title", validators=[Optional(), Length(max=250)])
    condition = StringField("Condition studied", validators=[Optional(), Length(max=250)])
    sites = CheckboxesField("Sites running the study", choices=[], validate_choice=False)
    target_number = IntegerField("How many people you aim to recruit", validators=[Optional()])
    ethics_reference = StringField("Ethics approval reference", validators=[Optional(), Length(max=150)],
                                   description="The approving committee's reference, e.g. REC 24/NW/0123.")
    age_min = IntegerField("Youngest age", validators=[Optional()])
    age_max = IntegerField("Oldest age", validators=[Optional()])
    diagnoses = StringField("Diagnoses (any of; separate with semicolons)", validators=[Optional(), Length(max=3000)])
    countries = StringField("Countries (any of; separate with semicolons)", validators=[Optional(), Length(max=3000)])
    eligible_sites = CheckboxesField("Treated at (any of)", choices=[], validate_choice=False)
    roles = CheckboxesField("Roles (any of)", choices=ROLE_CHOICES, validate_choice=False)
    instrument_code = SelectField("Questionnaire score", choices=[], validate_choice=False)
    score_min = FloatField("Lowest score", validators=[Optional()])
    score_max = FloatField("Highest score", validators=[Optional()])
    eligibility_text = TextAreaField("Other eligibility (Markdown)", validators=[Optional(), Length(max=6000)],
                                     description="Shown to everyone who reads the study.")

    def fill_choices(self, institutions: list[tuple[str, str]], instruments: list[tuple[str, str]]) -> None:
        self.sites.choices = self.eligible_sites.choices = choices(institutions)
        self.instrument_code.choices = choices([("", "No score criterion"), *instruments])

    def study_fields(self) -> StudyFields:
        return StudyFields(
            title=self.title.data or "", condition=self.condition.data or "", sites=self.sites.data or [],
            target_number=self.target_number.data, ethics_reference=self.ethics_reference.data or "",
            age_min=self.age_min.data, age_max=self.age_max.data, diagnoses=_list(self.diagnoses.data),
            countries=_list(self.countries.data), eligible_sites=self.eligible_sites.data or [],
            roles=self.roles.data or [], instrument_code=self.instrument_code.data or "",
            score_min=self.score_min.data, score_max=self.score_max.data,
            eligibility_text=self.eligibility_text.data or "")  # fmt: skip


class ImportForm(PHIConfirmMixin, Form):
    research_study = TextAreaField("FHIR R5 ResearchStudy (JSON)", validators=[Optional(), Length(max=200_000)],
                                   description="Eligibility as a contained Group, as LHN exports it.")


class ProfileForm(PHIConfirmMixin, Form):
    age_band = SelectField("My age band", choices=choices([("", "Leave out"), *[(b, b) for b in AGE_BANDS]]))
    diagnosis = StringField("My diagnosis", validators=[Optional(), Length(max=150)])
    diagnosis_year = IntegerField("The year I was diagnosed", validators=[Optional(), NumberRange(1900, 3000)])
    country = StringField("My country", validators=[Optional(), Length(max=150)])
    site = SelectField("Where I am treated", choices=[], validate_choice=False)
    instrument_ids = CheckboxesField("Questionnaires whose latest score studies may match on", choices=[],
                                     validate_choice=False)  # fmt: skip


class ContactForm(PHIConfirmMixin, Form):
    share = CheckboxesField("Also share", choices=choices([(k, SHARE_LABELS[k]) for k in SHAREABLE]),
                            validate_choice=False)  # fmt: skip
    message = TextAreaField("A message to the study team (optional)", validators=[Optional(), Length(max=1200)],
                            description="How you would like to be contacted, for example.")


class StatusForm(Form):
    status = ButtonField(values=tuple(s.value for s in StudyStatus))
