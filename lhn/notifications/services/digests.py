"""Digests: once a day or once a week, per person, ONE email listing the unread notices of the categories they get
as that digest, since their last digest: titles and links only. Idempotent per person and period (the outbox's
queue-once key "digest:weekly:<user>:<2026-W49>"), so a rerun, or two processes running the job, send one.
Besides notices, a digest lists the new questions in the person's communities over the period (the last day or
week) that they neither asked nor follow: newest first, a few per community and a link to the rest. They come with
the "following" category's delivery (clinicians daily, patients weekly by default); a person who follows a whole
community hears of its new posts as notices instead.
A chunk of people costs a fixed number of queries (people, settings, notices, memberships, new questions, follows,
the outbox's keys, one INSERT, one UPDATE), whatever its size."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lhn.accounts.models import User
from lhn.accounts.permissions import can_receive_email
from lhn.communities.models import Community, Membership
from lhn.database import transaction, utcnow
from lhn.errors import ValidationFailed
from lhn.extensions import db
from lhn.mail import Email, queue_emails
from lhn.mail.models import OutboxMessage
from lhn.notifications.models import Follow, Notification, NotificationSettings
from lhn.notifications.services.emails import (
    CATEGORY_LABEL,
    footer,
    headline,
    public_url,
    render_email_html,
    unsubscribe_headers,
)
from lhn.notifications.services.preferences import DAILY, DIGESTS, WEEKLY, Preferences, category_of, resolve, send_time
from lhn.posts.models import Post, PostKind

log = logging.getLogger(__name__)
CHUNK = 500  # people per transaction
DIGEST_HOUR = 7  # local time: a digest waits for the person's morning (then quiet hours may delay it further)
MAX_ITEMS = 50  # lines in one digest; the rest are counted ("and 12 more")
PERIOD_WORD = {DAILY: "daily", WEEKLY: "weekly"}
PERIOD_LENGTH = {DAILY: timedelta(days=1), WEEKLY: timedelta(days=7)}
NEW_QUESTIONS_SHOWN = 5  # per community; then a link to the community's questions
NEW_QUESTIONS_KIND = "new_post"  # their delivery is the one of the notice of a new post in a followed community


@dataclass(frozen=True)
class DigestItem:
    notice_id: int | None  # None: a new question in one of the person's communities, not a notice
    line: str
    link: str
    category: str


@dataclass
class DigestReport:
    people: int = 0  # people with something to put in this digest
    queued: int = 0
    already: int = 0  # this period's digest was queued before
    waiting: int = 0  # before DIGEST_HOUR in their time zone: a later run sends it


def period_key(period: str, prefs: Preferences, now: datetime) -> str:
    """The person's day ("2026-12-05") or ISO week ("2026-W49") in their own time zone."""
    local = now.astimezone(prefs.zone)
    if period == DAILY:
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _check_period(period: str) -> None:
    if period not in DIGESTS:
        raise ValidationFailed({"period": "daily or weekly"})


def _pending(user_ids: Iterable[int]) -> dict[int, list[Notification]]:
    """Unread notices not yet in a digest, per person, oldest first (one query)."""
    found: dict[int, list[Notification]] = defaultdict(list)
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id.in_(list(user_ids)), Notification.read_at.is_(None),
               Notification.digested_at.is_(None))
        .order_by(Notification.user_id, Notification.id)
    )  # fmt: skip
    for notice in rows:
        found[notice.user_id].append(notice)
    return found


def _items(notices: list[Notification], prefs: Preferences, period: str) -> list[DigestItem]:
    return [DigestItem(n.id, headline(n), public_url(f"/notifications/{n.id}"), category_of(n.kind))
            for n in notices if prefs.delivery(n.kind) == period]  # fmt: skip


@dataclass(frozen=True)
class NewQuestion:
    id: int
    community_id: int
    author_id: int
    title: str
    path: str


@dataclass
class CommunityNews:
    """The new questions of the chunk's people's communities over one period, and who follows which of them."""

    communities: dict[int, list[int]]  # person -> their communities
    questions: dict[int, list[NewQuestion]]  # community -> its newest questions of the period (some, not all)
    pages: dict[int, tuple[str, str]]  # community -> (its name, its questions page)
    unfetched: set[int]  # communities with more new questions than were fetched
    followed: set[tuple[int, int]]  # (person, question)


