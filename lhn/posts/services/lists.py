"""Lists (latest, unanswered, top; by kind and tag; per community and across mine), the knowledge base,
and everything a post's page shows, each in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer, joinedload

from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole
from lhn.database import utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.pagination import Page, paginate
from lhn.posts import permissions
from lhn.posts.models import (
    Answer,
    CallInterest,
    Comment,
    IdeaStatusChange,
    Post,
    PostKind,
    PostTag,
    Vetting,
    VettingAction,
)
from lhn.posts.services import answers as answer_services
from lhn.posts.services import calls, ideas, vetting
from lhn.posts.services.common import Access, community_roles, get_access, member_community_ids, with_badge

VIEWS = ("latest", "unanswered", "top")
PERIODS = {"week": timedelta(days=7), "month": timedelta(days=31), "all": None}
RECENT_FOR_TAGS = 500


@dataclass
class PostList:
    page: Page[Post]
    roles: dict[tuple[int, int], CommunityRole]
    vettings: dict[int, Vetting] = field(default_factory=dict)  # knowledge base: post id -> the seal shown


def _visible(stmt: Any) -> Any:
    return stmt.where(Post.hidden_at.is_(None), Post.withdrawn_at.is_(None))


# Lists show titles and counts: the texts stay in the database (and may not be touched: raiseload).
LIST_OPTIONS = (
    with_badge(Post.author), joinedload(Post.community),
    defer(Post.body, raiseload=True), defer(Post.body_html, raiseload=True), defer(Post.details, raiseload=True),
)  # fmt: skip


def _filtered(
    stmt: Any, *, kind: str | None, tag: str | None, view: str, period: str, community_ids: list[int] | None
) -> tuple[Any, list[Any], Any]:
    if kind:
        try:
            stmt = stmt.where(Post.kind == PostKind(kind))
        except ValueError:
            raise ValidationFailed({"kind": "Choose question, idea, experience or call."}) from None
    if tag:
        tagged = select(PostTag.post_id).where(PostTag.name == tag.strip().lower())
        if community_ids is not None:
            tagged = tagged.where(PostTag.community_id.in_(community_ids))
        stmt = stmt.where(Post.id.in_(tagged))
    if view not in VIEWS:
        raise ValidationFailed({"view": "Choose latest, unanswered or top."})
    if view == "unanswered":
        stmt = stmt.where(Post.kind == PostKind.QUESTION, Post.answer_count == 0)
    if view == "top":
        if period not in PERIODS:
            raise ValidationFailed({"period": "Choose week, month or all."})
        since = PERIODS[period]
        if since is not None:
            stmt = stmt.where(Post.created_at >= utcnow() - since)
        return stmt, [Post.score, Post.id], lambda p: (p.score, p.id)
    return stmt, [Post.id], lambda p: (p.id,)


def _roles_for(posts: list[Post]) -> dict[tuple[int, int], CommunityRole]:
    return community_roles((p.community_id, p.author_id) for p in posts)


def list_posts(
    community: Community, *, by: object, kind: str | None = None, tag: str | None = None, view: str = "latest",
    period: str = "week", cursor: str | None = None, limit: int = 30,
) -> PostList:  # fmt: skip
    """A community's visible posts: latest first, unanswered questions, or top (by votes) this week,
    month or ever; optionally one kind and one tag. Keyset pages; authors' badges in one more query.

    Raises PermissionDenied (restricted community, not a member), ValidationFailed (bad filter or cursor).
    """
    if not permissions.can_read(by, community, communities.find_membership(by, community)):
        raise PermissionDenied("This community is restricted to its members.")
    stmt = _visible(select(Post).where(Post.community_id == community.id))
    stmt, order_by, key = _filtered(stmt, kind=kind, tag=tag, view=view, period=period, community_ids=[community.id])
    stmt = stmt.options(*LIST_OPTIONS)
    page = paginate(stmt, order_by=order_by, key=key, cursor=cursor, limit=limit)
    return PostList(page, _roles_for(page.items))


def list_feed(
    *, by: object, kind: str | None = None, tag: str | None = None, view: str = "latest", period: str = "week",
    cursor: str | None = None, limit: int = 30,
) -> PostList:  # fmt: skip
    """Posts across the communities the reader belongs to (the "my communities" list)."""
    ids = member_community_ids(by)
    stmt = _visible(select(Post).where(Post.community_id.in_(ids)))
    stmt, order_by, key = _filtered(stmt, kind=kind, tag=tag, view=view, period=period, community_ids=ids)
    stmt = stmt.options(*LIST_OPTIONS)
    page = paginate(stmt, order_by=order_by, key=key, cursor=cursor, limit=limit)
    return PostList(page, _roles_for(page.items))


def list_knowledge_base(
    community: Community | None, *, by: object, tag: str | None = None, cursor: str | None = None, limit: int = 30
) -> PostList:
    """Questions with a vetted answer (current, not changed since), most recently vetted first: one
    community's, or across the reader's communities when `community` is None.

    Raises PermissionDenied (restricted community), ValidationFailed.
    """
    if community is not None:
        if not permissions.can_read(by, community, communities.find_membership(by, community)):
            raise PermissionDenied("This community is restricted to its members.")
        ids = [community.id]
    else:
        ids = member_community_ids(by)
    stmt = _visible(select(Post).where(Post.community_id.in_(ids), Post.vetted_at.is_not(None)))
    if tag:
        stmt = stmt.where(Post.id.in_(select(PostTag.post_id).where(PostTag.community_id.in_(ids),
                                                                    PostTag.name == tag.strip().lower())))  # fmt: skip
    stmt = stmt.options(*LIST_OPTIONS)
    page = paginate(stmt, order_by=[Post.vetted_at, Post.id], key=lambda p: (p.vetted_at, p.id), cursor=cursor,
                    limit=limit)  # fmt: skip
    return PostList(page, _roles_for(page.items), _seals_of(page.items))


def _seals_of(items: list[Post]) -> dict[int, Vetting]:
    """Each post's newest current vetting (who vetted, when, whether its review is due), in one query."""
    if not items:
        return {}
    newest = (
        select(func.max(Vetting.id))
        .join(Answer, Answer.id == Vetting.answer_id)
        .where(Vetting.post_id.in_([p.id for p in items]), Vetting.action == VettingAction.VET,
               Answer.vetted_current.is_(True), Answer.hidden_at.is_(None), Answer.withdrawn_at.is_(None))
        .group_by(Vetting.post_id)
    )  # fmt: skip
    rows = db.session.scalars(select(Vetting).where(Vetting.id.in_(newest)).options(with_badge(Vetting.by)))
    return {v.post_id: v for v in rows}


