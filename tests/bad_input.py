"""Wrong-type values for the input boundary's tests: each API module's test sends them to its write endpoints
and expects 422 validation_failed naming the field, never a 500 and never the value stored as text."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Enum, String, Text, func, select

from lhn.extensions import db

TOO_BIG = 2**31  # one more than a PostgreSQL INTEGER holds (lhn.inputs.MAX_INT)

# What each kind of field must refuse. A required field refuses null as well; an optional one reads null
# as "not given" (see lhn.inputs), so null is sent only to required fields.
WRONG: dict[str, list[Any]] = {
    "text": [12, 1.5, True, ["x"], {"a": "b"}],
    "int": ["1", 1.5, True, TOO_BIG, -1],
    "bool": ["true", 1, ["x"], {"a": "b"}],
    "number": ["1", True, ["x"], TOO_BIG * 10**10],
    "texts": ["x", [12], [None], {"a": "b"}],  # a list of strings
    "ids": ["1", [True], ["1"], [TOO_BIG], [-1]],  # a list of ids
    "text_map": ["x", ["x"], {"a": 1}, {"a": ["x"]}],  # an object of strings
    "vote": ["1", 1.5, True, TOO_BIG, -2],  # -1, 0 or 1
}

# How a wrong value would read if it were silently turned into text (str(None), str(["x"]), ...).
COERCED = {"None", "['x']", "{'a': 'b'}", "True", "1.5", "[12]", "[None]"}


def wrong_values(kind: str | list[Any]) -> list[Any]:
    """`kind` is a key of WRONG, a trailing "?" marking an optional field (null allowed); or the list itself."""
    if isinstance(kind, list):
        return kind
    optional = kind.endswith("?")
    values = WRONG[kind.rstrip("?")]
    return values if optional else [None, *values]


def assert_wrong_types_refused(client: FlaskClient, method: str, url: str, body: dict[str, Any],
                               fields: dict[str, Any], headers: dict[str, str]) -> int:  # fmt: skip
    """Send `body` with each field replaced by each of its wrong values: every answer is 422 validation_failed
    with that field in `fields`. Returns how many requests were sent."""
    sent = 0
    for name, kind in fields.items():
        for value in wrong_values(kind):
            response = client.open(url, method=method, json={**body, name: value}, headers=headers)
            sent += 1
            assert response.status_code == 422, (name, value, response.get_data(as_text=True))
            error = response.get_json()["error"]
            assert error["code"] == "validation_failed", (name, value, error)
            assert name in error.get("fields", {}), (name, value, error)
    return sent


def assert_nothing_coerced(app: Flask) -> None:
    """No text column anywhere holds a value that reads like a coerced non-string ("None", "['x']", ...)."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text) and not isinstance(column.type, Enum):
                    found = db.session.scalar(select(func.count()).select_from(table).where(column.in_(COERCED)))
                    assert not found, f"{table.name}.{column.name} holds a coerced value"
