"""Demo data for research: Dr Okafor's recruiting study in Pediatric IBD (teens with Crohn's disease in the
United States whose IBD check-in score is low), and Gutsy Teen, who lets researchers ask about studies and keeps a
research profile that fits it. Runs after the questionnaires step."""

from __future__ import annotations

from collections.abc import Callable

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.pro import services as pro
from lhn.pro.models import Purpose
from lhn.research import services as research
from lhn.research.fhir import StudyFields

STUDY = StudyFields(
    title="Diet and flares in teenagers with Crohn's disease", condition="Crohn's disease",
    sites=["riverside-childrens"], target_number=40, ethics_reference="IRB 2026-0417",
    age_min=12, age_max=17, diagnoses=["Crohn's disease"], countries=["United States"], roles=["patient"],
    instrument_code="ibd-check-in", score_min=0, score_max=6,
    eligibility_text="Able to keep a **food diary** for eight weeks. Not on exclusive enteral nutrition.",
)  # fmt: skip


def seed_research() -> None:
    community = communities.get_community("pediatric-ibd")
    owner, teen = accounts.get_user("dr_okafor"), accounts.get_user("ibd_teen")
    if research.list_studies(community):
        return
    research.post_study(community, STUDY, by=owner)
    pro.set_consents(community, teen, {Purpose.STUDY_CONTACT: True})
    check_in = [i.id for i in pro.list_instruments(community) if i.code == "ibd-check-in"]
    research.save_profile(community, teen, research.ProfileFields(
        age_band="12-17", diagnosis="Crohn's disease", diagnosis_year=2023, country="United States",
        instrument_ids=check_in))  # fmt: skip


STEPS: list[tuple[str, Callable[[], None]]] = [("research studies", seed_research)]
