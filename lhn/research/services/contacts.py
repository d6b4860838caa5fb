""""Contact me": a person who may fit a recruiting study gives it a study-bound, revocable consent to contact,
sharing their display name and message and only the profile fields they tick, as they are at that moment. Each
contact and withdrawal goes to the person's own record (pro.record_use) and, naming no one, to the study's audit.
The study's lead sees how many may match (below SMALL: "fewer than") and the contacts; nobody sees a list of who
matches. Turning the consent to be contacted off withdraws every contact in that community."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from lhn import phi, signals
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.database import reading, utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.pro import services as pro
from lhn.pro.models import Instrument, Purpose
from lhn.research.models import Study, StudyContact
from lhn.research.permissions import can_post_study, is_study_lead, may_contact
from lhn.research.services.profiles import count_matches, find_profile, fits, latest_scores, my_facts
from lhn.research.services.studies import audit

SMALL = 11  # counts below this are not shown (measures-and-privacy.md: a count of 1-10 is never shown)
# Counts from 11 are shown as a band of BAND (11-14, 15-19, 20-24, ...): it blurs what two studies differing by one
# criterion tell their lead, though a pair straddling a band's edge still says someone differs. Each view is audited.
BAND = 5
MESSAGE_MAX = 1000
# What a person may tick to share, in the words their record uses. Display name and message always go.
SHAREABLE = {"age_band": "age band", "diagnosis": "diagnosis", "diagnosis_year": "year of diagnosis",
             "country": "country", "site": "site", "pro_score": "questionnaire score"}  # fmt: skip


def _words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _lead_name(study: Study) -> str:
    return study.created_by.display_name if study.created_by else "a former member"


def _snapshot(study: Study, user: User, share: list[str], message: str) -> dict[str, Any]:
    profile = find_profile(study.community, user)
    shared: dict[str, Any] = {"display_name": user.display_name, "message": message}
    for name in share:
        if name == "pro_score":
            instrument_id: int | None = study.criteria.get("instrument_id")
            allowed = profile is not None and instrument_id is not None and instrument_id in profile.instrument_ids
            score = (latest_scores([user.id], {instrument_id}).get((user.id, instrument_id))
                     if allowed and instrument_id is not None else None)  # fmt: skip
            instrument = db.session.get(Instrument, instrument_id) if score is not None else None
            if instrument is not None:
                shared[name] = {"questionnaire": instrument.title, "total": score}
        elif name == "site" and profile is not None and profile.site:
            institution = accounts.find_institution(profile.site)
            shared[name] = institution.name if institution else profile.site
        elif profile is not None and getattr(profile, name) not in ("", None):
            shared[name] = getattr(profile, name)
    return shared


def find_my_contact(study: Study, user: object) -> StudyContact | None:
    """The reader's own standing contact to the study, or None."""
    if not isinstance(user, User):
        return None
    return db.session.scalars(select(StudyContact).where(StudyContact.study_id == study.id,
                                                         StudyContact.user_id == user.id,
                                                         StudyContact.withdrawn_at.is_(None))).first()  # fmt: skip


