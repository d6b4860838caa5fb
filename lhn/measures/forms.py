"""Measure forms. The rules live in the measures services; choices that depend on the reader are set by views."""

from __future__ import annotations

from typing import Any

import wtforms
from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, FormField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from lhn.forms import ButtonField, Form, PHIConfirmMixin, choices, field_problem
from lhn.measures import spc
from lhn.measures.services.data import RowsInvalid
from lhn.measures.services.entry import ENTRY_PERIODS, EntryGrid
from lhn.plurals import noun, plural

TYPES = choices(
    [
        ("proportion", "Proportion — numerator within a denominator (e.g. % of patients in remission)"),
        ("rate", "Rate — events per exposure (e.g. infections per 1,000 patient-days)"),
        ("count", "Count — events with a constant opportunity (e.g. admissions per month)"),
        ("continuous", "Continuous — a mean value and how many people it is of (e.g. mean HbA1c)"),
    ]
)
PERIODS = choices([("month", "Monthly"), ("week", "Weekly"), ("quarter", "Quarterly")])
IMPROVEMENT = choices([("up", "Higher is better"), ("down", "Lower is better")])
RULE_SETS = choices(list(spc.RULESETS.items()))


class MeasureForm(Form):
    name = StringField("Name", validators=[Optional(), Length(max=160)])  # the service says what is missing
    type = RadioField("Type", choices=TYPES, default="proportion")
    period = SelectField("Reporting period", choices=PERIODS, default="month")
    improvement = SelectField("Improvement direction", choices=IMPROVEMENT, default="up")
    unit = StringField(
        "Unit",
        validators=[Optional(), Length(max=60)],
        description="What a value is in, e.g. “% of patients”, “per 1,000 patient-days”, “mmol/mol”.",
    )
    multiplier = StringField(
        "Display multiplier",
        validators=[Optional()],
        description="Values are shown multiplied by this: 100 shows a proportion as a percentage; "
        "1000 a rate per 1,000. Leave empty for the usual choice.",
    )
    target = StringField("Target (optional)", validators=[Optional()], description="In the displayed unit.")
    description = TextAreaField(
        "Definition (Markdown)",
        validators=[Optional(), Length(max=20000)],
        description="Who is counted, what counts as the event, exclusions.",
    )
    data_source = TextAreaField(
        "Data source",
        validators=[Optional(), Length(max=20000)],
        description="Where sites take the numbers from (registry, EHR report, survey).",
    )
    rule_set = SelectField("Rules for signals", choices=RULE_SETS, default=spc.DEFAULT_RULESET)
    baseline_points = StringField(
        "Baseline points (optional)",
        validators=[Optional()],
        description="Compute limits from the first N points of each phase and freeze them; "
        "empty uses every point of a phase.",
    )
    stratifiers = TextAreaField(
        "Equity strata (optional)",
        validators=[Optional(), Length(max=2000)],
        description="One stratifier a line, its code then its strata, e.g. “age_band: 0-11, 12-17, 18+” or "
        "“sex (Sex recorded): female, male”. A Not recorded stratum is always added.",
    )


class DataForm(Form):
    site = SelectField("Site", choices=[])
    period = StringField("Period", validators=[InputRequired(), Length(max=10)])
    first = StringField("Numerator", validators=[InputRequired(), Length(max=30)])
    second = StringField("Denominator", validators=[Optional(), Length(max=30)])


class EntryRowForm(wtforms.Form):
    """One period's row of the entry grid: a plain sub-form, EntryGridForm's CSRF token covers its rows."""

    period = HiddenField()
    first = StringField(validators=[Optional(), Length(max=30)])
    second = StringField(validators=[Optional(), Length(max=30)])


class EntryGridForm(Form):
    """Many periods of one site at once: the site and a row per period (`first` and `second` are the measure type's
    fields, as in DataForm)."""

    site = HiddenField(validators=[InputRequired()])
    rows = FieldList(FormField(EntryRowForm), max_entries=ENTRY_PERIODS)

    @classmethod
    def of(cls, grid: EntryGrid) -> EntryGridForm:
        """The form for a grid as stored: each row prefilled with the current value."""
        rows = [{"period": r.period, "first": r.values[0], "second": r.values[1] if len(r.values) > 1 else ""}
                for r in grid.rows]  # fmt: skip
        return cls(formdata=None, data={"site": grid.site.slug, "rows": rows})

    def validate(self, extra_validators: Any = None) -> bool:
        """The base checks (lhn.forms.Form) on the rows' fields too: text that can be stored, nothing sent twice."""
        valid = super().validate(extra_validators)
        for row in self.rows:
            for field in row.form:
                problem = self._sent_twice(field) or field_problem(field)
                if problem:
                    field.errors = [*field.errors, problem]
                    valid = False
        return valid

    def entries(self, width: int) -> list[tuple[str, list[str]]]:
        """(period, the type's fields as typed) per row, for measures.enter_rows."""
        return [(row.form.period.data or "", [row.form.first.data or "", row.form.second.data or ""][:width])
                for row in self.rows]  # fmt: skip

    def show_row_errors(self, exc: RowsInvalid, names: tuple[str, ...]) -> None:
        """Each problem beside its cell (a value), on its row (its period or site), or on the form (the whole); above
        the grid, how many rows need fixing."""
        rows = len({e.line for e in exc.row_errors if e.line is not None})
        if rows:
            self.form_errors.append(f"Nothing was saved: {plural(rows, 'row')} {noun(rows, 'needs', 'need')} fixing.")
        for error in exc.row_errors:
            if error.line is None or not 1 <= error.line <= len(self.rows):
                self.form_errors.append(error.message)
                continue
            row = self.rows[error.line - 1].form
            cells = dict(zip(names, (row.first, row.second), strict=False))
            target = cells.get(error.field, row.period)
            target.errors = [*target.errors, error.message]

    @property
    def has_errors(self) -> bool:
        """Anything to show: the form's own errors, or a row's (added after validation, so not in `errors`)."""
        return bool(self.errors) or any(field.errors for row in self.rows for field in row.form)


