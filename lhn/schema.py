"""Database objects made by hand-written DDL (full-text tables, generated columns and their indexes), which the
models can't describe: features register their names here, and Alembic (env.py) and the schema test leave them
out of comparisons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_UNMANAGED: dict[str, set[Any]] = {"table": set(), "column": set(), "index": set()}


def register_unmanaged(
    *, tables: Iterable[str] = (), columns: Iterable[tuple[str, str]] = (), indexes: Iterable[str] = ()
) -> None:
    _UNMANAGED["table"].update(tables)
    _UNMANAGED["column"].update(columns)
    _UNMANAGED["index"].update(indexes)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's include_object hook: skip objects registered with register_unmanaged."""
    if type_ == "column":
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in _UNMANAGED["column"]
    return name not in _UNMANAGED.get(type_, ())
