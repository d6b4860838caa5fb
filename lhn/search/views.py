"""Search pages: across the communities a reader may read, within one community, and the similar-questions
suggestion shown while someone types a question's title."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.communities import services as communities
from lhn.errors import ValidationFailed
from lhn.pagination import Page
from lhn.posts.views.templating import anonymous_page, community_version
from lhn.search import services as search

if TYPE_CHECKING:
    from lhn.communities.models import Community

bp = Blueprint("search", __name__)


def _query() -> str:
    q = inputs.arg_text("q")
    if inputs.arg_bool("vetted") and "is:vetted" not in q:
        q = f"{q} is:vetted".strip()
    return q


def _results(community: Community | None) -> str | tuple[str, int]:
    q, sort, error = "", "newest", None
    try:
        q, sort = _query(), inputs.arg_text("sort") or "newest"
        results = search.search(q, by=current_user, community=community, sort=sort, cursor=inputs.arg_cursor())
    except ValidationFailed as exc:
        error = " ".join(exc.errors.values())
        results = search.SearchResults(search.SearchQuery(raw=q), Page([], None), "newest")
    html = render_template("search/results.html", community=community, q=q, sort=sort, results=results, error=error)
    return (html, 422) if error else html


@bp.get("/search", endpoint="search")
def search_page() -> ResponseReturnValue:
    return _results(None)


@bp.get("/c/<slug>/search")
def community_search(slug: str) -> ResponseReturnValue:
    def render() -> ResponseReturnValue:
        community, _membership = communities.get_readable_community(current_user, slug)
        return _results(community)

    # Results depend only on the community's posts, so readers who are not logged in share them by its version.
    return anonymous_page(lambda: community_version("search", slug), render)


@bp.get("/c/<slug>/similar")
def similar(slug: str) -> ResponseReturnValue:
    """A small HTML fragment: questions whose titles look like `title` (fetched while typing)."""
    title = inputs.arg_text("title")[:200]
    community, _membership = communities.get_readable_community(current_user, slug)
    found = search.similar_titles(community, title, by=current_user)
    return render_template("search/_similar.html", questions=found)