@dataclass
class VettingGaps:
    """What the knowledge base still lacks: answered questions with no vetted answer, and seals due for review."""

    awaiting: list[Post]
    awaiting_count: int
    overdue_count: int


def vetting_gaps(community_ids: list[int], *, limit: int = 8) -> VettingGaps:
    """Three bounded queries: the newest answered questions without a current vetted answer (and how many),
    and how many current seals are past their review-by date."""
    if not community_ids:
        return VettingGaps([], 0, 0)
    awaiting = _visible(select(Post).where(Post.community_id.in_(community_ids), Post.kind == PostKind.QUESTION,
                                           Post.answer_count > 0, Post.vetted_at.is_(None)))  # fmt: skip
    count = db.session.scalar(select(func.count()).select_from(awaiting.subquery())) or 0
    shown = list(db.session.scalars(awaiting.options(*LIST_OPTIONS).order_by(Post.id.desc()).limit(limit)))
    newest = (select(func.max(Vetting.id))
              .where(Vetting.community_id.in_(community_ids), Vetting.action == VettingAction.VET)
              .group_by(Vetting.answer_id))  # fmt: skip
    overdue = db.session.scalar(
        select(func.count()).select_from(Vetting).join(Answer, Answer.id == Vetting.answer_id)
        .where(Vetting.id.in_(newest), Answer.vetted_at.is_not(None), Vetting.review_by <= utcnow().date())
    ) or 0  # fmt: skip
    return VettingGaps(shown, count, overdue)


