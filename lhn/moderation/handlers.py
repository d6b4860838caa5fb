"""Signal receivers: review items for join and verification requests (and phase 2 vetting), the audit
trail for role and verification decisions and restricted views, PHI confirmations, mutes that survive a
rejoin, vetting lines in the public log. Connected once, at import (the app factory imports this module).
"""

from __future__ import annotations

from typing import Any

from lhn import signals
from lhn.accounts.models import User, VerificationRequest, VerificationStatus
from lhn.communities.models import Community, CommunityRole, JoinRequest, Membership
from lhn.extensions import db
from lhn.moderation import services
from lhn.moderation.models import PHIConfirmation, ReviewKind
from lhn.moderation.services import audit, sanctions
from lhn.moderation.services.log import LogLink, log_action


@signals.join_requested.connect
def _join_requested(community: Community, *, request: JoinRequest, **_: Any) -> None:
    services.open_review_item(
        ReviewKind.JOIN_REQUEST, "join_request", request.id, community_id=community.id, subject_user_id=request.user_id
    )


@signals.join_request_decided.connect
def _join_request_decided(community: Community, *, request: JoinRequest, **_: Any) -> None:
    services.settle_items(
        ReviewKind.JOIN_REQUEST, "join_request", request.id, by=request.decided_by, resolution=request.status.value
    )
    audit.record(
        f"join_request.{request.status.value}",
        actor=request.decided_by,
        object_type="join_request",
        object_id=request.id,
        community_id=community.id,
        actor_role="moderator",
    )


@signals.verification_submitted.connect
def _verification_submitted(user: User, *, request: VerificationRequest, **_: Any) -> None:
    services.open_review_item(
        ReviewKind.VERIFICATION, "verification_request", request.id, community_id=None, subject_user_id=user.id
    )


@signals.verification_decided.connect
def _verification_decided(user: User, *, request: VerificationRequest, **_: Any) -> None:
    services.settle_items(
        ReviewKind.VERIFICATION,
        "verification_request",
        request.id,
        by=request.decided_by,
        resolution=request.status.value,
    )
    action = "verification.approve" if request.status == VerificationStatus.APPROVED else "verification.reject"
    audit.record(action, actor=request.decided_by, object_type="verification_request", object_id=request.id)


@signals.verification_revoked.connect
def _verification_revoked(user: User, *, request: VerificationRequest, **_: Any) -> None:
    audit.record("verification.revoke", actor=request.revoked_by, object_type="verification_request",
                 object_id=request.id)  # fmt: skip


@signals.verifier_changed.connect
def _verifier_changed(user: User, *, by: User, appointed: bool, **_: Any) -> None:
    audit.record("verifier.appoint" if appointed else "verifier.remove", actor=by, object_type="user",
                 object_id=user.id)  # fmt: skip


@signals.member_role_changed.connect
def _member_role_changed(
    community: Community, *, membership: Membership, old_role: CommunityRole, by: User, **_: Any
) -> None:
    appointed = membership.role.moderates and not old_role.moderates
    action = "membership.moderator_appointed" if appointed else "membership.moderator_removed"
    audit.record(
        action,
        actor=by,
        object_type="user",
        object_id=membership.user_id,
        community_id=community.id,
        actor_role="admin" if by.is_admin else "owner",
    )


@signals.restricted_data_viewed.connect
def _restricted_data_viewed(
    viewer: User, *, object_type: str, object_id: int, community_id: int | None = None, **_: Any
) -> None:
    audit.record(
        f"{object_type}.viewed", actor=viewer, object_type=object_type, object_id=object_id, community_id=community_id
    )


# Data exports (measures' CSV and FHIR reports): who, what, when -- never the data.
@signals.data_exported.connect
def _data_exported(
    reader: User | None,
    *,
    object_type: str,
    object_id: int,
    file_format: str,
    community_id: int | None = None,
    **_: Any,
) -> None:
    audit.record(
        f"{object_type}.export.{file_format}",
        actor=reader,
        object_type=object_type,
        object_id=object_id,
        community_id=community_id,
        actor_role=None if reader is not None else "anonymous",
    )


@signals.phi_confirmed.connect
def _phi_confirmed(
    author: User, *, kinds: list[str], target_type: str, target_id: int, community_id: int | None = None, **_: Any
) -> None:
    db.session.add(
        PHIConfirmation(
            user_id=author.id,
            kinds=",".join(sorted(set(kinds)))[:200],
            target_type=target_type[:20],
            target_id=target_id,
            community_id=community_id,
        )
    )
    db.session.flush()


@signals.member_joined.connect
def _member_joined(community: Community, *, membership: Membership, **_: Any) -> None:
    ends = sanctions.reapply_mute(membership.user, community)
    if ends is not None:
        membership.muted_until = ends
        db.session.flush()


def _log_link(target_type: str, target_id: int, label: str, url: str) -> LogLink:
    """What a feature's signal names (the answer vetted, the thread put in slow mode), as its public log line links
    it: what Target.log_link is for the things moderation itself acts on."""
    return {"target_type": target_type, "target_id": target_id, "target_label": label, "target_url": url}


# --- phase 2: vetting ------------------------------------------------------------------------------------


@signals.review_needed.connect
def _review_needed(
    target_type: str, *, target_id: int, community_id: int, kind: str, subject_user_id: int | None = None, **_: Any
) -> None:
    services.open_review_item(
        ReviewKind(kind), target_type, target_id, community_id=community_id, subject_user_id=subject_user_id
    )


@signals.review_settled.connect
def _review_settled(target_type: str, *, target_id: int, kind: str, by: User | None, resolution: str, **_: Any) -> None:
    services.settle_items(ReviewKind(kind), target_type, target_id, by=by, resolution=resolution)


@signals.vetting_recorded.connect
def _vetting_recorded(
    community: Community,
    *,
    action: str,
    target_type: str,
    target_id: int,
    url: str,
    reason: str = "",
    by: User,
    **_: Any,
) -> None:
    log_action(
        action,
        by=by,
        community_id=community.id,
        reason=reason,
        **_log_link(target_type, target_id, label=target_type, url=url),
    )


# --- slow mode (chat channels; any feature's threads) -------------------------------------------------


@signals.slow_mode_changed.connect
def _slow_mode_changed(
    community: Community, *, target_type: str, target_id: int, label: str, url: str, seconds: int, by: User, **_: Any
) -> None:
    log_action(
        "slow_mode_on" if seconds else "slow_mode_off",
        by=by,
        community_id=community.id,
        details=f"one message every {seconds} seconds per member" if seconds else "",
        **_log_link(target_type, target_id, label, url),
    )
    audit.record(
        "slow_mode.set" if seconds else "slow_mode.off",
        actor=by,
        object_type=target_type,
        object_id=target_id,
        community_id=community.id,
        actor_role="admin" if by.is_admin else "moderator",
    )
