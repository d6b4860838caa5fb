"""Shared form helpers: service ValidationFailed errors land on the form's fields."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.fields.choices import SelectChoice

from lhn.errors import DomainError, ValidationFailed


def apply_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put each service error on its field; errors for unknown or blank fields go on the form."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            form.form_errors.append(message)


def flash_errors(exc: DomainError) -> None:
    """For one-button actions that redirect: show why the action did not happen."""
    for message in getattr(exc, "errors", {}).values() or [exc.message]:
        flash(message, "error")


class ActionForm(FlaskForm):
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
    """Add to a FlaskForm whose text goes through lhn.phi.check (posts, answers, comments, chat):
    `class AnswerForm(PHIConfirmMixin, FlaskForm)`. Render it with `_macros/phi.html`'s phi_confirm."""

    confirm_phi = BooleanField("I checked it: I want to share this as written")
