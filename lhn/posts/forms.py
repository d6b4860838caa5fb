"""Post forms. The rules live in the posts services; these only carry what people typed."""

from __future__ import annotations

from typing import Any

from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lhn import inputs
from lhn.forms import Form, PHIConfirmMixin, choices
from lhn.posts.models import IdeaStatus, PostKind
from lhn.posts.services import CALL_ROLES, PERIODS, SECTIONS, VIEWS
from lhn.posts.services.common import ANSWER_MAX, COMMENT_MAX, POST_BODY_MAX, REASON_MAX, TITLE_MAX
from lhn.posts.services.posts import Section

TITLE_HELP = {
    PostKind.QUESTION: "One sentence that asks the question, e.g. “How do you handle school trips during a flare?”",
    PostKind.IDEA: "Name the change, e.g. “Offer a nurse phone line after infusions”.",
    PostKind.EXPERIENCE: "What you did and where, e.g. “How we halved infusion waits at a 12-bed day unit”.",
    PostKind.CALL: "The study or project, e.g. “Sites wanted for a diet therapy trial”.",
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _PostForm(PHIConfirmMixin, Form):
    title = StringField("Title", validators=[Optional(), Length(max=TITLE_MAX + 50)])
    tags = StringField("Tags (optional)", validators=[Optional(), Length(max=300)],
                       description="Up to five, separated by spaces or commas: lowercase letters, digits and "
                       "hyphens, e.g. school diet-therapy.")  # fmt: skip
    preview = SubmitField("Preview")
    submit = SubmitField("Post")


def _section_field(section: Section) -> TextAreaField:
    label = section.label if section.required else f"{section.label} (optional)"
    return TextAreaField(label, description=section.help, validators=[Optional(), Length(max=POST_BODY_MAX)],
                         render_kw={"rows": section.rows, "data-markdown": "1"})  # fmt: skip


def _form_class(kind: PostKind) -> type[_PostForm]:
    attrs = {s.name: _section_field(s) for s in SECTIONS[kind]}
    if kind == PostKind.CALL:
        attrs["roles"] = MultiCheckboxField("Roles sought", choices=choices(CALL_ROLES), validate_choice=False)
        attrs["other_roles"] = StringField("Other roles (optional)", validators=[Optional(), Length(max=300)])
        attrs["deadline"] = StringField("Answer by", render_kw={"type": "date"},
                                        description="The last day people can say they're interested.")  # fmt: skip
    if kind == PostKind.EXPERIENCE:
        attrs["linked_idea_id"] = SelectField("The idea this put into practice (optional)", validate_choice=False)
    return type(f"{kind.value.capitalize()}Form", (_PostForm,), attrs)


POST_FORMS: dict[PostKind, type[_PostForm]] = {kind: _form_class(kind) for kind in PostKind}


class AnswerForm(PHIConfirmMixin, Form):
    body = TextAreaField("Your answer", validators=[Optional(), Length(max=ANSWER_MAX + 1000)],
                         render_kw={"rows": 8, "data-markdown": "1"},
                         description="Share what you know or did. Cite evidence (a DOI, PMID or guideline link) "
                         "for clinical claims. Markdown works.")  # fmt: skip
    submit = SubmitField("Post answer")


class CommentForm(PHIConfirmMixin, Form):
    body = TextAreaField("Comment", validators=[Optional(), Length(max=COMMENT_MAX + 500)], render_kw={"rows": 2})
    answer_id = HiddenField()


class VetForm(Form):
    note = TextAreaField("Note", render_kw={"rows": 2}, validators=[Optional(), Length(max=2000)],
                         description="Why this answer can be trusted, in a sentence or two.")  # fmt: skip
    evidence = TextAreaField("Evidence", render_kw={"rows": 3}, validators=[Optional(), Length(max=3000)],
                             description="One per line: a DOI (10.1093/ecco-jcc/jjaa161), a PMID (31758784) or a "
                             "guideline's web address.")  # fmt: skip
    review_by = StringField("Review by (optional)", render_kw={"type": "date"},
                            description="When this answer should be checked again, e.g. when a guideline is "
                            "due.")  # fmt: skip


class ReasonForm(Form):
    reason = TextAreaField("Reason", render_kw={"rows": 2}, validators=[Optional(), Length(max=REASON_MAX + 500)])


class StatusForm(Form):
    status = SelectField("New status", choices=choices([(s.value, s.label) for s in IdeaStatus]), validate_choice=False)
    reason = TextAreaField("Reason (shown on the timeline)", render_kw={"rows": 2},
                           validators=[Optional(), Length(max=REASON_MAX + 500)])  # fmt: skip


class InterestForm(Form):
    message = TextAreaField("A line about you", render_kw={"rows": 2}, validators=[Optional(), Length(max=1000)],
                            description="Who you are and why you'd like to take part. The author sees it with "
                            "your badge.")  # fmt: skip


class ValueForm(Form):
    """Votes and decisions: one hidden value."""

    value = HiddenField(validators=[InputRequired()])


class SlowModeForm(Form):
    """Moderators: one answer or comment per person per interval on a post's thread (0 turns it off)."""

    seconds = IntegerField("Seconds between writes (0: off)", validators=[InputRequired(), NumberRange(min=0)])


def list_filters() -> dict[str, Any]:
    """A post list's filters from the query string (the list page's GET form, and the API's lists): kind, tag,
    view, period and cursor, as list_posts and list_feed take them. Raises ValidationFailed."""
    return {
        "kind": inputs.arg_choice("kind", [k.value for k in PostKind], None),
        "tag": inputs.arg_text("tag") or None,
        "view": inputs.arg_choice("view", VIEWS, "latest"),
        "period": inputs.arg_choice("period", PERIODS, "week"),
        "cursor": inputs.arg_cursor(),
    }
