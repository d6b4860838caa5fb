"""Keyset pagination: the one helper every long list uses (OFFSET is O(offset) and skips rows)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import ColumnElement

from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.inputs import MAX_INT, text_problem

# A column to order by: a column expression, or a mapped attribute (`Post.id`).
OrderColumn = ColumnElement[Any] | QueryableAttribute[Any]

T = TypeVar("T")
MAX_LIMIT = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: Sequence[Any]) -> str:
    tagged = [
        {"d": v.isoformat()} if isinstance(v, datetime) else {"day": v.isoformat()} if isinstance(v, date) else v
        for v in values
    ]
    return base64.urlsafe_b64encode(json.dumps(tagged, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int, types: Sequence[type | None] = ()) -> list[Any]:
    """The values of a cursor made by encode_cursor. A cursor comes from the client, so each value must be one
    the database can compare with its column: `types` (when given) are the columns' Python types."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        values = [_untag(v) if isinstance(v, dict) else v for v in values]
        kinds = list(types) or [None] * size
        if not all(_fits(value, kind) for value, kind in zip(values, kinds, strict=True)):
            raise ValueError
        return values
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationFailed({"cursor": "That page link is not valid."}) from exc


def _fits(value: Any, kind: type | None) -> bool:
    """Whether a decoded cursor value can be sent to the database (and compared with a column of type `kind`)."""
    if kind not in (int, float, str, datetime, date):
        kind = None  # a column type we don't check (the generic checks still apply)
    if isinstance(value, bool | list | dict):
        return False
    if isinstance(value, int):
        return -MAX_INT - 1 <= value <= MAX_INT and kind in (None, int, float)
    if isinstance(value, float):
        return value == value and abs(value) != float("inf") and kind in (None, float)
    if isinstance(value, str):
        return text_problem(value) is None and kind in (None, str)
    if isinstance(value, datetime):
        return kind in (None, datetime)
    if isinstance(value, date):
        return kind in (None, date)
    return value is None


def _python_type(column: OrderColumn) -> type | None:
    column_type = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator says what it stores as
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _untag(value: dict[str, str]) -> date | datetime:
    return date.fromisoformat(value["day"]) if "day" in value else datetime.fromisoformat(value["d"])


def _after(columns: Sequence[OrderColumn], values: list[Any], descending: bool) -> ColumnElement[bool]:
    # (a, b) < (x, y)  ==  a < x OR (a = x AND b < y); spelled out so every database plans it well.
    clauses = []
    for i, column in enumerate(columns):
        beyond = column < values[i] if descending else column > values[i]
        equal_prefix = [columns[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, beyond))
    return or_(*clauses)


def paginate(
    stmt: Select[Any],
    *,
    order_by: Sequence[OrderColumn],
    key: Callable[[Any], Sequence[Any]],
    cursor: str | None,
    limit: int = 30,
    descending: bool = True,
    scalars: bool = True,
) -> Page[Any]:
    """One page of `stmt` ordered by `order_by` (unique together; end with the primary key).

    `key(item)` returns the order_by values of an item, which become the next page's cursor.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        values = decode_cursor(cursor, len(order_by), [_python_type(c) for c in order_by])
        stmt = stmt.where(_after(order_by, values, descending))
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in order_by)).limit(limit + 1)
    result = db.session.execute(stmt)
    rows = list(result.scalars().unique() if scalars else result.unique())
    items = rows[:limit]
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return Page(items, next_cursor)
