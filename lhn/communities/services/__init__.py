"""Community rules, one module per sub-domain, used as one: `from lhn.communities import services as communities`.
communities: a community's fields, creating, editing and finding one; membership: joining (or asking to),
leaving, join requests, moderators, members; verification: the verification review queue; slow_mode: the delay
between a member's writes in a thread."""

from lhn import reminders
from lhn.communities.services.communities import (
    CommunityFields,
    CommunityPage,
    community_page,
    create_community,
    find_community,
    get_community,
    get_community_where,
    get_readable_community,
    list_communities,
    public_content_version,
    update_community,
)
from lhn.communities.services.membership import (
    MEMBER_FILTERS,
    InstitutionCount,
    decide_join_request,
    find_membership,
    find_pending_request,
    institution_counts,
    join_community,
    join_or_request,
    leave_community,
    list_join_requests,
    list_members,
    memberships_of,
    owner_count,
    request_to_join,
    send_join_request_reminders,
    set_member_role,
)
from lhn.communities.services.slow_mode import check_slow_mode, set_slow_mode, slow_mode_column, slow_mode_seconds
from lhn.communities.services.verification import VerificationQueue, list_verification_queue, record_evidence_views

reminders.register("join-requests", send_join_request_reminders)

__all__ = [
    "MEMBER_FILTERS",
    "CommunityFields",
    "CommunityPage",
    "InstitutionCount",
    "VerificationQueue",
    "check_slow_mode",
    "community_page",
    "create_community",
    "decide_join_request",
    "find_community",
    "find_membership",
    "find_pending_request",
    "get_community",
    "get_community_where",
    "get_readable_community",
    "institution_counts",
    "join_community",
    "join_or_request",
    "leave_community",
    "list_communities",
    "list_join_requests",
    "list_members",
    "list_verification_queue",
    "memberships_of",
    "owner_count",
    "public_content_version",
    "record_evidence_views",
    "request_to_join",
    "send_join_request_reminders",
    "set_member_role",
    "set_slow_mode",
    "slow_mode_column",
    "slow_mode_seconds",
    "update_community",
]
