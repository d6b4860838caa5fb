"""Posts of four kinds, their answers and comments, votes, revisions, vetting, idea status history and
interest in calls for collaborators."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime, utcnow
from lhn.database import str_enum as _enum

if TYPE_CHECKING:
    from lhn.accounts.models import User
    from lhn.communities.models import Community


class PostKind(enum.StrEnum):
    QUESTION = "question"
    IDEA = "idea"
    EXPERIENCE = "experience"
    CALL = "call"

    @property
    def label(self) -> str:
        return {"question": "Question", "idea": "Idea", "experience": "Experience",
                "call": "Call for collaborators"}[self.value]  # fmt: skip

    @property
    def plural(self) -> str:
        return {"question": "Questions", "idea": "Ideas", "experience": "Experiences",
                "call": "Calls for collaborators"}[self.value]  # fmt: skip

    @property
    def path(self) -> str:
        """The URL segment of this kind's pages: /c/<slug>/<path>/<id>."""
        return {"question": "q", "idea": "ideas", "experience": "experiences", "call": "calls"}[self.value]


class IdeaStatus(LabelledEnum):
    PROPOSED = "proposed"
    UNDER_REVIEW = "under_review"
    ADOPTED = "adopted"
    TESTED = "tested"
    DECLINED = "declined"


