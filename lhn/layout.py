"""What every page's layout (base.html) shows of the signed-in person: the unread notification count and the
banners of running sanctions. Each is read by its feature's service, once per page and only if the page shows
it: fragments rendered for live updates never ask, so they run no query for it."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from flask_login import current_user

from lhn.moderation.models import Sanction
from lhn.moderation.services import active_sanctions
from lhn.notifications import services as notifications


class Layout:
    """The signed-in person's layout facts for one rendered page (anonymous visitors get none)."""

    def __init__(self, user: Any) -> None:
        self._user = user  # current_user: not loaded until a page asks

    @property
    def user(self) -> Any:
        return self._user if self._user.is_authenticated else None

    @cached_property
    def unread_notifications(self) -> int:
        user = self.user
        return notifications.unread_count(user) if user is not None else 0

    def following(self, target_type: str, target_id: int) -> bool:
        """For a follow button: does the person follow this post, measure, channel or community?"""
        user = self.user
        return user is not None and notifications.find_follow(user, target_type, target_id) is not None

    @cached_property
    def sanctions(self) -> list[Sanction]:
        """Mutes and a suspension running now, soonest end first."""
        user = self.user
        return active_sanctions(user) if user is not None else []


def template_context() -> dict[str, Any]:
    """The app's context processor: `layout` for base.html."""
    return {"layout": Layout(current_user)}