def contact_study(study: Study, user: User, *, share: list[str], message: str = "",
                  confirm_phi: bool = False) -> StudyContact:  # fmt: skip
    """Say "contact me" to a recruiting study the person may fit, sharing their display name, their message (PHI
    guard) and the ticked fields of their profile. Written to their own record and the study's audit. Flushes.
    Raises PermissionDenied (closed, not a fit, no consent), ValidationFailed."""
    with reading():
        if not may_contact(study):
            raise PermissionDenied("This study is closed: it takes no new contacts.")
        if not fits(study, my_facts(study.community, user)):
            raise PermissionDenied("Only people whose research profile fits the study can ask to be contacted.")
        unknown = [name for name in share if name not in SHAREABLE]
        if unknown:
            raise ValidationFailed({"share": f"Choose among: {', '.join(SHAREABLE)}."})
        message = message.strip()
        if len(message) > MESSAGE_MAX:
            raise ValidationFailed({"message": f"At most {MESSAGE_MAX} characters."})
        findings = phi.check_texts({"message": message}, confirm_phi)
    contact = db.session.scalars(select(StudyContact).where(StudyContact.study_id == study.id,
                                                            StudyContact.user_id == user.id)).first()  # fmt: skip
    if contact is None:
        contact = StudyContact(study_id=study.id, user_id=user.id, shared={}, created_at=utcnow())
        db.session.add(contact)
    contact.shared = _snapshot(study, user, [n for n in SHAREABLE if n in share], message)
    contact.created_at, contact.withdrawn_at = utcnow(), None
    names = ["display name"] + (["message"] if message else []) + [SHAREABLE[n] for n in SHAREABLE
                                                                    if n in contact.shared]  # fmt: skip
    pro.record_use(user.id, study.community_id, Purpose.STUDY_CONTACT,
                   f"Shared your {_words(names)} with the study '{study.title[:80]}' ({_lead_name(study)})")
    audit(study, None, "A contact was given")
    db.session.flush()
    phi.record_confirmed(findings, by=user, target_type="research_contact", target_id=contact.id,
                         community_id=study.community_id)  # fmt: skip
    return contact


def _withdraw(contact: StudyContact, why: str = "") -> None:
    contact.withdrawn_at = utcnow()
    study = contact.study
    pro.record_use(contact.user_id, study.community_id, Purpose.STUDY_CONTACT,
                   f"Withdrew your contact from the study '{study.title[:80]}' ({_lead_name(study)}){why}")
    audit(study, None, "A contact was withdrawn")


def withdraw_contact(study: Study, user: User) -> StudyContact:
    """Withdraw the person's contact (open or closed study): the lead no longer sees it. Recorded. Flushes.
    Raises ValidationFailed (no contact to withdraw)."""
    contact = find_my_contact(study, user)
    if contact is None:
        raise ValidationFailed({"": "You haven't asked this study to contact you."})
    _withdraw(contact)
    db.session.flush()
    return contact


@signals.consent_withdrawn.connect
def _withdraw_all(user: User, *, community_id: int, purpose: Purpose, **_: Any) -> None:
    if purpose != Purpose.STUDY_CONTACT:
        return
    contacts = db.session.scalars(select(StudyContact).join(Study).where(
        StudyContact.user_id == user.id, StudyContact.withdrawn_at.is_(None), Study.community_id == community_id))
    for contact in contacts.all():
        _withdraw(contact, " when you turned off being asked about studies")
    db.session.flush()


@signals.member_removed.connect
def _left(community: Any, *, user: User, **_: Any) -> None:
    """Someone who leaves (or is removed from) the community: every contact they gave there is withdrawn."""
    _withdraw_all(user, community_id=community.id, purpose=Purpose.STUDY_CONTACT)


@dataclass
class Reach:
    may_match: tuple[int, int] | None  # the band holding the count (lowest, highest); None: fewer than SMALL
    contacts: list[StudyContact]


def band_of(count: int) -> tuple[int, int] | None:
    if count < SMALL:
        return None
    low = count // BAND * BAND
    return max(low, SMALL), low + BAND - 1


def study_reach(study: Study, *, by: object) -> Reach:
    """For the study's lead: how many may match (a band; None below SMALL) and the standing contacts, each with exactly
    what its person shared. The view is audited. Flushes. Raises PermissionDenied."""
    if not (is_study_lead(by, study) and can_post_study(by, communities.find_membership(by, study.community))):
        raise PermissionDenied("Only the study's lead, while a verified member, sees its contacts.")
    with reading():  # the count reads every profile: not under the write lock
        count = count_matches(study)
    audit(study, by if isinstance(by, User) else None, "Viewed how many may match and the contacts")
    contacts = db.session.scalars(select(StudyContact).where(StudyContact.study_id == study.id,
                                                             StudyContact.withdrawn_at.is_(None))
                                  .order_by(StudyContact.created_at.desc()))  # fmt: skip
    db.session.flush()
    return Reach(band_of(count), list(contacts))
