"""Writing posts of the four kinds: create, edit (every version kept), withdraw, revision history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import phi, signals
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community, Membership
from lhn.database import reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.markup import clean_text
from lhn.posts import permissions
from lhn.posts.models import Answer, AnswerRevision, IdeaStatus, IdeaStatusChange, Post, PostKind, PostRevision, PostTag
from lhn.posts.services.common import (
    POST_BODY_MAX,
    Access,
    clean_body,
    clean_tags,
    clean_title,
    get_access,
    notify_new_mentions,
    prepare_text,
    raise_if,
    word_diff,
    write_denied,
)


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    help: str
    required: bool = True
    rows: int = 5


# The form and page of each kind: its sections, in order. The stored Markdown joins them under headings.
SECTIONS: dict[PostKind, list[Section]] = {
    PostKind.QUESTION: [
        Section("body", "Details", "What you want to know, and what you already tried or read. Markdown works.",
                rows=8),
    ],
    PostKind.IDEA: [
        Section("problem", "The problem", "What goes wrong today, for whom, and how often."),
        Section("proposal", "The proposed change", "What should be done differently."),
        Section("affected", "Who is affected", "Patients, families, clinicians or sites the change would touch.",
                rows=3),
    ],
    PostKind.EXPERIENCE: [
        Section("setting", "Setting and site", "Where this happened: the kind of service, its size, the team.", rows=3),
        Section("what_done", "What we did", "The change you made, step by step."),
        Section("what_happened", "What happened", "Results, with numbers where you have them."),
        Section("lessons", "Lessons", "What you would tell a site about to try the same."),
    ],
    PostKind.CALL: [
        Section("summary", "Summary", "The study or project, its aim, and who leads it."),
        Section("sites", "Sites sought", "Which kinds of sites or countries you need; leave empty if any.",
                required=False, rows=3),
        Section("commitment", "Commitment", "What taking part asks of people: time, visits, data.", rows=3),
        Section("ethics", "Ethics approval", "The approving committee and reference, or the status of the application.",
                rows=2),
    ],
}  # fmt: skip

# Roles a call for collaborators can seek (plus free text).
CALL_ROLES = [
    ("patients", "Patients with the condition"),
    ("caregivers", "Parents and caregivers"),
    ("site-clinicians", "Site clinicians"),
    ("nurses", "Nurses and allied health professionals"),
    ("researchers", "Researchers"),
    ("data-analysts", "Data analysts"),
    ("patient-partners", "Patient partners for the study team"),
]
CALL_ROLE_LABELS = dict(CALL_ROLES)
OTHER_ROLES_MAX = 300


@dataclass
class PostFields:
    """What a person typed into a post's form (or sent as JSON)."""

    title: str = ""
    tags: str | list[str] | None = None
    sections: dict[str, str] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # calls
    other_roles: str = ""  # calls
    deadline: str | date | None = None  # calls
    linked_idea_id: int | str | None = None  # experiences


@dataclass
class Validated:
    title: str
    tags: list[str]
    details: dict[str, Any]
    body: str
    deadline: date | None
    linked_idea: Post | None


def compose_markdown(kind: PostKind, details: dict[str, Any]) -> str:
    """The post as one Markdown text: its sections under headings (a question is just its details)."""
    if kind == PostKind.QUESTION:
        question: str = details.get("body", "")
        return question
    parts = []
    for section in SECTIONS[kind]:
        text = details.get(section.name, "")
        if text:
            parts.append(f"### {section.label}\n\n{text}")
        if kind == PostKind.CALL and section.name == "summary":
            roles = [CALL_ROLE_LABELS[r] for r in details.get("roles", []) if r in CALL_ROLE_LABELS]
            if details.get("other_roles"):
                roles.append(details["other_roles"])
            if roles:
                parts.append("### Roles sought\n\n" + "\n".join(f"- {r}" for r in roles))
    return "\n\n".join(parts)


