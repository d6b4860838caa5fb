"""Measure definitions: define and version a measure, read it, list a community's measures, the change log."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.measures import permissions, spc
from lhn.measures.models import DataPoint, Improvement, Measure, MeasureChange, MeasureOwner, MeasureType, Period
from lhn.measures.services.core import access, log_change
from lhn.measures.services.stratifiers import parse_stratifiers, stratifiers_text
from lhn.pagination import Page, paginate

NAME_MAX, UNIT_MAX, TEXT_MAX = 160, 60, 20_000
# Keyed by the type as validated, None where it was not valid: 1 for those missing.
DEFAULT_MULTIPLIER: dict[MeasureType | None, float] = {MeasureType.PROPORTION: 100.0, MeasureType.RATE: 1000.0}
# The definition fields a version records (and a change summary compares).
DEFINITION_FIELDS = (
    "name",
    "description",
    "type",
    "unit",
    "improvement",
    "target",
    "period",
    "data_source",
    "multiplier",
    "rule_set",
    "baseline_points",
    "stratifiers",
)


# --- definitions -----------------------------------------------------------------------------------


@dataclass
class MeasureFields:
    name: str = ""
    type: str = ""
    period: str = ""
    improvement: str = ""
    unit: str = ""
    target: Any = None
    description: str = ""
    data_source: str = ""
    rule_set: str = spc.DEFAULT_RULESET
    baseline_points: Any = None
    multiplier: Any = None
    stratifiers: Any = None  # text, one stratifier a line, or a list of objects (services/stratifiers.py)

    @classmethod
    def of(cls, measure: Measure) -> MeasureFields:
        fields = cls(**{name: _plain(getattr(measure, name)) for name in cls.__dataclass_fields__})
        fields.stratifiers = stratifiers_text(measure.stratifiers)
        return fields


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _number(value: Any, field_name: str, errors: dict[str, str], *, integer: bool = False) -> float | int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip()) if integer else float(value)
    except (TypeError, ValueError):
        errors[field_name] = "Enter a whole number." if integer else "Enter a number."
        return None
    if isinstance(value, bool) or not math.isfinite(number):
        errors[field_name] = "Enter a number."
        return None
    return number


def _validated(fields: MeasureFields, *, existing: Measure | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    values["name"] = clean_text(fields.name or "").strip()
    if not values["name"] or len(values["name"]) > NAME_MAX:
        errors["name"] = f"Name the measure (up to {NAME_MAX} characters)."
    for key, enum_type, message in (
        ("type", MeasureType, "Choose proportion, rate, count or continuous."),
        ("period", Period, "Choose week, month or quarter."),
        ("improvement", Improvement, "Say whether higher (up) or lower (down) is better."),
    ):
        try:
            values[key] = enum_type(_plain(getattr(fields, key)))
        except ValueError:
            errors[key] = message
    values["unit"] = clean_text(fields.unit or "").strip()
    if len(values["unit"]) > UNIT_MAX:
        errors["unit"] = f"Use at most {UNIT_MAX} characters."
    for key in ("description", "data_source"):
        values[key] = clean_text(getattr(fields, key) or "").strip()
        if len(values[key]) > TEXT_MAX:
            errors[key] = f"Use at most {TEXT_MAX} characters."
    values["target"] = _number(fields.target, "target", errors)
    if fields.rule_set not in spc.RULESETS:
        errors["rule_set"] = "Choose one of the rule sets."
    values["rule_set"] = fields.rule_set
    baseline = _number(fields.baseline_points, "baseline_points", errors, integer=True)
    if baseline is not None and not 2 <= baseline <= 120:
        errors["baseline_points"] = "Use 2 to 120 points, or leave it empty to use every point of a phase."
    values["baseline_points"] = baseline
    multiplier = _number(fields.multiplier, "multiplier", errors)
    if multiplier is not None and multiplier <= 0:
        errors["multiplier"] = "Use a positive number (100 shows a proportion as a percentage)."
    values["multiplier"] = multiplier if multiplier is not None else DEFAULT_MULTIPLIER.get(values.get("type"), 1.0)
    if values.get("type") == MeasureType.PROPORTION and values["target"] is not None:
        top = values["multiplier"]  # 100 for a percentage
        if not 0 <= values["target"] <= top:
            errors["target"] = f"A proportion's target is between 0 and {top:g}."
    if existing is not None and has_data(existing):
        for key, label in (("type", "type"), ("period", "reporting period")):
            if key in values and values[key] != getattr(existing, key):
                errors[key] = f"The {label} can't change once sites have submitted data; define a new measure."
    try:
        values["stratifiers"] = parse_stratifiers(fields.stratifiers)
    except ValidationFailed as problem:
        errors |= problem.errors
    if errors:
        raise ValidationFailed(errors)
    return values


def definition_of(measure: Measure) -> dict[str, Any]:
    return {name: _plain(getattr(measure, name)) for name in DEFINITION_FIELDS}


def _description_html(text: str) -> str:
    """The stored HTML of a description. Slow: services render in reading(), before their write transaction."""
    return str(render_markdown(text, field="description")) if text else ""


def _check_can_create(community: Community, by: User) -> None:
    if not permissions.can_create_measure(by, community, communities.find_membership(by, community)):
        raise PermissionDenied("Join the community to propose a measure.")


def create_measure(community: Community, fields: MeasureFields, *, by: User) -> Measure:
    """A community member defines a measure and becomes its first owner (version 1 is logged). Checks and renders
    in reading() (no write lock), then writes.

    Flushes. Raises PermissionDenied (not a member), ValidationFailed.
    """
    with reading():  # checks and rendering without the write lock
        _check_can_create(community, by)
        values = _validated(fields, existing=None)
        description_html = _description_html(values["description"])
    _check_can_create(community, by)  # again: the write depends on it and others write meanwhile
    measure = Measure(community=community, created_by_id=by.id, version=1, **values)
    measure.description_html = description_html
    db.session.add(measure)
    db.session.flush()
    db.session.add(MeasureOwner(measure_id=measure.id, user_id=by.id))
    log_change(measure, "definition", "Defined.", by=by, definition=definition_of(measure))
    db.session.flush()
    return measure


def update_measure(measure: Measure, changes: dict[str, Any], *, by: User) -> Measure:
    """Owners change the definition. A real change bumps the version and logs what changed and who did it.

    `changes` holds only the fields to change. Checks and renders a new description in reading() (no write lock),
    then checks again (cheap) and writes. Flushes. Raises PermissionDenied, ValidationFailed.
    """
    with reading():
        values = _validated_changes(measure, changes, by=by)
        text = values["description"]
        rendered = (text, _description_html(text)) if text != measure.description else None
    # Again in the write transaction: others may have changed the measure (or its data, or its owners) meanwhile.
    values = _validated_changes(measure, changes, by=by)
    if values["description"] == measure.description:
        description_html = measure.description_html
    elif rendered is not None and values["description"] == rendered[0]:
        description_html = rendered[1]
    else:  # someone else's edit in between changed what we would store: never render under the lock
        raise ValidationFailed({"description": "Someone changed the description meanwhile: check it and save again."})
    before = definition_of(measure)
    for key, value in values.items():
        setattr(measure, key, value)
    after = definition_of(measure)
    diff = [key for key in DEFINITION_FIELDS if before[key] != after[key]]
    if not diff:
        return measure
    measure.description_html = description_html
    measure.version += 1
    measure.updated_at = utcnow()
    summary = "; ".join(_change_text(key, before[key], after[key]) for key in diff)
    log_change(measure, "definition", summary, by=by, definition=after)
    db.session.flush()
    return measure


def _validated_changes(measure: Measure, changes: dict[str, Any], *, by: User) -> dict[str, Any]:
    if not access(measure, by).can_edit:
        raise PermissionDenied("Only the measure's owners change its definition.")
    unknown = set(changes) - set(MeasureFields.__dataclass_fields__)
    if unknown:
        raise ValidationFailed(dict.fromkeys(sorted(unknown), "This field can't be changed."))
    merged = MeasureFields.of(measure)
    for key, value in changes.items():
        setattr(merged, key, value)
    return _validated(merged, existing=measure)


def _change_text(key: str, old: Any, new: Any) -> str:
    label = key.replace("_", " ")
    if key in ("description", "data_source"):
        return f"{label} edited"
    if key == "stratifiers":
        return f"stratifiers: {'; '.join(stratifiers_text(new).splitlines()) or '—'}"
    return f"{label}: {'—' if old in (None, '') else old} → {'—' if new in (None, '') else new}"


def list_changes(
    measure: Measure, *, viewer: object, cursor: str | None = None, limit: int = 50
) -> Page[MeasureChange]:
    """The change log, newest first: definition versions and ownership, lead and phase changes. Whoever reads the
    measure reads its log. Raises NotFound (not readable), ValidationFailed (a bad cursor)."""
    access(measure, viewer)
    stmt = (
        select(MeasureChange)
        .where(MeasureChange.measure_id == measure.id)
        .options(joinedload(MeasureChange.changed_by).joinedload(User.institution))
    )
    return paginate(stmt, order_by=[MeasureChange.id], key=lambda c: (c.id,), cursor=cursor, limit=limit)


def has_data(measure: Measure) -> bool:
    return db.session.scalar(select(DataPoint.id).where(DataPoint.measure_id == measure.id).limit(1)) is not None


def find_measure(measure_id: int) -> Measure | None:
    return db.session.get(Measure, measure_id)


def get_measure(measure_id: int, *, viewer: object) -> Measure:
    """A measure the viewer may read. Raises NotFound otherwise (same answer as a missing one)."""
    measure = find_measure(measure_id)
    if measure is None:
        raise NotFound("No such measure.")
    access(measure, viewer)
    return measure


def list_measures(community: Community, *, viewer: object, cursor: str | None = None, limit: int = 50) -> Page[Measure]:
    """The community's measures in the order they were defined. Raises PermissionDenied if unreadable."""
    if not permissions.can_read(viewer, community, communities.find_membership(viewer, community)):
        raise PermissionDenied("This community is restricted to its members.")
    stmt = select(Measure).where(Measure.community_id == community.id)
    return paginate(stmt, order_by=[Measure.id], key=lambda m: (m.id,), cursor=cursor, limit=limit, descending=False)
