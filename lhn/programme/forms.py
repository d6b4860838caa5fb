"""Programme forms: driver diagrams, learning sessions, storyboards, the change package. The rules live in the
programme services; the views fill the choices."""

from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from lhn.forms import ButtonField, Form, PHIConfirmMixin


class DiagramForm(PHIConfirmMixin, Form):
    title = StringField("Title", validators=[Optional(), Length(max=160)])  # the service says what is missing
    aim = TextAreaField(
        "Aim",
        validators=[Optional(), Length(max=500)],
        description="What will improve, for whom, by how much and by when: “Raise steroid-free remission to 80% "
        "across our sites by December 2027”.",
    )
    measure_id = SelectField("Outcome measure the aim is tracked by (optional)", choices=[])
    version = HiddenField()  # the version the owner saw: a change made meanwhile is not overwritten


class NodeForm(PHIConfirmMixin, Form):
    parent_id = SelectField("Add", choices=[])
    label = StringField("Name", validators=[Optional(), Length(max=200)])
    idea_id = SelectField(
        "The community's idea it is (change ideas)",
        choices=[],
        description="Its PDSA cycles at every site then give the change its status.",
    )
    version = HiddenField()


class EditNodeForm(PHIConfirmMixin, Form):
    label = StringField("Name", validators=[Optional(), Length(max=200)])
    idea_id = SelectField("The community's idea it is", choices=[])
    version = HiddenField()


class RemoveForm(Form):
    version = HiddenField()


class SessionForm(PHIConfirmMixin, Form):
    title = StringField("Title", validators=[Optional(), Length(max=160)])
    starts = StringField("Starts", validators=[Optional(), Length(max=20)], description="In the time zone below.")
    ends = StringField("Ends", validators=[Optional(), Length(max=20)])
    time_zone = SelectField("Time zone", choices=[], description="Yours: each reader sees the time in theirs too.")
    online = BooleanField("Online", default=True)
    location = StringField(
        "Where, or the link to join",
        validators=[Optional(), Length(max=300)],
        description="An online session's link is shown only to people with a place.",
    )
    capacity = StringField("Places (optional)", validators=[Optional(), Length(max=6)],
                           description="Empty for no cap. When it is full, people join a waiting list.")  # fmt: skip
    agenda = TextAreaField("Agenda (Markdown)", validators=[Optional(), Length(max=20000)])


class StoryboardForm(PHIConfirmMixin, Form):
    site = SelectField("Site", choices=[])
    aim = TextAreaField("Your site's aim", validators=[Optional(), Length(max=500)])
    measure_ids = SelectMultipleField(
        "Charts to show (up to 4)", choices=[], coerce=int,
        description="Drawn live on the storyboard, with the same suppression as on the measure's page.",
    )
    changes = TextAreaField("Changes you tested (Markdown)", validators=[Optional(), Length(max=20000)])
    learned = TextAreaField("What you learned (Markdown)", validators=[Optional(), Length(max=20000)])
    notes = TextAreaField(
        "Notes after the session (Markdown)",
        validators=[Optional(), Length(max=20000)],
        description="Questions asked, what other sites suggested, what you will try next.",
    )


class ProposeChangeForm(PHIConfirmMixin, Form):
    idea_id = SelectField("The adopted idea", choices=[],
                          description="Ideas a site adopted after a PDSA cycle, not yet in the package.")  # fmt: skip
    summary = TextAreaField(
        "How to make this change (Markdown)",
        validators=[Optional(), Length(max=10000)],
        description="The steps, who does what, what it takes: what another site needs to start tomorrow.",
    )


class DecisionForm(Form):
    """An owner's decision on a proposal (accept, decline) or on an accepted change (remove), with a note."""

    note = StringField("Note (needed to decline or remove)", validators=[Optional(), Length(max=500)])
    decision = ButtonField(values=("accept", "decline", "remove"))

