"""Target adapters: how moderation loads, hides, restores and redacts each kind of thing people flag.

Moderation sits on top of the dependency graph, so an adapter may import its feature directly. This module
registers "user" (a member's profile: flag the person, hide or redact their bio); targets_posts.py registers
"post", "answer" and "comment", targets_chat.py "chat_message", calling the posts and chat services.

Contract for an adapter (subclass TargetAdapter, then `register(MyAdapter())`):
- `load_many(ids)` returns {id: Target} for the ids that exist (one or two queries, not one per id).
- `can_view(viewer, target)`: may this person see the target at all (flagging needs it)?
- `hide(id, reason=, by=)` / `restore(id, by=)`: hidden content shows a placeholder with the reason
  to readers and the original to moderators and the author. Never delete. Flush, don't commit.
- `source_text(id, revision_id=None)` and `prepare_redaction(id, fragments=, revision_id=None, mark=)`: work
  out, without the write lock (the caller is in lhn.database.reading()), the text with every occurrence of each
  fragment replaced by `mark` (REDACTED_MARK; AUTHOR_REDACTED_MARK when authors remove their own) and its
  rendered HTML; return a Redaction whose store() writes the source
  AND its HTML (and the search index, and the given revision of the history) in the write transaction,
  raising Conflict if the text changed meanwhile.
- `revision_ids(id)`: the target's history, oldest first ([] when it has none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select

from lhn.accounts.models import User
from lhn.errors import Conflict
from lhn.extensions import db
from lhn.markup import render_markdown

REDACTED_MARK = "[removed by moderation]"
AUTHOR_REDACTED_MARK = "[removed by the author]"  # an author's own redaction is not moderation
EXCERPT_MAX = 280


@dataclass
class Target:
    type: str
    id: int
    label: str  # what readers call it: "answer", "member profile"
    community_id: int | None
    author: User | None
    url: str  # local link where readers see it (or its placeholder)
    excerpt: str  # short plain text for moderators; may be hidden content (see queue.view_original)
    hidden: bool
    hidden_reason: str = ""


@dataclass
class Redaction:
    """A redaction worked out without the write lock: how many fragments it removes, and what stores it."""

    count: int
    store: Callable[[], None]


class TargetAdapter:
    type: ClassVar[str]
    label: ClassVar[str]
    hideable: ClassVar[bool] = True

    def load_many(self, ids: Iterable[int]) -> dict[int, Target]:
        raise NotImplementedError

    def load(self, target_id: int) -> Target | None:
        return self.load_many([target_id]).get(target_id)

    def can_view(self, viewer: object, target: Target) -> bool:
        raise NotImplementedError

    def hide(self, target_id: int, *, reason: str, by: User | None) -> None:
        raise NotImplementedError

    def restore(self, target_id: int, *, by: User | None) -> None:
        raise NotImplementedError

    def source_text(self, target_id: int, revision_id: int | None = None) -> str:
        raise NotImplementedError

    def prepare_redaction(self, target_id: int, *, fragments: list[str], revision_id: int | None = None,
                          mark: str = REDACTED_MARK) -> Redaction:  # fmt: skip
        raise NotImplementedError

    def revision_ids(self, target_id: int) -> list[int]:
        return []


_adapters: dict[str, TargetAdapter] = {}


def register(adapter: TargetAdapter) -> None:
    _adapters[adapter.type] = adapter


def unregister(target_type: str) -> None:
    """For tests that register a fake adapter."""
    _adapters.pop(target_type, None)


def get_adapter(target_type: str) -> TargetAdapter | None:
    return _adapters.get(target_type)


def registered_types() -> list[str]:
    return sorted(_adapters)


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1] + "…"


def redact_text(text: str, fragments: list[str], mark: str = REDACTED_MARK) -> tuple[str, int]:
    """Replace every occurrence of each fragment (longest first) with `mark`. Pure."""
    count = 0
    for fragment in sorted({f for f in fragments if f and f.strip()}, key=len, reverse=True):
        count += text.count(fragment)
        text = text.replace(fragment, mark)
    return text, count


# --- members -------------------------------------------------------------------------------------------


class UserAdapter(TargetAdapter):
    """A member: flag the person; moderators hide or redact the bio on their profile."""

    type = "user"
    label = "member profile"

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

    def source_text(self, target_id: int, revision_id: int | None = None) -> str:
        user = db.session.get(User, target_id)
        return user.bio if user is not None else ""

    def prepare_redaction(self, target_id: int, *, fragments: list[str], revision_id: int | None = None,
                          mark: str = REDACTED_MARK) -> Redaction:  # fmt: skip
        user = db.session.get(User, target_id)
        if user is None:
            return Redaction(0, lambda: None)
        before = user.bio
        bio, count = redact_text(before, fragments, mark)
        html = str(render_markdown(bio, field="bio")) if bio and count else ""

        def store() -> None:
            db.session.refresh(user)
            if user.bio != before:
                raise Conflict("The text was edited while the redaction was prepared; please look again.")
            user.bio, user.bio_html = bio, html
            db.session.flush()

        return Redaction(count, store if count else lambda: None)


register(UserAdapter())
