"""Learning sessions: a community's owners announce them (when, in the organiser's time zone; online or at a
place; the agenda; a cap on places); members register, taking a place or a place in the waiting list, and cancel,
which moves the first person waiting up; an .ics invitation per session and a calendar feed per community;
reminders the day before, through the reminder sweep (and so the outbox, for people who chose email).

An online session's link to join is shown to the people with a place, not to every reader: a public link is how
meetings get disrupted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lhn import phi, reminders
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_manage, can_read
from lhn.database import find_one, reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.inputs import whole_number
from lhn.markup import clean_text, html_to_text, render_markdown
from lhn.programme.models import LearningSession, RegistrationStatus, SessionRegistration

TITLE_MAX, LOCATION_MAX, AGENDA_MAX, CAPACITY_MAX = 160, 300, 20000, 10000
LONGEST = timedelta(days=3)
DENIED = "Learning sessions are announced by the community's owners."
REMIND_KIND, PLACE_KIND = "reminder_learning_session", "reminder_session_place"
REMIND_BEFORE = timedelta(hours=24)


@cache
def time_zones() -> list[str]:
    """The zones an organiser may pick (IANA names): read once, from the system's time zone database."""
    return [*sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))), "UTC"]


@dataclass
class SessionFields:
    """A session as typed: local date-times ("2027-03-10T14:00", as a datetime-local input sends them) in
    `time_zone`."""

    title: str = ""
    starts: str = ""
    ends: str = ""
    time_zone: str = "UTC"
    online: bool = True
    location: str = ""
    capacity: str = ""  # empty: no cap
    agenda: str = ""

    @classmethod
    def of(cls, session: LearningSession) -> SessionFields:
        zone = ZoneInfo(session.time_zone)
        local = [t.astimezone(zone).strftime("%Y-%m-%dT%H:%M") for t in (session.starts_at, session.ends_at)]
        return cls(session.title, local[0], local[1], session.time_zone, session.online, session.location,
                   str(session.capacity or ""), session.agenda)  # fmt: skip


def _local(value: str, zone: ZoneInfo | None, name: str, errors: dict[str, str]) -> datetime | None:
    """A local date-time in `zone` as UTC; None (and an error) when it isn't one, or doesn't exist there."""
    try:
        naive = datetime.fromisoformat((value or "").strip())
    except ValueError:
        errors[name] = "Give a date and time, such as 2027-03-10T14:00."
        return None
    if naive.tzinfo is not None:
        errors[name] = "Give the local date and time, without an offset: the time zone says where."
        return None
    if zone is None:
        return None
    try:
        moment = naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
    except OverflowError:  # the first or last hours of year 1 or 9999 have no UTC time
        errors[name] = "Give a date and time in the years ahead."
        return None
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        errors[name] = "That time doesn't exist there: the clocks go forward then."
        return None
    return moment


def _web_link(text: str) -> bool:
    """An online session's location becomes a link: only a web address may (never javascript: or data:)."""
    parts = urlsplit(text)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and " " not in text


