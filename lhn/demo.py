"""Demo data: institutions, people of every role, communities and memberships. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.communities import services as communities
from lhn.communities.models import CommunityRole
from lhn.database import utcnow
from lhn.posts import demo as posts_demo

DEMO_PASSWORD = "lhn-demo-2026"

INSTITUTIONS = [
    ("riverside-childrens", "Riverside Children's Hospital", "hospital", "Cincinnati", "United States"),
    ("northgate-university-hospital", "Northgate University Hospital", "hospital", "Leeds", "United Kingdom"),
    ("lakeside-clinic", "Lakeside Paediatric Clinic", "clinic", "Uppsala", "Sweden"),
    ("karolinska-research", "Nordic Institute for Health Research", "university", "Stockholm", "Sweden"),
    ("gut-friends", "Gut Friends Patient Alliance", "patient_organisation", "Chicago", "United States"),
    ("openmetrics", "OpenMetrics Health Analytics", "company", "Berlin", "Germany"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    institution: str | None
    about: str
    verified: bool = False
    admin: bool = False


USERS = [
    DemoUser("admin", "LHN Admin", "other", None, "Site admin", admin=True),
    DemoUser(
        "dr_okafor",
        "Dr Okafor",
        "clinician",
        "riverside-childrens",
        "Verified clinician, pediatric IBD owner",
        verified=True,
    ),
    DemoUser("dr_lind", "Dr Lind", "clinician", "lakeside-clinic", "Verified clinician, diabetes owner", verified=True),
    DemoUser(
        "nurse_priya",
        "Nurse Priya",
        "clinician",
        "northgate-university-hospital",
        "Claimed clinician, verification pending",
    ),
    DemoUser(
        "prof_chen", "Prof. Chen", "researcher", "karolinska-research", "Verified researcher, CF owner", verified=True
    ),
    DemoUser("data_mika", "Mika (data)", "researcher", "openmetrics", "Claimed researcher, request rejected"),
    DemoUser("sam_mod", "Sam the moderator", "caregiver", "gut-friends", "Caregiver, moderator of pediatric IBD"),
    DemoUser("ibd_teen", "Gutsy Teen", "patient", None, "Patient"),
    DemoUser("sugar_runner", "SugarRunner", "patient", "lakeside-clinic", "Patient"),
    DemoUser("salty_breather", "Salty Breather", "patient", "northgate-university-hospital", "Patient"),
    DemoUser("mum_of_two", "Mum of two", "caregiver", "riverside-childrens", "Caregiver"),
    DemoUser("dad_on_call", "Dad on call", "caregiver", None, "Caregiver, asked to join CF"),
]

COMMUNITIES = [
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


def _user(username: str) -> User:
    return accounts.get_user(username)


def seed_institutions() -> None:
    for slug, name, kind, city, country in INSTITUTIONS:
        if accounts.find_institution(slug) is None:
            accounts.create_institution(by=None, slug=slug, name=name, kind=kind, city=city, country=country)


# The demo's people are long-standing members (three years of measure data carry their names), not accounts made
# today: as new accounts (lhn/limits.py, NEW_ACCOUNT_DAYS) they would be held to 10 chat messages a minute, three
# posts an hour and two links a post, and whoever tries the demo would meet limits no real member meets.
MEMBER_FOR = timedelta(days=3 * 365)


def _established(user: User) -> None:
    """Date a demo account as registered MEMBER_FOR ago (once: an older date is kept)."""
    since = utcnow() - MEMBER_FOR
    if user.created_at is None or user.created_at > since:
        user.created_at = since


def seed_users() -> None:
    for spec in USERS:
        existing = accounts.find_user(spec.username)
        if existing is not None:
            _established(existing)  # a demo database seeded before they were dated so
            continue
        user = accounts.register_user(
            email=f"{spec.username}@demo.lhn.example", username=spec.username, display_name=spec.display_name,
            password=DEMO_PASSWORD, role=spec.role, institution=spec.institution, confirm_real_name=True,
            is_admin=spec.admin,
        )  # fmt: skip
        _established(user)
        if spec.verified:
            accounts.verify_by_operator(user, note="Demo account, verified by the operator.")


def seed_verification_requests() -> None:
    admin = _user("admin")
    priya = _user("nurse_priya")
    if not accounts.list_verification_history(priya, viewer=admin):
        accounts.submit_verification(priya, licence_number="RN-448812", licence_issuer="Nursing and Midwifery Council",
                                     institutional_email="priya@northgate-hospital.example")  # fmt: skip
    mika = _user("data_mika")
    if not accounts.list_verification_history(mika, viewer=admin):
        request = accounts.submit_verification(mika, orcid="0000-0002-1825-0097")
        accounts.decide_verification(
            request.id, by=admin, approve=False,
            note="This ORCID iD belongs to someone else. Please send your own iD or an institutional email.",
        )  # fmt: skip


def seed_communities() -> None:
    for spec in COMMUNITIES:
        community = communities.find_community(spec["slug"])
        if community is None:
            fields = communities.CommunityFields(
                name=spec["name"], slug=spec["slug"], condition_name=spec["condition_name"],
                condition_code=spec["condition_code"], condition_system=spec["condition_system"],
                description=spec["description"], guidelines=GUIDELINES, visibility=spec["visibility"],
            )  # fmt: skip
            community = communities.create_community(fields, by=_user(spec["owner"]))
        for username in spec["members"]:
            user = _user(username)
            if communities.find_membership(user, community) is None:
                if community.is_restricted:
                    request = communities.request_to_join(user, community, accept_guidelines=True)
                    communities.decide_join_request(request.id, by=_user(spec["owner"]), approve=True)
                else:
                    communities.join_community(user, community, accept_guidelines=True)
        for username in spec["moderators"]:
            membership = communities.find_membership(_user(username), community)
            if membership is not None and membership.role == CommunityRole.MEMBER:
                communities.set_member_role(community, username, "moderator", by=_user(spec["owner"]))


def seed_join_requests() -> None:
    cf = communities.get_community("cystic-fibrosis")
    dad = _user("dad_on_call")
    if communities.find_membership(dad, cf) is None:
        communities.request_to_join(
            dad, cf, accept_guidelines=True, message="My daughter was diagnosed last year; we're at Northgate."
        )


# Each step runs in its own transaction; later features append theirs.
STEPS: list[tuple[str, Callable[[], None]]] = [
    ("institutions", seed_institutions),
    ("people", seed_users),
    ("verification requests", seed_verification_requests),
    ("communities", seed_communities),
    ("join requests", seed_join_requests),
]
# posts
STEPS += posts_demo.STEPS

# --- chat -----------------------------------------------------------------------------------------------
from lhn.chat.demo import seed_chat  # noqa: E402 - chat builds on the communities seeded above

STEPS.append(("chat", seed_chat))


def _seed_measures() -> None:
    from lhn.measures.demo import seed_measures

    seed_measures()


STEPS.append(("measures", _seed_measures))  # measures: three years of monthly data, one real improvement


def login_table() -> list[tuple[str, str, str]]:
    rows = []
    for spec in USERS:
        role = (
            Role(spec.role).label
            + (" (verified)" if spec.verified else " (claimed)" if Role(spec.role).needs_verification else "")
            + (", site admin" if spec.admin else "")
        )
        rows.append((spec.username, role, spec.about))
    return rows


# --- moderation (issue 6) -------------------------------------------------------------------------------
from lhn.moderation.demo import seed_moderation  # noqa: E402 - after STEPS exists; the module uses DEMO_PASSWORD

STEPS.append(("moderation", seed_moderation))