def _community_news(user_ids: list[int], period: str, now: datetime) -> CommunityNews:
    """Three queries: the people's memberships, the newest questions of their communities (twice as many per
    community as a digest shows, so that one's own and followed ones can be left out), their follows of them."""
    since = now - PERIOD_LENGTH[period]
    communities: dict[int, list[int]] = defaultdict(list)
    for user_id, community_id in db.session.execute(
        select(Membership.user_id, Membership.community_id).where(Membership.user_id.in_(user_ids))
    ):
        communities[user_id].append(community_id)
    news = CommunityNews(dict(communities), defaultdict(list), {}, set(), set())
    ids = {c for found in communities.values() for c in found}
    if not ids:
        return news
    fetched = NEW_QUESTIONS_SHOWN * 2
    rank = func.row_number().over(partition_by=Post.community_id, order_by=Post.id.desc()).label("rank")
    total = func.count().over(partition_by=Post.community_id).label("total")
    recent = (
        select(Post.community_id, Post.id, Post.author_id, Post.title, Community.slug, Community.name, rank, total)
        .join(Community, Community.id == Post.community_id)
        .where(Post.community_id.in_(ids), *_new_question_filter(since, now))
        .subquery()
    )
    for row in db.session.execute(select(recent).where(recent.c.rank <= fetched).order_by(recent.c.rank)):
        page = f"/c/{row.slug}/{PostKind.QUESTION.path}"
        news.questions[row.community_id].append(
            NewQuestion(row.id, row.community_id, row.author_id, row.title, f"{page}/{row.id}"))
        news.pages[row.community_id] = (row.name, page)
        if row.total > fetched:
            news.unfetched.add(row.community_id)
    question_ids = [q.id for found in news.questions.values() for q in found]
    if question_ids:
        follows = select(Follow.user_id, Follow.target_id).where(
            Follow.user_id.in_(user_ids), Follow.target_type == "post", Follow.target_id.in_(question_ids))
        news.followed = {(user_id, post_id) for user_id, post_id in db.session.execute(follows)}
    return news


def _new_question_filter(since: datetime, now: datetime) -> tuple[Any, ...]:
    """Questions asked in [since, now] that readers see."""
    return (Post.kind == PostKind.QUESTION, Post.created_at >= since, Post.created_at <= now,
            Post.hidden_at.is_(None), Post.withdrawn_at.is_(None))  # fmt: skip


def _new_question_items(user_id: int, news: CommunityNews, notices: list[Notification]) -> list[DigestItem]:
    """The new questions of the person's communities they did not ask, do not follow and have no notice about."""
    told = {n.url.split("#")[0] for n in notices}
    category = category_of(NEW_QUESTIONS_KIND)
    items = []
    for community_id in sorted(news.communities.get(user_id, [])):
        fresh = [q for q in news.questions.get(community_id, [])
                 if q.author_id != user_id and (user_id, q.id) not in news.followed and q.path not in told]  # fmt: skip
        if not fresh:
            continue
        name, page = news.pages[community_id]
        items += [DigestItem(None, f"New question in {name}: {_quoted(q.title)}", public_url(q.path), category)
                  for q in fresh[:NEW_QUESTIONS_SHOWN]]  # fmt: skip
        if len(fresh) > NEW_QUESTIONS_SHOWN or community_id in news.unfetched:
            items.append(DigestItem(None, f"More new questions in {name}", public_url(page), category))
    return items


def _quoted(title: str) -> str:
    return f"“{' '.join(title.split())}”"


def preview(user: User, *, now: datetime | None = None) -> dict[str, list[DigestItem]]:
    """What the person's next daily and weekly digests would list now (only the periods they get something in)."""
    now = now or utcnow()
    prefs = resolve(user.role, db.session.get(NotificationSettings, user.id))
    notices = _pending([user.id]).get(user.id, [])
    found = {}
    for period in DIGESTS:
        items = _items(notices, prefs, period)
        if prefs.delivery(NEW_QUESTIONS_KIND) == period:
            items += _new_question_items(user.id, _community_news([user.id], period, now), notices)
        found[period] = items
    return {period: items for period, items in found.items() if items}


def compose(period: str, items: list[DigestItem], user_id: int) -> tuple[str, str, str, dict[str, str]]:
    """(subject, text, html, headers) of a digest: titles and links, why it came, how to stop it."""
    word = PERIOD_WORD[period]
    categories = sorted({item.category for item in items})
    unsubscribe_link, headers = unsubscribe_headers(user_id, categories)
    shown, more = items[:MAX_ITEMS], len(items) - MAX_ITEMS
    count = f"{len(items)} update" + ("s" if len(items) != 1 else "")
    subject = f"Your LHN {word} digest: {count}"
    names = ", ".join(f"“{CATEGORY_LABEL[c]}”" for c in categories)
    reason = f"You get this {word} digest because of your LHN settings for {names}."
    lines = [f"- {item.line}\n  {item.link}" for item in shown]
    if more > 0:
        lines.append(f"…and {more} more: {public_url('/notifications')}")
    intro = f"What happened on LHN since your last {word} digest:"
    text = intro + "\n\n" + "\n".join(lines) + "\n\n" + footer(reason, unsubscribe_link)
    html = render_email_html(items=[(i.line, i.link) for i in shown], intro=intro, reason=reason,
                             unsubscribe_link=unsubscribe_link, more=more,
                             more_link=public_url("/notifications"))  # fmt: skip
    return subject, text, html, headers