def _values(fields: SessionFields, *, existing: LearningSession | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = " ".join(clean_text(fields.title or "").split())
    if not title or len(title) > TITLE_MAX:
        errors["title"] = f"Give the session a title (up to {TITLE_MAX} characters)."
    zone = None
    if fields.time_zone in time_zones():  # the list, not any path ZoneInfo would try to open
        zone = ZoneInfo(fields.time_zone)
    else:
        errors["time_zone"] = "Choose a time zone from the list, such as Europe/London."
    starts = _local(fields.starts, zone, "starts", errors)
    ends = _local(fields.ends, zone, "ends", errors)
    if starts and ends and not starts < ends <= starts + LONGEST:
        errors["ends"] = "End after the start, within three days."
    if starts and starts < utcnow() and (existing is None or existing.starts_at != starts):
        errors["starts"] = "Choose a time in the future."
    location = " ".join(clean_text(fields.location or "").split())
    if len(location) > LOCATION_MAX:
        errors["location"] = f"Up to {LOCATION_MAX} characters."
    elif not fields.online and not location:
        errors["location"] = "Say where it takes place."
    elif fields.online and location and not _web_link(location):
        errors["location"] = "Give the link to join, starting https:// (or leave it empty until you have one)."
    capacity = None
    if str(fields.capacity or "").strip():
        capacity = whole_number(str(fields.capacity).strip())
        if capacity is None or not 1 <= capacity <= CAPACITY_MAX:
            errors["capacity"] = f"A number of places from 1 to {CAPACITY_MAX:,}, or empty for no cap."
    agenda = clean_text(fields.agenda or "").strip()
    if len(agenda) > AGENDA_MAX:
        errors["agenda"] = f"Up to {AGENDA_MAX:,} characters."
    if errors:
        raise ValidationFailed(errors)
    return {"title": title, "starts_at": starts, "ends_at": ends, "time_zone": fields.time_zone,
            "online": bool(fields.online), "location": location, "capacity": capacity, "agenda": agenda}  # fmt: skip


def may_announce(viewer: object, community: Community) -> bool:
    """Announce, edit and cancel sessions, and see who registered: the community's owners."""
    return can_manage(viewer, community, communities.find_membership(viewer, community))


def _check_owner(by: User, community: Community) -> None:
    if not may_announce(by, community):
        raise PermissionDenied(DENIED)


def _prepared(fields: SessionFields, community: Community, by: User, confirm_phi: bool,
              existing: LearningSession | None = None) -> tuple[dict[str, Any], list[phi.Finding]]:  # fmt: skip
    """Checked, scanned for PHI and rendered, outside the write lock."""
    with reading():
        _check_owner(by, community)
        values = _values(fields, existing=existing)
        previous = f"{existing.title}\n{existing.agenda}\n{existing.location}" if existing else ""
        findings = phi.check_texts({k: values[k] for k in ("title", "location", "agenda") if values[k]}, confirm_phi,
                                   previous=previous)  # fmt: skip
        values["agenda_html"] = str(render_markdown(values["agenda"], field="agenda")) if values["agenda"] else ""
    _check_owner(by, community)  # again, in the write
    return values, findings


def create_session(community: Community, fields: SessionFields, *, by: User, confirm_phi: bool = False
                   ) -> LearningSession:  # fmt: skip
    """An owner announces a session. Flushes. Raises PermissionDenied, ValidationFailed (PHIConfirmationRequired)."""
    values, findings = _prepared(fields, community, by, confirm_phi)
    session = LearningSession(community_id=community.id, created_by_id=by.id, **values)
    db.session.add(session)
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="learning_session", target_id=session.id,
                         community_id=community.id)  # fmt: skip
    return session


def update_session(session: LearningSession, fields: SessionFields, *, by: User, confirm_phi: bool = False
                   ) -> LearningSession:  # fmt: skip
    """An owner changes a session; a bigger cap moves people up from the waiting list."""
    values, findings = _prepared(fields, session.community, by, confirm_phi, existing=session)
    session = _locked(session)
    for name, value in values.items():
        setattr(session, name, value)
    _promote(session)
    phi.record_confirmed(findings, by=by, target_type="learning_session", target_id=session.id,
                         community_id=session.community_id)  # fmt: skip
    return session


def cancel_session(session: LearningSession, *, by: User) -> None:
    """An owner cancels a session: it stays listed as cancelled; its invitation says so to calendars."""
    _check_owner(by, session.community)
    if session.cancelled_at is None:
        session.cancelled_at = utcnow()


# --- reading ------------------------------------------------------------------------------------------------------


def get_session(session_id: int, *, viewer: object) -> LearningSession:
    """A session `viewer` may read (its community's readers). Raises NotFound."""
    session = db.session.scalars(select(LearningSession).where(LearningSession.id == session_id)
                                 .options(joinedload(LearningSession.community))).first()  # fmt: skip
    if session is None or not can_read(viewer, session.community,
                                       communities.find_membership(viewer, session.community)):  # fmt: skip
        raise NotFound("No such learning session.")
    return session


