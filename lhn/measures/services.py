"""Measure rules: define and version measures, co-ownership and invitations. Site data leads and consent are in
lhn.measures.sites, the access context and change log in lhn.measures.core; both are re-exported here so callers
keep using `services.<name>`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import reading, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, render_markdown
from lhn.measures import permissions, spc
from lhn.measures.core import Access as Access
from lhn.measures.core import access as access
from lhn.measures.core import log_change as log_change
from lhn.measures.core import record_export as record_export
from lhn.measures.core import record_restricted_view as record_restricted_view
from lhn.measures.core import site_team as site_team
from lhn.measures.core import site_teams as site_teams
from lhn.measures.core import team_sites as team_sites
from lhn.measures.models import (
    DataPoint,
    Improvement,
    InvitationStatus,
    Measure,
    MeasureChange,
    MeasureOwner,
    MeasureType,
    OwnerInvitation,
    Period,
)
from lhn.measures.sites import CONSENT_STATEMENT as CONSENT_STATEMENT
from lhn.measures.sites import active_consent as active_consent
from lhn.measures.sites import appoint_site_lead as appoint_site_lead
from lhn.measures.sites import consent_statement as consent_statement
from lhn.measures.sites import consenting_sites as consenting_sites
from lhn.measures.sites import give_consent as give_consent
from lhn.measures.sites import list_consents as list_consents
from lhn.measures.sites import list_site_leads as list_site_leads
from lhn.measures.sites import remove_site_lead as remove_site_lead
from lhn.measures.sites import withdraw_consent as withdraw_consent
from lhn.pagination import Page, paginate

NAME_MAX, UNIT_MAX, TEXT_MAX = 160, 60, 20_000
DEFAULT_MULTIPLIER = {MeasureType.PROPORTION: 100.0, MeasureType.RATE: 1000.0}
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

    @classmethod
    def of(cls, measure: Measure) -> MeasureFields:
        return cls(**{name: _plain(getattr(measure, name)) for name in cls.__dataclass_fields__})


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


# --- co-ownership ------------------------------------------------------------------------------------


def list_owners(measure: Measure) -> list[MeasureOwner]:
    return list(
        db.session.scalars(
            select(MeasureOwner)
            .where(MeasureOwner.measure_id == measure.id)
            .options(joinedload(MeasureOwner.user).joinedload(User.institution))
            .order_by(MeasureOwner.id)
        )
    )


def co_owned(owners: list[User]) -> bool:
    """Shown as co-owned only while the owners include a patient or caregiver and a verified clinician."""
    lived = any(u.role in (Role.PATIENT, Role.CAREGIVER) for u in owners)
    clinical = any(u.role == Role.CLINICIAN and u.is_verified for u in owners)
    return lived and clinical


def co_owned_by_id(measure_ids: list[int]) -> dict[int, bool]:
    """co_owned() for many measures in one query (dashboards)."""
    rows = db.session.execute(
        select(MeasureOwner.measure_id, User)
        .join(User, User.id == MeasureOwner.user_id)
        .where(MeasureOwner.measure_id.in_(measure_ids))
    ).all()
    owners: dict[int, list[User]] = {i: [] for i in measure_ids}
    for measure_id, user in rows:
        owners[measure_id].append(user)
    return {i: co_owned(people) for i, people in owners.items()}


def invite_owner(measure: Measure, username: str, *, by: User) -> OwnerInvitation:
    """An owner invites a community member to co-own the measure. Sends signals.measure_owner_invited.

    Returns the open invitation if there is one. Raises PermissionDenied, ValidationFailed, Conflict.
    """
    if not access(measure, by).is_owner:
        raise PermissionDenied("Only the measure's owners invite co-owners.")
    invitee = accounts.find_user((username or "").strip().lower().lstrip("@"))
    if invitee is None or communities.find_membership(invitee, measure.community) is None:
        raise ValidationFailed({"username": "Invite a member of this community (by username)."})
    if db.session.scalar(
        select(MeasureOwner).where(MeasureOwner.measure_id == measure.id, MeasureOwner.user_id == invitee.id)
    ):
        raise Conflict(f"{invitee.display_name} already owns this measure.")
    open_invitation = db.session.scalar(
        select(OwnerInvitation).where(
            OwnerInvitation.measure_id == measure.id,
            OwnerInvitation.user_id == invitee.id,
            OwnerInvitation.status == InvitationStatus.PENDING,
        )
    )
    if open_invitation is not None:
        return open_invitation
    invitation = OwnerInvitation(measure=measure, user=invitee, invited_by=by)
    db.session.add(invitation)
    db.session.flush()
    signals.measure_owner_invited.send(
        measure,
        recipients=[invitee],
        actor=by,
        community_id=measure.community_id,
        url=f"/measures/{measure.id}/owners",
        text=f"{by.display_name} invited you to co-own the measure “{measure.name}”.",
    )
    return invitation


def pending_invitation(measure: Measure, user: object) -> OwnerInvitation | None:
    if not isinstance(user, User):
        return None
    return db.session.scalar(
        select(OwnerInvitation).where(
            OwnerInvitation.measure_id == measure.id,
            OwnerInvitation.user_id == user.id,
            OwnerInvitation.status == InvitationStatus.PENDING,
        )
    )


def answer_invitation(measure: Measure, *, by: User, accept: bool) -> OwnerInvitation:
    """The invitee accepts (becomes an owner; logged) or declines; returns the decided invitation. Flushes.
    Raises NotFound if there's no open invitation."""
    invitation = pending_invitation(measure, by)
    if invitation is None:
        raise NotFound("You have no open invitation for this measure.")
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.decided_at = utcnow()
    if accept:
        db.session.add(MeasureOwner(measure_id=measure.id, user_id=by.id))
        log_change(measure, "ownership", f"{by.display_name} ({by.role.label}) became a co-owner.", by=by)
    db.session.flush()
    return invitation


