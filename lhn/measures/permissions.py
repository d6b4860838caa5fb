"""Who may do what with measures. Pure predicates over the user and facts the services looked up."""

from __future__ import annotations

from collections.abc import Collection

from lhn.accounts.permissions import as_user
from lhn.communities import permissions as community_permissions
from lhn.communities.models import Community, Membership


def can_read(user: object, community: Community, membership: Membership | None) -> bool:
    """Measures are read wherever the community's content is."""
    return community_permissions.can_read(user, community, membership)


def can_create_measure(user: object, community: Community, membership: Membership | None) -> bool:
    """Any member proposes a measure (patients included) and becomes its first owner."""
    return as_user(user) is not None and membership is not None


def is_owner(user: object, owner_ids: Collection[int]) -> bool:
    u = as_user(user)
    return u is not None and u.id in owner_ids


def can_edit(user: object, owner_ids: Collection[int]) -> bool:
    """Owners edit the definition, invite co-owners, appoint site data leads; site admins may step in."""
    u = as_user(user)
    return u is not None and (u.id in owner_ids or u.is_admin)


def can_remove_owner(user: object, owner_id: int, owner_ids: Collection[int]) -> bool:
    """Those who edit the measure remove an owner; an owner steps down themself."""
    u = as_user(user)
    return u is not None and (can_edit(u, owner_ids) or u.id == owner_id)


def is_site_team_member(
    user: object, site_id: int, *, membership: Membership | None, lead_site_ids: Collection[int]
) -> bool:
    """The site's team: community members affiliated with the site who are verified clinicians or researchers,
    and the site data leads the measure's owners appointed (while they remain members)."""
    u = as_user(user)
    if u is None or membership is None:
        return False
    return (u.institution_id == site_id and u.is_verified) or site_id in lead_site_ids


def can_annotate(
    user: object, site_id: int | None, *, owner_ids: Collection[int], team_site_ids: Collection[int]
) -> bool:
    """Notes and phase changes: owners anywhere; a site's team on its own site's chart."""
    u = as_user(user)
    if u is None:
        return False
    return u.id in owner_ids or (site_id is not None and site_id in team_site_ids)
