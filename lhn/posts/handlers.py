"""Posts' answers to siblings that must not import posts (measures): ideas for PDSA cycles, cycle summaries.

Connected at import; create_app imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lhn import signals
from lhn.accounts.models import User
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.posts.models import Post, PostKind
from lhn.posts.services import add_comment, ideas_as_dicts, prepare_text

SUMMARY_MAX = 10_000


@signals.ideas_requested.connect
def _ideas_requested(community_id: Any, *, ids: list[int] | None = None, **_: Any) -> dict[int, dict[str, Any]]:
    """The community's visible ideas (or the given ids among them) as plain dicts."""
    if not isinstance(community_id, int):
        return {}
    return ideas_as_dicts(community_id, ids)


@signals.pdsa_cycle_closed.connect
def _pdsa_cycle_closed(cycle: Any, *, idea_id: int | None = None, by: User | None = None, summary: str = "",
                       **_: Any) -> Callable[[], int] | None:  # fmt: skip
    """Prepare the closed cycle's summary as a comment on its idea by the person who closed it: checked and
    rendered now (the sender is in lhn.database.reading()), stored by the returned function, which the sender
    calls in its write transaction and which returns the comment's id.

    None when the idea is gone, withdrawn or hidden, or the summary is empty. The comment notifies the idea's
    author like any comment.
    """
    if not isinstance(idea_id, int) or not isinstance(by, User):
        return None
    idea = db.session.get(Post, idea_id)
    text = clean_text(summary or "").strip()[:SUMMARY_MAX]
    if idea is None or idea.kind != PostKind.IDEA or not idea.is_visible or not text:
        return None
    written = prepare_text({}, text, idea.community, by=by, confirm_phi=False)  # the cycle's fields were checked
    return lambda: add_comment(idea, text, written, by=by).id
