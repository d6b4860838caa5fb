"""My data for accounts: the profile, verification evidence and tokens in an export; erasing the account.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py); erase_account is
called last, by moderation's delete_account, once every feature has erased its own data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from lhn import signals
from lhn.accounts.models import FORMER_MEMBER, ApiToken, Role, User, VerificationRequest
from lhn.database import iso_or_none
from lhn.extensions import db


@signals.export_requested.connect
def export_account(user: User, **_: Any) -> dict[str, Any]:
    requests = db.session.scalars(
        select(VerificationRequest).where(VerificationRequest.user_id == user.id).order_by(VerificationRequest.id)
    )
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return {
        "profile": {
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role.value,
            "verified_at": iso_or_none(user.verified_at),
            "is_admin": user.is_admin,
            "institution": user.institution.slug if user.institution else None,
            "bio": user.bio,
            "created_at": iso_or_none(user.created_at),
            "last_login_at": iso_or_none(user.last_login_at),
            "suspended_until": iso_or_none(user.suspended_until),
        },
        "verification_requests": [
            {
                "role": r.role.value,
                "licence_number": r.licence_number,
                "licence_issuer": r.licence_issuer,
                "institutional_email": r.institutional_email,
                "orcid": r.orcid,
                "statement": r.statement,
                "status": r.status.value,
                "submitted_at": iso_or_none(r.created_at),
                "decided_at": iso_or_none(r.decided_at),
                "decision_note": r.decision_note,
            }
            for r in requests
        ],
        "api_tokens": [  # names and dates only: the token itself was never stored
            {
                "name": t.name,
                "hint": t.hint,
                "created_at": iso_or_none(t.created_at),
                "last_used_at": iso_or_none(t.last_used_at),
                "revoked_at": iso_or_none(t.revoked_at),
            }
            for t in tokens
        ],
    }


def former_member() -> User:
    """The shared account that content of deleted members is reassigned to (shown as "Former member").
    It cannot log in: its password hash matches no password."""
    user = db.session.scalar(select(User).where(User.username == FORMER_MEMBER))
    if user is None:
        user = User(
            username=FORMER_MEMBER,
            email="former-member@lhn.invalid",
            display_name="Former member",
            password_hash="!",  # noqa: S106 - matches no password: this account never logs in
            role=Role.OTHER,
        )
        db.session.add(user)
        db.session.flush()
    return user


def erase_account(user: User) -> None:
    """Delete the account row and everything only it owns (tokens, verification evidence). Others'
    references to it become NULL by the foreign keys (a reviewer who decided, a community's creator)."""
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(delete(VerificationRequest).where(VerificationRequest.user_id == user.id))
    db.session.delete(user)
    db.session.flush()
