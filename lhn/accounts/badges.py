"""A person's badge as JSON (role, verification, institution, staff roles, community role): what every API
answer and live event shows beside a name, as the badge macro (templates/_macros/badges.html) does on pages."""

from __future__ import annotations

from typing import Any

from lhn.accounts.models import User


def person_json(user: User, community_role: str | None = None) -> dict[str, Any]:
    """The badge of a person, as every endpoint shows it."""
    data: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "verification": user.verification_state or None,
        "is_admin": user.is_admin,
        "is_verifier": user.is_verifier,
        "institution": {"slug": user.institution.slug, "name": user.institution.name} if user.institution else None,
    }
    if community_role is not None:
        data["community_role"] = community_role
    return data
