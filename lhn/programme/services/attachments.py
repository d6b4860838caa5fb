"""The programme's things that carry files (lhn/attachments): a storyboard, attached to by its site's team, and a
change-package entry, by its proposer and the community's owners; each read by whoever may read its session or
package."""

from __future__ import annotations

from lhn import attachments
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.communities.permissions import can_read
from lhn.errors import NotFound
from lhn.extensions import db
from lhn.programme.models import LearningSession, PackageEntry, Storyboard
from lhn.programme.services.package import attaches_to_entry
from lhn.programme.services.storyboards import may_write

STORYBOARD, PACKAGE_ENTRY = "storyboard", "package_entry"


def _readable(community: Community, viewer: object) -> bool:
    return can_read(viewer, community, communities.find_membership(viewer, community))


def storyboard_stamp(board: Storyboard) -> str:
    return f"session {board.session_id}, site {board.institution_id}"


def entry_stamp(entry: PackageEntry) -> str:
    return f"idea {entry.idea_id}"


def storyboard_owner(storyboard_id: int, viewer: object) -> attachments.Owner:
    board = db.session.get(Storyboard, storyboard_id)
    session = db.session.get(LearningSession, board.session_id) if board else None
    if board is None or session is None or not _readable(session.community, viewer):
        raise NotFound("No such file.")
    return attachments.Owner(
        community_id=session.community_id, title=f"{board.institution.name}: {session.title}",
        endpoint="programme.storyboard", values={"session_id": session.id, "storyboard_id": board.id},
        may_attach=may_write(board.institution_id, session.community, viewer), stamp=storyboard_stamp(board),
        denied="Files are attached to a storyboard by its site's team.",
    )  # fmt: skip


def entry_owner(entry_id: int, viewer: object) -> attachments.Owner:
    entry = db.session.get(PackageEntry, entry_id)
    if entry is None or not _readable(entry.community, viewer):
        raise NotFound("No such file.")
    return attachments.Owner(
        community_id=entry.community_id, title=entry.title,
        endpoint="programme.package", values={"slug": entry.community.slug, "_anchor": f"change-{entry.id}"},
        may_attach=attaches_to_entry(entry, viewer), stamp=entry_stamp(entry),
        denied="Files are attached to a change by its proposer and the community's owners.",
    )  # fmt: skip


attachments.register_owner(STORYBOARD, storyboard_owner, storyboard_stamp)
attachments.register_owner(PACKAGE_ENTRY, entry_owner, entry_stamp)
