"""Full-text search over posts and their answers, behind one interface: SQLite FTS5 or PostgreSQL tsvector.

Results only come from communities the reader may read: filter tokens inside the index narrow the
match (so a filtered search still stops after a page of hits), then an exact check on the rows of the
page decides. Default order is newest first; "relevance" ranks only the newest CANDIDATES matches
(ranking every match of a common word is O(matches)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import bindparam, delete, func, or_, select, text
from sqlalchemy.orm import joinedload

from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, Visibility
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, html_to_text
from lhn.pagination import Page, decode_cursor, encode_cursor
from lhn.posts import permissions
from lhn.posts import services as posts
from lhn.posts.models import Answer, Post, PostKind
from lhn.posts.services.common import community_roles
from lhn.posts.services.lists import LIST_OPTIONS
from lhn.search.models import SearchDocument

CANDIDATES = 1000  # relevance ranks at most this many (the newest) matches
MAX_TERMS, TERM_MAX = 12, 100
BODY_MAX = 200_000
SORTS = ("newest", "relevance")
START, STOP = "\x02", "\x03"  # highlight markers: clean_text strips control characters from all user text
_FILTER = re.compile(r'(?P<key>kind|tag|is):(?P<value>"[^"]*"|\S+)|"(?P<phrase>[^"]*)"|(?P<word>\S+)', re.IGNORECASE)
_WORD = re.compile(r"\w", re.UNICODE)
_STOPWORDS = (
    "a an and are as at be but by can do does for from has have how i if in is it my of on or should so that the "
    "there this to was what when where which who why will with would you your we our me"
)
STOPWORDS = frozenset(_STOPWORDS.split())


# --- the index ------------------------------------------------------------------------------------------


def _facets(post: Post) -> str:
    tokens = [f"zc{post.community_id}", f"zk{post.kind.value}"]
    if post.community.visibility == Visibility.PUBLIC:
        tokens.append("zpub")
    tokens += [_tag_token(t) for t in post.tag_list]
    if post.vetted_at is not None:
        tokens.append("zvetted")
    if post.kind == PostKind.QUESTION and post.answer_count == 0:
        tokens.append("zunanswered")
    return " ".join(tokens)


def _tag_token(tag: str) -> str:
    return "zt" + tag.encode().hex()  # hyphens would split a tag into several tokens


@lru_cache(maxsize=64)
def _text_of(html: str) -> str:
    """html_to_text, remembered: each new answer re-indexes its whole thread, and the other answers rarely change."""
    return html_to_text(html)


def index_post(post: Post) -> None:
    """Bring the post's search document up to date: its text and its visible answers', or remove it
    when the post is withdrawn or hidden. Flushes."""
    document = db.session.get(SearchDocument, post.id)
    if not post.is_visible:
        if document is not None:
            db.session.delete(document)
            db.session.flush()
        return
    answers = db.session.scalars(
        select(Answer.body_html).where(Answer.post_id == post.id, Answer.hidden_at.is_(None),
                                       Answer.withdrawn_at.is_(None)).order_by(Answer.id)
    )  # fmt: skip
    # Runs in the write transaction (a post_content_changed receiver): read only as much of the thread as the
    # document keeps, so a long thread of long answers costs the same as a short one.
    parts, size = [], 0
    for html in chain([post.body_html], answers):
        text = _text_of(html[: BODY_MAX * 8])  # markup outweighs text; the cut below drops the rest anyway
        parts.append(text)
        size += len(text) + 1
        if size >= BODY_MAX:
            break
    body = "\n".join(parts)[:BODY_MAX]
    values = {"community_id": post.community_id, "kind": post.kind.value, "created_at": post.created_at,
              "title": post.title, "body": body, "facets": _facets(post)}  # fmt: skip
    if document is None:
        db.session.add(SearchDocument(post_id=post.id, **values))
    else:
        for key, value in values.items():
            setattr(document, key, value)
    db.session.flush()


def rebuild_index(*, batch: int = 500) -> int:
    """Re-index every post (after an import, or a community changed visibility). Returns how many."""
    db.session.execute(delete(SearchDocument))
    count, last = 0, 0
    while True:
        rows = list(db.session.scalars(select(Post).where(Post.id > last).options(joinedload(Post.community))
                                       .order_by(Post.id).limit(batch)))  # fmt: skip
        if not rows:
            return count
        for post in rows:
            index_post(post)
        count += len(rows)
        last = rows[-1].id


# --- queries -------------------------------------------------------------------------------------------


@dataclass
class SearchQuery:
    raw: str
    terms: list[str] = field(default_factory=list)
    kind: PostKind | None = None
    tags: list[str] = field(default_factory=list)
    vetted: bool = False
    unanswered: bool = False

    @property
    def empty(self) -> bool:
        return not (self.terms or self.kind or self.tags or self.vetted or self.unanswered)


def parse_query(raw: str) -> SearchQuery:
    """Words and "quoted phrases", with filters kind:question|idea|experience|call, tag:x, is:vetted,
    is:unanswered. Raises ValidationFailed for an unknown kind or is: value."""
    raw = clean_text(raw or "")[:500]
    query = SearchQuery(raw=raw.strip())
    for match in _FILTER.finditer(raw):
        key = (match.group("key") or "").lower()
        value = (match.group("value") or "").strip('"').lower()
        if key == "kind":
            try:
                query.kind = PostKind(value)
            except ValueError:
                raise ValidationFailed({"q": "kind: takes question, idea, experience or call."}) from None
        elif key == "tag":
            if value:
                query.tags.append(value)
        elif key == "is":
            if value not in ("vetted", "unanswered"):
                raise ValidationFailed({"q": "is: takes vetted or unanswered."})
            setattr(query, value, True)
        else:
            term = (match.group("phrase") if match.group("phrase") is not None else match.group("word")) or ""
            term = term.strip()[:TERM_MAX]
            if _WORD.search(term) and len(query.terms) < MAX_TERMS:
                query.terms.append(term)
    return query


@dataclass
class Hit:
    post: Post
    title_html: Markup
    snippet_html: Markup
    role: CommunityRole | None = None


@dataclass
class SearchResults:
    query: SearchQuery
    page: Page[Hit]
    sort: str


def _highlighted(value: str) -> Markup:
    """Escape text, then turn the index's markers into <mark> (the text can't contain them)."""
    return escape(value).replace(START, Markup("<mark>")).replace(STOP, Markup("</mark>"))


def _facet_clauses(query: SearchQuery, *, scope: list[str]) -> list[list[str]]:
    """AND of ORs of facet tokens: [[readable scope...], [kind], [tag], ...]."""
    clauses = [scope]
    if query.kind:
        clauses.append([f"zk{query.kind.value}"])
    clauses += [[_tag_token(t)] for t in query.tags]
    if query.vetted:
        clauses.append(["zvetted"])
    if query.unanswered:
        clauses.append(["zunanswered"])
    return clauses


def _scope(by: object, community: Community | None) -> list[str]:
    if community is not None:
        if not permissions.can_read(by, community, communities.find_membership(by, community)):
            return []
        return [f"zc{community.id}"]
    restricted, public = posts.readable_community_ids(by)
    return (["zpub"] if public else []) + [f"zc{i}" for i in restricted]


def search(
    raw: str, *, by: object, community: Community | None = None, sort: str = "newest", cursor: str | None = None,
    limit: int = 20,
) -> SearchResults:  # fmt: skip
    """Search the posts (titles, texts, answers) of one community, or of every community the reader may
    read. Newest first by default; `sort="relevance"` ranks the newest matches. Snippets are escaped,
    with the matches in <mark>. Raises ValidationFailed (bad filter, sort or cursor)."""
    if sort not in SORTS:
        raise ValidationFailed({"sort": "Sort by newest or relevance."})
    query = parse_query(raw)
    limit = max(1, min(limit, 50))
    scope = _scope(by, community)
    if query.empty or not scope:
        return SearchResults(query, Page([], None), sort)
    backend = _Postgres() if db.session.get_bind().dialect.name == "postgresql" else _Sqlite()
    facets = _facet_clauses(query, scope=scope)
    if sort == "relevance":
        after = decode_cursor(cursor, 2, (float, int)) if cursor else None
        rows = backend.ranked(query.terms, facets, after, limit + 1)
        ids = [r[0] for r in rows]
        next_cursor = (
            encode_cursor([rows[limit - 1][1], rows[limit - 1][0]]) if len(rows) > limit else None
        )  # (rank, id)
    else:
        before = decode_cursor(cursor, 1, (int,))[0] if cursor else None
        if before is not None and not isinstance(before, int):
            raise ValidationFailed({"cursor": "That page link is not valid."})
        ids = backend.newest(query.terms, facets, before, limit + 1)
        next_cursor = encode_cursor([ids[limit - 1]]) if len(ids) > limit else None
    ids = ids[:limit]
    found = _readable_posts(ids, by)
    highlights = backend.highlights(query.terms, [p.id for p in found]) if query.terms else {}
    roles = community_roles((p.community_id, p.author_id) for p in found)
    leads = _leads([p.id for p in found if not highlights.get(p.id, (None, None))[1]])
    hits = []
    for post in found:
        title, snippet = highlights.get(post.id, (None, None))
        hits.append(Hit(post, _highlighted(title) if title else escape(post.title),
                        _highlighted(snippet) if snippet else escape(leads.get(post.id, "")),
                        roles.get((post.community_id, post.author_id))))  # fmt: skip
    return SearchResults(query, Page(hits, next_cursor), sort)


def _leads(ids: list[int]) -> dict[int, str]:
    """The opening words of posts (from their search documents), for hits without a snippet."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(SearchDocument.post_id, func.substr(SearchDocument.body, 1, 240)).where(SearchDocument.post_id.in_(ids))
    )
    return {i: text if len(text) < 240 else text[:220].rsplit(" ", 1)[0] + " …" for i, text in rows}