def popular_tags(community_ids: list[int], *, vetted_only: bool = False, limit: int = 20) -> list[tuple[str, int]]:
    """The most used tags among the RECENT_FOR_TAGS newest visible posts of these communities, with counts
    (for filter links). Bounded, so the sidebar costs the same with 100 posts or 100,000."""
    if not community_ids:
        return []
    recent = _visible(select(Post.id).where(Post.community_id.in_(community_ids)))
    if vetted_only:
        recent = recent.where(Post.vetted_at.is_not(None))
    recent = recent.order_by(Post.id.desc()).limit(RECENT_FOR_TAGS).subquery()
    stmt = (
        select(PostTag.name, func.count())
        .join(recent, recent.c.id == PostTag.post_id)
        .group_by(PostTag.name).order_by(func.count().desc(), PostTag.name).limit(limit)
    )  # fmt: skip
    return [(name, count) for name, count in db.session.execute(stmt)]


# --- a post's page -------------------------------------------------------------------------------------


@dataclass
class PostPage:
    access: Access
    answers: list[Answer] = field(default_factory=list)
    vettings: dict[int, Vetting] = field(default_factory=dict)
    answer_comments: dict[int, list[Comment]] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    my_post_vote: int = 0
    my_answer_votes: dict[int, int] = field(default_factory=dict)
    roles: dict[tuple[int, int], CommunityRole] = field(default_factory=dict)
    timeline: list[IdeaStatusChange] = field(default_factory=list)
    experiences: list[Post] = field(default_factory=list)
    my_interest: CallInterest | None = None
    interests: list[CallInterest] = field(default_factory=list)

    @property
    def post(self) -> Post:
        return self.access.post

    def role_of(self, user_id: int) -> CommunityRole | None:
        return self.roles.get((self.post.community_id, user_id))

    @property
    def listed_answers(self) -> list[Answer]:
        """The answers the page lists: visible ones, hidden ones (a placeholder with the reason), and withdrawn
        ones for those who still see them (their author, moderators)."""
        return [a for a in self.answers if a.is_visible or a.hidden_at or self.access.sees_original(a)]


def answer_order() -> list[Any]:
    """Vetted (and unchanged since) first, then the Wilson lower bound of the votes, then oldest first.
    The asker's accepted answer is marked where it falls, not pinned."""
    return [Answer.vetted_current.desc(), Answer.wilson.desc(), Answer.created_at, Answer.id]


def post_page(
    post_id: int, *, by: object, answers_only: bool = False, access: Access | None = None, with_sources: bool = False
) -> PostPage:
    """Everything a post's page shows, in a fixed number of queries whatever the number of answers.

    `answers_only` loads just the answers block (the live fragment); `access` is the reader's access
    to the post when the caller already has it; `with_sources` also loads answers' Markdown. Raises NotFound.
    """
    if access is None or access.post.id != post_id:
        access = get_access(post_id, by=by)
    post = access.post
    page = PostPage(access)
    people: set[int] = {post.author_id}
    if post.kind == PostKind.QUESTION:
        answers = select(Answer).where(Answer.post_id == post.id).options(with_badge(Answer.author))
        if not with_sources:  # pages print the stored HTML; the API also returns the Markdown
            answers = answers.options(defer(Answer.body, raiseload=True))
        page.answers = list(db.session.scalars(answers.order_by(*answer_order())))
        page.vettings = vetting.current_vettings(page.answers)
        people.update(a.author_id for a in page.answers)
    comments = list(db.session.scalars(
        select(Comment).where(Comment.post_id == post.id).options(with_badge(Comment.author)).order_by(Comment.id)
    ))  # fmt: skip
    grouped: dict[int, list[Comment]] = defaultdict(list)
    for comment in comments:
        if comment.answer_id is None:
            page.comments.append(comment)
        else:
            grouped[comment.answer_id].append(comment)
        people.add(comment.author_id)
    page.answer_comments = dict(grouped)
    page.my_post_vote, page.my_answer_votes = answer_services.my_votes(by, post, [a.id for a in page.answers])
    if not answers_only:
        if post.kind == PostKind.IDEA:
            page.timeline = ideas.list_status_changes(post)
            page.experiences = ideas.list_linked_experiences(post)
            people.update(c.by_id for c in page.timeline)
        elif post.kind == PostKind.CALL:
            page.my_interest = calls.find_interest(post, by)
            if permissions.is_author(by, post) or access.moderates:
                page.interests = calls.list_interests(post.id, by=by)
                people.update(i.user_id for i in page.interests)
    people.update(v.by_id for v in page.vettings.values())
    page.roles = community_roles((post.community_id, u) for u in people)
    return page
