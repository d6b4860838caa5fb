"""Chat forms. The rules live in chat.services."""

from __future__ import annotations

import uuid

from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lhn.accounts.models import Role
from lhn.forms import Form, PHIConfirmMixin, choices


class MessageForm(PHIConfirmMixin, Form):
    """Posting without JavaScript. The client id is made when the form is drawn, so a double submit
    (or the browser resending the form) stores the message once. The PHI guard's confirmation box shows
    only after the guard found something."""

    client_id = HiddenField(default=lambda: uuid.uuid4().hex)
    body = TextAreaField("Message", validators=[InputRequired(), Length(max=4000)])


class ChannelForm(Form):
    name = StringField(
        "Channel name", validators=[InputRequired(), Length(max=40)],
        description="Lowercase letters, digits and hyphens, like clinicians-only.",
    )  # fmt: skip
    topic = StringField("Topic (optional)", validators=[Optional(), Length(max=250)])
    roles = SelectMultipleField(
        "Only for these roles (leave all unticked for every member)",
        choices=choices([(r.value, r.label + "s") for r in Role]),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
        description="Moderators can always read every channel, to moderate it.",
    )


class HideForm(Form):
    reason = StringField("Reason readers will see", validators=[InputRequired(), Length(max=300)])


def _slow_mode_label(seconds: int) -> str:
    if not seconds:
        return "Off"
    from lhn.chat.services import describe_seconds

    return f"One message every {describe_seconds(seconds)}"


class SlowModeForm(Form):
    seconds = SelectField("Slow mode", coerce=int, validators=[InputRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        from lhn.chat.services import SLOW_MODE_CHOICES

        super().__init__(*args, **kwargs)
        self.seconds.choices = [(s, _slow_mode_label(s)) for s in SLOW_MODE_CHOICES]
