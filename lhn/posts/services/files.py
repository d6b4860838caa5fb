"""An experience carries files (lhn/attachments): the protocol a site used, its slides, a photo of its huddle board.
Its author attaches them while it is visible; whoever may read the experience may download them."""

from __future__ import annotations

from lhn import attachments
from lhn.errors import NotFound
from lhn.posts import permissions
from lhn.posts.models import Post, PostKind
from lhn.posts.services.common import get_access

EXPERIENCE = "experience"


def experience_stamp(post: Post) -> str:
    return f"post of {post.created_at:%Y-%m-%dT%H:%M:%S}"


def experience_owner(post_id: int, viewer: object) -> attachments.Owner:
    """A visible experience `viewer` may read (a hidden or withdrawn one's files are its moderators' alone)."""
    access = get_access(post_id, by=viewer)
    post = access.post
    if post.kind != PostKind.EXPERIENCE or not (post.is_visible or access.moderates):
        raise NotFound("No such file.")
    return attachments.Owner(
        community_id=post.community_id, title=post.title,
        endpoint="posts.show", values={"slug": post.community.slug, "kind_path": post.kind.path, "post_id": post.id},
        may_attach=post.is_visible and permissions.is_author(viewer, post), stamp=experience_stamp(post),
        denied="Files are attached to an experience by its author.",
    )  # fmt: skip


attachments.register_owner(EXPERIENCE, experience_owner, experience_stamp)
