"""My data for research: a person's research profiles, the contacts they gave studies (each with what they shared)
and the studies they posted, in their export; on account deletion their profiles and contacts go, whichever mode
(they were theirs alone, or shared only with one study's lead); studies they posted stay with the community, under
no one, and close.

Receivers of signals.export_requested / account_erasing (contract in lhn/signals.py), connected when the app
factory (lhn/__init__.py) imports this module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from lhn import signals
from lhn.accounts.models import User
from lhn.database import iso_or_none
from lhn.extensions import db
from lhn.research.fhir import STATE
from lhn.research.models import ResearchProfile, Study, StudyContact, StudyStatus
from lhn.research.services.studies import audit


@signals.export_requested.connect
def export_research(user: User, **_: Any) -> dict[str, Any]:
    profiles = db.session.scalars(select(ResearchProfile).where(ResearchProfile.user_id == user.id)
                                  .order_by(ResearchProfile.id))  # fmt: skip
    contacts = db.session.scalars(select(StudyContact).where(StudyContact.user_id == user.id)
                                  .options(joinedload(StudyContact.study)).order_by(StudyContact.id))  # fmt: skip
    studies = db.session.scalars(select(Study).where(Study.created_by_id == user.id).order_by(Study.id))
    return {"research_profiles": [
        {"community_id": p.community_id, "age_band": p.age_band, "diagnosis": p.diagnosis,
         "diagnosis_year": p.diagnosis_year, "country": p.country, "site": p.site,
         "instrument_ids": p.instrument_ids} for p in profiles
    ], "study_contacts": [
        {"study": c.study.title, "shared": c.shared, "at": iso_or_none(c.created_at),
         "withdrawn_at": iso_or_none(c.withdrawn_at)} for c in contacts
    ], "studies_posted": [
        {"title": s.title, "community_id": s.community_id, "status": s.status.value, "fhir": s.resource}
        for s in studies
    ]}  # fmt: skip


@signals.account_erasing.connect
def erase_research(user: User, **_: Any) -> None:
    """Their profiles and contacts go. A study they lead closes (nobody is left to read its contacts), audited."""
    for model in (StudyContact, ResearchProfile):
        db.session.execute(delete(model).where(model.user_id == user.id).execution_options(synchronize_session=False))
    for study in db.session.scalars(select(Study).where(Study.created_by_id == user.id,
                                                        Study.status == StudyStatus.RECRUITING)):  # fmt: skip
        study.status = StudyStatus.CLOSED
        study.resource = dict(study.resource, progressStatus=[
            {"state": {"coding": [{"system": STATE, "code": StudyStatus.CLOSED.value}]}, "actual": True}])
        audit(study, None, "Closed: its lead's account was deleted")
