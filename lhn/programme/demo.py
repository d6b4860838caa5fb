"""Demo data for the improvement programme: Pediatric IBD's key driver diagram for clinical remission, with one
change adopted at two sites, one being tested and two not tested yet; a learning session three weeks away with two
sites' storyboards and people registered, and last winter's with its notes; the huddle in the change package.
Runs after the posts and measures steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.errors import PermissionDenied
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import Measure
from lhn.posts import services as posts
from lhn.posts.models import Post, PostKind
from lhn.programme import services as programme
from lhn.programme.models import DriverDiagram, LearningSession

TITLE = "Clinical remission for every child"
AIM = "Raise the share of children in clinical remission across our sites from 60% to 75% by December 2027."
HUDDLE = "Pre-visit planning huddle with text reminders"
# primary driver -> secondary driver -> change ideas (label, the title of the idea it is, or None)
Changes = list[tuple[str, str | None]]
TREE: list[tuple[str, list[tuple[str, Changes]]]] = [
    ("Proactive, planned clinic care", [
        ("Every visit prepared before the patient arrives", [(HUDDLE, HUDDLE)]),
        ("Flares answered early, between visits", [
            ("Nurse phone line after infusions", "Offer a nurse phone line for 48 hours after infusions")]),
    ]),
    ("Patients and families as partners", [
        ("Teenagers ready for adult care", [
            ("Transition checklist at 15, 16 and 17", "A transition checklist for 16-year-olds moving to adult care")]),
        ("Shared decisions about treatment", [("Decision aid before starting a biologic", None)]),
    ]),
]  # fmt: skip


def _user(username: str) -> User:
    return accounts.get_user(username)


def _idea(community_id: int, title: str) -> Post | None:
    return db.session.scalar(
        select(Post).where(Post.community_id == community_id, Post.kind == PostKind.IDEA, Post.title == title)
    )


def _test_ideas(measure: Measure, huddle: Post, phone_line: Post | None) -> None:
    """Riverside's huddle cycle (the measures demo's, which ran before the idea existed) tests the idea; Northgate
    spreads it (adopted); Riverside tests the nurse line (running)."""
    for cycle in measures.list_cycles(measure):
        if cycle.title == huddle.title and cycle.idea_id is None:
            cycle.idea_id = huddle.id
    today = utcnow().date()
    spread = measures.create_cycle(measure, measures.PdsaFields(
        site="northgate-university-hospital", title="Spread the pre-visit huddle to Northgate",
        started_on=today - timedelta(days=120), idea_id=huddle.id,
        prediction="Riverside's gain repeats here: remission up by about ten points within four months.",
        plan="Copy Riverside's Friday huddle and text reminders in the Monday clinic."),
        by=_user("nurse_priya"))  # fmt: skip
    measures.close_cycle(spread, measure, act="adopt", act_notes="Worked as at Riverside; now standard work.",
                         ended_on=today - timedelta(days=30), by=_user("nurse_priya"))  # fmt: skip
    if phone_line is not None:
        measures.create_cycle(measure, measures.PdsaFields(
            site="riverside-childrens", title="Nurse phone line for 48 hours after infusions",
            started_on=today - timedelta(days=20), idea_id=phone_line.id,
            prediction="Fewer emergency visits after infusions; most calls answered within 10 minutes."),
            by=_user("dr_okafor"))  # fmt: skip


def seed_programme() -> None:
    community = communities.get_community("pediatric-ibd")
    if db.session.scalar(select(DriverDiagram.id).where(DriverDiagram.community_id == community.id)) is not None:
        return
    okafor = _user("dr_okafor")
    measure = db.session.scalar(
        select(Measure).where(Measure.community_id == community.id, Measure.name == "Clinical remission")
    )
    huddle = _idea(community.id, HUDDLE) or posts.create_post(community, "idea", posts.PostFields(
        title=HUDDLE, tags="clinic", sections={
            "problem": "Patients arrive with labs not done and treatment not adjusted.",
            "proposal": "A 20-minute Friday huddle reviews next week's patients; families get a text two days before.",
            "affected": "Every family in clinic; the clinic team."}), by=okafor)  # fmt: skip
    if measure is not None:
        _test_ideas(measure, huddle, _idea(community.id, "Offer a nurse phone line for 48 hours after infusions"))
    diagram = programme.create_diagram(community, title=TITLE, aim=AIM, measure_id=measure.id if measure else None,
                                       by=okafor)  # fmt: skip
    for primary_label, secondaries in TREE:
        primary = programme.add_node(diagram, parent_id=None, label=primary_label, version=None, by=okafor)
        for secondary_label, changes in secondaries:
            secondary = programme.add_node(diagram, parent_id=primary.id, label=secondary_label, version=None,
                                           by=okafor)  # fmt: skip
            for change_label, idea_title in changes:
                idea = _idea(community.id, idea_title) if idea_title else None
                programme.add_node(diagram, parent_id=secondary.id, label=change_label,
                                   idea_id=idea.id if idea else None, version=None, by=okafor)  # fmt: skip
    seed_sessions(community, measure)
    if measure is not None:  # the huddle, adopted at Northgate, enters the change package
        entry = programme.propose(community, huddle.id, HUDDLE_HOW, by=_user("nurse_priya"))
        programme.accept(entry, by=okafor, note="Adopted at Northgate after Riverside; the remission chart shifted.")


HUDDLE_HOW = """Every Friday, 20 minutes: the clinic nurse, a physician and the scheduler go through next week's \
patients.

