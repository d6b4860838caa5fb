"""Demo moderation: realistic flags, a hidden profile with its log entry, a warning and an expired mute.
Everything goes through the services, and running it again changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.demo import DEMO_PASSWORD
from lhn.accounts.models import User, VerificationRequest, VerificationStatus
from lhn.communities import services as communities
from lhn.communities.models import JoinRequest, JoinRequestStatus
from lhn.database import utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.moderation import services
from lhn.moderation.models import ReviewKind, Sanction
from lhn.moderation.services import actions, sanctions

PROMOTER = "cure_seller"
PROMOTER_BIO = (
    "Healed my son's Crohn's in 30 days with our herbal detox tea - no more infusions! "
    "Order at www.gut-detox-cure.example and use code IBD20."
)
CALLER_BIO = "Dad of a 9-year-old with CF. Happy to talk to other parents, call me on 07700 900123 any evening."


def sync_pending_requests() -> int:
    """Open review items for pending join and verification requests made before moderation existed
    (new ones get theirs through signals). Idempotent; returns how many were opened."""
    opened = 0
    for row in db.session.scalars(select(JoinRequest).where(JoinRequest.status == JoinRequestStatus.PENDING)):
        if services.find_open_item(ReviewKind.JOIN_REQUEST, "join_request", row.id, row.community_id) is None:
            services.open_review_item(
                ReviewKind.JOIN_REQUEST,
                "join_request",
                row.id,
                community_id=row.community_id,
                subject_user_id=row.user_id,
            )
            opened += 1
    pending = select(VerificationRequest).where(VerificationRequest.status == VerificationStatus.PENDING)
    for verification in db.session.scalars(pending):
        if services.find_open_item(ReviewKind.VERIFICATION, "verification_request", verification.id, 0) is None:
            services.open_review_item(
                ReviewKind.VERIFICATION,
                "verification_request",
                verification.id,
                community_id=None,
                subject_user_id=verification.user_id,
            )
            opened += 1
    return opened


def _flag(by: str, target: User, reason: str, details: str = "", community: str | None = None) -> None:
    with contextlib.suppress(ValidationFailed):  # already flagged on an earlier run, or already handled
        services.flag_target(
            accounts.get_user(by),
            target_type="user",
            target_id=target.id,
            reason=reason,
            details=details,
            community=community,
        )


def _promoter() -> User:
    user = accounts.find_user(PROMOTER)
    if user is None:
        user = accounts.register_user(
            email=f"{PROMOTER}@demo.lhn.example",
            username=PROMOTER,
            display_name="Natural Healing Mum",
            password=DEMO_PASSWORD,
            role="caregiver",
            confirm_real_name=True,
            email_confirmed=True,
        )
        accounts.update_profile(
            user, display_name=user.display_name, bio=PROMOTER_BIO, role="caregiver", institution=None
        )
        communities.join_community(user, communities.get_community("pediatric-ibd"), accept_guidelines=True)
    return user


def seed_moderation() -> None:
    sync_pending_requests()
    admin, sam = accounts.get_user("admin"), accounts.get_user("sam_mod")
    ibd = communities.get_community("pediatric-ibd")
    promoter = _promoter()
    had_sanctions = db.session.scalar(select(Sanction.id).where(Sanction.user_id == promoter.id).limit(1))
    if had_sanctions is None:
        # An expired mute from last month, then a warning: the history a moderator looks at.
        sanctions.mute(
            promoter,
            ibd,
            by=sam,
            days=1,
            now=utcnow() - timedelta(days=30),
            reason="Posted the same product link in five threads in one evening.",
        )
        sanctions.warn(
            promoter,
            by=sam,
            community=ibd,
            reason="Please don't promote products here (guideline 2). Next time it's a longer mute.",
        )
        # Two flags on the profile; a site admin hides the bio with a reason (a public log entry).
        _flag(
            "mum_of_two",
            promoter,
            "misinformation",
            "Claims a tea cures Crohn's; kids could stop treatment.",
            community="pediatric-ibd",
        )
        _flag("ibd_teen", promoter, "spam", community="pediatric-ibd")
        item = services.find_open_item(ReviewKind.FLAGGED_USER, "user", promoter.id, ibd.id)
        if item is not None:
            actions.act_on_item(
                item.id,
                by=admin,
                action="hide",
                version=item.version,
                reason="Promotes an unproven 'cure' and a shop (guidelines 2 and 4).",
            )
    # An open item for the queue: a parent's phone number on their profile, flagged as exposed PHI.
    dad = accounts.get_user("dad_on_call")
    if not dad.bio:
        accounts.update_profile(
            dad,
            display_name=dad.display_name,
            bio=CALLER_BIO,
            role=dad.role.value,
            institution=None,
            confirm_phi=True,  # he ticked the box: the guard asks, it doesn't block
        )
    _flag("salty_breather", dad, "phi", "His phone number is on his profile; he may not realise it's public.")


STEPS: list[tuple[str, Callable[[], None]]] = [("moderation", seed_moderation)]