def list_invitations(measure: Measure, *, viewer: object) -> list[OwnerInvitation]:
    """Invitations to co-own the measure, newest first, with their state: every one for those who edit the
    measure (owners, site admins), only their own for anyone else. Raises NotFound (not readable)."""
    acc = access(measure, viewer)
    if not isinstance(viewer, User):
        return []
    stmt = (
        select(OwnerInvitation)
        .where(OwnerInvitation.measure_id == measure.id)
        .options(
            joinedload(OwnerInvitation.user).joinedload(User.institution),
            joinedload(OwnerInvitation.invited_by).joinedload(User.institution),
        )
        .order_by(OwnerInvitation.id.desc())
    )
    if not acc.can_edit:
        stmt = stmt.where(OwnerInvitation.user_id == viewer.id)
    return list(db.session.scalars(stmt))


def withdraw_invitation(measure: Measure, invitation_id: int, *, by: User) -> OwnerInvitation:
    """An owner (or a site admin) withdraws an open invitation; it stays in the list as withdrawn. Flushes.

    Raises NotFound (no such invitation for this measure; also for people who may not see it),
    PermissionDenied (not an owner), Conflict (already accepted, declined or withdrawn).
    """
    acc = access(measure, by)
    invitation = db.session.get(OwnerInvitation, invitation_id)
    if invitation is None or invitation.measure_id != measure.id or not (acc.can_edit or invitation.user_id == by.id):
        raise NotFound("No such invitation.")
    if not acc.can_edit:
        raise PermissionDenied("Only the measure's owners withdraw invitations; decline it instead.")
    if invitation.status != InvitationStatus.PENDING:
        raise Conflict(f"This invitation was already {invitation.status.value}.")
    invitation.status = InvitationStatus.WITHDRAWN
    invitation.decided_at = utcnow()
    db.session.flush()
    return invitation


def remove_owner(measure: Measure, username: str, *, by: User) -> None:
    """Owners remove an owner, or an owner steps down; a measure always keeps one owner. Logged."""
    acc = access(measure, by)
    target = accounts.find_user(username)
    row = None
    if target is not None:
        row = db.session.scalar(
            select(MeasureOwner).where(MeasureOwner.measure_id == measure.id, MeasureOwner.user_id == target.id)
        )
    if row is None or target is None:
        raise NotFound("That person doesn't own this measure.")
    if not (acc.can_edit or by.id == target.id):
        raise PermissionDenied("Only the measure's owners remove owners.")
    if len(acc.owner_ids) <= 1:
        raise ValidationFailed({"": "A measure keeps at least one owner. Invite someone before stepping down."})
    db.session.delete(row)
    log_change(measure, "ownership", f"{target.display_name} is no longer an owner.", by=by)
    db.session.flush()
