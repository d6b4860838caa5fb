"""Account forms. Field rules live in accounts.services; forms add CSRF and input hints."""

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from lhn.accounts.models import InstitutionKind, Role
from lhn.forms import ButtonField, Form, PHIConfirmMixin, choices

ROLE_CHOICES = choices(
    [
        (Role.PATIENT.value, "Patient — I live with the condition"),
        (Role.CAREGIVER.value, "Caregiver — parent, partner or family"),
        (Role.CLINICIAN.value, "Clinician — I provide care (verify to get a verified badge)"),
        (Role.RESEARCHER.value, "Researcher (verify to get a verified badge)"),
        (Role.OTHER.value, "Other"),
    ]
)


class RegisterForm(Form):
    email = EmailField("Email", validators=[InputRequired(), Length(max=254)])
    username = StringField(
        "Username", validators=[InputRequired(), Length(min=3, max=30)],
        description="3–30 letters, digits or underscores. Used in @mentions and your profile address.",
    )  # fmt: skip
    display_name = StringField(
        "Display name", validators=[InputRequired(), Length(max=60)],
        description="What others see. A pseudonym is welcome: you don't have to use your real name.",
    )  # fmt: skip
    confirm_real_name = BooleanField("Yes, show this name to my communities")
    password = PasswordField(
        "Password", validators=[InputRequired(), Length(max=256)],
        description="At least 8 characters. A passphrase of a few words is easy to remember.",
    )  # fmt: skip
    role = SelectField("I am a", choices=ROLE_CHOICES, validators=[InputRequired()])
    institution = SelectField("Institution (optional)", choices=[], validate_choice=False)


class LoginForm(Form):
    login = StringField("Username or email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=256)])
    remember = BooleanField("Keep me logged in on this device")


class ProfileForm(PHIConfirmMixin, Form):
    display_name = StringField("Display name", validators=[InputRequired(), Length(max=60)])
    confirm_real_name = BooleanField("Yes, show this name to my communities")
    role = SelectField("I am a", choices=ROLE_CHOICES, validators=[InputRequired()])
    institution = SelectField("Institution (optional)", choices=[], validate_choice=False)
    bio = TextAreaField(
        "About you (optional, Markdown)", validators=[Optional(), Length(max=2000)],
        description="Don't share details that identify you or others, such as dates of birth or record numbers.",
    )  # fmt: skip
    show_presence = BooleanField(
        "Show me as online in chat",
        description="Untick to chat without appearing in “who is online” (typing then shows as “someone”).",
    )


class PasswordForm(Form):
    current_password = PasswordField("Current password", validators=[InputRequired()])
    new_password = PasswordField("New password", validators=[InputRequired(), Length(max=256)])


class ForgotPasswordForm(Form):
    email = EmailField("Your account's email address", validators=[InputRequired(), Length(max=254)])


class ResetPasswordForm(Form):
    new_password = PasswordField(
        "New password", validators=[InputRequired(), Length(max=256)],
        description="At least 8 characters. A passphrase of a few words is easy to remember.",
    )  # fmt: skip


class EmailChangeForm(Form):
    new_email = EmailField("New email address", validators=[InputRequired(), Length(max=254)])
    current_password = PasswordField("Current password", validators=[InputRequired(), Length(max=256)])


class VerificationForm(Form):
    licence_number = StringField("Licence or registration number", validators=[Optional(), Length(max=60)])
    licence_issuer = StringField(
        "Issuing body", validators=[Optional(), Length(max=160)], description="For example GMC, a state medical board."
    )
    institutional_email = EmailField("Institutional email", validators=[Optional(), Length(max=254)])
    orcid = StringField("ORCID iD", validators=[Optional(), Length(max=40)], description="Like 0000-0002-1825-0097.")
    statement = TextAreaField("Anything the reviewer should know", validators=[Optional(), Length(max=2000)])


class TokenForm(Form):
    name = StringField(
        "Token name",
        validators=[InputRequired(), Length(max=80)],
        description="What will use it, e.g. 'site data upload script'.",
    )


class InstitutionForm(Form):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    slug = StringField("Short address", validators=[InputRequired(), Length(max=80)])
    kind = SelectField("Kind", choices=choices([(k.value, k.label) for k in InstitutionKind]))
    city = StringField("City", validators=[Optional(), Length(max=120)])
    country = StringField("Country", validators=[Optional(), Length(max=120)])


class RevokeVerificationForm(Form):
    reason = TextAreaField("Reason (the person sees it, and it stays in the decision history)",
                           validators=[Optional(), Length(max=500)])  # fmt: skip


class VerifierForm(Form):
    appoint = ButtonField(values=("1", "0"))  # the button: "1" appoint, "0" end the appointment
