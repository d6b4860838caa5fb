"""Community forms. The rules live in communities.services."""

from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from lhn.forms import ButtonField, Form, PHIConfirmMixin, choices


class CommunityForm(Form):
    name = StringField("Community name", validators=[InputRequired(), Length(max=120)])
    slug = StringField(
        "Address", validators=[Optional(), Length(max=60)],
        description="Lowercase letters, digits and hyphens; leave empty to derive it from the name.",
    )  # fmt: skip
    condition_name = StringField("Condition", validators=[InputRequired(), Length(max=160)])
    condition_system = SelectField(
        "Code system (optional)", choices=choices([("", "— none —"), ("icd-10", "ICD-10"), ("snomed-ct", "SNOMED CT")])
    )
    condition_code = StringField(
        "Condition code (optional)",
        validators=[Optional(), Length(max=32)],
        description="For example K50.9 (ICD-10) or 34000006 (SNOMED CT).",
    )
    description = TextAreaField("Description (Markdown)", validators=[Optional(), Length(max=20000)])
    guidelines = TextAreaField(
        "Guidelines members accept when joining (Markdown)", validators=[InputRequired(), Length(max=20000)]
    )
    visibility = RadioField(
        "Who can read it",
        choices=choices(
            [
                ("public", "Public — anyone can read; members post"),
                ("restricted", "Restricted — moderators approve members; others see only the name and description"),
            ]
        ),
        default="public",
    )


class JoinForm(PHIConfirmMixin, Form):
    accept_guidelines = BooleanField("I have read and accept the community guidelines")
    message = TextAreaField("Message to the moderators (optional)", validators=[Optional(), Length(max=1000)])


class DecisionForm(Form):
    decision = ButtonField(values=("approve", "deny"))
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)])


class VerificationDecisionForm(Form):
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)])
    expires_on = StringField("Verified until (optional: the licence's expiry)", validators=[Optional()])
    decision = ButtonField(values=("approve", "reject"))


class MemberRoleForm(Form):
    role = HiddenField(validators=[InputRequired()])
