"""Who may do what with research studies. Pure predicates over the user, the community's membership and the
study: no queries."""

from __future__ import annotations

from lhn.accounts.models import Role
from lhn.accounts.permissions import as_user
from lhn.communities.models import Community, Membership
from lhn.communities.permissions import can_moderate
from lhn.research.models import Study, StudyStatus

POSTERS = (Role.RESEARCHER, Role.CLINICIAN)


def can_post_study(user: object, membership: Membership | None) -> bool:
    """Verified researchers and clinicians who are members of the community."""
    u = as_user(user)
    return u is not None and membership is not None and u.role in POSTERS and u.is_verified


def is_study_lead(user: object, study: Study) -> bool:
    """The person who posted the study: the only one who sees its contacts and how many may match."""
    u = as_user(user)
    return u is not None and study.created_by_id == u.id


def can_set_status(user: object, study: Study, community: Community, membership: Membership | None) -> bool:
    """Close or reopen: the study's lead while still a verified member; the community's owners and moderators
    (and site admins) may close any study."""
    lead = is_study_lead(user, study) and can_post_study(user, membership)
    return lead or can_moderate(user, community, membership)


def can_read_audit(user: object, study: Study, community: Community, membership: Membership | None) -> bool:
    return is_study_lead(user, study) or can_moderate(user, community, membership)


def may_contact(study: Study) -> bool:
    """A closed study takes no new contacts (and matches nobody)."""
    return study.status == StudyStatus.RECRUITING
