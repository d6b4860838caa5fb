"""Co-ownership of a measure: its owners, whether it counts as co-owned, invitations to co-own it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.database import find_one, utcnow
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures.models import InvitationStatus, Measure, MeasureOwner, OwnerInvitation
from lhn.measures.services.core import access, find_community_member, log_change


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
    invitee = find_community_member(measure, username)
    if invitee is None:
        raise ValidationFailed({"username": "Invite a member of this community (by username)."})
    if find_one(MeasureOwner, measure_id=measure.id, user_id=invitee.id):
        raise Conflict(f"{invitee.display_name} already owns this measure.")
    open_invitation = find_one(OwnerInvitation, measure_id=measure.id, user_id=invitee.id,
                               status=InvitationStatus.PENDING)  # fmt: skip
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
    if not acc.can_remove_owner(target.id):
        raise PermissionDenied("Only the measure's owners remove owners.")
    if len(acc.owner_ids) <= 1:
        raise ValidationFailed({"": "A measure keeps at least one owner. Invite someone before stepping down."})
    db.session.delete(row)
    log_change(measure, "ownership", f"{target.display_name} is no longer an owner.", by=by)
    db.session.flush()
