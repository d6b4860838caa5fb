"""The one input boundary: JSON bodies, query strings, form fields and socket payloads become typed values
here (ids that fit the database, text that is text, bounded nesting, no lone surrogates or direction
overrides), or a DomainError that answers the documented error format with `fields`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Final, overload

from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from lhn import phi
from lhn.errors import DomainError, ValidationFailed

# The largest integer both databases store in an INTEGER column: PostgreSQL's holds 4 bytes (SQLite's 8), and every
# id and count here is one. PostgreSQL refuses to compare an INTEGER with a larger number ("out of range").
MAX_INT: Final = 2**31 - 1
MAX_NUMBER: Final = 2**63 - 1  # a decimal's magnitude (data values, targets): stored as double precision, not INTEGER
MAX_DEPTH: Final = 4  # objects and arrays inside a body: every endpoint needs at most 3 (FHIR passes its own)
FHIR_MAX_DEPTH: Final = 16  # a Bundle's MeasureReport counts sit 9 levels down (entry.resource.group.population...), a
# stratum's 15 (...group.stratifier.stratum.population.code.coding)

# A lone surrogate can't be encoded as UTF-8, so the database driver fails on it. Direction overrides,
# embeddings and isolates can make text display in a different order from how it reads (CVE-2021-42574,
# "Trojan Source"): refused in names and messages. The marks U+200E/U+200F that right-to-left writers
# use are allowed.
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")

_REQUIRED: Final = object()


class BadInput(DomainError, status=400, message="Send a JSON object with Content-Type: application/json."):
    """A body that isn't the JSON the endpoint takes (malformed, too deeply nested, not an object): 400."""


def text_problem(value: str) -> str | None:
    """Why a piece of user text can't be stored, or None when it can."""
    if "\x00" in value:  # PostgreSQL refuses one in any query, a lookup as much as a write
        return "This contains a NUL character (U+0000); remove it."
    if _SURROGATE.search(value):
        return "This contains an invalid character (a lone UTF-16 surrogate); remove it."
    if _BIDI_CONTROL.search(value):
        return "This contains invisible text-direction controls (U+202A–U+202E, U+2066–U+2069); remove them."
    return None


def check_strings(value: Any, path: str = "", *, max_depth: int = MAX_DEPTH, _depth: int = 0) -> None:
    """Walk a parsed payload: refuse nesting beyond `max_depth` (BadInput) and unstorable text anywhere,
    keys included (ValidationFailed naming the field, e.g. "evidence.0")."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationFailed({path: problem})
        return
    if not isinstance(value, dict | list):
        return
    if _depth >= max_depth:
        raise BadInput(f"The body nests objects or arrays more than {max_depth} levels deep.")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        name = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and text_problem(key):
            raise ValidationFailed({name: "This field name contains an invalid character."})
        check_strings(item, name, max_depth=max_depth, _depth=_depth + 1)


def json_object(*, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The request's JSON object, checked by check_strings. BadInput (400) when the body is not a JSON
    object (or nests deeper than `max_depth`); ValidationFailed (422) for unstorable text."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, RecursionError):  # RecursionError: "[" * 100000
        data = None
    if not isinstance(data, dict):
        raise BadInput()
    check_strings(data, max_depth=max_depth)
    return data


def payload(data: Any, *required: str) -> dict[str, Any]:
    """A socket event's payload: a JSON object holding the `required` keys, checked by check_strings."""
    if not isinstance(data, dict):
        raise ValidationFailed({"": "Send a JSON object."}, "Malformed event payload.")
    check_strings(data)
    missing = [name for name in required if name not in data]
    if missing:
        raise ValidationFailed(dict.fromkeys(missing, "Required."), "Malformed event payload.")
    return data