- Labs due? Order them now, so results are back before the visit.
- Treatment to adjust? Flag it on the visit note.
- Two days before each visit, families get a text reminder with what to bring.

What it takes: a printed clinic list the day before, and a standing slot in the team's week."""
SESSION_AGENDA = """1. Welcome and the network's remission chart (10 min)
2. Storyboards: Riverside and Northgate on the pre-visit huddle (40 min)
3. Breakout: spreading the huddle to a third site (30 min)
4. What we test next (10 min)"""
STORYBOARDS = {
    "dr_okafor": ("riverside-childrens", "Raise remission at Riverside from 56% to 75% by December 2027.",
                  "- Pre-visit planning **huddle** every Friday\n- Text reminders two days before each visit\n"
                  "- Nurse phone line for 48 hours after infusions (testing)",
                  "Labs done before the visit matter more than we thought; families like the texts."),
    "nurse_priya": ("northgate-university-hospital", "Spread Riverside's huddle and reach 72% remission by June 2027.",
                    "- Riverside's Friday huddle, moved to Monday clinic\n- The same text reminders",
                    "It worked as at Riverside once the clinic list was printed the day before."),
}  # fmt: skip


def _storyboard(username: str, measure: Measure | None, notes: str = "") -> programme.StoryboardFields:
    site, aim, changes, learned = STORYBOARDS[username]
    return programme.StoryboardFields(site=site, aim=aim, measure_ids=[measure.id] if measure else [],
                                      changes=changes, learned=learned, notes=notes)  # fmt: skip


def _session(community, measure: Measure | None, title: str, starts_in: timedelta) -> LearningSession:
    """A session `starts_in` from now at 15:00 London time, with Riverside's and Northgate's storyboards."""
    starts = (utcnow() + starts_in).date().isoformat()
    fields = programme.SessionFields(title=title, starts=f"{starts}T15:00", ends=f"{starts}T17:00",
                                     time_zone="Europe/London", location="https://meet.example.org/ibd-learning",
                                     capacity="40", agenda=SESSION_AGENDA)  # fmt: skip
    session = programme.create_session(community, fields, by=_user("dr_okafor"))
    for username in STORYBOARDS:
        programme.save_storyboard(session, _storyboard(username, measure), by=_user(username))
    for username in ("dr_okafor", "nurse_priya", "mum_of_two", "dr_lind"):
        try:
            programme.register(session, by=_user(username))
        except PermissionDenied:  # not a member of the community in this demo
            continue
    return session


def seed_sessions(community, measure: Measure | None) -> None:
    _session(community, measure, "Spring learning session: spreading the huddle", timedelta(days=21))
    winter = _session(community, measure, "Winter learning session", timedelta(days=1))
    winter.starts_at, winter.ends_at = winter.starts_at - timedelta(days=70), winter.ends_at - timedelta(days=70)
    notes = "Northgate asked how we print the clinic list; the **slides** are in the community's chat."
    programme.save_storyboard(winter, _storyboard("dr_okafor", measure, notes), by=_user("dr_okafor"))


STEPS: list[tuple[str, Callable[[], None]]] = [("programme", seed_programme)]  # after posts and measures
