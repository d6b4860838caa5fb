"""Search over JSON: /search across communities, a community's post list (plain, or searched with q=),
and similar questions. Search imports posts, never the other way round."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from lhn import inputs
from lhn.api import bp, page_json
from lhn.api.openapi import CURSOR, op, page_of, path_param, query_param, ref
from lhn.communities import services as communities
from lhn.posts import services as posts
from lhn.posts.api import LIST_PARAMS, page_of_posts, post_summary_json
from lhn.posts.forms import list_filters
from lhn.search import services as search


def _hits(results: search.SearchResults) -> dict[str, Any]:
    items = [{**post_summary_json(h.post, h.role), "title_html": str(h.title_html), "snippet_html": str(h.snippet_html)}
             for h in results.page.items]  # fmt: skip
    return page_json(items, results.page.next_cursor)


@bp.get("/search")
def search_posts() -> ResponseReturnValue:
    q, slug = inputs.arg_text("q"), inputs.arg_text("community")
    sort, cursor = inputs.arg_choice("sort", search.SORTS, "newest"), inputs.arg_cursor()
    community = communities.get_readable_community(current_user, slug)[0] if slug else None
    return jsonify(_hits(search.search(q, by=current_user, community=community, sort=sort, cursor=cursor)))


@bp.get("/communities/<slug>/posts")
def list_posts(slug: str) -> ResponseReturnValue:
    filters, q = list_filters(), inputs.arg_text("q").strip()
    sort = inputs.arg_choice("sort", search.SORTS, "newest")
    community, _membership = communities.get_readable_community(current_user, slug)
    if q:
        kind, tag = filters["kind"], filters["tag"]
        raw = " ".join([q, f"kind:{kind}" if kind else "", f'tag:"{tag}"' if tag else ""]).strip()
        results = search.search(raw, by=current_user, community=community, sort=sort, cursor=filters["cursor"])
        return jsonify(_hits(results))
    return jsonify(page_of_posts(posts.list_posts(community, by=current_user, **filters)))


@bp.get("/communities/<slug>/similar")
def similar_questions(slug: str) -> ResponseReturnValue:
    title = inputs.arg_text("title")[:200]
    community, _membership = communities.get_readable_community(current_user, slug)
    return jsonify(items=[post_summary_json(p) for p in search.similar_titles(community, title, by=current_user)])


SEARCH_PARAMS = [
    query_param("q", "Words, \"phrases\" and filters: kind:question|idea|experience|call, tag:x, is:vetted, "
                "is:unanswered"),
    query_param("sort", "newest (default) or relevance (ranks the newest 1,000 matches)"),
    CURSOR,
]  # fmt: skip
OPENAPI_PATHS = {
    "/search": {
        "get": op("Search posts and answers in every community I may read (or one, with `community`)", auth=False,
                  response=page_of(ref("PostSummary")), errors=("403", "404", "422"),
                  params=[*SEARCH_PARAMS, query_param("community", "A community's slug")]),
    },
    "/communities/{slug}/posts": {
        "get": op("A community's posts: newest first, unanswered or top; with `q`, a search of them instead",
                  auth=False, response=page_of(ref("PostSummary")), errors=("403", "404", "422"),
                  params=[path_param("slug"), *SEARCH_PARAMS[:2], *LIST_PARAMS]),
    },
    "/communities/{slug}/similar": {
        "get": op("Questions whose titles look like `title` (while typing a question)", auth=False,
                  errors=("403", "404"), params=[path_param("slug"), query_param("title", "The title so far")]),
    },
}  # fmt: skip