def _readable_posts(ids: list[int], by: object) -> list[Post]:
    """The exact check: visible posts in communities the reader may read, in the order of `ids`."""
    if not ids:
        return []
    restricted, _public = posts.readable_community_ids(by)
    stmt = (
        select(Post).join(Community, Community.id == Post.community_id)
        .where(Post.id.in_(ids), Post.hidden_at.is_(None), Post.withdrawn_at.is_(None),
               or_(Community.visibility == Visibility.PUBLIC, Community.id.in_(restricted)))
        .options(*LIST_OPTIONS)
    )  # fmt: skip
    found = {p.id: p for p in db.session.scalars(stmt)}
    return [found[i] for i in ids if i in found]


def similar_titles(community: Community, title: str, *, by: object, limit: int = 5) -> list[Post]:
    """Questions of the community whose titles share words with `title` (the last word as a prefix),
    best first, for the suggestion while someone types a question."""
    words = [w.lower() for w in re.findall(r"[^\W_]+", clean_text(title or "")) if len(w) > 2]
    words = [w for w in words if w not in STOPWORDS][:8]
    scope = _scope(by, community)
    if not words or not scope:
        return []
    backend = _Postgres() if db.session.get_bind().dialect.name == "postgresql" else _Sqlite()
    ids = backend.similar(words, [scope, ["zkquestion"]], limit)
    return _readable_posts(ids, by)


