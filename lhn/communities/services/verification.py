"""Verification review seen from the communities: the queue of pending verification requests (all of them, with
the evidence, for site staff; those of their members, without it, for moderators) and the record of who saw the
evidence."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts import permissions as accounts_permissions
from lhn.accounts.models import User, VerificationRequest, VerificationStatus
from lhn.communities.models import CommunityRole, Membership
from lhn.extensions import db

# Site staff decide verification (accounts.decide_verification). Community moderators see that a request
# from one of their members waits, never its evidence and never the decision: that view needs memberships,
# so it lives here, above accounts.


@dataclass(frozen=True)
class VerificationQueue:
    requests: list[VerificationRequest]
    may_decide: bool  # site staff: the evidence is shown beside the decision
    ids: tuple[int, ...] = ()  # read with the rows: the audit after rendering needs no reload of them


def list_verification_queue(*, by: User) -> VerificationQueue:
    """Pending verification requests: every one (but their own) for site staff, with the evidence; for
    moderators, those of members of the communities they moderate, without it; none for anyone else.
    Reads only: callers that show the evidence then call record_evidence_views in a transaction()."""
    staff = accounts_permissions.can_decide_verification(by, 0)
    stmt = (
        select(VerificationRequest)
        .where(VerificationRequest.status == VerificationStatus.PENDING, VerificationRequest.user_id != by.id)
        .options(joinedload(VerificationRequest.user).joinedload(User.institution))
        .order_by(VerificationRequest.id)
    )
    if not staff:
        moderated = select(Membership.community_id).where(
            Membership.user_id == by.id, Membership.role.in_([CommunityRole.MODERATOR, CommunityRole.OWNER])
        )
        stmt = stmt.where(VerificationRequest.user_id.in_(
            select(Membership.user_id).where(Membership.community_id.in_(moderated))))  # fmt: skip
    rows = list(db.session.scalars(stmt))
    return VerificationQueue(rows, staff, tuple(row.id for row in rows))


def record_evidence_views(by: User, queue: VerificationQueue) -> None:
    """Evidence is restricted data: each request shown with it is recorded (signals.restricted_data_viewed ->
    the audit trail). Writes: call inside transaction()."""
    if queue.may_decide:
        for request_id in queue.ids:
            signals.restricted_data_viewed.send(by, object_type="verification_request", object_id=request_id)