def list_sessions(community: Community, *, now: datetime | None = None) -> tuple[list[Any], list[Any]]:
    """(upcoming soonest first, past latest first) sessions of a community, each with its count of places taken."""
    now = now or utcnow()
    taken = (
        select(func.count()).where(SessionRegistration.session_id == LearningSession.id,
                                   SessionRegistration.status == RegistrationStatus.REGISTERED)
        .correlate(LearningSession).scalar_subquery()
    )  # fmt: skip
    rows = db.session.execute(select(LearningSession, taken).where(LearningSession.community_id == community.id)
                              .order_by(LearningSession.starts_at)).all()  # fmt: skip
    upcoming = [r for r in rows if r[0].ends_at >= now]
    past = [r for r in reversed(rows) if r[0].ends_at < now]
    return upcoming, past


@dataclass
class Places:
    """Where a session's places stand, and the reader's own."""

    registered: int
    waiting: int
    mine: RegistrationStatus | None
    my_position: int | None  # in the waiting list, from 1

    def full(self, session: LearningSession) -> bool:
        return session.capacity is not None and self.registered >= session.capacity


def places(session: LearningSession, viewer: object) -> Places:
    rows = db.session.execute(
        select(SessionRegistration.user_id, SessionRegistration.status)
        .where(SessionRegistration.session_id == session.id)
        .order_by(SessionRegistration.created_at, SessionRegistration.id)
    ).all()
    waiting = [uid for uid, status in rows if status == RegistrationStatus.WAITLISTED]
    user_id = getattr(viewer, "id", None) if getattr(viewer, "is_authenticated", False) else None
    mine = next((status for uid, status in rows if uid == user_id), None)
    position = waiting.index(user_id) + 1 if user_id in waiting else None
    return Places(len(rows) - len(waiting), len(waiting), mine, position)


def registered_people(session: LearningSession, *, by: User) -> list[SessionRegistration]:
    """Who registered and who waits (owners only: a list of names is theirs to see)."""
    _check_owner(by, session.community)
    stmt = (
        select(SessionRegistration)
        .where(SessionRegistration.session_id == session.id)
        .options(joinedload(SessionRegistration.user))
        .order_by(SessionRegistration.created_at, SessionRegistration.id)
    )
    return list(db.session.scalars(stmt))


