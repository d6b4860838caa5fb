"""Plain factory functions. They call the real services, so setup can't drift from reality."""

from __future__ import annotations

import itertools

from sqlalchemy import insert, select

from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.communities import services as communities
from lhn.communities.models import Community, CommunityRole, Membership
from lhn.extensions import db
from lhn.notifications import services as notifications

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def user(
    role: str = "patient",
    *,
    username: str | None = None,
    verified: bool = False,
    admin: bool = False,
    institution: str | None = None,
    display_name: str | None = None,
    confirmed: bool = True,
) -> User:
    """A member; `confirmed=False` for one who has not opened their confirmation link yet."""
    n = next(_seq)
    username = username or f"{role}{n}"
    created = accounts.register_user(
        email=f"{username}@example.org",
        username=username,
        display_name=display_name or f"{role} {n}".lower(),
        password=PASSWORD,
        role=role,
        institution=institution,
        is_admin=admin,
        email_confirmed=confirmed,
    )
    if verified:
        accounts.verify_by_operator(created)
    return created


def institution(slug: str | None = None, kind: str = "hospital", name: str | None = None) -> Institution:
    n = next(_seq)
    slug = slug or f"inst-{n}"
    return accounts.create_institution(
        by=None, slug=slug, name=name or f"Hospital {n}", kind=kind, city="Leeds", country="United Kingdom"
    )


def community(
    owner: User | None = None,
    *,
    slug: str | None = None,
    restricted: bool = False,
    name: str | None = None,
    condition: str = "Crohn's disease",
) -> Community:
    n = next(_seq)
    owner = owner or user("clinician", verified=True)
    fields = communities.CommunityFields(
        name=name or f"Community {n}",
        slug=slug or f"community-{n}",
        condition_name=condition,
        description="About **us**",
        guidelines="Be kind.",
        visibility="restricted" if restricted else "public",
    )
    return communities.create_community(fields, by=owner)


def pediatric_ibd() -> Community:
    """The community most service tests start from: "Pediatric IBD" (slug ibd), owned by doc, a verified clinician."""
    return community(user("clinician", username="doc", verified=True), slug="ibd", name="Pediatric IBD")


def notification_texts(person: User) -> list[str]:
    """The texts of a person's notifications, newest first."""
    return [n.text for n in notifications.list_notifications(person).items]


def owner_of(community: Community) -> User:
    return db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.community_id == community.id, Membership.role == CommunityRole.OWNER)
    ).first()


def member(community: Community, person: User | None = None, *, role: str = "member") -> Membership:
    """Add `person` (a new patient by default) to `community` the way a real member gets in."""
    person = person or user()
    owner = owner_of(community)
    if community.is_restricted:
        request = communities.request_to_join(person, community, accept_guidelines=True)
        communities.decide_join_request(request.id, by=owner, approve=True)
    else:
        communities.join_community(person, community, accept_guidelines=True)
    if role == "moderator":
        communities.set_member_role(community, person.username, "moderator", by=owner)
    membership = communities.find_membership(person, community)
    assert membership is not None
    return membership


# --- measures ---------------------------------------------------------------------------------------


def measure(community: Community, owner: User | None = None, **fields: object):  # type: ignore[no-untyped-def]
    """A monthly proportion measure (by default) defined by `owner` (the community's owner by default)."""
    from lhn.measures import services as measures

    values = {"name": "Clinical remission", "type": "proportion", "period": "month", "improvement": "up",
              "unit": "% of patients", "target": 80, **fields}  # fmt: skip
    return measures.create_measure(community, measures.MeasureFields(**values), by=owner or owner_of(community))  # type: ignore[arg-type]


def site_clinician(community: Community, site_slug: str, **kwargs: object) -> User:
    """A verified clinician of the site who is a member: on the site's team for every measure of the community."""
    person = user("clinician", verified=True, institution=site_slug, **kwargs)  # type: ignore[arg-type]
    member(community, person)
    return person


def consent(measure, person: User, site_slug: str):  # type: ignore[no-untyped-def]
    from lhn.measures import services as measures

    return measures.give_consent(measure, accounts.find_institution(site_slug), by=person, agreed=True)  # type: ignore[arg-type]


def values(measure, person: User, site_slug: str, series: list[tuple], start: str = "2023-01"):  # type: ignore[no-untyped-def]
    """Submit consecutive periods of (numerator, denominator) or (value,) tuples for a site, as its team does."""
    from lhn.measures.services import data, periods

    first = periods.parse(start, measure.period.value)
    rows, current = [], first
    for item in series:
        names = measure.type.fields
        rows.append(data.Row(site=site_slug, period=periods.label(current, measure.period.value),
                             values=dict(zip(names, item, strict=False))))  # fmt: skip
        current = periods.following(current, measure.period.value)
    return data.import_rows(measure, rows, by=person, source="test")


