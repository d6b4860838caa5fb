"""Helpers the post services share: lookups with the reader's permission, limits, mentions, diffs."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from lhn import light_reads, limits, phi, signals
from lhn.accounts.models import User
from lhn.accounts.permissions import as_user
from lhn.communities import permissions as community_permissions
from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, Membership, Visibility
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text, find_mentions, render_markdown
from lhn.posts import permissions
from lhn.posts.models import Answer, Comment, Post

TITLE_MIN, TITLE_MAX = 10, 150
POST_BODY_MAX = 20_000  # the whole post, all sections together
ANSWER_MAX = 15_000
COMMENT_MAX = 2_000
REASON_MAX = 1_000
MAX_TAGS, TAG_MAX = 5, 30
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,28}[a-z0-9]$|^[a-z0-9]$")


@dataclass
class Access:
    """What a reader may do with one post, computed once per request."""

    post: Post
    membership: Membership | None
    user: User | None

    @property
    def community(self) -> Community:
        return self.post.community

    @property
    def moderates(self) -> bool:
        return permissions.can_moderate(self.user, self.community, self.membership)

    def sees_original(self, item: Post | Answer | Comment) -> bool:
        return permissions.can_see_original(self.user, item, self.membership, self.community)

    def write_denied(self, default: str, *, closed: str) -> PermissionDenied:
        """Why the reader may not write in this thread: it is closed (`closed`), they are muted, or not a member."""
        return write_denied(self.membership, default, closed=None if self.post.is_visible else closed)


# What a badge shows (lhn/templates/_macros/badges.html, lhn.api.person_json): lists of people load only
# these columns of each person (not their password hash, email or bio).
BADGE_COLUMNS = (User.id, User.username, User.display_name, User.role, User.verified_at, User.verified_until,
                 User.suspended_until, User.is_admin, User.is_verifier, User.institution_id)  # fmt: skip


def with_badge(relationship: Any) -> Any:
    """joinedload of a relationship to a User, loading only what badges show (and the institution)."""
    return joinedload(relationship).load_only(*BADGE_COLUMNS)


def find_post(post_id: int) -> Post | None:
    return db.session.scalar(
        select(Post).where(Post.id == post_id).options(joinedload(Post.community), with_badge(Post.author))
    )


def get_access(post_id: int, *, by: object) -> Access:
    """The post with the reader's membership. Raises NotFound when it doesn't exist or the reader may
    not read its community (the same answer, so restricted posts don't leak by their error)."""
    post = find_post(post_id)
    if post is None:
        raise NotFound("No such post.")
    membership = communities.find_membership(by, post.community)
    if not permissions.can_read(by, post.community, membership):
        raise NotFound("No such post.")
    return Access(post, membership, as_user(by))


def get_post(post_id: int, *, by: object) -> Post:
    """A post the reader may see (withdrawn or hidden ones too: pages show a placeholder). Raises NotFound."""
    return get_access(post_id, by=by).post


# Core, not the ORM, built once: this runs for every stored page served.
_ANONYMOUS_PAGE_KEY = (
    select(Community.__table__.c.slug, Community.__table__.c.visibility, Post.__table__.c.kind,
           Post.__table__.c.page_version)
    .join(Community.__table__, Community.__table__.c.id == Post.__table__.c.community_id)
    .where(Post.__table__.c.id == bindparam("post_id"))
)  # fmt: skip


def anonymous_page_key(post_id: int) -> tuple[str, str, int] | None:
    """(community slug, kind path, page version) of a post that readers who aren't logged in may see,
    in one light query, so a cached page can be served without loading the post. None otherwise."""
    row = light_reads.first(_ANONYMOUS_PAGE_KEY, post_id=post_id)
    if row is None or row.visibility != Visibility.PUBLIC:  # what permissions.can_read allows anonymous readers
        return None
    return row.slug, row.kind.path, row.page_version


def may_read_post(user: object, post_id: int) -> bool:
    """For the live layer: may `user` watch the room of this post?"""
    try:
        get_access(post_id, by=user)
    except NotFound:
        return False
    return True


def get_answer_access(answer_id: int, *, by: object) -> tuple[Answer, Access]:
    answer = db.session.get(Answer, answer_id)
    if answer is None:
        raise NotFound("No such answer.")
    return answer, get_access(answer.post_id, by=by)


def get_comment_access(comment_id: int, *, by: object) -> tuple[Comment, Access]:
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("No such comment.")
    return comment, get_access(comment.post_id, by=by)


def readable_community_ids(user: object) -> tuple[list[int], bool]:
    """(ids of restricted communities the user may read, whether all public ones are readable too)."""
    u = as_user(user)
    if u is not None and u.is_admin:
        return list(db.session.scalars(select(Community.id).where(Community.visibility == Visibility.RESTRICTED))), True
    if u is None:
        return [], True
    stmt = (
        select(Membership.community_id)
        .join(Community, Community.id == Membership.community_id)
        .where(Membership.user_id == u.id, Community.visibility == Visibility.RESTRICTED)
    )
    return list(db.session.scalars(stmt)), True


def member_community_ids(user: object) -> list[int]:
    u = as_user(user)
    if u is None:
        return []
    return list(db.session.scalars(select(Membership.community_id).where(Membership.user_id == u.id)))


def community_roles(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], CommunityRole]:
    """Community roles for (community_id, user_id) pairs, in one query (badges in lists and pages)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    users = {u for _, u in pairs}
    communities_ = {c for c, _ in pairs}
    rows = db.session.execute(
        select(Membership.community_id, Membership.user_id, Membership.role).where(
            Membership.user_id.in_(users), Membership.community_id.in_(communities_)
        )
    )
    return {(c, u): role for c, u, role in rows if (c, u) in pairs}


# --- input ---------------------------------------------------------------------------------------------


def clean_title(value: str, errors: dict[str, str]) -> str:
    title = " ".join(clean_text(value or "").split())
    if len(title) < TITLE_MIN:
        errors["title"] = f"Write a title of at least {TITLE_MIN} characters that says what this is about."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters or fewer."
    return title


def clean_body(value: str, field: str, errors: dict[str, str], *, limit: int, required: bool = True) -> str:
    body = clean_text(value or "").strip()
    if required and not body:
        errors[field] = "This can't be empty."
    elif len(body) > limit:
        errors[field] = f"Use at most {limit:,} characters (this has {len(body):,})."
    return body


def clean_tags(value: str | Iterable[str] | None, errors: dict[str, str]) -> list[str]:
    """Up to five tags: lowercase letters, digits and hyphens. Accepts "a, b c" or a list."""
    if value is None:
        return []
    raw = re.split(r"[\s,]+", value) if isinstance(value, str) else [str(v) for v in value]
    tags: list[str] = []
    for item in raw:
        tag = clean_text(item).strip().lower().lstrip("#")
        if not tag:
            continue
        if not TAG_RE.match(tag):
            errors["tags"] = (
                "Tags use lowercase letters, digits and hyphens (up to 30 characters), e.g. 'school' or 'diet-therapy'."
            )
            return []
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags."
        return []
    return tags


def clean_reason(value: str, errors: dict[str, str], field: str = "reason", *, required: bool = True) -> str:
    reason = " ".join(clean_text(value or "").split()) if "\n" not in (value or "") else clean_text(value).strip()
    if required and not reason:
        errors[field] = "Give a reason; it is shown to the community."
    elif len(reason) > REASON_MAX:
        errors[field] = f"Use at most {REASON_MAX} characters."
    return reason


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(errors)


def checked_body(body: str, *, limit: int) -> str:
    """An answer's or comment's text, cleaned. Raises ValidationFailed (empty, over `limit`)."""
    errors: dict[str, str] = {}
    text = clean_body(body, "body", errors, limit=limit)
    raise_if(errors)
    return text


# --- abuse and privacy guards (issue 6) --------------------------------------------------------------------


def write_denied(membership: Membership | None, default: str, *, closed: str | None = None) -> PermissionDenied:
    """Why a person may not write here: the post is closed (`closed`, when given), they are muted (until when),
    or not a member (`default`)."""
    if closed:
        return PermissionDenied(closed)
    if community_permissions.is_muted(membership):
        assert membership is not None  # noqa: S101 - is_muted says so
        assert membership.muted_until is not None  # noqa: S101
        return PermissionDenied(
            f"You are muted in this community until {membership.muted_until:%d %b %Y %H:%M} UTC: you can read, "
            "not write. See /settings/standing."
        )
    return PermissionDenied(default)


def check_links(texts: dict[str, str], *, by: User) -> None:
    """New accounts may put at most two links in what they write (all fields together). Raises ValidationFailed."""
    if not texts:
        return
    problem = limits.link_limit_problem("\n".join(texts.values()), new_account=limits.is_new_account_now(by))
    if problem:
        raise ValidationFailed({next(iter(texts)): problem})


def check_phi(texts: dict[str, str], confirmed: bool, *, previous: str = "") -> list[phi.Finding]:
    """The PHI guard over a text's fields: phi.check_texts (raises phi.PHIConfirmationRequired)."""
    return phi.check_texts(texts, confirmed, previous=previous)