class InterestStatus(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class VettingAction(enum.StrEnum):
    VET = "vet"
    UNVET = "unvet"


class HideableMixin:
    """Moderation hides content with a reason; readers see a placeholder, moderators and the author the original."""

    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The author takes their own content back; it stays in the database (and its history).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_visible(self) -> bool:
        return self.hidden_at is None and self.withdrawn_at is None


class Post(TimestampMixin, HideableMixin, Base):
    __tablename__ = "post"
    __table_args__ = (
        Index("ix_post_community_id", "community_id", "id"),
        Index("ix_post_community_kind", "community_id", "kind", "id"),
        Index("ix_post_community_score", "community_id", "score", "id"),
        Index("ix_post_community_vetted", "community_id", "vetted_at", "id"),
        Index("ix_post_community_unanswered", "community_id", "kind", "answer_count", "id"),
        Index("ix_post_author", "author_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind, "post_kind"))
    title: Mapped[str] = mapped_column(String(160))
    # The whole post as Markdown (kind-specific sections joined under their headings), and its HTML.
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # The sections as typed, for the edit form: {"problem": "...", "roles": [...], ...}.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[str] = mapped_column(String(200), default="")  # space-separated; post_tag indexes them
    revision: Mapped[int] = mapped_column(default=1)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Counters kept by the services, so lists need no per-row queries.
    score: Mapped[int] = mapped_column(default=0)  # up votes (questions and ideas)
    answer_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    interest_count: Mapped[int] = mapped_column(default=0)
    # When the newest still-current vetting of one of its answers was made; None: no vetted answer.
    vetted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped (lhn/posts/cache.py) whenever anything its page shows changes: keys the rendered-answers cache.
    page_version: Mapped[int] = mapped_column(default=1, server_default="1")

    # Ideas
    idea_status: Mapped[IdeaStatus | None] = mapped_column(_enum(IdeaStatus, "idea_status"))
    # Experiences
    linked_idea_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"), index=True)
    # Calls for collaborators
    deadline: Mapped[date | None] = mapped_column(Date)

    community: Mapped[Community] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys="Post.hidden_by_id")
    linked_idea: Mapped[Post | None] = relationship(remote_side=[id])

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split() if self.tags else []

    @property
    def path(self) -> str:
        """The local URL of the post's page (notifications store it)."""
        return f"/c/{self.community.slug}/{self.kind.path}/{self.id}"


class PostTag(Base):
    __tablename__ = "post_tag"
    __table_args__ = (Index("ix_post_tag_community_name", "community_id", "name", "post_id"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))


class PostRevision(Base):
    """Every version of a post, the first included: who wrote it and when (shown as a history with diffs)."""

    __tablename__ = "post_revision"
    __table_args__ = (UniqueConstraint("post_id", "number", name="uq_post_revision_post_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(200), default="")
    editor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    editor: Mapped[User] = relationship()


class Answer(TimestampMixin, HideableMixin, Base):
    __tablename__ = "answer"
    __table_args__ = (Index("ix_answer_post", "post_id", "id"), Index("ix_answer_author", "author_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ups: Mapped[int] = mapped_column(default=0)
    downs: Mapped[int] = mapped_column(default=0)
    score: Mapped[int] = mapped_column(default=0)
    # Lower bound of the Wilson interval of ups/(ups+downs): a 10-to-1 answer outranks a 1-to-0 one.
    wilson: Mapped[float] = mapped_column(Float, default=0.0)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment_count: Mapped[int] = mapped_column(default=0)
    # The current vetting (its history is in `vetting`): when, which revision, and whether that is
    # still the current text. Kept by the vetting service; the order of answers uses vetted_current.
    vetted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vetted_revision: Mapped[int | None] = mapped_column()
    vetted_current: Mapped[bool] = mapped_column(default=False)

    post: Mapped[Post] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys="Answer.hidden_by_id")

    @property
    def is_vetted(self) -> bool:
        return self.vetted_at is not None

    @property
    def changed_since_vetting(self) -> bool:
        return self.vetted_at is not None and not self.vetted_current


class AnswerRevision(Base):
    __tablename__ = "answer_revision"
    __table_args__ = (UniqueConstraint("answer_id", "number", name="uq_answer_revision_answer_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    editor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    editor: Mapped[User] = relationship()


class Vetting(TimestampMixin, Base):
    """Append-only: each vetting and each unvetting of an answer, for the seal and the moderation log.

    A vetting pins the exact revision it vouches for; an unvetting records its reason.
    """

    __tablename__ = "vetting"
    __table_args__ = (
        Index("ix_vetting_answer", "answer_id", "id"),
        Index("ix_vetting_community", "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    action: Mapped[VettingAction] = mapped_column(_enum(VettingAction, "vetting_action"))
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("answer_revision.id", ondelete="CASCADE"))
    revision_number: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")  # vet: the vetter's note; unvet: the reason
    # [{"type": "doi"|"pmid"|"url", "value": "...", "url": "https://..."}], validated by the service.
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    review_by: Mapped[date | None] = mapped_column(Date)
    # What let the vetter vet when they did: "clinician", "researcher" (verified) or "moderator" (a
    # community that lets moderators vet). The seal says it.
    standing: Mapped[str] = mapped_column(String(20), default="clinician", server_default="clinician")
    # When the review-by date passed and the review item and the vetter's reminder went out (once).
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    by: Mapped[User] = relationship()

    @property
    def review_due(self) -> bool:
        return self.action == VettingAction.VET and self.review_by is not None and self.review_by <= utcnow().date()


class Comment(TimestampMixin, HideableMixin, Base):
    """A comment on a post (answer_id None; on a question it asks the asker to clarify) or on an answer."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_post", "post_id", "id"), Index("ix_comment_answer", "answer_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    post: Mapped[Post] = relationship()


class PostVote(TimestampMixin, Base):
    __tablename__ = "post_vote"
    __table_args__ = (UniqueConstraint("post_id", "user_id", name="uq_post_vote_post_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column()  # +1 (questions and ideas take up votes only)


class AnswerVote(TimestampMixin, Base):
    __tablename__ = "answer_vote"
    __table_args__ = (UniqueConstraint("answer_id", "user_id", name="uq_answer_vote_answer_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column()  # +1 or -1


class IdeaStatusChange(TimestampMixin, Base):
    """Append-only history of an idea's status: the timeline on the idea's page."""

    __tablename__ = "idea_status_change"
    __table_args__ = (Index("ix_idea_status_change_post", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[IdeaStatus | None] = mapped_column(_enum(IdeaStatus, "idea_status_from"))
    to_status: Mapped[IdeaStatus] = mapped_column(_enum(IdeaStatus, "idea_status_to"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    by: Mapped[User] = relationship()


class CallInterest(TimestampMixin, Base):
    """A member's "I'm interested" in a call for collaborators, and the author's decision."""

    __tablename__ = "call_interest"
    __table_args__ = (UniqueConstraint("post_id", "user_id", name="uq_call_interest_post_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[InterestStatus] = mapped_column(_enum(InterestStatus, "interest_status"),
                                                   default=InterestStatus.PENDING)  # fmt: skip
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    post: Mapped[Post] = relationship()
