"""What every measure service needs: the reader's access to one measure, the site teams, a member named in a form,
the change log, and the audit of data exports and of restricted data shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from lhn import signals
from lhn.accounts import services as accounts
from lhn.accounts.models import Institution, Role, User
from lhn.accounts.permissions import as_user
from lhn.communities import services as communities
from lhn.communities.models import Community, Membership
from lhn.errors import NotFound
from lhn.extensions import db
from lhn.measures import permissions
from lhn.measures.models import Measure, MeasureChange, MeasureOwner, SiteDataLead

# --- the access context a page or endpoint needs -------------------------------------------------------


@dataclass
class Access:
    """What one reader may do with one measure, looked up once per request."""

    measure: Measure
    community: Community
    membership: Membership | None
    owner_ids: set[int]
    team_site_ids: set[int] = field(default_factory=set)  # sites whose team the reader is on
    user: object = None

    @property
    def is_owner(self) -> bool:
        return permissions.is_owner(self.user, self.owner_ids)

    @property
    def can_edit(self) -> bool:
        return permissions.can_edit(self.user, self.owner_ids)

    @property
    def submit_site_ids(self) -> set[int]:
        """The sites whose data the reader submits: their teams' sites, none on a measure LHN computes."""
        return set() if self.measure.computed_from else self.team_site_ids

    @property
    def known_site_ids(self) -> set[int]:
        """The sites whose cells the reader sees whole (its own team's data, and its history). None on a measure
        LHN computes from patients' answers: a site's clinicians see no small count of their patients either."""
        return self.submit_site_ids

    @property
    def can_submit(self) -> bool:
        """On some site's team: submits (and imports) its site's data, sees its history."""
        return bool(self.submit_site_ids)

    def can_submit_for(self, site_id: int) -> bool:
        return site_id in self.submit_site_ids

    @property
    def sees_who_sent(self) -> bool:
        """Owners and site teams see who has sent which period; nobody sends a computed measure anything."""
        return (self.can_edit or self.can_submit) and not self.measure.computed_from

    @property
    def can_start_cycle(self) -> bool:
        """Owners start PDSA cycles (at a site with data), a site's team at its own site."""
        return self.is_owner or bool(self.team_site_ids)

    def can_remove_owner(self, owner_id: int) -> bool:
        return permissions.can_remove_owner(self.user, owner_id, self.owner_ids)

    def can_annotate(self, site_id: int | None) -> bool:
        return permissions.can_annotate(self.user, site_id, owner_ids=self.owner_ids, team_site_ids=self.team_site_ids)


def access(measure: Measure, user: object) -> Access:
    """The reader's access to `measure`. Raises NotFound if they may not read its community (nothing leaks)."""
    community = measure.community
    membership = communities.find_membership(user, community)
    if not permissions.can_read(user, community, membership):
        raise NotFound("No such measure.")
    owner_ids = set(db.session.scalars(select(MeasureOwner.user_id).where(MeasureOwner.measure_id == measure.id)))
    result = Access(measure=measure, community=community, membership=membership, owner_ids=owner_ids, user=user)
    result.team_site_ids = team_sites(measure, user, membership=membership)
    return result


def team_sites(measure: Measure, user: object, *, membership: Membership | None = None) -> set[int]:
    """Ids of the sites whose team `user` is on for this measure (see permissions.is_site_team_member)."""
    if not isinstance(user, User):
        return set()
    membership = membership if membership is not None else communities.find_membership(user, measure.community)
    if membership is None:
        return set()
    lead_sites = set(
        db.session.scalars(
            select(SiteDataLead.institution_id).where(
                SiteDataLead.measure_id == measure.id, SiteDataLead.user_id == user.id
            )
        )
    )
    sites = set(lead_sites)
    if user.institution_id is not None and permissions.is_site_team_member(
        user, user.institution_id, membership=membership, lead_site_ids=lead_sites
    ):
        sites.add(user.institution_id)
    return sites


def site_team(measure: Measure, site: Institution) -> list[User]:
    """Everyone on the site's team for this measure: verified clinicians and researchers of the site who are
    community members, and the appointed site data leads who are members."""
    return site_teams(measure, {site.id})[site.id]


def site_teams(measure: Measure, site_ids: set[int]) -> dict[int, list[User]]:
    """site_team() of many sites in two queries, by site id."""
    members = select(Membership.user_id).where(Membership.community_id == measure.community_id)
    affiliated = select(User).where(
        User.id.in_(members),
        User.institution_id.in_(site_ids),
        User.verified_at.is_not(None),
        User.role.in_([Role.CLINICIAN, Role.RESEARCHER]),
    )
    leads = (
        select(SiteDataLead.institution_id, User)
        .join(SiteDataLead, SiteDataLead.user_id == User.id)
        .where(SiteDataLead.measure_id == measure.id, SiteDataLead.institution_id.in_(site_ids), User.id.in_(members))
    )
    people: dict[int, dict[int, User]] = {site_id: {} for site_id in site_ids}
    for user in db.session.scalars(affiliated):
        people[user.institution_id][user.id] = user  # type: ignore[index]  # in site_ids, so not None
    for site_id, user in db.session.execute(leads):
        people[site_id][user.id] = user
    return {site_id: sorted(team.values(), key=lambda u: u.display_name.lower()) for site_id, team in people.items()}


def find_community_member(measure: Measure, username: str) -> User | None:
    """The member of the measure's community a form names by username ("@name" too), or None."""
    person = accounts.find_user((username or "").strip().lower().lstrip("@"))
    if person is None or communities.find_membership(person, measure.community) is None:
        return None
    return person


# --- the change log ------------------------------------------------------------------------------------


def log_change(
    measure: Measure, kind: str, summary: str, *, by: User | None, definition: dict[str, Any] | None = None
) -> None:
    """Append to the measure's visible change log. Flushes with the caller's work."""
    db.session.add(
        MeasureChange(
            measure_id=measure.id,
            version=measure.version,
            kind=kind,
            summary=summary[:2000],
            definition=definition,
            changed_by_id=by.id if by else None,
        )
    )


# --- the audit trail (moderation's receivers write it; we never import moderation) ------------------------


def record_export(measure: Measure, *, reader: object, file_format: str) -> None:
    """A reader (anonymous too) exported the measure's data: signals.data_exported. Callers commit."""
    signals.data_exported.send(
        as_user(reader),
        object_type="measure",
        object_id=measure.id,
        community_id=measure.community_id,
        file_format=file_format,
    )


def record_restricted_view(measure: Measure, *, reader: User) -> None:
    """A site's team saw its data that is withheld from everyone else (masked cells, data not shared, the
    submission history): signals.restricted_data_viewed. Callers commit."""
    signals.restricted_data_viewed.send(
        reader, object_type="measure", object_id=measure.id, community_id=measure.community_id
    )
