"""Target adapters for posts, answers and comments (phase 2 of issue 6), the review-kind handlers for vetting,
and the log and audit lines for hiding done from a post's own page.

Each adapter loads its rows in one query, checks readability with the posts' permission helper, and calls
the posts services to hide, restore and redact, so counters, the knowledge base and search stay in step.
Imported once by lhn/moderation/handlers.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.extensions import db
from lhn.markup import html_to_text
from lhn.moderation.models import ReviewKind
from lhn.moderation.services import actions, audit, targets
from lhn.moderation.services.log import log_action
from lhn.moderation.services.queue import ItemView
from lhn.posts import permissions as post_permissions
from lhn.posts import services as posts
from lhn.posts.models import Answer, Comment, Post


def _readable(viewer: object, post: Post) -> bool:
    community = post.community
    return post_permissions.can_read(viewer, community, communities.find_membership(viewer, community))


class _PostsAdapter(targets.TargetAdapter):
    """Shared by the three: `model` rows that hang off a post, hidden with posts.set_hidden."""

    model: ClassVar[Any]

    def _rows(self, ids: Iterable[int]) -> list[Any]:
        wanted = set(ids)
        if not wanted:
            return []
        if self.model is Post:
            community = joinedload(Post.community)
        else:
            community = joinedload(self.model.post).joinedload(Post.community)
        return list(
            db.session.scalars(
                select(self.model).where(self.model.id.in_(wanted)).options(joinedload(self.model.author), community)
            )
        )

    def _post(self, row: Any) -> Post:
        return row if isinstance(row, Post) else row.post

    def _url(self, row: Any) -> str:
        """A post's page; an answer or a comment is an anchor on its post's page (#answer-12, #comment-3)."""
        return row.path if isinstance(row, Post) else f"{row.post.path}#{self.type}-{row.id}"

    def _excerpt(self, row: Any) -> str:
        return targets.excerpt(html_to_text(row.body_html))

    def load_many(self, ids: Iterable[int]) -> dict[int, targets.Target]:
        return {
            row.id: targets.Target(
                type=self.type,
                id=row.id,
                label=self.label,
                community_id=row.community_id,
                author=row.author,
                url=self._url(row),
                excerpt=self._excerpt(row),
                hidden=row.hidden_at is not None,
                hidden_reason=row.hidden_reason or "",
            )
            for row in self._rows(ids)
        }

    def _get(self, target_id: int) -> Any:
        rows = self._rows([target_id])
        return rows[0] if rows else None

    def can_view(self, viewer: object, target: targets.Target) -> bool:
        row = self._get(target.id)
        return row is not None and _readable(viewer, self._post(row))

    def hide(self, target_id: int, *, reason: str, by: User | None) -> None:
        row = self._get(target_id)
        if row is not None:
            posts.set_hidden(self.type, row, self._post(row), hidden=True, reason=reason, by=by)  # type: ignore[arg-type]

    def restore(self, target_id: int, *, by: User | None) -> None:
        row = self._get(target_id)
        if row is not None and row.hidden_at is not None:
            posts.set_hidden(self.type, row, self._post(row), hidden=False, reason="", by=by)  # type: ignore[arg-type]

    def source_text(self, target_id: int, revision_id: int | None = None) -> str:
        return posts.stored_text(self.type, target_id, revision_id)  # type: ignore[arg-type]

    def prepare_redaction(
        self, target_id: int, *, fragments: list[str], revision_id: int | None = None, mark: str = targets.REDACTED_MARK
    ) -> targets.Redaction:
        count, store = posts.prepare_redaction(
            self.type,  # type: ignore[arg-type]
            target_id,
            lambda text: targets.redact_text(text, fragments, mark),
            revision=revision_id,
        )
        return targets.Redaction(count, store)

    def revision_ids(self, target_id: int) -> list[int]:
        """Revision numbers (1 is the first version): the queue's redaction form and the log name them."""
        return posts.revision_numbers(self.type, target_id)  # type: ignore[arg-type]


class PostAdapter(_PostsAdapter):
    type = "post"
    label = "post"
    model = Post

    def _excerpt(self, row: Any) -> str:
        return targets.excerpt(f"{row.title}: {html_to_text(row.body_html)}")


class AnswerAdapter(_PostsAdapter):
    type = "answer"
    label = "answer"
    model = Answer


class CommentAdapter(_PostsAdapter):
    type = "comment"
    label = "comment"
    model = Comment

    def revision_ids(self, target_id: int) -> list[int]:
        return []


for _adapter in (PostAdapter(), AnswerAdapter(), CommentAdapter()):
    targets.register(_adapter)


# --- vetting items in the review queue ---------------------------------------------------------------------


def _answer_vetting(view: ItemView, action: str, *, by: User, reason: str) -> str:
    """ "Awaiting vetting": vetting itself needs a note and evidence, so it happens on the answer's vet page
    (which closes the item); here a moderator can only dismiss it (not worth vetting)."""
    return "dismissed"


def _vetted_answer_changed(view: ItemView, action: str, *, by: User, reason: str) -> str:
    """A vetted answer was edited. approve: the seal moves to the new revision (re-vetted with the same
    evidence); reject: the vetting is withdrawn, with the reason; dismiss: leave it "changed since vetting"."""
    answer_id = view.item.target_id
    if action == "approve":
        posts.confirm_vetting(answer_id, by=by, note=reason)
        return "revetted"
    if action == "reject":
        posts.unvet_answer(answer_id, by=by, reason=reason)
        return "unvetted"
    return "dismissed"


actions.register_kind_handler(ReviewKind.ANSWER_VETTING, _answer_vetting)
actions.register_kind_handler(ReviewKind.VETTED_ANSWER_CHANGED, _vetted_answer_changed)


# --- hiding from the post's own page (posts.hide_content / restore_content) --------------------------------


@signals.content_hidden.connect
def _content_hidden(post: Post, *, target: str, obj: Any, by: User, reason: str, hidden: bool, **_: Any) -> None:
    """The public log and the audit trail record it like a hide from the queue (posts notify the author)."""
    adapter = targets.get_adapter(target)
    loaded = adapter.load(obj.id) if adapter is not None else None
    if loaded is None:
        return
    action = "hidden" if hidden else "restored"
    log_action(action, by=by, community_id=post.community_id, reason=reason, **loaded.log_link())
    audit.record(f"content.{action}", actor=by, object_type=target, object_id=obj.id, community_id=post.community_id)
