"""Shared form helpers: the base of every form (the input boundary for HTML forms), the field a clicked button
fills, service ValidationFailed errors on the form's fields."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, render_template
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, FloatField, IntegerField, MultipleFileField, PasswordField, StringField
from wtforms.fields.choices import SelectChoice, SelectFieldBase, SelectMultipleField
from wtforms.validators import AnyOf, InputRequired

from lhn import limits
from lhn.database import transaction
from lhn.errors import DomainError, ValidationFailed
from lhn.inputs import MAX_INT, text_problem, whole_number
from lhn.phi import PHIConfirmationRequired

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from flask import Blueprint


class Form(FlaskForm):
    """Every form's base: what lhn/inputs.py does for JSON and socket payloads. Text must be storable (no
    text-direction controls; a lone surrogate can't arrive, as werkzeug decodes forms replacing what isn't
    UTF-8) and numbers must fit the database. A failing field keeps what was typed and says why.

    A field that takes one value and arrives more than once is refused, not read from its first copy: a browser
    sends every control a page rendered, so a page that renders one name twice (`hidden_tag()` has already
    emitted each HiddenField) would otherwise act on whichever came first, which is how a clicked "Accept" once
    did nothing. The form tests (tests/forms.py) submit every form as rendered, so such a page fails a test."""

    def process(self, formdata: Any = None, obj: Any = None, data: Any = None, extra_filters: Any = None,
                **kwargs: Any) -> None:  # fmt: skip
        super().process(formdata, obj, data, extra_filters, **kwargs)
        self._sent = self.meta.wrap_formdata(self, formdata)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            problem = self._sent_twice(field) or field_problem(field)
            if problem:
                field.errors = [*field.errors, problem]
                valid = False
        # Over a rate limit (lhn.limits.refuse_forms): not sent, the text stays in the form, the wait is said.
        # A preview writes nothing, so it still shows.
        preview = getattr(self, "preview", None)
        refusal = None if preview is not None and preview.data else limits.form_refusal()
        if refusal:
            self.form_errors.append(refusal)
            valid = False
        return bool(valid)

    def _sent_twice(self, field: Field) -> str | None:
        sent = getattr(self, "_sent", None)
        if sent is None or isinstance(field, SelectMultipleField | MultipleFileField):
            return None
        if len(sent.getlist(field.name)) > 1:
            return "The page sent this twice: reload it and try again."
        return None


def field_problem(field: Field) -> str | None:
    """Why a submitted field's value can't be stored, or None."""
    data = field.data
    if isinstance(field, IntegerField) and isinstance(data, int) and not -MAX_INT - 1 <= data <= MAX_INT:
        return f"Enter a whole number up to {MAX_INT:,}."
    if isinstance(field, FloatField) and isinstance(data, float) and not math.isfinite(data):
        return "Enter a number."
    if isinstance(field, SelectFieldBase) and isinstance(data, str) and data.isdigit() and whole_number(data) is None:
        # A select of ids that takes values it didn't offer (validate_choice=False: the list can change between
        # drawing the form and sending it) still gets only numbers the database can hold.
        return "Choose one of the options."
    if isinstance(field, PasswordField):
        return None  # never shown, so it can't mislead a reader; a passphrase may hold any character
    for value in data if isinstance(data, list) else [data]:
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            return problem
    return None


def apply_errors(form: Form, exc: ValidationFailed) -> None:
    """Put each service error on its field; errors for unknown or blank fields go on the form. An error that
    says how long to wait (slow mode) sends the same wait as Retry-After."""
    limits.note_wait(exc.retry_after)
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            form.form_errors.append(message)


def show_refusal(form: Form, exc: DomainError) -> None:
    """A refusal that is about no field (RateLimited from a service) on the form as a whole; its wait goes out as
    Retry-After, and a rate limit answers 429."""
    form.form_errors.append(exc.message)
    limits.note_wait(exc.retry_after, rate_limited=exc.status == 429)


def check_submitted(form: Form) -> None:
    """For forms whose views redirect and flash what went wrong: raise the form's own field errors (direction
    controls among them) as the services raise theirs, so one `except ValidationFailed` reports both."""
    if not form.validate_on_submit():
        raise ValidationFailed({name or "": " ".join(errors) for name, errors in form.errors.items()})


def flash_errors(exc: DomainError) -> None:
    """For one-button actions that redirect: show why the action did not happen."""
    for message in getattr(exc, "errors", {}).values() or [exc.message]:
        flash(message, "error")


T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What a form's write returned, when it went through (the value may itself be None)."""

    value: T


