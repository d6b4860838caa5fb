"""A person's research profile per community, and which studies they may fit. The profile is theirs alone: every
read here is of the reader's own row, except the lead's count (contacts.py), which reads only how many. Matching
asks `pro.consenting(..., STUDY_CONTACT)` at read time, so turning that consent off stops it at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from lhn import phi
from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community, Membership
from lhn.database import find_one, reading, utcnow
from lhn.errors import PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.pro import services as pro
from lhn.pro.models import ProResponse, Purpose, ResponseStatus
from lhn.research.matching import AGE_BANDS, Facts, may_fit
from lhn.research.models import ResearchProfile, Study, StudyStatus

TEXT_MAX = 120


@dataclass
class ProfileFields:
    age_band: str = ""
    diagnosis: str = ""
    diagnosis_year: int | None = None
    country: str = ""
    site: str = ""
    instrument_ids: list[int] = field(default_factory=list)


def consents_to_contact(community: Community, user: object) -> bool:
    """The person's consent to be asked about studies in this community is on (what every match asks first)."""
    return isinstance(user, User) and user.id in pro.consenting(community.id, Purpose.STUDY_CONTACT)


def find_profile(community: Community, user: object) -> ResearchProfile | None:
    """The reader's own profile in the community, or None."""
    if not isinstance(user, User):
        return None
    return find_one(ResearchProfile, user_id=user.id, community_id=community.id)


def save_profile(community: Community, user: User, f: ProfileFields, *, confirm_phi: bool = False) -> ResearchProfile:
    """Create or change the person's own profile: members whose consent to be contacted about studies is on. Its
    text passes the PHI guard (a study they contact may be shown it). Flushes. Raises PermissionDenied,
    ValidationFailed (PHIConfirmationRequired)."""
    if communities.find_membership(user, community) is None or not consents_to_contact(community, user):
        raise PermissionDenied("Turn on \"Let researchers ask me about studies\" in My consent first.")
    with reading():
        phi.check_texts({"diagnosis": f.diagnosis, "country": f.country}, confirm_phi)
    errors = {}
    if f.age_band and f.age_band not in AGE_BANDS:
        errors["age_band"] = "Choose one of the age bands."
    for name in ("diagnosis", "country"):
        setattr(f, name, getattr(f, name).strip())
        if len(getattr(f, name)) > TEXT_MAX:
            errors[name] = f"At most {TEXT_MAX} characters."
    if f.diagnosis_year is not None and not 1900 <= f.diagnosis_year <= utcnow().year:
        errors["diagnosis_year"] = f"A year from 1900 to {utcnow().year}."
    if f.site and accounts.find_institution(f.site) is None:
        errors["site"] = "Choose one of LHN's institutions."
    offered = {i.id for i in pro.list_instruments(community)}
    if not set(f.instrument_ids) <= offered:
        errors["instrument_ids"] = "Choose among this community's questionnaires."
    if errors:
        raise ValidationFailed(errors)
    profile = find_profile(community, user)
    if profile is None:
        profile = ResearchProfile(user_id=user.id, community_id=community.id)
        db.session.add(profile)
    profile.age_band, profile.diagnosis, profile.diagnosis_year = f.age_band, f.diagnosis, f.diagnosis_year
    profile.country, profile.site, profile.instrument_ids = f.country, f.site, sorted(set(f.instrument_ids))
    db.session.flush()
    return profile


def latest_scores(user_ids: list[int], instrument_ids: set[int]) -> dict[tuple[int, int], float]:
    """(user id, instrument id) -> the latest finished total, for the given people and instruments (one query)."""
    if not user_ids or not instrument_ids:
        return {}
    last = (select(func.max(ProResponse.id)).where(
        ProResponse.user_id.in_(user_ids), ProResponse.instrument_id.in_(instrument_ids),
        ProResponse.status == ResponseStatus.COMPLETED).group_by(ProResponse.user_id, ProResponse.instrument_id))
    rows = db.session.execute(select(ProResponse.user_id, ProResponse.instrument_id, ProResponse.total)
                              .where(ProResponse.id.in_(last)))  # fmt: skip
    return {(u, i): total for u, i, total in rows if total is not None}


def facts_of(profile: ResearchProfile, user: User, scores: dict[tuple[int, int], float]) -> Facts:
    allowed = {i: scores[(user.id, i)] for i in profile.instrument_ids if (user.id, i) in scores}
    return Facts(age_band=profile.age_band, diagnosis=profile.diagnosis, country=profile.country, site=profile.site,
                 role=user.role.value, scores=allowed)  # fmt: skip


def my_facts(community: Community, user: object) -> Facts | None:
    """What matching may use of the reader now: None without the consent or a profile."""
    profile = find_profile(community, user)
    if profile is None or not isinstance(user, User) or not consents_to_contact(community, user):
        return None
    if communities.find_membership(user, community) is None:  # a former member fits no study there
        return None
    return facts_of(profile, user, latest_scores([user.id], set(profile.instrument_ids)))


def fits(study: Study, facts: Facts | None) -> bool:
    return facts is not None and study.status == StudyStatus.RECRUITING and may_fit(facts, study.criteria)


def my_matches(community: Community, user: object) -> list[Study]:
    """The recruiting studies of the community the reader may fit (none without the consent or a profile)."""
    facts = my_facts(community, user)
    if facts is None:
        return []
    studies = db.session.scalars(select(Study).where(Study.community_id == community.id,
                                                     Study.status == StudyStatus.RECRUITING)
                                 .order_by(Study.id.desc()))  # fmt: skip
    return [s for s in studies if fits(s, facts)]


def count_matches(study: Study) -> int:
    """How many members may fit the study now (consent on, a profile, every criterion met); 0 when it is closed.
    Only a number leaves here."""
    if study.status != StudyStatus.RECRUITING:
        return 0
    consenting = pro.consenting(study.community_id, Purpose.STUDY_CONTACT)
    rows = db.session.execute(select(ResearchProfile, User).join(User, User.id == ResearchProfile.user_id)
                              .join(Membership, (Membership.user_id == User.id)
                                    & (Membership.community_id == study.community_id))
                              .where(ResearchProfile.community_id == study.community_id)).all()  # fmt: skip
    people = [(p, u) for p, u in rows if u.id in consenting]
    instrument = study.criteria.get("instrument_id")
    scores = latest_scores([u.id for _, u in people], {instrument} if instrument else set())
    return sum(1 for p, u in people if may_fit(facts_of(p, u, scores), study.criteria))
