"""Studies: posting one (fields or an imported FHIR R5 ResearchStudy), reading them, closing and reopening, and
each study's audit. Eligibility's free text passes the PHI guard and is rendered once, at write time."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn import inputs, markup, phi
from lhn.accounts import services as accounts
from lhn.accounts.models import Role, User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_read
from lhn.database import reading, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.pro import services as pro
from lhn.research import fhir
from lhn.research.fhir import StudyFields
from lhn.research.models import Study, StudyEvent, StudyStatus
from lhn.research.permissions import can_post_study, can_read_audit, can_set_status, is_study_lead

TEXT_MAX = {"title": 200, "condition": 200, "ethics_reference": 120}
ELIGIBILITY_MAX = 5000
LIST_MAX, VALUE_MAX = 20, 120
AUDIT_SHOWN = 100
MATCHABLE_ROLES = (Role.PATIENT.value, Role.CAREGIVER.value)


def audit(study: Study, actor: User | None, action: str) -> None:
    """One line of the study's audit. `actor` None for what a patient did: the audit names no one who may match."""
    db.session.add(StudyEvent(study_id=study.id, actor_id=actor.id if actor else None, action=action[:200],
                              at=utcnow()))  # fmt: skip


def _check_texts(f: StudyFields, errors: dict[str, str]) -> None:
    for name, most in TEXT_MAX.items():
        value = getattr(f, name).strip()
        setattr(f, name, value)
        if not value:
            errors[name] = "Required."
        elif len(value) > most:
            errors[name] = f"At most {most} characters."
    if len(f.eligibility_text) > ELIGIBILITY_MAX:
        errors["eligibility_text"] = f"At most {ELIGIBILITY_MAX} characters."
    for name in ("diagnoses", "countries"):
        values = [v.strip() for v in getattr(f, name) if v.strip()]
        setattr(f, name, values)
        if len(values) > LIST_MAX or any(len(v) > VALUE_MAX for v in values):
            errors[name] = f"At most {LIST_MAX}, each at most {VALUE_MAX} characters."


def _check_numbers(f: StudyFields, errors: dict[str, str]) -> None:
    if f.target_number is not None and not 1 <= f.target_number <= 1_000_000:
        errors["target_number"] = "A number of people from 1 to 1,000,000."
    for name in ("age_min", "age_max"):
        value = getattr(f, name)
        if value is not None and not 0 <= value <= 130:
            errors[name] = "An age from 0 to 130."
    if f.age_min is not None and f.age_max is not None and f.age_min > f.age_max:
        errors["age_max"] = "The highest age can't be below the lowest."
    for name in ("score_min", "score_max"):
        value = getattr(f, name)
        if value is not None and not -1_000_000 <= value <= 1_000_000:  # NaN and infinity too
            errors[name] = "A score from -1,000,000 to 1,000,000."
    if (f.score_min is not None and f.score_max is not None and not {"score_min", "score_max"} & errors.keys()
            and f.score_min > f.score_max):
        errors["score_max"] = "The highest score can't be below the lowest."
    if (f.score_min is not None or f.score_max is not None) and not f.instrument_code:
        errors["instrument_code"] = "Choose the questionnaire the score range is on."
    if f.status not in {s.value for s in StudyStatus}:
        errors["status"] = "Recruiting or closed-to-accrual."


