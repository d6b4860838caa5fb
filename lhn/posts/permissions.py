"""Who may do what with posts. Pure predicates over the user, the community or post, and a membership."""

from __future__ import annotations

from lhn.accounts.models import Role
from lhn.accounts.permissions import as_user
from lhn.communities import permissions as community_permissions
from lhn.communities.models import Community, Membership
from lhn.posts.models import Answer, Comment, Post, PostKind


def can_read(user: object, community: Community, membership: Membership | None) -> bool:
    return community_permissions.can_read(user, community, membership)


def can_post(user: object, community: Community, membership: Membership | None) -> bool:
    """Members write: ask, propose, share, call, answer, comment and vote."""
    return community_permissions.can_post(user, community, membership)


def can_moderate(user: object, community: Community, membership: Membership | None) -> bool:
    """Community moderators and owners, and site admins: idea status, hiding and restoring."""
    return community_permissions.can_moderate(user, community, membership)


CLINICAL_ROLES = (Role.CLINICIAN, Role.RESEARCHER)


def vetting_standing(user: object, community: Community, membership: Membership | None) -> str | None:
    """What lets `user` vet answers in `community`: "clinician" or "researcher" (verified, and a member),
    "moderator" (only where the community lets moderators vet), or None: clinical standing by default.

    A claim that site staff have not verified grants nothing; neither does activity.
    """
    u = as_user(user)
    if u is None:
        return None
    if membership is not None and u.role in CLINICAL_ROLES and u.is_verified:
        return u.role.value
    if community.moderators_may_vet and can_moderate(u, community, membership):
        return "moderator"
    return None


def can_vet(user: object, community: Community, membership: Membership | None) -> bool:
    return vetting_standing(user, community, membership) is not None


def can_curate_vetting(user: object, community: Community, membership: Membership | None) -> bool:
    """Moderators without clinical standing curate: dismiss vetting review items, unvet with a reason and
    ask the vetter for a re-review. Vetters curate too."""
    return can_vet(user, community, membership) or can_moderate(user, community, membership)


def can_see_original(user: object, item: Post | Answer | Comment, membership: Membership | None,
                     community: Community) -> bool:  # fmt: skip
    """Hidden or withdrawn content: its author and the community's moderators still see the text."""
    u = as_user(user)
    return u is not None and (u.id == item.author_id or can_moderate(u, community, membership))


def is_author(user: object, item: Post | Answer | Comment) -> bool:
    u = as_user(user)
    return u is not None and u.id == item.author_id


def can_edit(user: object, item: Post | Answer) -> bool:
    """Authors edit their own posts and answers (every edit is kept as a revision)."""
    return is_author(user, item) and item.withdrawn_at is None


def can_answer(user: object, post: Post, membership: Membership | None) -> bool:
    return (post.kind == PostKind.QUESTION and post.is_visible
            and can_post(user, post.community, membership))  # fmt: skip


def can_comment(user: object, post: Post, membership: Membership | None) -> bool:
    """Comments go on every kind of post (on a question they ask the asker to clarify) and on answers."""
    return post.is_visible and can_post(user, post.community, membership)


def can_vote(user: object, item: Post | Answer, membership: Membership | None, community: Community) -> bool:
    """Members vote once per item, never on their own."""
    return item.is_visible and can_post(user, community, membership) and not is_author(user, item)


def can_accept(user: object, post: Post) -> bool:
    """The asker accepts one answer ("this helped me")."""
    return post.kind == PostKind.QUESTION and is_author(user, post) and post.is_visible


def can_revise(user: object, item: Post | Answer) -> bool:
    """The author's Edit and Withdraw buttons: on their own item while readers see it."""
    return item.is_visible and is_author(user, item)


def can_vet_answer(user: object, answer: Answer, community: Community, membership: Membership | None) -> bool:
    """The Vet button: vetters vet others' visible answers, never their own (vet_answer refuses that too)."""
    return answer.is_visible and not is_author(user, answer) and can_vet(user, community, membership)