class StratumRowForm(wtforms.Form):
    """One stratum's row of a site's breakdown: a plain sub-form, StrataForm's CSRF token covers its rows."""

    stratum = HiddenField()
    first = StringField(validators=[Optional(), Length(max=30)])
    second = StringField(validators=[Optional(), Length(max=30)])


class StrataForm(Form):
    """A site's breakdown of one period by one stratifier: a row per stratum (`first` and `second` are the measure
    type's fields, as in DataForm)."""

    site = SelectField("Site", choices=[])
    period = StringField("Period", validators=[InputRequired(), Length(max=10)])
    rows = FieldList(FormField(StratumRowForm), max_entries=16)

    def validate(self, extra_validators: Any = None) -> bool:
        """The base checks (lhn.forms.Form) on the rows' fields too: text that can be stored."""
        valid = super().validate(extra_validators)
        for row in self.rows:
            for field in row.form:
                problem = field_problem(field)
                if problem:
                    field.errors = [*field.errors, problem]
                    valid = False
        return valid

    def values(self, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """{stratum: {field: text}} for measures.record_strata."""
        out = {}
        for row in self.rows:
            typed = [row.form.first.data or "", row.form.second.data or ""][: len(names)]
            out[row.form.stratum.data or ""] = dict(zip(names, typed, strict=True))
        return out


class UploadForm(Form):
    file = FileField("CSV file")
    csv_text = HiddenField()


class FhirImportForm(Form):
    file = FileField("FHIR Bundle (JSON)")


class ConsentForm(Form):
    site = HiddenField(validators=[InputRequired()])
    decision = ButtonField(values=("give", "withdraw"))
    agree = BooleanField("We agree to the statement above")


class InviteForm(Form):
    username = StringField("Username", validators=[InputRequired(), Length(max=40)])


class LeadForm(Form):
    # Its own ids: the owners page shows it beside InviteForm, whose "Username" label would otherwise name both.
    username = StringField("Username", validators=[InputRequired(), Length(max=40)], id="lead-username")
    site = SelectField("Site", choices=[], id="lead-site")


class AnswerForm(Form):
    decision = ButtonField(values=("accept", "decline"))


class PdsaForm(PHIConfirmMixin, Form):
    # What a cycle must have (title, start, prediction) is the service's rule: it names every missing field in
    # one answer, where required validators here would stop at the first round and hide the rest.
    site = SelectField("Site", choices=[])
    title = StringField("Change being tested", validators=[Optional(), Length(max=160)])
    idea_id = SelectField("Idea it tests (optional)", choices=[], validate_choice=False)
    started_on = StringField("Started on", validators=[Optional()], description="YYYY-MM-DD")
    plan = TextAreaField("Plan: who, what, when, where (Markdown)", validators=[Optional(), Length(max=20000)])
    prediction = TextAreaField("Prediction: what do you expect to happen?", validators=[Optional(), Length(max=20000)])
    do_notes = TextAreaField("Do: what happened, observations", validators=[Optional(), Length(max=20000)])
    study = TextAreaField("Study: compare the results with the prediction", validators=[Optional(), Length(max=20000)])


class CloseForm(PHIConfirmMixin, Form):
    act = RadioField(
        "Act",
        choices=choices(
            [
                ("adopt", "Adopt — make it standard work"),
                ("adapt", "Adapt — change it and test again"),
                ("abandon", "Abandon — it didn't work"),
            ]
        ),
    )
    act_notes = TextAreaField("What did you learn? (Markdown)", validators=[Optional(), Length(max=20000)])
    ended_on = StringField("Ended on", validators=[Optional()], description="YYYY-MM-DD")


class NoteForm(PHIConfirmMixin, Form):
    site = SelectField("Chart", choices=[])
    on = StringField("Date", validators=[Optional()], description="YYYY-MM-DD")
    text = StringField("Note", validators=[Optional(), Length(max=500)])


class PhaseForm(PHIConfirmMixin, Form):
    site = SelectField("Chart", choices=[])
    # ids of their own: the phase and exclusion forms share a page and their field names.
    period = StringField("New phase from", id="phase-period", validators=[Optional(), Length(max=10)])
    reason = StringField("Reason (the change adopted)", id="phase-reason", validators=[Optional(), Length(max=500)])


class ExclusionForm(PHIConfirmMixin, Form):
    site = SelectField("Chart", choices=[])
    period = StringField("Leave out the point of", id="exclusion-period", validators=[Optional(), Length(max=10)])
    reason = StringField(
        "Special cause (what made it different)", id="exclusion-reason", validators=[Optional(), Length(max=500)]
    )
