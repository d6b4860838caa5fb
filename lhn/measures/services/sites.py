"""Sites of a measure: the site data leads owners appoint, and each site's consent to contribute data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, User
from lhn.communities.models import Community
from lhn.database import find_one, utcnow
from lhn.errors import NotFound, PermissionDenied, ValidationFailed
from lhn.extensions import db
from lhn.measures.models import DataConsent, Measure, SiteDataLead
from lhn.measures.services.core import access, find_community_member, log_change

CONSENT_STATEMENT = (
    "{site} agrees to contribute aggregate data (counts per period, never patient-level records) to the "
    "measures of {community}. Members outside the site's own team see it only after small-cell suppression "
    "(no count of 1–10, nor anything it can be derived from). The consent can be withdrawn at any time; the "
    "site's data is then left out of every cross-site view and of the network aggregate."
)


# --- site data leads ------------------------------------------------------------------------------


def list_site_leads(measure: Measure) -> list[SiteDataLead]:
    return list(
        db.session.scalars(
            select(SiteDataLead)
            .where(SiteDataLead.measure_id == measure.id)
            .options(joinedload(SiteDataLead.user).joinedload(User.institution), joinedload(SiteDataLead.institution))
            .order_by(SiteDataLead.id)
        )
    )


def appoint_site_lead(measure: Measure, username: str, site_slug: str, *, by: User) -> SiteDataLead:
    """Owners appoint a community member to submit data for a site. Raises PermissionDenied, ValidationFailed."""
    if not access(measure, by).can_edit:
        raise PermissionDenied("Only the measure's owners appoint site data leads.")
    errors: dict[str, str] = {}
    person = find_community_member(measure, username)
    if person is None:
        errors["username"] = "Appoint a member of this community (by username)."
    site = accounts.find_institution((site_slug or "").strip())
    if site is None:
        errors["site"] = "Choose a site."
    if errors or person is None or site is None:  # errors names what is missing
        raise ValidationFailed(errors)
    existing = find_one(SiteDataLead, measure_id=measure.id, user_id=person.id, institution_id=site.id)
    if existing is not None:
        return existing
    lead = SiteDataLead(measure_id=measure.id, institution=site, user=person, appointed_by_id=by.id)
    db.session.add(lead)
    log_change(measure, "site_lead", f"{person.display_name} appointed data lead for {site.name}.", by=by)
    db.session.flush()
    return lead


def remove_site_lead(measure: Measure, lead_id: int, *, by: User) -> None:
    if not access(measure, by).can_edit:
        raise PermissionDenied("Only the measure's owners remove site data leads.")
    lead = db.session.get(SiteDataLead, lead_id)
    if lead is None or lead.measure_id != measure.id:
        raise NotFound("No such site data lead.")
    log_change(
        measure, "site_lead", f"{lead.user.display_name} is no longer data lead for {lead.institution.name}.", by=by
    )
    db.session.delete(lead)
    db.session.flush()


# --- consent ---------------------------------------------------------------------------------------


def active_consent(community_id: int, site_id: int) -> DataConsent | None:
    return db.session.scalar(
        select(DataConsent)
        .where(
            DataConsent.community_id == community_id,
            DataConsent.institution_id == site_id,
            DataConsent.withdrawn_at.is_(None),
        )
        .order_by(DataConsent.id.desc())
        .limit(1)
    )


def consenting_sites(community_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(DataConsent.institution_id).where(
                DataConsent.community_id == community_id, DataConsent.withdrawn_at.is_(None)
            )
        )
    )


def consent_statement(site: Institution, community: Community) -> str:
    return CONSENT_STATEMENT.format(site=site.name, community=community.name)


@dataclass
class SiteConsent:
    """One of the reader's sites: its consent now (None if none is active), the statement its team agrees to,
    and every consent recorded for it in the community, newest first."""

    site: Institution
    active: DataConsent | None
    statement: str
    history: list[DataConsent]


def list_consents(measure: Measure, *, viewer: object) -> list[SiteConsent]:
    """Consent for each site whose team the viewer is on (empty for anyone else): what they may give or
    withdraw. Raises NotFound (the measure isn't readable)."""
    acc = access(measure, viewer)
    if not acc.team_site_ids:
        return []
    rows = db.session.scalars(
        select(DataConsent)
        .where(DataConsent.community_id == measure.community_id, DataConsent.institution_id.in_(acc.team_site_ids))
        .options(joinedload(DataConsent.given_by), joinedload(DataConsent.withdrawn_by))
        .order_by(DataConsent.id.desc())
    )
    history: dict[int, list[DataConsent]] = {site_id: [] for site_id in acc.team_site_ids}
    for row in rows:
        history[row.institution_id].append(row)
    sites = db.session.scalars(select(Institution).where(Institution.id.in_(acc.team_site_ids)))
    return [
        SiteConsent(
            site=site,
            active=next((c for c in history[site.id] if c.withdrawn_at is None), None),
            statement=consent_statement(site, measure.community),
            history=history[site.id],
        )
        for site in sorted(sites, key=lambda s: s.name.lower())
    ]


def give_consent(measure: Measure, site: Institution, *, by: User, agreed: bool) -> DataConsent:
    """A member of the site's team records the site's consent to contribute data to the community, having
    agreed to the statement (consent_statement) it stores. Idempotent while consent is active. Flushes.

    Raises PermissionDenied (not on the site's team), ValidationFailed (`agreed` is not True).
    """
    if site.id not in access(measure, by).team_site_ids:
        raise PermissionDenied("Only the site's own team records its consent.")
    if agreed is not True:
        raise ValidationFailed({"agree": "Agree to the statement to record the site's consent."})
    current = active_consent(measure.community_id, site.id)
    if current is not None:
        return current
    consent = DataConsent(
        community_id=measure.community_id,
        institution_id=site.id,
        given_by_id=by.id,
        statement=consent_statement(site, measure.community),
    )
    db.session.add(consent)
    db.session.flush()
    return consent


def withdraw_consent(measure: Measure, site: Institution, *, by: User) -> DataConsent:
    """The site's team withdraws consent: its data leaves every cross-site view. Raises PermissionDenied, NotFound."""
    if site.id not in access(measure, by).team_site_ids:
        raise PermissionDenied("Only the site's own team withdraws its consent.")
    current = active_consent(measure.community_id, site.id)
    if current is None:
        raise NotFound("This site has no active consent.")
    current.withdrawn_at = utcnow()
    current.withdrawn_by_id = by.id
    db.session.flush()
    return current
