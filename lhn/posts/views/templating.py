"""Template helpers the posts blueprint gives every page: post links, per-request URL patterns for long lists,
a post's cached list entry, and the date and list-filter filters; and whole pages for readers who are not
logged in (`anonymous_page`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import g, get_template_attribute, request, session, url_for
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from lhn.communities import services as communities
from lhn.posts import cache as answers_cache
from lhn.posts.views.common import bp


@bp.app_template_global()
def post_link(post: Any) -> str:
    """A post's address without url_for (lists print dozens): the same rule as posts.show."""
    return request.script_root + post.path


_SENTINEL = 2_147_000_123  # stands for the id while a URL pattern is built once per request


@bp.app_template_global()
def item_url(endpoint: str, key: str, value: int, **fixed: Any) -> str:
    """url_for(endpoint, key=value, **fixed), building the pattern once per request and then only
    substituting the id: pages with 30 answers otherwise spend milliseconds in url_for."""
    cache = g.setdefault("_lhn_url_patterns", {})
    name = (endpoint, key, tuple(sorted(fixed.items())))
    pattern = cache.get(name)
    if pattern is None:
        pattern = cache[name] = url_for(endpoint, **{**fixed, key: _SENTINEL})
    return pattern.replace(str(_SENTINEL), str(int(value)), 1)


@bp.app_template_global()
def tag_url(endpoint: str, slug: str, tag: str) -> str:
    """url_for(endpoint, slug=slug, tag=tag), with the path built once per request."""
    cache = g.setdefault("_lhn_url_patterns", {})
    base = cache.get((endpoint, slug))
    if base is None:
        base = cache[(endpoint, slug)] = url_for(endpoint, slug=slug)
    return f"{base}?tag={quote(tag)}"


@bp.app_template_global()
def post_item_html(post: Any, role: Any, show_community: bool = False) -> Markup:
    """A post's entry in lists. The same for every reader, so rendered once per version of the post
    (lhn/posts/cache.py; badges catch up within the cache's TTL)."""
    key = ("item", post.id, post.page_version, role.value if role else None, show_community, request.script_root)
    html = answers_cache.get(key)
    if html is None:
        macro = get_template_attribute("posts/_macros.html", "post_item")
        html = Markup(macro(post, role, show_community))  # noqa: S704 - our own template's output
        answers_cache.put(key, html)
    return html


@bp.app_template_filter("day")
def day(value: Any) -> Markup:
    """<time> for a date or datetime, e.g. 23 Nov 2026 (a filter: cheaper than a macro in long lists)."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), value.strftime("%d %b %Y"))


@bp.app_template_filter()
def link_args(args: dict[str, Any], community: Any = None) -> dict[str, Any]:
    """List filters for links: without the cursor or empty values, with the community's slug."""
    out = {k: v for k, v in args.items() if v and k != "cursor"}
    if community is not None:
        out["slug"] = community.slug
    return out


def anonymous_page(version: Callable[[], tuple[Any, ...] | None],
                   render: Callable[[], ResponseReturnValue]) -> ResponseReturnValue:
    """The page `render()` makes, for readers who are not logged in: stored whole and served again while
    `version()` holds (read from the database before rendering, e.g. the community's content_version; None
    when the page is not public), for the same address. Logged-in readers, and anyone with messages waiting,
    always get `render()` (pages for readers who are not logged in carry no CSRF token: base.html). Badges
    catch up within the cache's TTL. Only pages are stored, not redirects or refusals."""
    if current_user.is_authenticated or "_flashes" in session:
        return render()
    current = version()
    if current is None:
        return render()
    key = ("whole page", *current, request.full_path, request.script_root)
    stored = answers_cache.get(key)
    if stored is not None:
        return str(stored)
    html = render()
    if isinstance(html, str) and not request_ctx.flashes:  # flashes: messages it showed, for this reader only
        answers_cache.put(key, html)
    return html


def community_version(page: str, slug: str) -> tuple[Any, ...] | None:
    """The version of a public community's stored `page` (its posts, its search results): its content_version,
    which any change to it or its posts bumps (lhn/posts/cache.py). None for a restricted or unknown one."""
    version = communities.public_content_version(slug)
    return None if version is None else (page, slug, version)
