"""The "user" target: a member's profile; moderators flag the person and hide or redact the bio."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from lhn.accounts.models import User
from lhn.database import unchanged_since
from lhn.errors import Conflict
from lhn.extensions import db
from lhn.markup import render_markdown
from lhn.moderation.services.targets import StoredTextAdapter, Target, excerpt, register


class UserAdapter(StoredTextAdapter):
    """A member: flag the person; moderators hide or redact the bio on their profile."""

    type = "user"
    label = "member profile"
    model = User
    text_column = "bio"

    def load_many(self, ids: Iterable[int]) -> dict[int, Target]:
        wanted = set(ids)
        if not wanted:
            return {}
        users = db.session.scalars(select(User).where(User.id.in_(wanted)))
        return {
            u.id: Target(
                type=self.type,
                id=u.id,
                label=self.label,
                community_id=None,
                author=u,
                url=f"/u/{u.username}",
                excerpt=excerpt(f"{u.display_name}: {u.bio}" if u.bio else u.display_name),
                hidden=bool(u.bio_hidden_reason),
                hidden_reason=u.bio_hidden_reason,
            )
            for u in users
        }

    def can_view(self, viewer: object, target: Target) -> bool:
        return True  # profiles are public

    def hide(self, target_id: int, *, reason: str, by: User | None) -> None:
        user = db.session.get(User, target_id)
        if user is not None:
            user.bio_hidden_reason = reason[:300] or "Hidden by a moderator."
            db.session.flush()

    def restore(self, target_id: int, *, by: User | None) -> None:
        user = db.session.get(User, target_id)
        if user is not None:
            user.bio_hidden_reason = ""
            db.session.flush()

    def rewrite(self, row: Any, text: str) -> Callable[[], None]:
        before = row.bio
        html = str(render_markdown(text, field="bio")) if text else ""

        def store() -> None:
            if not unchanged_since(row, bio=before):
                raise Conflict("The text was edited while the redaction was prepared; please look again.")
            row.bio, row.bio_html = text, html
            db.session.flush()

        return store


register(UserAdapter())