def _parse_date(value: str | date | None, errors: dict[str, str], name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = "Use a date like 2027-03-31."
        return None


def _validate(kind: PostKind, fields: PostFields, community: Community, *, existing: Post | None) -> Validated:
    errors: dict[str, str] = {}
    title = clean_title(fields.title, errors)
    tags = clean_tags(fields.tags, errors)
    details: dict[str, Any] = {}
    for section in SECTIONS[kind]:
        details[section.name] = clean_body(
            fields.sections.get(section.name, ""), section.name, errors, limit=POST_BODY_MAX, required=section.required
        )
    deadline = None
    if kind == PostKind.CALL:
        roles = [r for r in fields.roles if r in CALL_ROLE_LABELS]
        other = " ".join(clean_text(fields.other_roles or "").split())
        if len(other) > OTHER_ROLES_MAX:
            errors["other_roles"] = f"Use at most {OTHER_ROLES_MAX} characters."
        if set(fields.roles) - set(CALL_ROLE_LABELS):
            errors["roles"] = "Choose roles from the list, and describe any other role in the text box."
        elif not roles and not other:
            errors["roles"] = "Say whom you are looking for."
        details["roles"], details["other_roles"] = roles, other
        deadline = _parse_date(fields.deadline, errors, "deadline")
        if deadline is None and "deadline" not in errors:
            errors["deadline"] = "Give the date by which people should answer."
        elif deadline is not None and existing is None and deadline < utcnow().date():
            errors["deadline"] = "The deadline has already passed."
        elif deadline is not None and deadline > utcnow().date() + timedelta(days=3 * 366):
            errors["deadline"] = "Choose a deadline within three years."
        if deadline is not None:
            details["deadline"] = deadline.isoformat()
    linked = None
    if kind == PostKind.EXPERIENCE and fields.linked_idea_id not in (None, "", 0, "0"):
        linked = _linked_idea(fields.linked_idea_id, community)
        if linked is None:
            errors["linked_idea_id"] = "Choose one of this community's ideas, or none."
    body = compose_markdown(kind, details)
    if len(body) > POST_BODY_MAX and not errors:
        errors[SECTIONS[kind][-1].name] = f"The whole post can be at most {POST_BODY_MAX:,} characters."
    raise_if(errors)
    return Validated(title, tags, details, body, deadline, linked)


def _linked_idea(value: int | str, community: Community) -> Post | None:
    try:
        idea_id = int(value)
    except (TypeError, ValueError):
        return None
    idea = db.session.get(Post, idea_id)
    if idea is None or idea.kind != PostKind.IDEA or idea.community_id != community.id or not idea.is_visible:
        return None
    return idea


def _set_tags(post: Post, tags: list[str]) -> None:
    post.tags = " ".join(tags)
    db.session.execute(delete(PostTag).where(PostTag.post_id == post.id))
    db.session.add_all(PostTag(post_id=post.id, name=t, community_id=post.community_id) for t in tags)


def _add_revision(post: Post, by: User) -> PostRevision:
    revision = PostRevision(post_id=post.id, number=post.revision, title=post.title, body=post.body,
                            tags=post.tags, editor_id=by.id, created_at=utcnow())  # fmt: skip
    db.session.add(revision)
    return revision


def _texts(kind: PostKind, checked: Validated) -> dict[str, str]:
    """The post's free-text fields in form order (the PHI guard and the link cap read them)."""
    texts = {"title": checked.title}
    texts.update({s.name: checked.details.get(s.name, "") for s in SECTIONS[kind]})
    if checked.details.get("other_roles"):
        texts["other_roles"] = checked.details["other_roles"]
    return {k: v for k, v in texts.items() if v}


JOIN_TO_POST = "Join the community to post in it."


def post_refusal(community: Community, membership: Membership | None, *, by: object) -> str | None:
    """Why `by` may not write posts in `community` (the "Ask" and "Propose" buttons), or None when they may:
    a muted member is told until when, anyone else that they need to join. Pure: create_post raises it."""
    if permissions.can_post(by, community, membership):
        return None
    return write_denied(membership, JOIN_TO_POST).message


def create_post(
    community: Community, kind: str | PostKind, fields: PostFields, *, by: User, confirm_phi: bool = False
) -> Post:
    """A member writes a question, idea, experience or call for collaborators in `community`.

    Ideas start as "proposed" (the first entry of their timeline). @mentions of people who may read the
    post notify them. The PHI guard asks the author to confirm likely identifiers (`confirm_phi`); new
    accounts may include at most two links. Flushes; sends signals.mentioned, signals.post_content_changed,
    signals.post_created and signals.phi_confirmed (when confirmed findings were published).
    Raises PermissionDenied (not a member, muted), ValidationFailed (phi.PHIConfirmationRequired too).
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        membership = communities.find_membership(by, community)
        if not permissions.can_post(by, community, membership):
            raise write_denied(membership, JOIN_TO_POST)
        try:
            kind = PostKind(kind)
        except ValueError:
            raise ValidationFailed({"kind": "Choose question, idea, experience or call."}) from None
        checked = _validate(kind, fields, community, existing=None)
        written = prepare_text(_texts(kind, checked), checked.body, community, by=by, confirm_phi=confirm_phi)
    post = Post(community=community, author=by, kind=kind, title=checked.title, body=checked.body,
                body_html=written.html, details=checked.details, deadline=checked.deadline,
                linked_idea=checked.linked_idea,
                idea_status=IdeaStatus.PROPOSED if kind == PostKind.IDEA else None)  # fmt: skip
    db.session.add(post)
    db.session.flush()
    notify_new_mentions(post, written.mentioned, "", by=by, url=post.path)
    _set_tags(post, checked.tags)
    _add_revision(post, by)
    if kind == PostKind.IDEA:
        db.session.add(IdeaStatusChange(post_id=post.id, community_id=community.id, from_status=None,
                                        to_status=IdeaStatus.PROPOSED, reason="", by_id=by.id))  # fmt: skip
    db.session.flush()
    phi.record_confirmed(written.findings, by=by, target_type="post", target_id=post.id, community_id=community.id)
    signals.post_content_changed.send(post)
    signals.post_created.send(post, by=by)
    return post


def edit_post(post: Post, fields: PostFields, *, by: User, confirm_phi: bool = False) -> Post:
    """The author edits their post; the new version becomes a revision (title, text and tags), always:
    moderators reviewing a flagged post see every version (Discourse's rule).

    An edit that changes nothing makes no revision. Newly @mentioned people are notified. The PHI guard
    asks again only about identifiers the previous version didn't have; new accounts keep the link cap.
    Flushes; sends signals.post_content_changed (and signals.phi_confirmed).
    Raises PermissionDenied, ValidationFailed (phi.PHIConfirmationRequired too).
    """
    with reading():  # checks, the PHI guard and Markdown, before the write transaction
        if not permissions.can_edit(by, post):
            raise PermissionDenied("Only the author can edit this post.")
        checked = _validate(post.kind, fields, post.community, existing=post)
        linked_id = checked.linked_idea.id if checked.linked_idea else None
        unchanged = (checked.title, checked.body, " ".join(checked.tags), linked_id, checked.deadline) == (
            post.title, post.body, post.tags, post.linked_idea_id, post.deadline
        )  # fmt: skip
        if unchanged:
            return post
        previous = post.body
        written = prepare_text(_texts(post.kind, checked), checked.body, post.community, by=by,
                               confirm_phi=confirm_phi, previous=f"{post.title}\n{post.body}")  # fmt: skip
    notify_new_mentions(post, written.mentioned, previous, by=by, url=post.path)
    post.title, post.body, post.details = checked.title, checked.body, checked.details
    post.body_html = written.html
    post.deadline, post.linked_idea = checked.deadline, checked.linked_idea
    post.revision += 1
    post.edited_at = utcnow()
    _set_tags(post, checked.tags)
    _add_revision(post, by)
    db.session.flush()
    phi.record_confirmed(written.findings, by=by, target_type="post", target_id=post.id, community_id=post.community_id)
    signals.post_content_changed.send(post)
    return post


def withdraw_post(post: Post, *, by: User) -> Post:
    """The author withdraws their post: it leaves lists and search; its page shows that it was withdrawn.

    Flushes; sends signals.post_content_changed. Raises PermissionDenied.
    """
    if not permissions.is_author(by, post):
        raise PermissionDenied("Only the author can withdraw this post.")
    if post.withdrawn_at is None:
        post.withdrawn_at = utcnow()
        db.session.flush()
        signals.post_content_changed.send(post)
    return post


def fields_of(post: Post) -> PostFields:
    """The current content of a post as form fields (to prefill the edit form)."""
    details = post.details or {}
    return PostFields(
        title=post.title, tags=post.tag_list,
        sections={s.name: details.get(s.name, "") for s in SECTIONS[post.kind]},
        roles=list(details.get("roles", [])), other_roles=details.get("other_roles", ""),
        deadline=post.deadline, linked_idea_id=post.linked_idea_id,
    )  # fmt: skip


# --- revision history ----------------------------------------------------------------------------------


@dataclass
class RevisionView:
    revision: Any  # PostRevision or AnswerRevision
    title_diff: list[tuple[str, str]]
    body_diff: list[tuple[str, str]]
    tags_diff: list[tuple[str, str]]
    # For the author only: what the PHI guard finds in this version, (text, label), for the redaction form.
    findings: list[tuple[str, str]] = field(default_factory=list)


def revision_findings(text: str) -> list[tuple[str, str]]:
    """(text, label) of each identifier the PHI guard finds in a revision, once each, in order."""
    found = {text[f.start : f.end]: f.label for f in phi.scan(text)}
    return list(found.items())


def revision_rows(item: Post | Answer, access: Access) -> list[Any]:
    """The stored versions of a post or an answer, oldest first, with their editors. Hidden or withdrawn ones
    only for those who see originals (their author, moderators). Raises NotFound."""
    if not item.is_visible and not access.sees_original(item):
        raise NotFound(f"No such {'post' if isinstance(item, Post) else 'answer'}.")
    model, key = (PostRevision, PostRevision.post_id) if isinstance(item, Post) else \
        (AnswerRevision, AnswerRevision.answer_id)  # fmt: skip
    return list(db.session.scalars(
        select(model).where(key == item.id).options(joinedload(model.editor)).order_by(model.number)))  # fmt: skip


def list_post_revisions(post_id: int, *, by: object) -> tuple[Post, list[RevisionView]]:
    """Every version of a post, newest first, each with a word diff against the one before.

    Anyone who may read the post sees its history (hidden or withdrawn posts: only their author and
    moderators). Raises NotFound.
    """
    access = get_access(post_id, by=by)
    post = access.post
    views: list[RevisionView] = []
    previous = None
    author = isinstance(by, User) and by.id == post.author_id
    for revision in revision_rows(post, access):
        views.append(RevisionView(
            revision,
            word_diff(previous.title if previous else "", revision.title),
            word_diff(previous.body if previous else "", revision.body),
            word_diff(previous.tags if previous else "", revision.tags),
            revision_findings(f"{revision.title}\n\n{revision.body}") if author else [],
        ))  # fmt: skip
        previous = revision
    return post, list(reversed(views))