def saved(form: Form, write: Callable[[], T]) -> Saved[T] | None:
    """The one submission step of every form view, after `form.validate_on_submit()`: run `write` (the service
    call) in one write transaction. On a refusal nothing is written and None comes back with the reasons on the
    form: each on its field, a PHI finding as `form.phi` for the confirm box, the error itself as
    `form.refusal` for pages that react to one kind of error. Re-render the page with `form_page`."""
    form.phi = None  # type: ignore[attr-defined]
    form.refusal = None  # type: ignore[attr-defined]
    try:
        with transaction():
            return Saved(write())
    except ValidationFailed as exc:
        apply_errors(form, exc)
        form.phi = exc if isinstance(exc, PHIConfirmationRequired) else None  # type: ignore[attr-defined]
        form.refusal = exc  # type: ignore[attr-defined]
        return None


Refusals = type[DomainError] | tuple[type[DomainError], ...]


def acted(form: Form, write: Callable[[], T], *, refused: Refusals = ValidationFailed) -> Saved[T] | None:
    """A one-button action that redirects afterwards (leave, approve, revoke): a form that does not validate is
    answered as `one_button_sent` says; a refusal of the `refused` kind (or kinds) is flashed and None comes back."""
    if not one_button_sent(form):
        return None
    try:
        with transaction():
            return Saved(write())
    except refused as exc:
        flash_errors(exc)
        return None


def one_button_sent(form: Form) -> bool:
    """Whether a one-button form (which redirects afterwards) validated. When what a person typed into it (a reason,
    a note) can't be taken, the reasons are flashed and False comes back; anything else that fails (a tampered
    hidden field or choice) is a 400, and so is a form over a rate limit, which lhn.limits answers with its 429."""
    if form.validate_on_submit():
        return True
    typed = [message for field in form if field.type in ("StringField", "TextAreaField") for message in field.errors]
    if form.form_errors or not typed:
        abort(400)
    for message in typed:
        flash(message, "error")
    return False


def fields_of(form: Form, fields_type: type[D]) -> D:
    """What a service takes (its fields dataclass: `MeasureFields`, `CommunityFields`, ...) from the form's fields
    of the same names: what was entered, or where nothing was, the dataclass's default ("" for one without)."""
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(fields_type):
        value = form[spec.name].data
        if value is None or value == "":
            value = "" if spec.default is dataclasses.MISSING else spec.default
        values[spec.name] = value
    return fields_type(**values)


def form_route(bp: Blueprint, rule: str, action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The route of a signed-in person's form page: GET draws the form, POST sends it under `action`'s rate limit
    (lhn.limits). One decorator instead of the three that every such page stacked, always in this order."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        limited = limits.user_rate_limited(action, methods=["POST"])(view)
        return bp.route(rule, methods=["GET", "POST"])(login_required(limited))

    return decorate


def form_page(template: str, form: Form | None, **context: Any) -> tuple[str, int]:
    """A form's page: 422 when what was sent is being shown back with errors, else 200."""
    return render_template(template, form=form, **context), form_status(form)


def form_status(form: Form | None) -> int:
    """The status of a page showing `form`: 422 when what was sent is shown back with its errors, else 200."""
    return 422 if form is not None and (form.errors or form.form_errors) else 200


class ButtonField(StringField):
    """The value of the submit button a person clicked: `<button type="submit" name="decision" value="accept">`.
    Render it as the buttons themselves, never as a hidden input: it isn't a HiddenField, so `hidden_tag()`
    leaves it out and the clicked button's value is the only one sent. Anything but one of `values` is refused."""

    def __init__(self, label: str | None = None, *, values: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(label, validators=[InputRequired(), AnyOf(values)], **kwargs)
        self.values = values


class ActionForm(Form):
    """A button that POSTs with nothing but the CSRF token (leave, revoke, log out)."""


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Options for a SelectField or RadioField from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


class PHIConfirmMixin:
    """Add to a Form whose text goes through lhn.phi.check (posts, answers, comments, chat):
    `class AnswerForm(PHIConfirmMixin, Form)`. Render it with `_macros/phi.html`'s phi_confirm."""

    confirm_phi = BooleanField("I checked it: I want to share this as written")
