"""Demo communities: three of them (two public, one restricted), their owners, members and moderators, and a
pending request to join the restricted one. Everything goes through the services; idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.communities.models import CommunityRole, JoinRequest


class DemoCommunity(TypedDict):
    slug: str
    name: str
    owner: str
    condition_name: str
    condition_system: str
    condition_code: str
    visibility: str
    description: str
    members: list[str]
    moderators: list[str]


COMMUNITIES: list[DemoCommunity] = [
    {
        "slug": "pediatric-ibd",
        "name": "Pediatric IBD Network",
        "owner": "dr_okafor",
        "condition_name": "Inflammatory bowel disease in children (Crohn's disease, ulcerative colitis)",
        "condition_system": "snomed-ct",
        "condition_code": "24526004",
        "visibility": "public",
        "description": "Families, young people, clinicians and researchers working together so that children "
        "and teenagers with Crohn's disease and ulcerative colitis get into remission and stay there.\n\n"
        "We share what works at our sites, ask questions, and track remission rates together.",
        "members": ["sam_mod", "ibd_teen", "mum_of_two", "nurse_priya", "dr_lind", "prof_chen", "data_mika"],
        "moderators": ["sam_mod"],
    },
    {
        "slug": "type-1-diabetes",
        "name": "Type 1 Diabetes Together",
        "owner": "dr_lind",
        "condition_name": "Type 1 diabetes",
        "condition_system": "icd-10",
        "condition_code": "E10.9",
        "visibility": "public",
        "description": "A learning community for people living with type 1 diabetes, their families and care "
        "teams: sensors and pumps, school and sport, and keeping HbA1c in range.",
        "members": ["sugar_runner", "mum_of_two", "dr_okafor", "nurse_priya", "prof_chen"],
        "moderators": ["dr_okafor"],
    },
    {
        "slug": "cystic-fibrosis",
        "name": "Cystic Fibrosis Care Collaborative",
        "owner": "prof_chen",
        "condition_name": "Cystic fibrosis",
        "condition_system": "icd-10",
        "condition_code": "E84.9",
        "visibility": "restricted",
        "description": "A restricted collaborative of CF centres and the people they care for. Ask to join and a "
        "moderator will welcome you.",
        "members": ["salty_breather", "dr_lind"],
        "moderators": ["dr_lind"],
    },
]

# One line per rule: LHN's Markdown keeps a writer's line breaks, so a line wrapped mid-sentence would show broken.
GUIDELINES = "\n".join(
    [
        "1. **Be kind.** Everyone here lives with this condition or works to improve care for it.",
        "2. **No medical advice for individuals.** Share experience and evidence; talk to your own care team "
        "before changing treatment.",
        "3. **Protect privacy.** Use a pseudonym if you like. Never post names, dates of birth, record numbers "
        "or photos of documents.",
        "4. **Cite evidence** (a DOI, PMID or guideline link) when you make a clinical claim.",
        "5. **Flag, don't fight.** Moderators review flags and log every action publicly.",
    ]
)


def seed_communities() -> None:
    for spec in COMMUNITIES:
        owner = accounts.get_user(spec["owner"])
        community = communities.find_community(spec["slug"])
        if community is None:
            fields = communities.CommunityFields(
                name=spec["name"], slug=spec["slug"], condition_name=spec["condition_name"],
                condition_code=spec["condition_code"], condition_system=spec["condition_system"],
                description=spec["description"], guidelines=GUIDELINES, visibility=spec["visibility"],
            )  # fmt: skip
            community = communities.create_community(fields, by=owner)
        for username in spec["members"]:
            user = accounts.get_user(username)
            if communities.find_membership(user, community) is None:
                joined = communities.join_or_request(user, community, accept_guidelines=True)
                if isinstance(joined, JoinRequest):  # a restricted community: its owner lets them in
                    communities.decide_join_request(joined.id, by=owner, approve=True)
        for username in spec["moderators"]:
            membership = communities.find_membership(accounts.get_user(username), community)
            if membership is not None and membership.role == CommunityRole.MEMBER:
                communities.set_member_role(community, username, "moderator", by=owner)


def seed_join_requests() -> None:
    cf = communities.get_community("cystic-fibrosis")
    dad = accounts.get_user("dad_on_call")
    if communities.find_membership(dad, cf) is None:
        communities.request_to_join(
            dad, cf, accept_guidelines=True, message="My daughter was diagnosed last year; we're at Northgate."
        )


# Each step runs in its own transaction (lhn.demo runs every feature's steps in order).
STEPS: list[tuple[str, Callable[[], None]]] = [
    ("communities", seed_communities),
    ("join requests", seed_join_requests),
]
