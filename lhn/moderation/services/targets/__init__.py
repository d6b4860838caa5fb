"""Target adapters: how moderation loads, hides, restores and redacts each kind of thing people flag.

Moderation sits on top of the dependency graph, so an adapter may import its feature directly. This module
is the registry and the contract; users.py adapts "user" (a member's profile: flag the person, hide or redact
their bio), posts.py "post", "answer" and "comment", chat.py "chat_message", calling the posts and chat
services. lhn.moderation.services registers them all when it is imported.

Contract for an adapter (subclass TargetAdapter, or StoredTextAdapter for one text without history, then
`register(MyAdapter())`):
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
from typing import TYPE_CHECKING, Any, ClassVar

from lhn.errors import NotFound
from lhn.extensions import db

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.moderation.services.log import LogLink

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

    def log_link(self) -> LogLink:
        """The target as a moderation log line names and links it (queue actions, redactions, auto-hides)."""
        return {"target_type": self.type, "target_id": self.id, "target_label": self.label, "target_url": self.url}


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


class StoredTextAdapter(TargetAdapter):
    """A thing with one stored text and no history (a member's bio, a chat message): the adapter names its
    model and text column, and says in `rewrite` how a redacted text is stored."""

    model: ClassVar[type]
    text_column: ClassVar[str]

    def source_text(self, target_id: int, revision_id: int | None = None) -> str:
        row = db.session.get(self.model, target_id)
        return getattr(row, self.text_column) if row is not None else ""

    def prepare_redaction(self, target_id: int, *, fragments: list[str], revision_id: int | None = None,
                          mark: str = REDACTED_MARK) -> Redaction:  # fmt: skip
        row = db.session.get(self.model, target_id)
        if row is None:
            return Redaction(0, lambda: None)
        text, count = redact_text(getattr(row, self.text_column), fragments, mark)
        return Redaction(count, self.rewrite(row, text) if count else lambda: None)

    def rewrite(self, row: Any, text: str) -> Callable[[], None]:
        """Work out (without the write lock) what storing `text` takes; return the step that stores it."""
        raise NotImplementedError


_adapters: dict[str, TargetAdapter] = {}


def register(adapter: TargetAdapter) -> None:
    _adapters[adapter.type] = adapter


def unregister(target_type: str) -> None:
    """For tests that register a fake adapter."""
    _adapters.pop(target_type, None)


def get_adapter(target_type: str) -> TargetAdapter | None:
    return _adapters.get(target_type)


def get_visible_target(viewer: object, target_type: str, target_id: int, *, missing: str) -> Target:
    """The target, if its type is registered, it exists and `viewer` may see it. Raises NotFound(`missing`)
    otherwise: a thing nobody may see answers as a thing that isn't there."""
    adapter = _adapters.get(target_type)
    target = adapter.load(target_id) if adapter is not None else None
    if adapter is None or target is None or not adapter.can_view(viewer, target):
        raise NotFound(missing)
    return target


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
