"""Community rules: who creates, reads, joins, moderates and reviews verification."""

import pytest

from lhn.accounts import services as accounts
from lhn.accounts.models import VerificationStatus
from lhn.communities import services as communities
from lhn.communities.models import CommunityRole, JoinRequestStatus
from lhn.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests import factories


def fields(**changes):
    base = {"name": "Pediatric IBD", "condition_name": "Crohn's disease", "guidelines": "Be kind."}
    return communities.CommunityFields(**{**base, **changes})


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", True),
        ("verified clinician", True),
        ("verified researcher", True),
        ("claimed clinician", False),
        ("patient", False),
    ],
)
def test_who_may_create_a_community(ctx, who, allowed) -> None:
    user = {
        "admin": lambda: factories.user("other", admin=True),
        "verified clinician": lambda: factories.user("clinician", verified=True),
        "verified researcher": lambda: factories.user("researcher", verified=True),
        "claimed clinician": lambda: factories.user("clinician"),
        "patient": lambda: factories.user("patient"),
    }[who]()
    if allowed:
        community = communities.create_community(fields(), by=user)
        assert community.slug == "pediatric-ibd"
        assert communities.find_membership(user, community).role == CommunityRole.OWNER
        assert community.member_count == 1
    else:
        with pytest.raises(PermissionDenied):
            communities.create_community(fields(), by=user)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"condition_name": ""}, "condition_name"),
        ({"guidelines": " "}, "guidelines"),
        ({"slug": "Bad Slug!"}, "slug"),
        ({"visibility": "secret"}, "visibility"),
        ({"condition_system": "icd-10", "condition_code": "XYZ"}, "condition_code"),
        ({"condition_system": "snomed-ct", "condition_code": "24526005"}, "condition_code"),
        ({"condition_system": "snomed-ct", "condition_code": "²²²²²²²"}, "condition_code"),  # digits to isdigit()
        ({"condition_code": "K50.9"}, "condition_code"),
        ({"condition_system": "mesh", "condition_code": "D003424"}, "condition_system"),
    ],
)
def test_community_fields_are_validated(ctx, changes, field) -> None:
    with pytest.raises(ValidationFailed) as caught:
        communities.create_community(fields(**changes), by=factories.user("other", admin=True))
    assert field in caught.value.errors


def test_condition_codes_accept_icd10_and_snomed(ctx) -> None:
    admin = factories.user("other", admin=True)
    icd = communities.create_community(
        fields(slug="ibd-a", condition_system="icd-10", condition_code="k50.9"), by=admin
    )
    assert icd.condition_code == "K50.9"
    snomed = communities.create_community(
        fields(slug="ibd-b", condition_system="snomed-ct", condition_code="24526004"), by=admin
    )
    assert snomed.condition_system.label == "SNOMED CT"


def test_slug_is_unique(ctx) -> None:
    admin = factories.user("other", admin=True)
    communities.create_community(fields(), by=admin)
    with pytest.raises(ValidationFailed) as caught:
        communities.create_community(fields(), by=admin)
    assert "slug" in caught.value.errors


def test_join_records_guidelines_acceptance_with_version(ctx) -> None:
    community = factories.community()
    patient = factories.user()
    with pytest.raises(ValidationFailed) as caught:
        communities.join_community(patient, community, accept_guidelines=False)
    assert "accept_guidelines" in caught.value.errors
    membership = communities.join_community(patient, community, accept_guidelines=True)
    assert membership.guidelines_accepted_at is not None
    assert membership.guidelines_version == community.guidelines_version
    assert communities.join_community(patient, community, accept_guidelines=True) == membership  # idempotent
    assert community.member_count == 2