# --- fields of a parsed object ------------------------------------------------------------------------
# Each reader takes the field `name` of a parsed object. `default`: the value when the field is null, and
# when it is absent (an optional field); without one, the field is required and null is refused.
# `missing`: the value when the field is absent, when that differs:
# - a required field whose absence the service reports itself, with its other checks, so that one answer
#   names every missing field: `text(data, "title", missing="")` (null is still refused);
# - on a PATCH, a field that can be cleared: `ident(data, "idea_id", None, missing=current)` (null clears).
# Nothing is coerced: a number is not text, "1" is not a number, 1 is not true.


def _sent(data: dict[str, Any], name: str, default: Any, missing: Any) -> tuple[bool, Any]:
    """(True, the value sent), or (False, the value to use instead) for an absent or null field."""
    if name not in data and missing is not _REQUIRED:
        return False, missing
    value = data.get(name)
    if value is None:
        if default is _REQUIRED:
            raise ValidationFailed({name: "Required." if name not in data else "This can't be null."})
        return False, default
    return True, value


def text(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED) -> Any:
    """A string field (its content is the service's to judge)."""
    sent, value = _sent(data, name, default, missing)
    if sent and not isinstance(value, str):
        raise ValidationFailed({name: "Send text (a JSON string)."})
    return value


def integer(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED,
            minimum: int = 0, maximum: int = MAX_INT) -> Any:  # fmt: skip
    """A whole number in [minimum, maximum] (JSON numbers only: no strings, no booleans, no 2.0)."""
    sent, value = _sent(data, name, default, missing)
    if not sent:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed({name: "Send a whole number."})
    if not minimum <= value <= maximum:
        raise ValidationFailed({name: f"Send a whole number from {minimum:,} to {maximum:,}."})
    return value


def ident(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED) -> Any:
    """The id of a stored thing: a whole number from 1 that fits the database."""
    return integer(data, name, default, missing=missing, minimum=1)


def boolean(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED) -> Any:
    sent, value = _sent(data, name, default, missing)
    if sent and not isinstance(value, bool):
        raise ValidationFailed({name: "Send true or false."})
    return value


def phi_confirmed(data: dict[str, Any]) -> bool:
    """The PHI guard's confirmation in a JSON body or socket payload: `confirm_phi: true` (absent: false)."""
    return bool(boolean(data, phi.CONFIRM_FIELD, False))


def number(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED) -> Any:
    """A finite JSON number (integer or decimal; not a boolean) of magnitude up to MAX_NUMBER."""
    sent, value = _sent(data, name, default, missing)
    if not sent:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) == float("inf"):
        raise ValidationFailed({name: "Send a number."})
    if abs(value) > MAX_NUMBER:
        raise ValidationFailed({name: "This number is too large."})
    return value


def text_list(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, missing: Any = _REQUIRED,
              max_items: int = 100) -> Any:  # fmt: skip
    sent, value = _sent(data, name, default, missing)
    if not sent:
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed({name: "Send a list of strings."})
    if len(value) > max_items:
        raise ValidationFailed({name: f"Send at most {max_items} items."})
    return value


def ident_list(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, max_items: int = 500) -> Any:
    sent, value = _sent(data, name, default, _REQUIRED)
    if not sent:
        return value
    if not isinstance(value, list):
        raise ValidationFailed({name: "Send a list of ids."})
    if len(value) > max_items:
        raise ValidationFailed({name: f"Send at most {max_items} ids."})
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_INT:
            raise ValidationFailed({name: "Send a list of ids (whole numbers from 1)."})
    return value


def text_map(data: dict[str, Any], name: str, default: Any = _REQUIRED, *, max_items: int = 50) -> Any:
    """An object of texts (a post's sections). A null entry is left out, as an absent one would be."""
    sent, value = _sent(data, name, default, _REQUIRED)
    if not sent:
        return value
    if not isinstance(value, dict) or not all(v is None or isinstance(v, str) for v in value.values()):
        raise ValidationFailed({name: "Send an object of texts."})
    if len(value) > max_items:
        raise ValidationFailed({name: f"Send at most {max_items} entries."})
    return {key: v for key, v in value.items() if v is not None}