# --- moderation (issue 6) -----------------------------------------------------------------------------


def flag(by: User, target: User | int, reason: str = "spam", *, target_type: str = "user", details: str = "",
         community: str | None = None):  # fmt: skip
    """`by` flags a member (a User) or, with target_type, any registered target by id."""
    from lhn.moderation import services as moderation

    target_id = target.id if isinstance(target, User) else target
    return moderation.flag_target(by, target_type=target_type, target_id=target_id, reason=reason, details=details,
                                  community=community)  # fmt: skip


# --- chat ------------------------------------------------------------------------------------------------


def channel(community: Community, *, name: str | None = None, roles: tuple[str, ...] = (), topic: str = ""):
    """A channel made by the community's owner (#general exists already: use chat.find_channel)."""
    from lhn.chat import services as chat

    return chat.create_channel(
        community, by=owner_of(community), name=name or f"channel-{next(_seq)}", topic=topic, roles=roles
    )


def chat_message(channel_id: int, sender: User, body: str = "Hello!", *, client_id: str | None = None):
    from lhn.chat import services as chat

    message, _ = chat.post_message(channel_id, by=sender, client_id=client_id or f"f{next(_seq)}", body=body)
    return message


# --- posts ------------------------------------------------------------------------------------------------


def _author_in(community: Community, author: User | None) -> User:
    if author is None:
        return member(community).user
    if communities.find_membership(author, community) is None:
        member(community, author)
    return author


def question(
    community: Community, author: User | None = None, *, title: str = "How do you manage school trips with a flare?",
    body: str = "My son has Crohn's and a school trip is coming up. What worked for you?", tags: str = "school",
):  # fmt: skip
    from lhn.posts import services as posts

    fields = posts.PostFields(title=title, tags=tags, sections={"body": body})
    return posts.create_post(community, "question", fields, by=_author_in(community, author))


def idea(community: Community, author: User | None = None, *, title: str = "Offer a nurse phone line after infusions",
         tags: str = "infusions"):  # fmt: skip
    from lhn.posts import services as posts

    fields = posts.PostFields(title=title, tags=tags, sections={
        "problem": "Families call the ward and wait.", "proposal": "A nurse line, 8am to 8pm.",
        "affected": "Families of children on infusions."})  # fmt: skip
    return posts.create_post(community, "idea", fields, by=_author_in(community, author))


def experience(community: Community, author: User | None = None, *, title: str = "How we cut infusion waits by half",
               linked_idea_id: int | None = None):  # fmt: skip
    from lhn.posts import services as posts

    fields = posts.PostFields(title=title, tags="infusions", linked_idea_id=linked_idea_id, sections={
        "setting": "A 12-bed day unit.", "what_done": "Pre-ordered the drugs the day before.",
        "what_happened": "Median wait fell from 90 to 40 minutes.", "lessons": "Start with pharmacy."})  # fmt: skip
    return posts.create_post(community, "experience", fields, by=_author_in(community, author))


def call(community: Community, author: User | None = None, *, title: str = "Recruiting sites for a diet therapy study",
         deadline: str | None = None):  # fmt: skip
    from datetime import timedelta

    from lhn.database import utcnow
    from lhn.posts import services as posts

    fields = posts.PostFields(
        title=title, tags="research", roles=["patients", "site-clinicians"],
        deadline=deadline or (utcnow().date() + timedelta(days=60)).isoformat(),
        sections={"summary": "A 12-week trial of exclusive enteral nutrition.", "sites": "",
                  "commitment": "Two visits and a diary.", "ethics": "Approved by REC 24/NE/0101."},
    )  # fmt: skip
    return posts.create_post(community, "call", fields, by=_author_in(community, author))


def answer(post, author: User | None = None, *, body: str = "We asked the school nurse to join the trip."):
    from lhn.posts import services as posts

    return posts.post_answer(post.id, body, by=_author_in(post.community, author))


def vetter(community: Community) -> User:
    """A verified clinician who is a member of `community`."""
    return member(community, user("clinician", verified=True)).user


def vet(answer_, by: User | None = None, *, evidence: str = "10.1093/ecco-jcc/jjz180", note: str = "Matches ECCO"):
    from lhn.posts import services as posts

    by = by or vetter(answer_.post.community)
    return posts.vet_answer(answer_.id, by=by, note=note, evidence=evidence)


def colliding_write() -> None:
    """As if another request had committed the same row since this one looked: a unique constraint refuses it."""
    columns = [c for c in User.__table__.columns if c.name != "id"]
    db.session.execute(insert(User.__table__).from_select(columns, select(*columns)))
