"""Demo data for the improvement programme: Pediatric IBD's key driver diagram for clinical remission, with one
change adopted at two sites, one being tested and two not tested yet. Runs after the posts and measures steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import Measure
from lhn.posts import services as posts
from lhn.posts.models import Post, PostKind
from lhn.programme import services as programme
from lhn.programme.models import DriverDiagram

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
    """Northgate spreads Riverside's huddle (adopted); Riverside tests the nurse line (running)."""
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


STEPS: list[tuple[str, Callable[[], None]]] = [("programme", seed_programme)]  # after posts and measures
