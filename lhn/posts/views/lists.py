"""Post lists: a community's posts, the feed across my communities, and the knowledge base (vetted answers) of
one community or of all of mine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from lhn import inputs
from lhn.communities import services as communities
from lhn.errors import ValidationFailed
from lhn.posts import cache as answers_cache
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.forms import list_filters
from lhn.posts.models import PostKind
from lhn.posts.views.common import bp
from lhn.posts.views.templating import anonymous_page, community_version


def _popular_tags(community_ids: list[int], *, vetted_only: bool = False) -> list[tuple[str, int]]:
    """The sidebar's tags; they may lag by the cache's TTL (they are a guide, not a count)."""
    key = ("tags", tuple(sorted(community_ids)), vetted_only)
    tags = answers_cache.get(key)
    if tags is None:
        tags = posts.popular_tags(community_ids, vetted_only=vetted_only)
        answers_cache.put(key, tags)
    return tags


def _filtered(list_: Callable[..., posts.PostList]) -> tuple[dict[str, Any], posts.PostList] | None:
    """The list under the query string's filters, or None with the reason flashed (bad filters)."""
    try:
        args = list_filters()
        return args, list_(**args)
    except ValidationFailed as exc:
        flash(" ".join(exc.errors.values()), "error")
        return None


@bp.get("/c/<slug>/posts")
def index(slug: str) -> ResponseReturnValue:
    def render() -> ResponseReturnValue:
        community, membership = communities.get_readable_community(current_user, slug)
        found = _filtered(lambda **args: posts.list_posts(community, by=current_user, **args))
        if found is None:
            return redirect(url_for("posts.index", slug=slug))
        args, listing = found
        return render_template(
            "posts/index.html", community=community, membership=membership, listing=listing, args=args,
            tags=_popular_tags([community.id]), can_post=permissions.can_post(current_user, community, membership),
            post_refusal=posts.post_refusal(community, membership, by=current_user), kinds=list(PostKind),
        )  # fmt: skip

    return anonymous_page(lambda: community_version("posts", slug), render)


@bp.get("/feed")
@login_required
def feed() -> ResponseReturnValue:
    found = _filtered(lambda **args: posts.list_feed(by=current_user, **args))
    if found is None:
        return redirect(url_for("posts.feed"))
    args, listing = found
    mine = list(communities.memberships_of(current_user))
    return render_template("posts/feed.html", listing=listing, args=args, kinds=list(PostKind),
                           tags=_popular_tags(mine))  # fmt: skip


@bp.get("/c/<slug>/vetted")
def knowledge_base(slug: str) -> ResponseReturnValue:
    community, _membership = communities.get_readable_community(current_user, slug)
    return _knowledge_base(community, [community.id])


@bp.get("/vetted")
@login_required
def my_knowledge_base() -> ResponseReturnValue:
    return _knowledge_base(None, list(communities.memberships_of(current_user)))


def _knowledge_base(community: Any, community_ids: list[int]) -> str:
    """One community's vetted answers, or (community None) those of every community in `community_ids`."""
    tag, cursor = inputs.arg_text("tag") or None, inputs.arg_cursor()
    listing = posts.list_knowledge_base(community, by=current_user, tag=tag, cursor=cursor)
    return render_template("posts/knowledge_base.html", community=community, listing=listing, tag=tag,
                           tags=_popular_tags(community_ids, vetted_only=True),
                           gaps=posts.vetting_gaps(community_ids))  # fmt: skip