def may_see_join_link(session: LearningSession, viewer: object) -> bool:
    """An online session's link: for the people with a place and the community's owners."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    if may_announce(viewer, session.community):
        return True
    row = find_one(SessionRegistration, session_id=session.id, user_id=viewer.id)  # type: ignore[attr-defined]
    return row is not None and row.status == RegistrationStatus.REGISTERED


# --- registration -------------------------------------------------------------------------------------------------


def _locked(session: LearningSession) -> LearningSession:
    """The session re-read and locked (PostgreSQL; SQLite's writer holds the database): places are counted under it."""
    return db.session.scalars(select(LearningSession).where(LearningSession.id == session.id).with_for_update()
                              .execution_options(populate_existing=True)).one()  # fmt: skip


def _registered_count(session: LearningSession) -> int:
    return db.session.scalar(select(func.count()).where(
        SessionRegistration.session_id == session.id, SessionRegistration.status == RegistrationStatus.REGISTERED)
    ) or 0  # fmt: skip


def registration_open(session: LearningSession, now: datetime | None = None) -> bool:
    """Until the session ends, unless it is cancelled."""
    return session.cancelled_at is None and session.ends_at >= (now or utcnow())


def register(session: LearningSession, *, by: User, now: datetime | None = None) -> SessionRegistration:
    """A member takes a place, or a place in the waiting list when the session is full. Registering again changes
    nothing. Flushes. Raises PermissionDenied (not a member), ValidationFailed (cancelled or over)."""
    if communities.find_membership(by, session.community) is None:
        raise PermissionDenied("Join the community to register for its learning sessions.")
    session = _locked(session)
    if not registration_open(session, now):
        raise ValidationFailed({"": "This session is cancelled or over: registration is closed."})
    existing = find_one(SessionRegistration, session_id=session.id, user_id=by.id)
    if existing is not None:
        return existing
    full = session.capacity is not None and _registered_count(session) >= session.capacity
    status = RegistrationStatus.WAITLISTED if full else RegistrationStatus.REGISTERED
    row = SessionRegistration(session_id=session.id, user_id=by.id, status=status)
    db.session.add(row)
    db.session.flush()
    return row


def cancel_registration(session: LearningSession, *, by: User) -> None:
    """A person gives up their place (or leaves the waiting list); the first person waiting moves up and is told."""
    session = _locked(session)
    row = find_one(SessionRegistration, session_id=session.id, user_id=by.id)
    if row is None:
        return
    db.session.delete(row)
    db.session.flush()
    _promote(session)


def _promote(session: LearningSession) -> None:
    """Fill free places from the waiting list, first come first served, telling each person moved up."""
    free = None if session.capacity is None else session.capacity - _registered_count(session)
    waiting = db.session.scalars(
        select(SessionRegistration).where(SessionRegistration.session_id == session.id,
                                          SessionRegistration.status == RegistrationStatus.WAITLISTED)
        .options(joinedload(SessionRegistration.user))
        .order_by(SessionRegistration.created_at, SessionRegistration.id)
    ).all()  # fmt: skip
    moved = list(waiting) if free is None else list(waiting)[: max(free, 0)]
    for row in moved:
        row.status = RegistrationStatus.REGISTERED
    if moved:
        reminders.remind(PLACE_KIND, [row.user for row in moved], community_id=session.community_id,
                         text=f"A place opened for you at the learning session “{session.title}”: you're registered.",
                         url=f"/sessions/{session.id}")  # fmt: skip


# --- calendars and reminders --------------------------------------------------------------------------------------


def _event(session: LearningSession, url: str, *, join_link: bool) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"learning-session-{session.id}@lhn")
    event.add("dtstamp", utcnow())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    agenda = html_to_text(session.agenda_html).strip()
    event.add("description", "\n\n".join(part for part in (agenda, url) if part))
    event.add("url", url)
    if session.online:
        event.add("location", session.location if join_link and session.location else "Online")
    else:
        event.add("location", session.location)
    event.add("status", "CANCELLED" if session.cancelled_at else "CONFIRMED")
    return event


def calendar(sessions: list[tuple[LearningSession, str, bool]], *, name: str) -> bytes:
    """An iCalendar file (RFC 5545) of (session, its page's URL, whether to include the join link)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LHN//Learning sessions//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for session, url, join_link in sessions:
        cal.add_component(_event(session, url, join_link=join_link))
    return bytes(cal.to_ical())


def local_time(session: LearningSession) -> str:
    """When, in the organiser's time zone: "Wed 10 Mar 2027, 14:00–16:00 (Europe/London)"."""
    zone = ZoneInfo(session.time_zone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    until = end.strftime("%H:%M") if start.date() == end.date() else end.strftime("%a %d %b %Y, %H:%M")
    return f"{start.strftime('%a %d %b %Y, %H:%M')}–{until} ({session.time_zone})"


def send_session_reminders(now: datetime) -> int:
    """The day before: each registered person of each session starting within REMIND_BEFORE, once."""
    soon = db.session.scalars(select(LearningSession).where(
        LearningSession.cancelled_at.is_(None), LearningSession.starts_at > now,
        LearningSession.starts_at <= now + REMIND_BEFORE)).all()  # fmt: skip
    sent = 0
    for session in soon:
        rows = db.session.scalars(select(SessionRegistration).where(
            SessionRegistration.session_id == session.id, SessionRegistration.status == RegistrationStatus.REGISTERED
        ).options(joinedload(SessionRegistration.user))).all()  # fmt: skip
        keys = {f"session {session.id}, person {row.user_id}": row.user for row in rows}
        people = [keys[key] for key in sorted(reminders.claim(REMIND_KIND, keys))]
        sent += reminders.remind(REMIND_KIND, people, community_id=session.community_id,
                                 text=f"Reminder: the learning session “{session.title}” starts "
                                      f"{local_time(session)}.", url=f"/sessions/{session.id}")  # fmt: skip
    return sent
