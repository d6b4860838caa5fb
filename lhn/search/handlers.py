"""Search listens: a post whose content or visibility changed is re-indexed. Connected at import."""

from __future__ import annotations

from typing import Any

from lhn import signals
from lhn.posts.models import Post
from lhn.search.services import index_post


@signals.post_content_changed.connect
def _post_changed(post: Post, **_: Any) -> None:
    index_post(post)