def _criteria(community: Community, f: StudyFields, errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The criteria matching reads, and the names of the sites; errors for unknown institutions and
    questionnaires."""
    names = {}
    for name in ("sites", "eligible_sites"):
        for slug in getattr(f, name):
            institution = accounts.find_institution(slug)
            if institution is None:
                errors[name] = f"No institution {slug[:80]!r}: choose from LHN's institutions."
            else:
                names[slug] = institution.name
    if any(role not in MATCHABLE_ROLES for role in f.roles):
        errors["roles"] = "Patients and caregivers keep research profiles: choose patient or caregiver."
    instrument_id = None
    if f.instrument_code:
        found = [i for i in pro.list_instruments(community) if i.code == f.instrument_code]
        if not found:
            errors["instrument_code"] = "Not one of this community's questionnaires."
        else:
            instrument_id = found[0].id
    criteria = {"age_min": f.age_min, "age_max": f.age_max, "diagnoses": f.diagnoses, "countries": f.countries,
                "sites": f.eligible_sites, "roles": f.roles, "instrument_id": instrument_id,
                "instrument_code": f.instrument_code or None, "score_min": f.score_min, "score_max": f.score_max}
    return criteria, names


def post_study(community: Community, f: StudyFields, *, by: User, confirm_phi: bool = False) -> Study:
    """Post a study in the community (verified researchers and clinicians who are members). Its eligibility text
    passes the PHI guard and is rendered outside the write lock. Audited. Flushes. Raises PermissionDenied,
    ValidationFailed (a field; PHIConfirmationRequired)."""
    with reading():
        if not can_post_study(by, communities.find_membership(by, community)):
            raise PermissionDenied("Verified researchers and clinicians who are members post studies here.")
        f = dataclasses.replace(f)
        errors: dict[str, str] = {}
        _check_texts(f, errors)
        _check_numbers(f, errors)
        criteria, names = _criteria(community, f, errors)
        if errors:
            raise ValidationFailed(errors)
        findings = phi.check_texts({"title": f.title, "eligibility_text": f.eligibility_text}, confirm_phi)
        rendered = str(markup.render_markdown(f.eligibility_text, field="eligibility_text"))
        resource = fhir.to_resource(f, study_id=None, site_names=names)
    study = Study(community_id=community.id, created_by_id=by.id, title=f.title, condition=f.condition,
                  sites=f.sites, status=StudyStatus(f.status), target_number=f.target_number,
                  ethics_reference=f.ethics_reference, criteria=criteria, eligibility_text=f.eligibility_text,
                  eligibility_html=rendered, resource=resource)  # fmt: skip
    db.session.add(study)
    db.session.flush()
    study.resource = dict(resource, id=f"study-{study.id}")
    audit(study, by, f"Posted the study ({study.status.label.lower()})")
    db.session.flush()
    phi.record_confirmed(findings, by=by, target_type="research_study", target_id=study.id,
                         community_id=community.id)  # fmt: skip
    return study


def _parsed(text: str) -> Any:
    try:
        resource = json.loads(text)
        inputs.check_strings(resource, "research_study", max_depth=16)
    except (ValueError, RecursionError, inputs.BadInput):
        raise ValidationFailed({"research_study": "Paste the ResearchStudy as JSON (16 levels at most)."}) from None
    return resource


def import_study(community: Community, resource: Any, *, by: User, confirm_phi: bool = False) -> Study:
    """Post a study from a FHIR R5 ResearchStudy (a parsed object, or its JSON text from a form; see
    lhn/research/fhir.py for the eligibility Group it reads). Raises as post_study, and ValidationFailed
    (`research_study`) for what isn't one."""
    if not can_post_study(by, communities.find_membership(by, community)):
        raise PermissionDenied("Verified researchers and clinicians who are members post studies here.")
    if isinstance(resource, str):
        resource = _parsed(resource)
    return post_study(community, fhir.from_resource(resource), by=by, confirm_phi=confirm_phi)


def fields_of(study: Study) -> StudyFields:
    c = study.criteria
    return StudyFields(title=study.title, condition=study.condition, sites=list(study.sites),
                       status=study.status.value, target_number=study.target_number,
                       ethics_reference=study.ethics_reference, age_min=c.get("age_min"), age_max=c.get("age_max"),
                       diagnoses=c.get("diagnoses") or [], countries=c.get("countries") or [],
                       eligible_sites=c.get("sites") or [], roles=c.get("roles") or [],
                       instrument_code=c.get("instrument_code") or "", score_min=c.get("score_min"),
                       score_max=c.get("score_max"), eligibility_text=study.eligibility_text)  # fmt: skip


def get_study(study_id: int, *, viewer: object) -> Study:
    """A study of a community `viewer` may read. Raises NotFound (also for one they may not read)."""
    study = db.session.get(Study, study_id)
    if study is None or not can_read(viewer, study.community, communities.find_membership(viewer, study.community)):
        raise NotFound()
    return study


def list_studies(community: Community) -> list[Study]:
    """The community's studies, recruiting first, newest first."""
    rows = db.session.scalars(select(Study).where(Study.community_id == community.id)
                              .options(joinedload(Study.created_by)).order_by(Study.id.desc()))  # fmt: skip
    return sorted(rows, key=lambda s: s.status != StudyStatus.RECRUITING)


def may_post(viewer: object, community: Community) -> bool:
    return can_post_study(viewer, communities.find_membership(viewer, community))


def may_set_status(viewer: object, study: Study) -> bool:
    return can_set_status(viewer, study, study.community, communities.find_membership(viewer, study.community))


def set_status(study: Study, status: str, *, by: User) -> Study:
    """Close a study (its lead, the community's owners and moderators) or reopen it (its lead). A closed study
    matches nobody and takes no new contacts; the contacts it has stay with its lead. Audited. Flushes. Raises
    PermissionDenied, ValidationFailed."""
    if status not in {s.value for s in StudyStatus}:
        raise ValidationFailed({"status": "Recruiting or closed-to-accrual."})
    new = StudyStatus(status)
    if not may_set_status(by, study) or (new == StudyStatus.RECRUITING and not is_study_lead(by, study)):
        raise PermissionDenied("The study's lead closes and reopens it; the community's moderators may close it.")
    if new != study.status:
        audit(study, by, f"Changed the status from {study.status.label.lower()} to {new.label.lower()}")
        study.status = new
        resource = dict(study.resource)
        resource["progressStatus"] = [{"state": {"coding": [{"system": fhir.STATE, "code": new.value}]},
                                       "actual": True}]  # fmt: skip
        study.resource = resource
    db.session.flush()
    return study


def study_audit(study: Study, *, by: object) -> list[StudyEvent]:
    """The study's audit, newest first (the latest AUDIT_SHOWN lines): its lead and the community's moderators.
    Raises PermissionDenied."""
    if not can_read_audit(by, study, study.community, communities.find_membership(by, study.community)):
        raise PermissionDenied()
    stmt = (select(StudyEvent).where(StudyEvent.study_id == study.id).options(joinedload(StudyEvent.actor))
            .order_by(StudyEvent.id.desc()).limit(AUDIT_SHOWN))  # fmt: skip
    return list(db.session.scalars(stmt))


def may_read_audit(viewer: object, study: Study) -> bool:
    return can_read_audit(viewer, study, study.community, communities.find_membership(viewer, study.community))
