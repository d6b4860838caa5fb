"""The programme blueprint and what its pages share."""

from __future__ import annotations

from flask import Blueprint

from lhn.inputs import whole_number

bp = Blueprint("programme", __name__)


def id_or_none(value: str | None) -> int | None:
    """A chosen option's id ("" is none); selects only offer ids, which the services check again."""
    return whole_number(value or "")