def last_write_at(post_id: int, user_id: int) -> Any:
    """When this person last answered or commented on the post (slow mode measures from it)."""
    answered = db.session.scalar(
        select(func.max(Answer.created_at)).where(Answer.post_id == post_id, Answer.author_id == user_id)
    )
    commented = db.session.scalar(
        select(func.max(Comment.created_at)).where(Comment.post_id == post_id, Comment.author_id == user_id)
    )
    times = [t for t in (answered, commented) if t is not None]
    return max(times) if times else None


def check_slow_mode(post: Post, *, by: User) -> None:
    """A thread (a post with its answers and comments) in slow mode: one answer or comment per person per
    interval; moderators are exempt. Raises ValidationFailed saying how long to wait."""
    if not communities.slow_mode_seconds("post", post.id):
        return
    try:
        communities.check_slow_mode(
            post.community, "post", post.id, user=by, last_write_at=last_write_at(post.id, by.id)
        )
    except ValidationFailed as exc:  # on the text's field, where the form shows it
        raise ValidationFailed({"body": " ".join(exc.errors.values())}, retry_after=exc.retry_after) from None


def set_slow_mode(post_id: int, seconds: int, *, by: User) -> int:
    """A moderator of the post's community puts its thread (answers and comments) in slow mode: one
    write per person per `seconds` (0 turns it off). Flushes. Raises NotFound, PermissionDenied,
    ValidationFailed. Returns the seconds now in force."""
    access = get_access(post_id, by=by)
    row = communities.set_slow_mode(access.community, "post", access.post.id, seconds, by=by)
    in_force = row.seconds if row is not None else 0
    signals.slow_mode_changed.send(  # moderation logs it publicly and audits it
        access.community, target_type="post", target_id=access.post.id, label=f"the thread \"{access.post.title}\"",
        url=access.post.path, seconds=in_force, by=by,
    )  # fmt: skip
    return in_force