def test_restricted_community_needs_an_approved_request(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    community = factories.community(owner, restricted=True)
    patient = factories.user()
    with pytest.raises(PermissionDenied):
        communities.join_community(patient, community, accept_guidelines=True)
    request = communities.request_to_join(patient, community, accept_guidelines=True, message="Hello")
    assert communities.request_to_join(patient, community, accept_guidelines=True) == request
    assert communities.find_membership(patient, community) is None
    communities.decide_join_request(request.id, by=owner, approve=True, note="Welcome")
    assert request.status == JoinRequestStatus.APPROVED
    assert communities.find_membership(patient, community).role == CommunityRole.MEMBER
    with pytest.raises(Conflict):
        communities.decide_join_request(request.id, by=owner, approve=False)


def test_join_or_request_joins_a_public_community_and_asks_to_join_a_restricted_one(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    public, restricted = factories.community(owner), factories.community(owner, restricted=True)
    patient = factories.user()
    with pytest.raises(ValidationFailed):
        communities.join_or_request(patient, public, accept_guidelines=False)
    joined = communities.join_or_request(patient, public, accept_guidelines=True)
    assert joined == communities.find_membership(patient, public)
    asked = communities.join_or_request(patient, restricted, accept_guidelines=True, message="Hello")
    assert asked == communities.find_pending_request(patient, restricted)
    assert asked.message == "Hello"
    assert communities.find_membership(patient, restricted) is None


def test_community_page_shows_each_reader_what_they_may_see_and_do(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    community = factories.community(owner, restricted=True)
    asker, intruder = factories.user(), factories.user()
    request = communities.request_to_join(asker, community, accept_guidelines=True)
    seen = communities.community_page(community.slug, by=intruder)
    assert (seen.readable, seen.moderates, seen.can_manage, seen.institutions, seen.request_count) == (
        False, False, False, [], 0)  # fmt: skip
    assert seen.membership is None
    assert communities.community_page(community.slug, by=asker).pending == request
    mine = communities.community_page(community.slug, by=owner)
    assert (mine.readable, mine.moderates, mine.can_manage, mine.request_count) == (True, True, True, 1)
    assert mine.membership.role == CommunityRole.OWNER
    assert sum(row.members for row in mine.institutions) == 1
    with pytest.raises(NotFound):
        communities.community_page("no-such-community", by=owner)


def test_join_requests_are_decided_only_by_that_communitys_moderators(ctx) -> None:
    community = factories.community(restricted=True)
    other = factories.community()
    other_moderator = factories.member(other, role="moderator").user
    intruder = factories.user()
    patient = factories.user()
    request = communities.request_to_join(patient, community, accept_guidelines=True)
    for outsider in (other_moderator, intruder, patient):
        with pytest.raises(NotFound):
            communities.decide_join_request(request.id, by=outsider, approve=True)
        with pytest.raises(PermissionDenied):
            communities.list_join_requests(community, by=outsider)
    moderator = factories.member(community, role="moderator").user
    assert communities.list_join_requests(community, by=moderator) == [request]
    communities.decide_join_request(request.id, by=moderator, approve=False, note="Not a CF family")
    assert request.status == JoinRequestStatus.DENIED
    assert communities.find_membership(patient, community) is None


def test_restricted_members_list_is_hidden_from_a_logged_in_non_member(ctx) -> None:
    community = factories.community(restricted=True)
    intruder = factories.user()
    with pytest.raises(PermissionDenied):
        communities.list_members(community, by=intruder)
    with pytest.raises(PermissionDenied):
        communities.get_readable_community(intruder, community.slug)
    assert communities.get_community(community.slug) == community  # name and description stay public
    admin = factories.user("other", admin=True)
    assert len(communities.list_members(community, by=admin).items) == 1


def test_owners_appoint_and_remove_moderators(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    community = factories.community(owner)
    patient = factories.member(community).user
    moderator = communities.set_member_role(community, patient.username, "moderator", by=owner)
    assert moderator.role == CommunityRole.MODERATOR
    assert communities.set_member_role(community, patient.username, "member", by=owner).role == CommunityRole.MEMBER


def test_moderator_appointment_rules(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    community = factories.community(owner)
    moderator = factories.member(community, role="moderator").user
    member = factories.member(community).user
    intruder = factories.user()
    for not_owner in (moderator, member, intruder):
        with pytest.raises(PermissionDenied):
            communities.set_member_role(community, member.username, "moderator", by=not_owner)
    with pytest.raises(NotFound):
        communities.set_member_role(community, intruder.username, "moderator", by=owner)
    with pytest.raises(ValidationFailed):
        communities.set_member_role(community, owner.username, "member", by=owner)
    with pytest.raises(ValidationFailed):
        communities.set_member_role(community, member.username, "owner", by=owner)
    admin = factories.user("other", admin=True)
    assert communities.set_member_role(community, member.username, "moderator", by=admin).role.moderates


def test_leaving_and_the_last_owner(ctx) -> None:
    owner = factories.user("clinician", verified=True)
    community = factories.community(owner)
    member = factories.member(community).user
    communities.leave_community(member, community)
    assert communities.find_membership(member, community) is None
    assert community.member_count == 1
    with pytest.raises(ValidationFailed):
        communities.leave_community(owner, community)
    with pytest.raises(ValidationFailed):
        communities.leave_community(member, community)


def test_member_filters_and_institution_counts(ctx) -> None:
    factories.institution(slug="north", name="North Hospital")
    community = factories.community()
    factories.member(community, factories.user("patient", institution="north"))
    factories.member(community, factories.user("caregiver", institution="north"))
    factories.member(community, factories.user("patient"))
    admin = factories.user("other", admin=True)
    assert len(communities.list_members(community, by=admin, role="patient").items) == 2
    assert len(communities.list_members(community, by=admin, role="owner").items) == 1
    with pytest.raises(ValidationFailed):
        communities.list_members(community, by=admin, role="wizard")
    counts = {
        (c.institution.name if c.institution else None): c.members for c in communities.institution_counts(community)
    }
    assert counts == {"North Hospital": 2, None: 2}


def test_member_list_pages_by_keyset(ctx) -> None:
    community = factories.community()
    for _ in range(5):
        factories.member(community)
    admin = factories.user("other", admin=True)
    first = communities.list_members(community, by=admin, limit=4)
    second = communities.list_members(community, by=admin, cursor=first.next_cursor, limit=4)
    ids = [m.id for m in first.items + second.items]
    assert len(ids) == 6 == len(set(ids))
    assert second.next_cursor is None
    with pytest.raises(ValidationFailed):
        communities.list_members(community, by=admin, cursor="not-a-cursor")


# --- verification review ------------------------------------------------------------------------------


def test_site_admins_decide_and_moderators_only_see_that_requests_wait(ctx) -> None:
    community = factories.community()
    applicant = factories.member(community, factories.user("clinician")).user
    moderator = factories.member(community, role="moderator").user
    other_moderator = factories.member(factories.community(), role="moderator").user
    intruder = factories.user()
    request = accounts.submit_verification(applicant, licence_number="123", licence_issuer="GMC")
    assert communities.list_verification_queue(by=moderator).requests == [request]
    assert communities.list_verification_queue(by=other_moderator).requests == []
    for outsider in (moderator, other_moderator, intruder, applicant):
        with pytest.raises(NotFound):
            accounts.decide_verification(request.id, by=outsider, approve=True, note="")
    accounts.decide_verification(request.id, by=factories.user("other", admin=True), approve=True,
                                 note="Checked the register")  # fmt: skip
    assert request.status == VerificationStatus.APPROVED
    assert applicant.verification_state == "verified"
    with pytest.raises(Conflict):
        accounts.decide_verification(request.id, by=factories.user("other", admin=True), approve=False, note="x")


def test_rejection_needs_a_note_and_never_shows_as_verified(ctx) -> None:
    applicant = factories.user("researcher")
    admin = factories.user("other", admin=True)
    request = accounts.submit_verification(applicant, orcid="0000-0002-1825-0097")
    with pytest.raises(ValidationFailed):
        accounts.decide_verification(request.id, by=admin, approve=False, note="  ")
    accounts.decide_verification(request.id, by=admin, approve=False, note="That iD is someone else's")
    assert request.status == VerificationStatus.REJECTED
    assert applicant.verification_state == "claimed"
    assert (
        accounts.list_verification_history(applicant, viewer=applicant)[0].decision_note == "That iD is someone else's"
    )
    again = accounts.submit_verification(applicant, institutional_email="me@uni.example.org")
    assert again.status == VerificationStatus.PENDING
