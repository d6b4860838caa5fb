"""Who may see the outbox: site admins (the development mailbox is open to anyone only in development)."""

from __future__ import annotations

from lhn.accounts.models import User


def can_see_outbox(user: object) -> bool:
    return isinstance(user, User) and user.is_admin