# --- mentions -----------------------------------------------------------------------------------------


def mentionable(source: str, community: Community) -> list[User]:
    """People @mentioned in `source` who exist and may read the community's posts (others stay plain text)."""
    names = find_mentions(source)
    if not names:
        return []
    users = list(db.session.scalars(select(User).where(User.username.in_(names))))
    if not community.is_restricted:
        return users
    members = set(
        db.session.scalars(
            select(Membership.user_id).where(
                Membership.community_id == community.id, Membership.user_id.in_([u.id for u in users])
            )
        )
    )
    return [u for u in users if u.id in members or u.is_admin]


@dataclass
class Written:
    """What someone wrote, checked and rendered before the write transaction begins (lhn.database.reading)."""

    html: str
    mentioned: list[User]  # people @mentioned who may read it: linked, and told when newly mentioned
    findings: list[phi.Finding]  # what the PHI guard found and the author confirmed


def prepare_text(texts: dict[str, str], body: str, community: Community, *, by: User, confirm_phi: bool,
                 previous: str = "") -> Written:  # fmt: skip
    """The slow part of writing: the new-account link cap and the PHI guard over `texts` ({field: text}, in
    form order; `previous` as check_phi), then the people mentioned in `body` and its Markdown. Call inside
    lhn.database.reading(). Raises ValidationFailed (phi.PHIConfirmationRequired too)."""
    check_links(texts, by=by)
    findings = check_phi(texts, confirm_phi, previous=previous)
    people = mentionable(body, community)
    return Written(str(render_markdown(body, mentions=[u.username for u in people])), people, findings)


def written_body(body: str, community: Community, *, by: User, limit: int, confirm_phi: bool) -> tuple[str, Written]:
    """A new answer's or comment's text, cleaned (checked_body), then checked and rendered (prepare_text). Call
    inside lhn.database.reading(). Raises ValidationFailed (phi.PHIConfirmationRequired too)."""
    text = checked_body(body, limit=limit)
    return text, prepare_text({"body": text}, text, community, by=by, confirm_phi=confirm_phi)


def notify_new_mentions(post: Post, people: list[User], previous: str, *, by: User, url: str) -> None:
    """Send signals.mentioned for the `people` (from prepare_text) not already mentioned in `previous`."""
    before = find_mentions(previous)
    fresh = [u for u in people if u.username not in before and u.id != by.id]
    if fresh:
        signals.mentioned.send(post, users=fresh, by=by, url=url)


# --- ranking and diffs ------------------------------------------------------------------------------


def wilson_lower_bound(ups: int, downs: int, z: float = 1.96) -> float:
    """Lower bound of the 95% Wilson score interval for the share of up votes."""
    n = ups + downs
    if n == 0:
        return 0.0
    p = ups / n
    return (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (1 + z * z / n)


_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op "same", "add" or "del", word by word (templates escape the text)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            out.append(("del", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            out.append(("add", "".join(b[j1:j2])))
    return out
