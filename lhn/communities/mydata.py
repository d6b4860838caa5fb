"""My data for communities: memberships and join requests in an export; removing them on account deletion.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.communities import services
from lhn.communities.models import Community, CommunityRole, JoinRequest
from lhn.database import iso_or_none
from lhn.errors import ValidationFailed
from lhn.extensions import db


@signals.export_requested.connect
def export_communities(user: User, **_: Any) -> dict[str, Any]:
    memberships = services.memberships_of(user).values()
    requests = db.session.scalars(
        select(JoinRequest)
        .where(JoinRequest.user_id == user.id)
        .options(joinedload(JoinRequest.community))
        .order_by(JoinRequest.id)
    )
    return {
        "memberships": [
            {
                "community": m.community.slug,
                "role": m.role.value,
                "joined_at": iso_or_none(m.joined_at),
                "guidelines_version": m.guidelines_version,
                "guidelines_accepted_at": iso_or_none(m.guidelines_accepted_at),
                "muted_until": iso_or_none(m.muted_until),
            }
            for m in sorted(memberships, key=lambda m: m.id)
        ],
        "join_requests": [
            {
                "community": r.community.slug,
                "message": r.message,
                "status": r.status.value,
                "created_at": iso_or_none(r.created_at),
                "decided_at": iso_or_none(r.decided_at),
                "decision_note": r.decision_note,
            }
            for r in requests
        ],
    }


@signals.account_erasing.connect
def erase_communities(user: User, **_: Any) -> None:
    """Leave every community (member counts kept right) and drop join requests. A community's only
    owner must hand it over first: the whole deletion is refused."""
    memberships = list(services.memberships_of(user).values())
    sole = [
        m.community.name
        for m in memberships
        if m.role == CommunityRole.OWNER and services.owner_count(m.community) == 1
    ]
    if sole:
        raise ValidationFailed(
            {"": "You are the only owner of " + ", ".join(sorted(sole)) + ". Make someone else an owner first."}
        )
    for membership in memberships:
        community = membership.community
        db.session.delete(membership)
        community.member_count = Community.member_count - 1
    db.session.execute(delete(JoinRequest).where(JoinRequest.user_id == user.id))
    db.session.flush()