def _due_users(period: str, now: datetime) -> list[int]:
    """People with unread notices not yet in a digest, and members of communities with new questions."""
    with_notices = select(Notification.user_id).where(Notification.read_at.is_(None),
                                                      Notification.digested_at.is_(None))  # fmt: skip
    # The communities first, on their own: as a subquery, PostgreSQL's planner chose a semi-join that read a
    # community's questions again for each member (over 2 minutes for 2,000 members and 70,000 old questions).
    asked = set(db.session.scalars(
        select(Post.community_id).where(*_new_question_filter(now - PERIOD_LENGTH[period], now)).distinct()
    ))  # fmt: skip
    members = select(Membership.user_id).where(Membership.community_id.in_(asked))
    return sorted(set(db.session.scalars(with_notices.union(members))))


def _chunk(period: str, user_ids: list[int], now: datetime, report: DigestReport) -> None:
    users = list(db.session.scalars(select(User).where(User.id.in_(user_ids))))
    settings = {r.user_id: r for r in db.session.scalars(
        select(NotificationSettings).where(NotificationSettings.user_id.in_(user_ids)))}  # fmt: skip
    pending = _pending(user_ids)
    news = _community_news(user_ids, period, now)
    prefs_of = {user.id: resolve(user.role, settings.get(user.id)) for user in users}
    keys = {user.id: f"digest:{period}:{user.id}:{period_key(period, prefs_of[user.id], now)}" for user in users}
    sent = set(db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))))
    emails: list[Email] = []
    listed: dict[str, list[int]] = {}  # dedupe key -> the notices its digest lists
    for user in users:
        if not can_receive_email(user):  # an address not confirmed: its notices wait on the site
            continue
        prefs, key, notices = prefs_of[user.id], keys[user.id], pending.get(user.id, [])
        items = _items(notices, prefs, period)
        if prefs.delivery(NEW_QUESTIONS_KIND) == period:
            items += _new_question_items(user.id, news, notices)
        if not items:
            continue
        report.people += 1
        if key in sent:  # this period's digest went: new notices wait for the next one
            report.already += 1
            continue
        if now.astimezone(prefs.zone).hour < DIGEST_HOUR:
            report.waiting += 1
            continue
        subject, text, html, headers = compose(period, items, user.id)
        emails.append(Email(to=user.email, subject=subject, text=text, html=html, kind=f"digest_{period}",
                            headers=headers, dedupe_key=key, not_before=send_time(prefs, now)))  # fmt: skip
        listed[key] = [item.notice_id for item in items if item.notice_id is not None]
    queued = queue_emails(emails) if emails else set()
    report.queued += len(queued)
    report.already += len(emails) - len(queued)
    digested = [notice_id for key in queued for notice_id in listed[key]]
    for start in range(0, len(digested), CHUNK):
        db.session.execute(update(Notification).where(Notification.id.in_(digested[start : start + CHUNK]))
                           .values(digested_at=now).execution_options(synchronize_session=False))  # fmt: skip


def send_digests(period: str, *, now: datetime | None = None, chunk: int = CHUNK,
                 progress: Callable[[int], None] | None = None) -> DigestReport:  # fmt: skip
    """The digest job (periodic and `flask lhn digests`): for everyone with unread, undigested notices in
    categories they get as this digest, queue one email. Opens its own transactions (one per `chunk` people);
    a chunk that raced another process for the same people is run again and finds their digests queued.
    `progress` is called with the number of people each chunk covered."""
    _check_period(period)
    now = now or utcnow()
    report = DigestReport()
    with transaction():
        user_ids = _due_users(period, now)
    for start in range(0, len(user_ids), chunk):
        ids = user_ids[start : start + chunk]
        for attempt in (1, 2):
            partial = DigestReport()
            try:
                with transaction():
                    _chunk(period, ids, now, partial)
            except IntegrityError:  # another process queued one of these digests between our read and write
                if attempt == 2:
                    raise
                log.info("digest chunk raced another process; running it again")
                continue
            break
        report.people += partial.people
        report.queued += partial.queued
        report.already += partial.already
        report.waiting += partial.waiting
        if progress:
            progress(len(ids))
    return report


def send_all_digests() -> None:
    """The periodic job: daily and weekly digests that are due (each is idempotent per person and period)."""
    for period in DIGESTS:
        report = send_digests(period)
        if report.queued:
            log.info("queued %d %s digest(s)", report.queued, period)