def choice(data: dict[str, Any], name: str, options: Iterable[str], default: Any = _REQUIRED) -> Any:
    """One of `options` (strings)."""
    value = text(data, name, default)
    allowed = list(options)
    if data.get(name) is not None and value not in allowed:
        raise ValidationFailed({name: f"Choose one of: {', '.join(allowed)}."})
    return value


# --- query strings ------------------------------------------------------------------------------------


def arg_text(name: str, default: str = "", *, max_length: int = 500) -> str:
    """A query-string value. Werkzeug decoded it as UTF-8, replacing what wasn't, so no lone surrogate gets
    here; direction overrides are refused as in bodies (nothing stored can contain one, so no search needs it)."""
    value = request.args.get(name, default)
    if len(value) > max_length:
        raise ValidationFailed({name: f"Use at most {max_length} characters."})
    problem = text_problem(value)
    if problem:
        raise ValidationFailed({name: problem})
    return value


def arg_cursor() -> str | None:
    """`cursor`: the opaque `next_cursor` of the previous page (its values are checked when it is decoded)."""
    return arg_text("cursor", max_length=1000) or None


@overload
def arg_choice(name: str, options: Iterable[str], default: str) -> str: ...
@overload
def arg_choice(name: str, options: Iterable[str], default: None) -> str | None: ...
def arg_choice(name: str, options: Iterable[str], default: str | None) -> str | None:
    """One of `options`, or `default` when absent or empty."""
    value = arg_text(name)
    allowed = list(options)
    if value and value not in allowed:
        raise ValidationFailed({name: f"Choose one of: {', '.join(allowed)}."})
    return value or default


def arg_date(name: str) -> date | None:
    """A date like 2026-11-30, or None when absent or empty."""
    value = arg_text(name, max_length=10)
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # fromisoformat also takes 20261130 and 2026-W48-1
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed({name: "Use a date like 2026-11-30."}) from None


def arg_bool(name: str) -> bool:
    """A yes/no switch: 1 or true, 0 or false; absent or empty is false."""
    value = arg_text(name).lower()
    if value not in ("", "0", "1", "false", "true"):
        raise ValidationFailed({name: "Send 1 or 0 (or true or false)."})
    return value in ("1", "true")


def whole_number(text: str, *, signed: bool = False) -> int | None:
    """`text` as a whole number the database holds (ASCII digits, a leading minus if `signed`, magnitude up to
    MAX_INT), else None. int() alone takes " 7", "1_0" and "٣", and raises on "²" or 4,301 digits."""
    digits = text.removeprefix("-") if signed else text
    if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_INT))):
        return None
    value = int(text)
    return value if abs(value) <= MAX_INT else None


def arg_int(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """A whole number in the query string (digits only), or `default` when absent or empty."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    value = whole_number(raw)
    if value is None or not minimum <= value <= maximum:
        raise ValidationFailed({name: f"Send a whole number from {minimum:,} to {maximum:,}."})
    return value


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in URLs: a number too large for the database is no such page (404), not an error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        # Not found at once: werkzeug would try the route's other rules, and answer 405 for a PATCH to
        # /posts/<too big> because GET and DELETE match the path (no route has a text part where an id is).
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def future_date(value: str | date | None, name: str, *, today: date, within_years: int | None = None,
                example: str = "2027-03-31") -> date | None:  # fmt: skip
    """An optional date that must lie after `today` (a review-by date, a licence's expiry): None when empty.
    Raises ValidationFailed({name: ...}) for anything else."""
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed({name: f"Use a date like {example}, or leave it empty."}) from None
    if value <= today:
        raise ValidationFailed({name: "Choose a date in the future."})
    if within_years is not None and value > today + timedelta(days=366 * within_years):
        raise ValidationFailed({name: f"Choose a date within {within_years} years."})
    return value
