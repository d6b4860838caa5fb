"""Demo people: institutions, one person of every role (verified, claimed, pending, rejected), a site admin,
all with DEMO_PASSWORD and dated as long-standing members. Everything goes through the services; idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.database import utcnow

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
    DemoUser("ibd_teen", "Gutsy Teen", "patient", "riverside-childrens", "Patient"),
    DemoUser("sugar_runner", "SugarRunner", "patient", "lakeside-clinic", "Patient"),
    DemoUser("salty_breather", "Salty Breather", "patient", "northgate-university-hospital", "Patient"),
    DemoUser("mum_of_two", "Mum of two", "caregiver", "riverside-childrens", "Caregiver"),
    DemoUser("dad_on_call", "Dad on call", "caregiver", None, "Caregiver, asked to join CF"),
]


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
            is_admin=spec.admin, email_confirmed=True,
        )  # fmt: skip
        _established(user)
        if spec.verified:
            accounts.verify_by_operator(user, note="Demo account, verified by the operator.")


def seed_verification_requests() -> None:
    admin = accounts.get_user("admin")
    priya = accounts.get_user("nurse_priya")
    if not accounts.list_verification_history(priya, viewer=admin):
        accounts.submit_verification(priya, licence_number="RN-448812", licence_issuer="Nursing and Midwifery Council",
                                     institutional_email="priya@northgate-hospital.example")  # fmt: skip
    mika = accounts.get_user("data_mika")
    if not accounts.list_verification_history(mika, viewer=admin):
        request = accounts.submit_verification(mika, orcid="0000-0002-1825-0097")
        accounts.decide_verification(
            request.id, by=admin, approve=False,
            note="This ORCID iD belongs to someone else. Please send your own iD or an institutional email.",
        )  # fmt: skip


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


# Each step runs in its own transaction (lhn.demo runs every feature's steps in order).
STEPS: list[tuple[str, Callable[[], None]]] = [
    ("institutions", seed_institutions),
    ("people", seed_users),
    ("verification requests", seed_verification_requests),
]
