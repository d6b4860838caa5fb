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
from sqlalchemy.sql import ColumnElement

from lhn.errors import ValidationFailed
from lhn.extensions import db

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


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return [_untag(v) if isinstance(v, dict) else v for v in values]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed({"cursor": "That page link is not valid."}) from exc


def _untag(value: dict[str, str]) -> date | datetime:
    return date.fromisoformat(value["day"]) if "day" in value else datetime.fromisoformat(value["d"])


def _after(columns: Sequence[ColumnElement[Any]], values: list[Any], descending: bool) -> ColumnElement[bool]:
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
    order_by: Sequence[ColumnElement[Any]],
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
        stmt = stmt.where(_after(order_by, decode_cursor(cursor, len(order_by)), descending))
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in order_by)).limit(limit + 1)
    result = db.session.execute(stmt)
    rows = list(result.scalars().unique() if scalars else result.unique())
    items = rows[:limit]
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return Page(items, next_cursor)
