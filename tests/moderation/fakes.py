"""A fake content target ("post"-like) so the content paths of moderation run before posts exist.

It keeps its rows in memory (source text, hidden reason, a revision history) and behaves as the target
adapter contract in lhn/moderation/services/targets/__init__.py says a real feature must.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lhn.accounts.models import User
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.extensions import db
from lhn.moderation.services import targets


@dataclass
class FakeRow:
    community_id: int
    author_id: int
    text: str
    hidden_reason: str = ""
    revisions: list[str] = field(default_factory=list)  # older texts, oldest first


class FakeContentAdapter(targets.TargetAdapter):
    type = "fake"
    label = "answer"

    def __init__(self) -> None:
        self.rows: dict[int, FakeRow] = {}

    def add(self, community: Community, author: User, text: str, revisions: list[str] | None = None) -> int:
        new_id = len(self.rows) + 1
        self.rows[new_id] = FakeRow(community.id, author.id, text, revisions=list(revisions or []))
        return new_id

    def load_many(self, ids: Iterable[int]) -> dict[int, targets.Target]:
        found = {}
        for target_id in ids:
            row = self.rows.get(target_id)
            if row is not None:
                found[target_id] = targets.Target(
                    type=self.type,
                    id=target_id,
                    label=self.label,
                    community_id=row.community_id,
                    author=db.session.get(User, row.author_id),
                    url=f"/fake/{target_id}",
                    excerpt=targets.excerpt(row.text),
                    hidden=bool(row.hidden_reason),
                    hidden_reason=row.hidden_reason,
                )
        return found

    def can_view(self, viewer: object, target: targets.Target) -> bool:
        community = db.session.get(Community, target.community_id)
        return community_permissions.can_read(viewer, community, communities.find_membership(viewer, community))

    def hide(self, target_id: int, *, reason: str, by: User | None) -> None:
        self.rows[target_id].hidden_reason = reason

    def restore(self, target_id: int, *, by: User | None) -> None:
        self.rows[target_id].hidden_reason = ""

    def source_text(self, target_id: int, revision_id: int | None = None) -> str:
        row = self.rows[target_id]
        return row.text if revision_id is None else row.revisions[revision_id - 1]

    def prepare_redaction(self, target_id: int, *, fragments: list[str], revision_id: int | None = None,
                          mark: str = targets.REDACTED_MARK) -> targets.Redaction:  # fmt: skip
        row = self.rows[target_id]
        if revision_id is None:
            text, count = targets.redact_text(row.text, fragments, mark)

            def store() -> None:
                row.text = text
        else:
            text, count = targets.redact_text(row.revisions[revision_id - 1], fragments, mark)

            def store() -> None:
                row.revisions[revision_id - 1] = text
        return targets.Redaction(count, store)

    def revision_ids(self, target_id: int) -> list[int]:
        return list(range(1, len(self.rows[target_id].revisions) + 1))