# --- backends ------------------------------------------------------------------------------------------


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class _Sqlite:
    """FTS5: MATCH in an inner query ordered by rowid (= post id, so newest first is the index order)."""

    def _match(self, terms: list[str], facets: list[list[str]], *, any_term: bool = False, prefix: bool = False) -> str:
        parts = []
        if terms:
            quoted = [_quote(t) for t in terms]
            if prefix:
                quoted[-1] += " *"
            parts.append("{title body} : (" + (" OR " if any_term else " AND ").join(quoted) + ")")
        parts += ["facets : (" + " OR ".join(_quote(t) for t in clause) + ")" for clause in facets]
        return " AND ".join(parts)

    def newest(self, terms: list[str], facets: list[list[str]], before: int | None, n: int) -> list[int]:
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH :q"
        if before is not None:
            sql += " AND rowid < :before"
        sql += " ORDER BY rowid DESC LIMIT :n"
        return list(db.session.scalars(text(sql), {"q": self._match(terms, facets), "before": before, "n": n}))

    def ranked(
        self, terms: list[str], facets: list[list[str]], after: list[Any] | None, n: int
    ) -> list[tuple[Any, ...]]:
        sql = ("SELECT rowid, rank FROM (SELECT rowid, bm25(search_fts, 4.0, 1.0, 0.0) AS rank FROM search_fts "
               "WHERE search_fts MATCH :q ORDER BY rowid DESC LIMIT :candidates)")  # fmt: skip
        params: dict[str, Any] = {"q": self._match(terms, facets), "candidates": CANDIDATES, "n": n}
        if after is not None:
            sql += " WHERE rank > :rank OR (rank = :rank AND rowid < :id)"
            params.update(rank=float(after[0]), id=int(after[1]))
        sql += " ORDER BY rank, rowid DESC LIMIT :n"
        return [(r[0], r[1]) for r in db.session.execute(text(sql), params)]

    def highlights(self, terms: list[str], ids: list[int]) -> dict[int, tuple[str, str]]:
        if not ids:
            return {}
        sql = text(
            "SELECT rowid, highlight(search_fts, 0, :start, :stop), "
            "snippet(search_fts, 1, :start, :stop, ' … ', 28) FROM search_fts "
            "WHERE search_fts MATCH :q AND rowid IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = db.session.execute(sql, {"q": self._match(terms, []), "ids": ids, "start": START, "stop": STOP})
        return {r[0]: (r[1], r[2]) for r in rows}

    def similar(self, words: list[str], facets: list[list[str]], n: int) -> list[int]:
        match = "{title} : (" + " OR ".join(_quote(w) for w in words[:-1]) + (" OR " if len(words) > 1 else "")
        match += _quote(words[-1]) + " *)"
        match += "".join(" AND facets : (" + " OR ".join(_quote(t) for t in c) + ")" for c in facets)
        sql = text("SELECT rowid FROM (SELECT rowid, bm25(search_fts, 1.0, 0.0, 0.0) AS rank FROM search_fts "
                   "WHERE search_fts MATCH :q ORDER BY rowid DESC LIMIT :candidates) "
                   "ORDER BY rank LIMIT :n")  # fmt: skip
        return list(db.session.scalars(sql, {"q": match, "candidates": CANDIDATES, "n": n}))


class _Postgres:
    """tsvector generated column + GIN; facets are 'simple' lexemes of weight D."""

    @staticmethod
    def _facet_query(facets: list[list[str]]) -> str:
        return " & ".join("(" + " | ".join(f"{t}:D" for t in clause) + ")" for clause in facets)

    def _tsquery(self, terms: list[str]) -> str:
        query = "to_tsquery('simple', :facets)"
        if terms:
            query = f"(websearch_to_tsquery('english', :terms) && {query})"
        return query

    @staticmethod
    def _terms(terms: list[str]) -> str:
        return " ".join(f'"{t}"' if " " in t else t for t in (t.replace('"', " ") for t in terms))

    def newest(self, terms: list[str], facets: list[list[str]], before: int | None, n: int) -> list[int]:
        # Only fixed SQL fragments are interpolated; every user value is a bound parameter.
        sql = f"SELECT post_id FROM search_document WHERE tsv @@ {self._tsquery(terms)}"  # noqa: S608
        if before is not None:
            sql += " AND post_id < :before"
        sql += " ORDER BY post_id DESC LIMIT :n"
        params = {"terms": self._terms(terms), "facets": self._facet_query(facets), "before": before, "n": n}
        return list(db.session.scalars(text(sql), params))

    def ranked(
        self, terms: list[str], facets: list[list[str]], after: list[Any] | None, n: int
    ) -> list[tuple[Any, ...]]:
        q = self._tsquery(terms)
        # float8: a real's text form doesn't round-trip, and the cursor compares ranks for equality.
        sql = (f"SELECT post_id, rank FROM (SELECT post_id, ts_rank(tsv, {q})::float8 AS rank "  # noqa: S608
               f"FROM (SELECT post_id, tsv FROM search_document WHERE tsv @@ {q} "
               "ORDER BY post_id DESC LIMIT :candidates) c) r")  # fmt: skip
        params: dict[str, Any] = {"terms": self._terms(terms), "facets": self._facet_query(facets),
                                  "candidates": CANDIDATES, "n": n}  # fmt: skip
        if after is not None:
            sql += " WHERE rank < :rank OR (rank = :rank AND post_id < :id)"
            params.update(rank=float(after[0]), id=int(after[1]))
        sql += " ORDER BY rank DESC, post_id DESC LIMIT :n"
        return [(r[0], float(r[1])) for r in db.session.execute(text(sql), params)]

    def highlights(self, terms: list[str], ids: list[int]) -> dict[int, tuple[str, str]]:
        if not ids:
            return {}
        options = f"StartSel={START}, StopSel={STOP}"
        sql = text(
            "SELECT post_id, ts_headline('english', title, q, :title_opts), "
            "ts_headline('english', body, q, :body_opts) "
            "FROM search_document, websearch_to_tsquery('english', :terms) AS q WHERE post_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = db.session.execute(sql, {
            "terms": self._terms(terms), "ids": ids, "title_opts": options + ", HighlightAll=true",
            "body_opts": options + ", MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=\" … \"",
        })  # fmt: skip
        return {r[0]: (r[1], r[2]) for r in rows}

    def similar(self, words: list[str], facets: list[list[str]], n: int) -> list[int]:
        title = " | ".join(f"{w}:A" for w in words[:-1]) + (" | " if len(words) > 1 else "") + f"{words[-1]}:*A"
        sql = text(
            "SELECT post_id FROM (SELECT post_id, tsv FROM search_document WHERE tsv @@ (to_tsquery('english', :t) "
            "&& to_tsquery('simple', :facets)) ORDER BY post_id DESC LIMIT :candidates) c "
            "ORDER BY ts_rank(tsv, to_tsquery('english', :t)) DESC, post_id DESC LIMIT :n"
        )
        params = {"t": title, "facets": self._facet_query(facets), "candidates": CANDIDATES, "n": n}
        return list(db.session.scalars(sql, params))
