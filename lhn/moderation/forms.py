"""Moderation forms. The rules live in lhn.moderation.services."""

from typing import Any

from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lhn import inputs
from lhn.forms import Form, PHIConfirmMixin, choices
from lhn.moderation.models import FlagReason, ReviewKind, ReviewStatus
from lhn.moderation.mydata import DELETE_MODES


class FlagForm(PHIConfirmMixin, Form):
    reason = RadioField(
        "What is wrong?",
        choices=choices([(r.value, r.label) for r in FlagReason]),
        validators=[InputRequired(message="Choose a reason.")],
    )
    details = TextAreaField(
        "Details for the moderators",
        validators=[Optional(), Length(max=1000)],
        description="Required for 'Something else'. Only moderators read this.",
    )
    community = SelectField("Where did this happen?", validate_choice=False)


class ReviewActionForm(Form):
    action = HiddenField(validators=[InputRequired()])
    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])
    mute_days = SelectField("Mute for", validate_choice=False)
    suspend_days = SelectField("Suspend for", validate_choice=False)
    hide_target = BooleanField("Also hide the content")
    fragments = SelectMultipleField(
        "Remove these", option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False), validate_choice=False
    )
    other_fragments = TextAreaField(
        "Other text to remove (one per line, exactly as written)", validators=[Optional(), Length(max=2000)]
    )
    revision_id = IntegerField("Revision (leave empty for the current text)", validators=[Optional()])


class RedactOwnForm(Form):
    """An author removes personal details from one version of their post or answer (the History page)."""

    fragments = SelectMultipleField(
        "Remove these", option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False), validate_choice=False
    )
    other_fragments = TextAreaField(
        "Other text to remove (one per line, exactly as written)", validators=[Optional(), Length(max=2000)]
    )


class SettingsForm(Form):
    flag_hide_threshold = FloatField(
        "Hide flagged content when the flags weigh at least",
        validators=[InputRequired()],
        description="A member's flag weighs 1, a verified clinician's or researcher's 2; members whose past "
        "flags were upheld weigh more, those often dismissed less (down to 0.5). Default 3.",
    )
    moderators_may_vet = BooleanField(
        "Moderators may vet answers",
        description="Off by default: answers are vetted by verified clinicians and researchers who are members, and "
        "moderators curate (unvet, ask for re-reviews). When on, a moderator's seal says they are a moderator, not "
        "a clinician.",
    )


class DeleteAccountForm(Form):
    password = PasswordField("Your password", validators=[InputRequired()])
    mode = RadioField(
        "What you wrote", choices=choices(list(DELETE_MODES.items())), default="keep", validators=[InputRequired()]
    )
    confirm = BooleanField(
        "I understand this can't be undone", validators=[InputRequired(message="Tick the box to confirm.")]
    )


def queue_filters() -> dict[str, Any]:
    """A review queue's filters from the query string (the queue page's GET form, and the API): kind, status
    and cursor, as list_review_queue takes them. Raises ValidationFailed."""
    return {
        "kind": inputs.arg_choice("kind", [k.value for k in ReviewKind], ""),
        "status": inputs.arg_choice("status", [s.value for s in ReviewStatus], "open"),
        "cursor": inputs.arg_cursor(),
    }
